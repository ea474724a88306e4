// Byte containers shared by every module. Secrets never use these: see core/crypto/secure_bytes.hpp.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace ikevpn {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline void append(Bytes& out, ByteView more) { out.insert(out.end(), more.begin(), more.end()); }

}  // namespace ikevpn
