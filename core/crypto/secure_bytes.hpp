// Secret material (keys, shared secrets, PSKs) lives in Botan's secure_vector: zeroed on free and never
// formatted into a log line. Including this header is the only way Botan reaches code outside core/crypto.
#pragma once
#include <botan/secmem.h>

#include <cstdint>

namespace ikevpn {

using SecureBytes = Botan::secure_vector<std::uint8_t>;

}  // namespace ikevpn
