// AES-GCM with a 16-octet ICV for the IKE SK payload (RFC 5282) and ESP (RFC 4106), and
// ChaCha20-Poly1305 in the SK payload (RFC 7634 §2-§3: 32-octet key + 4-octet salt, 8-octet explicit IV,
// the same 12-octet nonce construction and the same AAD as RFC 5282).
//
// RFC 4106 §3.1 / RFC 5282 §4: the 12-octet GCM nonce is built from the 4-octet salt (the last
// octets of the key material, never sent) and the 8-octet explicit IV carried in each packet:
//
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                             Salt                              |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                     Initialization Vector                     |
//   |                                                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
#include "core/crypto/crypto.hpp"

#include <botan/aead.h>

#include <array>
#include <stdexcept>
#include <string>

namespace ikevpn::crypto {

namespace {

constexpr std::size_t salt_size = 4;
constexpr std::size_t explicit_iv_size = 8;
constexpr std::size_t icv_size = 16;

std::size_t aes_key_bytes(std::uint16_t key_bits) {
    if (key_bits != 128 && key_bits != 192 && key_bits != 256) {
        throw std::invalid_argument("AES-GCM: unsupported key length " + std::to_string(key_bits));
    }
    return key_bits / 8U;
}

constexpr std::size_t chacha20_key_size = 32;

// AES-GCM-16 or ChaCha20-Poly1305: both salt | explicit IV nonces with a 16-octet tag.
class SaltedAead final : public Aead {
public:
    SaltedAead(EncrId id, std::uint16_t key_bits, ByteView key_material) {
        const bool chacha = id == EncrId::chacha20_poly1305;
        const std::size_t key_bytes = chacha ? chacha20_key_size : aes_key_bytes(key_bits);
        if (key_material.size() != key_bytes + salt_size) {
            throw std::invalid_argument("AEAD: key material must be key | 4-byte salt");
        }
        // "AES-128/GCM" defaults to a 16-byte tag, the ICV of ENCR_AES_GCM_16; Poly1305's tag is 16 bytes.
        const std::string name = chacha ? "ChaCha20Poly1305" : "AES-" + std::to_string(key_bits) + "/GCM";
        encryptor_ = Botan::AEAD_Mode::create_or_throw(name, Botan::ENCRYPTION);
        decryptor_ = Botan::AEAD_Mode::create_or_throw(name, Botan::DECRYPTION);
        encryptor_->set_key(key_material.data(), key_bytes);
        decryptor_->set_key(key_material.data(), key_bytes);
        const auto salt = key_material.subspan(key_bytes);
        std::copy(salt.begin(), salt.end(), nonce_.begin());
    }

    std::size_t iv_size() const override { return explicit_iv_size; }
    std::size_t tag_size() const override { return icv_size; }

    Bytes seal(ByteView iv, ByteView aad, ByteView plaintext) override {
        if (iv.size() != explicit_iv_size) {
            throw std::invalid_argument("AEAD seal: the explicit IV must be 8 bytes");
        }
        set_iv(iv);
        encryptor_->set_associated_data(aad.data(), aad.size());
        encryptor_->start(nonce_.data(), nonce_.size());
        SecureBytes buffer(plaintext.begin(), plaintext.end());
        encryptor_->finish(buffer);
        return Bytes(buffer.begin(), buffer.end());
    }

    std::optional<Bytes> open(ByteView iv, ByteView aad, ByteView ciphertext_and_tag) override {
        // Both come from the peer's packet: a wrong size is a malformed packet, not a programming error.
        if (iv.size() != explicit_iv_size || ciphertext_and_tag.size() < icv_size) {
            return std::nullopt;
        }
        set_iv(iv);
        try {
            decryptor_->set_associated_data(aad.data(), aad.size());
            decryptor_->start(nonce_.data(), nonce_.size());
            SecureBytes buffer(ciphertext_and_tag.begin(), ciphertext_and_tag.end());
            decryptor_->finish(buffer);
            return Bytes(buffer.begin(), buffer.end());
        } catch (const Botan::Invalid_Authentication_Tag&) {
            return std::nullopt;
        } catch (const std::exception&) {
            // Nothing a peer sends may raise an exception out of the packet path.
            return std::nullopt;
        }
    }

private:
    void set_iv(ByteView iv) {
        std::copy(iv.begin(), iv.end(), nonce_.begin() + static_cast<std::ptrdiff_t>(salt_size));
    }

    std::unique_ptr<Botan::AEAD_Mode> encryptor_;
    std::unique_ptr<Botan::AEAD_Mode> decryptor_;
    std::array<std::uint8_t, salt_size + explicit_iv_size> nonce_{};  // salt | IV
};

}  // namespace

void Aead::make_iv(std::uint64_t counter, std::span<std::uint8_t> iv) {
    for (std::size_t i = iv.size(); i-- > 0; counter >>= 8) iv[i] = std::uint8_t(counter);
}

bool is_combined_mode(EncrId id) { return id == EncrId::aes_gcm_16 || id == EncrId::chacha20_poly1305; }

std::unique_ptr<Aead> make_aead(EncrId id, std::uint16_t key_bits, ByteView key_material) {
    if (!is_combined_mode(id)) {
        throw std::invalid_argument("make_aead: unsupported encryption transform " +
                                    std::to_string(static_cast<int>(id)));
    }
    return std::make_unique<SaltedAead>(id, key_bits, key_material);
}

std::size_t aead_key_material_size(EncrId id, std::uint16_t key_bits) {
    // RFC 7634 §2: "the keying material ... [is] 36 octets: 32 for the key and 4 for the salt".
    if (id == EncrId::chacha20_poly1305) return chacha20_key_size + salt_size;
    if (id != EncrId::aes_gcm_16) {
        throw std::invalid_argument("aead_key_material_size: unsupported encryption transform " +
                                    std::to_string(static_cast<int>(id)));
    }
    // RFC 5282 §7.1: "the keying material ... [is] the key ... plus 4 octets of salt".
    return aes_key_bytes(key_bits) + salt_size;
}

}  // namespace ikevpn::crypto
