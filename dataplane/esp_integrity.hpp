// ESP integrity transforms over Botan 2: HMAC-SHA-256-128, HMAC-SHA-384-192 and HMAC-SHA-512-256 (RFC 4868).
//
// RFC 4868 §2.1.1: the key is exactly as long as the hash output (32, 48, 64 octets). §2.3: the ICV is the
// HMAC output truncated to its leftmost half (16, 24, 32 octets). The receiver compares in constant time.
//
// Per packet nothing is allocated: Botan's HMAC keeps its hash states, and the full-length output goes to a
// fixed array here before it is truncated.
#pragma once
#include "dataplane/sa_params.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <span>

namespace Botan {
class MessageAuthenticationCode;
}

namespace ikevpn::dataplane {

class EspIntegrity {
public:
    static constexpr std::size_t max_icv_size = 32;

    // Throws std::invalid_argument for EspInteg::none or a key of the wrong length.
    EspIntegrity(EspInteg integ, std::span<const std::uint8_t> key);
    ~EspIntegrity();
    EspIntegrity(const EspIntegrity&) = delete;
    EspIntegrity& operator=(const EspIntegrity&) = delete;

    // 32, 48, 64 for the three transforms; 0 for none.
    static std::size_t key_size(EspInteg integ);
    // 16, 24, 32 for the three transforms; 0 for none.
    static std::size_t icv_size(EspInteg integ);
    std::size_t icv_size() const { return icv_size_; }

    // The truncated ICV over `data` followed by `trailer` (ESP: the packet from the SPI to the end of the
    // ciphertext, then the ESN high half if any — RFC 4303 §3.3.2.2), written to `icv` (icv_size() octets).
    void compute(std::span<const std::uint8_t> data, std::span<const std::uint8_t> trailer, std::uint8_t* icv);
    // Recomputes it and compares with `icv` in constant time.
    bool verify(std::span<const std::uint8_t> data, std::span<const std::uint8_t> trailer, const std::uint8_t* icv);

private:
    std::unique_ptr<Botan::MessageAuthenticationCode> mac_;
    std::size_t icv_size_;
    std::array<std::uint8_t, 64> full_{};  // the untruncated HMAC output (at most SHA-512's 64 octets)
};

}  // namespace ikevpn::dataplane
