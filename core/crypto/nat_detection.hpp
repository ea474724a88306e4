#pragma once
#include "core/bytes.hpp"

#include <cstdint>

namespace ikevpn::crypto {

// RFC 7296 §2.23: "the data associated with these notifications is the SHA-1 digest of the SPIs (in the
// order they appear in the header), IP address, and port from which this packet was sent".
Bytes nat_detection_hash(ByteView spi_i, ByteView spi_r, ByteView address, std::uint16_t port);

}  // namespace ikevpn::crypto
