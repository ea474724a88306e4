// AES-CBC (RFC 3602) with an HMAC-SHA2 integrity transform (RFC 4868), as ESP combines them: encrypt, then
// MAC (RFC 4303 §3.3.2 / §3.4.4). One object per SA and direction; Botan objects are created once.
//
// RFC 3602 §3: the IV is 16 octets, carried in the packet, and "MUST be chosen at random" (unpredictable);
// the ciphertext is a multiple of the 16-octet block, so padding reaches up to 15 octets (§2.4 of 4303).
// RFC 4303 §2.8 / §3.3.2.2: the ICV covers SPI | Sequence Number | IV | ciphertext, and with ESN the
// high 32 bits of the sequence number after them (authenticated, never sent).
//
// Inbound order (RFC 4303 §3.4.4.1, and the point of encrypt-then-MAC): the ICV is verified in constant time
// BEFORE anything is decrypted, so forged packets never reach the CBC decryption or the padding check.
//
// Outbound IVs: AES, under a random per-SA key that never encrypts anything else, applied to the 64-bit
// sequence number. Distinct inputs of a secret permutation: never repeated, unpredictable without the key —
// and cheaper per packet than a DRBG. (Encrypting the counter under the data key itself would let a chosen
// first plaintext block equal a future counter block, revealing that packet's IV in advance.)
#pragma once
#include "core/crypto/secure_bytes.hpp"
#include "dataplane/esp_integrity.hpp"
#include "dataplane/esp_transform.hpp"
#include "dataplane/sa_params.hpp"

#include <cstdint>
#include <memory>
#include <span>

namespace Botan {
class BlockCipher;
class Cipher_Mode;
}  // namespace Botan

namespace ikevpn::dataplane {

class AesCbcHmacEsp final : public EspTransform {
public:
    static constexpr std::size_t block = 16;  // AES block = IV size (RFC 3602 §2.1)

    // `key` = the AES key (16, 24 or 32 octets); `integ` != none with its key (esp_integrity.hpp).
    // Throws std::invalid_argument otherwise.
    AesCbcHmacEsp(std::span<const std::uint8_t> key, EspInteg integ, std::span<const std::uint8_t> integ_key,
                  Direction direction);
    ~AesCbcHmacEsp() override;

    void make_iv(std::uint64_t seq, std::uint8_t* iv) override;
    // frame.text must be a non-zero multiple of 16 octets (else false).
    bool seal(const EspFrame& frame) override;
    bool open(const EspFrame& frame) override;

private:
    // The authenticated octets: from the SPI to the end of the ciphertext.
    static std::span<const std::uint8_t> covered(const EspFrame& frame);

    std::unique_ptr<Botan::Cipher_Mode> cbc_;
    std::unique_ptr<Botan::BlockCipher> iv_cipher_;  // outbound only
    EspIntegrity integrity_;
};

}  // namespace ikevpn::dataplane
