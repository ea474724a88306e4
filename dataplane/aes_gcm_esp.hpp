// The AES-GCM-16 ESP transform (RFC 4106) over Botan 2. One object per SA and direction: the Botan cipher
// and its key schedule are created once, in the constructor, never per packet.
//
// RFC 4106 §4: nonce = Salt (4 octets, the last 4 octets of KEYMAT, §8.1) | IV (8 octets, carried in the
// packet). §5: AAD = SPI | Sequence Number (32-bit), or SPI | Seq high | Seq low with ESN.
//
// Per packet the transform does not allocate: the ciphertext is processed in place, and only the last
// (size mod Botan's update granularity) octets plus the ICV go through a reusable scratch vector, because
// Botan 2's Cipher_Mode::finish() works on a secure_vector.
#pragma once
#include "core/crypto/secure_bytes.hpp"
#include "dataplane/sa_params.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <span>

namespace Botan {
class AEAD_Mode;
}

namespace ikevpn::dataplane {

class AesGcmEsp {
public:
    static constexpr std::size_t salt_size = 4;
    static constexpr std::size_t iv_size = 8;
    static constexpr std::size_t icv_size = 16;

    // key_material = AES key (16 or 32 octets) | salt (4 octets). Throws std::invalid_argument for any
    // other size (a configuration error, never a packet-path one).
    AesGcmEsp(std::span<const std::uint8_t> key_material, Direction direction);
    ~AesGcmEsp();
    AesGcmEsp(const AesGcmEsp&) = delete;
    AesGcmEsp& operator=(const AesGcmEsp&) = delete;

    // Outbound: encrypts `text` in place and writes the 16-octet ICV to `icv` (which may directly follow
    // `text`). False only if Botan reports an internal error.
    bool seal(std::span<const std::uint8_t> aad, const std::uint8_t* iv, std::span<std::uint8_t> text,
              std::uint8_t* icv);
    // Inbound: decrypts `text` in place; false when the ICV does not verify (then `text` holds garbage
    // that must be dropped).
    bool open(std::span<const std::uint8_t> aad, const std::uint8_t* iv, std::span<std::uint8_t> text,
              const std::uint8_t* icv);

    Direction direction() const { return direction_; }

private:
    void start(std::span<const std::uint8_t> aad, const std::uint8_t* iv);

    Direction direction_;
    std::unique_ptr<Botan::AEAD_Mode> mode_;
    std::array<std::uint8_t, salt_size + iv_size> nonce_{};  // salt | IV; the IV part changes per packet
    std::size_t granularity_ = 1;
    SecureBytes tail_;  // scratch for the unaligned end + ICV; capacity reserved once
};

}  // namespace ikevpn::dataplane
