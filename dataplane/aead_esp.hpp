// The combined-mode ESP transforms over Botan 2: AES-GCM-16 (RFC 4106) and ChaCha20-Poly1305 (RFC 7634).
// One object per SA and direction: the Botan cipher and its key schedule are created once, in the
// constructor, never per packet.
//
// Both RFCs build the 12-octet nonce the same way — RFC 4106 §4, RFC 7634 §2:
//   nonce = Salt (4 octets, the last 4 octets of KEYMAT) | IV (8 octets, carried in the packet)
// and the same AAD — RFC 4106 §5, RFC 7634 §2.1:
//   AAD = SPI | Sequence Number (32-bit)   or, with ESN,   SPI | Seq high | Seq low
// The ICV is 16 octets; the ciphertext is padded to 4 octets (no block alignment).
//
// Per packet the transform does not allocate: the ciphertext is processed in place, and only the last
// (size mod Botan's update granularity) octets plus the ICV go through a reusable scratch vector, because
// Botan 2's Cipher_Mode::finish() works on a secure_vector.
#pragma once
#include "core/crypto/secure_bytes.hpp"
#include "dataplane/esp_transform.hpp"
#include "dataplane/sa_params.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <span>

namespace Botan {
class AEAD_Mode;
}

namespace ikevpn::dataplane {

class AeadEsp : public EspTransform {
public:
    static constexpr std::size_t salt_size = 4;
    static constexpr std::size_t iv_size = 8;
    static constexpr std::size_t icv_size = 16;

    // `cipher` is aes_gcm_16 (key_material = 16 or 32 octet AES key | salt) or chacha20_poly1305
    // (32 octet key | salt). Throws std::invalid_argument for anything else (a configuration error,
    // never a packet-path one).
    AeadEsp(EspCipher cipher, std::span<const std::uint8_t> key_material, Direction direction);
    ~AeadEsp() override;

    // RFC 4106 §3.1 / RFC 7634 §2: the IV must never repeat under a key; the 64-bit sequence number never
    // does (EspSa refuses to wrap it), so it is the IV.
    void make_iv(std::uint64_t seq, std::uint8_t* iv) override;
    bool seal(const EspFrame& frame) override;
    bool open(const EspFrame& frame) override;

    // The same operations with the AAD and IV given explicitly (known-answer tests, forging test packets).
    // Outbound: encrypts `text` in place and writes the 16-octet ICV to `icv` (which may directly follow
    // `text`). Inbound: decrypts `text` in place; false when the ICV does not verify.
    bool seal(std::span<const std::uint8_t> aad, const std::uint8_t* iv, std::span<std::uint8_t> text,
              std::uint8_t* icv);
    bool open(std::span<const std::uint8_t> aad, const std::uint8_t* iv, std::span<std::uint8_t> text,
              const std::uint8_t* icv);

    Direction direction() const { return direction_; }

private:
    void start(std::span<const std::uint8_t> aad, const std::uint8_t* iv);
    std::span<const std::uint8_t> aad_for(const EspFrame& frame);

    Direction direction_;
    std::unique_ptr<Botan::AEAD_Mode> mode_;
    std::array<std::uint8_t, salt_size + iv_size> nonce_{};  // salt | IV; the IV part changes per packet
    std::array<std::uint8_t, 12> esn_aad_{};                 // SPI | Seq high | Seq low
    std::size_t granularity_ = 1;
    SecureBytes tail_;  // scratch for the unaligned end + ICV; capacity reserved once
};

}  // namespace ikevpn::dataplane
