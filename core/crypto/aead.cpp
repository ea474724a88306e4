// AES-GCM with a 16-octet ICV for the IKE SK payload (RFC 5282) and ESP (RFC 4106).
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

class AesGcm final : public Aead {
public:
    AesGcm(std::uint16_t key_bits, ByteView key_material) {
        const std::size_t key_bytes = aes_key_bytes(key_bits);
        if (key_material.size() != key_bytes + salt_size) {
            throw std::invalid_argument("AES-GCM: key material must be key | 4-byte salt");
        }
        // "AES-128/GCM" defaults to a 16-byte tag, the ICV of ENCR_AES_GCM_16.
        const std::string name = "AES-" + std::to_string(key_bits) + "/GCM";
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
            throw std::invalid_argument("AES-GCM seal: the explicit IV must be 8 bytes");
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

std::unique_ptr<Aead> make_aead(EncrId id, std::uint16_t key_bits, ByteView key_material) {
    if (id != EncrId::aes_gcm_16) {
        throw std::invalid_argument("make_aead: unsupported encryption transform " +
                                    std::to_string(static_cast<int>(id)));
    }
    return std::make_unique<AesGcm>(key_bits, key_material);
}

std::size_t aead_key_material_size(EncrId id, std::uint16_t key_bits) {
    if (id != EncrId::aes_gcm_16) {
        throw std::invalid_argument("aead_key_material_size: unsupported encryption transform " +
                                    std::to_string(static_cast<int>(id)));
    }
    // RFC 5282 §7.1: "the keying material ... [is] the key ... plus 4 octets of salt".
    return aes_key_bytes(key_bits) + salt_size;
}

}  // namespace ikevpn::crypto
