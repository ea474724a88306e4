#include "core/crypto/nat_detection.hpp"

#include <botan/hash.h>

namespace ikevpn::crypto {

Bytes nat_detection_hash(ByteView spi_i, ByteView spi_r, ByteView address, std::uint16_t port) {
    auto sha1 = Botan::HashFunction::create_or_throw("SHA-1");
    sha1->update(spi_i.data(), spi_i.size());
    sha1->update(spi_r.data(), spi_r.size());
    sha1->update(address.data(), address.size());
    const std::uint8_t port_bytes[2] = {std::uint8_t(port >> 8), std::uint8_t(port)};
    sha1->update(port_bytes, 2);
    auto digest = sha1->final();
    return Bytes(digest.begin(), digest.end());
}

}  // namespace ikevpn::crypto
