// The crypto suite of the negotiator, behind our own small interfaces so that the exchange code never sees
// Botan types (beyond SecureBytes) and tests can inject deterministic randomness.
#pragma once
#include "core/bytes.hpp"
#include "core/crypto/secure_bytes.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace ikevpn::crypto {

// IANA "Transform Type 2 - Pseudorandom Function Transform IDs" (RFC 7296 §3.3.2, RFC 4868).
// HMAC-MD5 and HMAC-SHA1 (RFC 2104) only behind the profile's allow_weak_algorithms.
enum class PrfId : std::uint16_t { hmac_md5 = 1, hmac_sha1 = 2, hmac_sha2_256 = 5, hmac_sha2_384 = 6, hmac_sha2_512 = 7 };

// IANA "Transform Type 1 - Encryption Algorithm Transform IDs": 3DES (RFC 2451, weak), AES-CBC (RFC 3602),
// AES-GCM-16 (RFC 5282), ChaCha20-Poly1305 (RFC 7634).
enum class EncrId : std::uint16_t { des3 = 3, aes_cbc = 12, aes_gcm_16 = 20, chacha20_poly1305 = 28 };

// IANA "Transform Type 3 - Integrity Algorithm Transform IDs" (RFC 2403, RFC 2404, RFC 4868).
enum class IntegId : std::uint16_t {
    none = 0, hmac_md5_96 = 1, hmac_sha1_96 = 2, hmac_sha2_256_128 = 12, hmac_sha2_384_192 = 13, hmac_sha2_512_256 = 14
};

// IANA "Transform Type 4 - Key Exchange Method Transform IDs": MODP groups 2 (RFC 2409, weak), 14-16
// (RFC 3526), ECP-256/384/521 (RFC 5903), Curve25519 (RFC 8031).
enum class DhGroup : std::uint16_t {
    modp1024 = 2, modp2048 = 14, modp3072 = 15, modp4096 = 16, ecp256 = 19, ecp384 = 20, ecp521 = 21, curve25519 = 31
};

// Source of randomness; the real one is Botan's system RNG, tests inject a deterministic one.
class RandomSource {
public:
    virtual ~RandomSource() = default;
    virtual void fill(std::span<std::uint8_t> out) = 0;
};
std::unique_ptr<RandomSource> make_system_random();

// A keyed pseudorandom function (RFC 7296 §2.13). For HMAC the key may have any length.
class Prf {
public:
    virtual ~Prf() = default;
    virtual PrfId id() const = 0;
    virtual std::size_t output_size() const = 0;   // also the preferred key size (RFC 7296 §2.13)
    virtual SecureBytes compute(ByteView key, ByteView data) const = 0;
};
std::unique_ptr<Prf> make_prf(PrfId id);  // never null for a valid PrfId

// prf+ (K,S) = T1 | T2 | T3 | ...  with  T1 = prf (K, S | 0x01), Tn = prf (K, Tn-1 | S | n)
// (RFC 7296 §2.13). Throws std::invalid_argument when more than 255 blocks would be needed.
SecureBytes prf_plus(const Prf& prf, ByteView key, ByteView seed, std::size_t length);

// The cipher of the IKE SK payload behind one interface, whether a combined-mode (AEAD) transform or an
// encryption transform with a separate integrity transform (the name stays Aead: CBC+HMAC is
// encrypt-then-MAC, which is an AEAD construction too).
// - AES-GCM (RFC 5282) and ChaCha20-Poly1305 (RFC 7634): key material = key | 4-byte salt;
//   nonce = salt | explicit 8-byte IV; the AAD is authenticated, not encrypted.
// - AES-CBC / 3DES-CBC with HMAC (RFC 7296 §3.14): the ICV = HMAC(SK_a, aad | IV | ciphertext), truncated,
//   checked in constant time before anything is decrypted; the plaintext must fill whole cipher blocks.
class Aead {
public:
    virtual ~Aead() = default;
    virtual std::size_t iv_size() const = 0;   // explicit IV carried in the packet (8; CBC: the block size)
    virtual std::size_t tag_size() const = 0;  // ICV (16; HMAC: the truncated output)
    // The plaintext must be a multiple of this (CBC: the cipher block; AEAD: 1).
    virtual std::size_t block_size() const { return 1; }
    // Fills the IV of the message number `counter` (never repeated under one key). AEAD: the counter
    // (RFC 5282 §3.1 asks for uniqueness); CBC: random, as RFC 7296 §3.14 wants an unpredictable IV.
    virtual void make_iv(std::uint64_t counter, std::span<std::uint8_t> iv);
    // Returns ciphertext | tag.
    virtual Bytes seal(ByteView iv, ByteView aad, ByteView plaintext) = 0;
    // Returns the plaintext, or nullopt when the ICV does not verify (or the input is malformed).
    virtual std::optional<Bytes> open(ByteView iv, ByteView aad, ByteView ciphertext_and_tag) = 0;
};
// key_material = key (key_bits/8 bytes) | salt (4 bytes). Throws std::invalid_argument on a wrong size.
std::unique_ptr<Aead> make_aead(EncrId id, std::uint16_t key_bits, ByteView key_material);
// Length of the key material (key + salt) a negotiated AEAD transform needs from prf+. AES-GCM key sizes
// 128, 192 and 256 bits are supported (RFC 5282 §7.1); any other throws std::invalid_argument.
// ChaCha20-Poly1305 (key_bits ignored): 32 + 4 bytes (RFC 7634 §2).
std::size_t aead_key_material_size(EncrId id, std::uint16_t key_bits);

// The negotiated SK payload transforms; integ is IntegId::none for AEADs.
struct SkTransform {
    EncrId encr = EncrId::aes_gcm_16;
    std::uint16_t key_bits = 256;
    IntegId integ = IntegId::none;
};
bool is_combined_mode(EncrId id);
// SK_e* size (AEAD: key | salt) and SK_a* size (HMAC: the hash output, RFC 4868 §2.1.2; 0 for AEAD).
// Throw std::invalid_argument for unsupported transforms or key sizes.
std::size_t sk_encr_key_size(const SkTransform& t);
std::size_t sk_integ_key_size(const SkTransform& t);
// AEAD: make_aead(encr_key); CBC: the cipher with encr_key and HMAC with integ_key. Throws
// std::invalid_argument when an AEAD gets an integrity transform or CBC none, or on wrong key sizes.
std::unique_ptr<Aead> make_sk_cipher(const SkTransform& t, ByteView encr_key, ByteView integ_key);

// Ephemeral Diffie-Hellman (RFC 7296 §1.2, KE payload). Public values are encoded as in the KE payload:
// X25519 (RFC 8031): 32 bytes; ECP (RFC 5903 §7): x | y, each the field size (32/48/66 bytes), no
// point-format prefix; MODP (RFC 7296 §3.4): y = g^x mod p, left-padded to the size of p.
class KeyExchange {
public:
    virtual ~KeyExchange() = default;
    virtual DhGroup group() const = 0;
    virtual Bytes public_value() const = 0;
    // The shared secret g^ir (X25519: 32 bytes; ECP: the x coordinate, RFC 5903 §7; MODP: padded to the
    // size of p), or nullopt when the peer's value is malformed or invalid (wrong length, not on the curve,
    // outside 1 < y < p-1, all-zero X25519 result) — RFC 6989.
    virtual std::optional<SecureBytes> shared_secret(ByteView peer_public) const = 0;
};
std::unique_ptr<KeyExchange> make_key_exchange(DhGroup group, RandomSource& random);
// Length of the KE payload's public value for a group; 0 for a group we do not implement (so that a value
// taken from a peer's KE payload can be checked without throwing).
std::size_t key_exchange_public_size(DhGroup group);
// FOR KNOWN-ANSWER TESTS ONLY (RFC 5903 §8, RFC 7748 §6.1): a key exchange with a fixed private key
// (X25519: the 32-byte scalar; ECP: the big-endian scalar of the field size in [1, n-1]; MODP: a
// big-endian exponent, 1 < x < p-1). Never use it for a
// real exchange: ephemeral keys come from make_key_exchange. Throws std::invalid_argument on a bad key.
std::unique_ptr<KeyExchange> make_key_exchange_from_private(DhGroup group, ByteView private_key);

// The IKE SA's keys (RFC 7296 §2.14).
struct IkeKeys {
    SecureBytes sk_d, sk_ai, sk_ar, sk_ei, sk_er, sk_pi, sk_pr;
};
// SKEYSEED = prf(Ni | Nr, g^ir)
// {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr)
// integ_key_size is 0 for AEAD transforms; encr_key_size includes the salt for AEAD.
IkeKeys derive_ike_keys(const Prf& prf, ByteView nonce_i, ByteView nonce_r, ByteView shared_secret,
                        ByteView spi_i, ByteView spi_r, std::size_t encr_key_size,
                        std::size_t integ_key_size);

// KEYMAT = prf+(SK_d, Ni | Nr) for a CHILD SA created in IKE_AUTH (RFC 7296 §2.17).
SecureBytes derive_child_keymat(const Prf& prf, ByteView sk_d, ByteView nonce_i, ByteView nonce_r,
                                std::size_t length);

// Shared-key AUTH value (RFC 7296 §2.15):
//   AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)
//   SignedOctets = RealMessage | Nonce(peer) | prf(SK_p, RestOfIDPayload)
// where RestOfIDPayload is the ID payload body (ID type, 3 reserved bytes, identification data).
Bytes psk_auth(const Prf& prf, ByteView psk, ByteView real_message, ByteView peer_nonce, ByteView sk_p,
               ByteView id_payload_body);

// Constant-time comparison for AUTH values and ICVs.
bool equal_constant_time(ByteView a, ByteView b);

}  // namespace ikevpn::crypto
