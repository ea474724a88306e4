// The SK payload cipher for an encryption transform with a separate integrity transform (RFC 7296 §3.14):
// AES-CBC (RFC 3602) or 3DES-CBC (RFC 2451, weak) with HMAC-SHA2 truncated to half (RFC 4868), HMAC-SHA1-96
// (RFC 2404) or HMAC-MD5-96 (RFC 2403).
//
//   "The Integrity Checksum Data is the cryptographic checksum of the entire message starting with the
//    Fixed IKE header through the Pad Length. The checksum MUST be computed over the encrypted message."
//
// So the ICV covers aad (IKE header | SK generic header) | IV | ciphertext, and is checked, in constant time,
// before a single block is decrypted. The IV "MUST be chosen at random and MUST be unpredictable", so it is
// drawn from the system RNG instead of the message counter.
#include "core/crypto/crypto.hpp"

#include <botan/cipher_mode.h>
#include <botan/mac.h>
#include <botan/system_rng.h>

#include <stdexcept>
#include <string>

namespace ikevpn::crypto {

namespace {

struct IntegParams {
    const char* hash;
    std::size_t key_size;  // RFC 4868 §2.1.2: the key is the hash output size; RFC 2403/2404: 16/20
    std::size_t icv_size;  // truncated output
};

IntegParams integ_params(IntegId id) {
    switch (id) {
    case IntegId::hmac_md5_96: return {"MD5", 16, 12};
    case IntegId::hmac_sha1_96: return {"SHA-1", 20, 12};
    case IntegId::hmac_sha2_256_128: return {"SHA-256", 32, 16};
    case IntegId::hmac_sha2_384_192: return {"SHA-384", 48, 24};
    case IntegId::hmac_sha2_512_256: return {"SHA-512", 64, 32};
    case IntegId::none: break;
    }
    throw std::invalid_argument("unsupported integrity transform " + std::to_string(static_cast<int>(id)));
}

struct CbcParams {
    std::string cipher;  // Botan name of the block cipher
    std::size_t key_size;
    std::size_t block;
};

CbcParams cbc_params(EncrId id, std::uint16_t key_bits) {
    if (id == EncrId::aes_cbc) {
        if (key_bits != 128 && key_bits != 192 && key_bits != 256)
            throw std::invalid_argument("AES-CBC: unsupported key length " + std::to_string(key_bits));
        return {"AES-" + std::to_string(key_bits), key_bits / 8U, 16};
    }
    // RFC 2451: 3DES has a fixed 192-bit key (with parity bits), no Key Length attribute.
    if (id == EncrId::des3) return {"TripleDES", 24, 8};
    throw std::invalid_argument("unsupported CBC encryption transform " + std::to_string(static_cast<int>(id)));
}

class CbcHmac final : public Aead {
public:
    CbcHmac(const CbcParams& cbc, const IntegParams& integ, ByteView encr_key, ByteView integ_key)
        : block_(cbc.block), icv_size_(integ.icv_size) {
        if (encr_key.size() != cbc.key_size) throw std::invalid_argument("CBC: wrong encryption key size");
        if (integ_key.size() != integ.key_size) throw std::invalid_argument("HMAC: wrong integrity key size");
        const std::string mode = cbc.cipher + "/CBC/NoPadding";
        encryptor_ = Botan::Cipher_Mode::create_or_throw(mode, Botan::ENCRYPTION);
        decryptor_ = Botan::Cipher_Mode::create_or_throw(mode, Botan::DECRYPTION);
        encryptor_->set_key(encr_key.data(), encr_key.size());
        decryptor_->set_key(encr_key.data(), encr_key.size());
        mac_ = Botan::MessageAuthenticationCode::create_or_throw(std::string("HMAC(") + integ.hash + ")");
        mac_->set_key(integ_key.data(), integ_key.size());
    }

    std::size_t iv_size() const override { return block_; }
    std::size_t tag_size() const override { return icv_size_; }
    std::size_t block_size() const override { return block_; }

    void make_iv(std::uint64_t, std::span<std::uint8_t> iv) override {
        Botan::system_rng().randomize(iv.data(), iv.size());
    }

    Bytes seal(ByteView iv, ByteView aad, ByteView plaintext) override {
        if (iv.size() != block_ || plaintext.size() % block_ != 0)
            throw std::invalid_argument("CBC seal: the IV must be one block and the plaintext whole blocks");
        SecureBytes buffer(plaintext.begin(), plaintext.end());
        encryptor_->start(iv.data(), iv.size());
        encryptor_->finish(buffer);
        Bytes out(buffer.begin(), buffer.end());
        const SecureBytes icv = compute_icv(aad, iv, out);
        out.insert(out.end(), icv.begin(), icv.begin() + static_cast<std::ptrdiff_t>(icv_size_));
        return out;
    }

    std::optional<Bytes> open(ByteView iv, ByteView aad, ByteView ciphertext_and_tag) override {
        // All from the peer: every length is checked before use, and nothing may throw out of here.
        if (iv.size() != block_ || ciphertext_and_tag.size() < icv_size_ + block_) return std::nullopt;
        const ByteView ciphertext = ciphertext_and_tag.first(ciphertext_and_tag.size() - icv_size_);
        const ByteView icv = ciphertext_and_tag.last(icv_size_);
        if (ciphertext.size() % block_ != 0) return std::nullopt;
        try {
            const SecureBytes expected = compute_icv(aad, iv, ciphertext);
            if (!equal_constant_time(ByteView(expected.data(), icv_size_), icv)) return std::nullopt;
            SecureBytes buffer(ciphertext.begin(), ciphertext.end());
            decryptor_->start(iv.data(), iv.size());
            decryptor_->finish(buffer);
            return Bytes(buffer.begin(), buffer.end());
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }

private:
    SecureBytes compute_icv(ByteView aad, ByteView iv, ByteView ciphertext) {
        mac_->update(aad.data(), aad.size());
        mac_->update(iv.data(), iv.size());
        mac_->update(ciphertext.data(), ciphertext.size());
        return mac_->final();
    }

    std::size_t block_;
    std::size_t icv_size_;
    std::unique_ptr<Botan::Cipher_Mode> encryptor_;
    std::unique_ptr<Botan::Cipher_Mode> decryptor_;
    std::unique_ptr<Botan::MessageAuthenticationCode> mac_;
};

}  // namespace

std::size_t sk_encr_key_size(const SkTransform& t) {
    if (is_combined_mode(t.encr)) return aead_key_material_size(t.encr, t.key_bits);
    return cbc_params(t.encr, t.key_bits).key_size;
}

std::size_t sk_integ_key_size(const SkTransform& t) {
    if (is_combined_mode(t.encr)) return 0;
    return integ_params(t.integ).key_size;
}

std::unique_ptr<Aead> make_sk_cipher(const SkTransform& t, ByteView encr_key, ByteView integ_key) {
    if (is_combined_mode(t.encr)) {
        // RFC 7296 §3.3: a combined-mode cipher is negotiated without an integrity transform.
        if (t.integ != IntegId::none || !integ_key.empty())
            throw std::invalid_argument("an AEAD transform takes no integrity transform");
        return make_aead(t.encr, t.key_bits, encr_key);
    }
    if (t.integ == IntegId::none) throw std::invalid_argument("a CBC transform needs an integrity transform");
    return std::make_unique<CbcHmac>(cbc_params(t.encr, t.key_bits), integ_params(t.integ), encr_key, integ_key);
}

}  // namespace ikevpn::crypto
