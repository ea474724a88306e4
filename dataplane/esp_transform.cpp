#include "dataplane/esp_transform.hpp"

#include "dataplane/aead_esp.hpp"
#include "dataplane/aes_cbc_hmac_esp.hpp"

#include <stdexcept>

namespace ikevpn::dataplane {

std::unique_ptr<EspTransform> make_esp_transform(const SaParams& p) {
    switch (p.cipher) {
    case EspCipher::aes_gcm_16:
    case EspCipher::chacha20_poly1305: {
        // RFC 7296 §3.3: a combined-mode cipher is proposed with no integrity transform (or "none").
        if (p.integ != EspInteg::none) {
            throw std::invalid_argument("ESP SA: an AEAD cipher takes no integrity transform");
        }
        const bool chacha = p.cipher == EspCipher::chacha20_poly1305;
        if (chacha ? p.key_bits != 256 : (p.key_bits != 128 && p.key_bits != 256)) {
            throw std::invalid_argument("ESP SA: key size not allowed for this cipher");
        }
        if (p.key_material.size() != p.key_bits / 8 + AeadEsp::salt_size) {
            throw std::invalid_argument("ESP SA: KEYMAT length does not match the key size plus the salt");
        }
        return std::make_unique<AeadEsp>(p.cipher, p.key_material, p.direction);
    }
    case EspCipher::aes_cbc:
        if (p.integ == EspInteg::none) throw std::invalid_argument("ESP SA: AES-CBC needs an integrity transform");
        if (p.key_bits != 128 && p.key_bits != 192 && p.key_bits != 256) {
            throw std::invalid_argument("ESP SA: AES-CBC key size must be 128, 192 or 256");
        }
        if (p.key_material.size() != p.key_bits / 8) {
            throw std::invalid_argument("ESP SA: AES-CBC KEYMAT length does not match the key size");
        }
        if (p.integ_key.size() != EspIntegrity::key_size(p.integ)) {
            throw std::invalid_argument("ESP SA: integrity key length does not match the transform");
        }
        return std::make_unique<AesCbcHmacEsp>(p.key_material, p.integ, p.integ_key, p.direction);
    }
    throw std::invalid_argument("ESP SA: unsupported cipher");
}

}  // namespace ikevpn::dataplane
