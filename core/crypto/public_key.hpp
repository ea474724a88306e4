// Public-key authentication material: private keys (ours), X.509 certificates (ours, the gateway's, the
// CAs of the profile), signature AUTH values (RFC 7296 §2.15, RFC 4754, RFC 7427, RFC 8420) and path
// validation. Botan stays behind this header: callers hold opaque PrivateKey/Certificate handles.
#pragma once
#include "core/bytes.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ikevpn::crypto {

class PrivateKey;
class Certificate;
using CertificatePtr = std::shared_ptr<const Certificate>;
using PrivateKeyPtr = std::shared_ptr<const PrivateKey>;

enum class KeyType : std::uint8_t { rsa, ecdsa_p256, ecdsa_p384, ecdsa_p521, ed25519 };
std::string key_type_name(KeyType type);  // "RSA-2048", "ECDSA P-256", "Ed25519" style names need the key

// IANA "IKEv2 Hash Algorithms" (RFC 7427 §7, RFC 8420 §2): the data of SIGNATURE_HASH_ALGORITHMS.
enum class HashAlgorithm : std::uint16_t { sha1 = 1, sha256 = 2, sha384 = 3, sha512 = 4, identity = 5 };
// What we announce in IKE_SA_INIT (RFC 7427 §4): every hash we can verify with, SHA-1 left out.
std::vector<HashAlgorithm> announced_hash_algorithms();

// Reads a PEM private key: PKCS#8 ("PRIVATE KEY", RSA, ECDSA or Ed25519), PKCS#1 ("RSA PRIVATE KEY") or
// SEC1 ("EC PRIVATE KEY") as `pki --gen` and `openssl` write them. Encrypted keys are refused. On failure
// returns nullptr and a one-line reason in `error`.
PrivateKeyPtr load_private_key(ByteView pem, std::string& error);
KeyType private_key_type(const PrivateKey& key);

// Every certificate in PEM text (one or more "CERTIFICATE" blocks); an empty result comes with `error`.
std::vector<CertificatePtr> load_certificates_pem(ByteView pem, std::string& error);
// One DER certificate (the data of a CERT payload with encoding 4); nullptr and `error` when malformed.
CertificatePtr parse_certificate_der(ByteView der, std::string& error);
Bytes certificate_der(const Certificate& cert);
std::string certificate_subject(const Certificate& cert);  // "CN=vpn.example.com,O=Example"
// SHA-1 of the certificate's SubjectPublicKeyInfo: a CA's entry in CERTREQ (RFC 7296 §3.7).
Bytes public_key_sha1(const Certificate& cert);
std::optional<KeyType> certificate_key_type(const Certificate& cert);
bool key_matches_certificate(const PrivateKey& key, const Certificate& cert);

// Path validation (RFC 5280 via Botan): end_entity chains through `intermediates` to one of `trusted`,
// every certificate is within its validity period at `now`, signatures verify, and the end entity's key
// usage, when present, allows digitalSignature or nonRepudiation (RFC 4945 §5.1.3.2). nullopt = valid;
// otherwise a short reason ("certificate has expired", "certificate issuer not found").
std::optional<std::string> validate_certificate(const Certificate& end_entity,
                                                const std::vector<CertificatePtr>& intermediates,
                                                const std::vector<CertificatePtr>& trusted,
                                                std::chrono::system_clock::time_point now);

// Identity checks against a certificate (RFC 4945 §3.1): subjectAltName dNSName (case-insensitive),
// rfc822Name, iPAddress (IPv4 and IPv6), the subject DN, or the subjectKeyIdentifier for KEY_ID.
bool certificate_has_dns(const Certificate& cert, const std::string& name);
bool certificate_has_email(const Certificate& cert, const std::string& email);
bool certificate_has_ip(const Certificate& cert, ByteView address);  // 4 or 16 bytes
bool certificate_has_dn(const Certificate& cert, ByteView dn_der);
bool certificate_has_key_id(const Certificate& cert, ByteView key_id);

// Distinguished names as the profile writes them ("CN=vpn.example.com, O=Example") and as ID_DER_ASN1_DN
// carries them. Attributes: C, ST, L, O, OU, CN, SN/serialNumber, E/emailAddress, DC.
std::optional<Bytes> dn_from_string(const std::string& text, std::string& error);
std::string dn_to_string(ByteView der);  // "(malformed DN)" when it does not decode
bool dn_equal(ByteView a, ByteView b);   // RFC 5280 §7.1 style comparison (case-insensitive, spaces folded)

// An AUTH payload's method and data (RFC 7296 §3.8).
struct SignatureAuth {
    std::uint8_t method = 0;
    Bytes data;
};

// Signs the octets of RFC 7296 §2.15. With the peer's SIGNATURE_HASH_ALGORITHMS (non-empty `peer_hashes`)
// this is RFC 7427 method 14 (1-byte length | AlgorithmIdentifier | signature) using the strongest hash
// both sides know, RSA with PSS when `rsa_pss`; otherwise the classic methods: 1 (RSA PKCS#1 v1.5 with
// SHA-1, RFC 7296 §3.8) or 9/10/11 (ECDSA, RFC 4754). Ed25519 exists only in method 14 (RFC 8420).
// nullopt with `error` when no common scheme exists.
std::optional<SignatureAuth> sign_auth(const PrivateKey& key, ByteView octets,
                                       std::span<const std::uint16_t> peer_hashes, bool rsa_pss,
                                       std::string& error);

// Verifies a signature AUTH (methods 1, 9, 10, 11, 14) with the certificate's public key. nullopt when
// it verifies; otherwise the reason (unsupported method or algorithm, key type mismatch, bad signature).
std::optional<std::string> verify_auth(const Certificate& cert, std::uint8_t method, ByteView data,
                                       ByteView octets);

// The DER AlgorithmIdentifiers of RFC 7427 Appendix A (and RFC 8420 §3 for Ed25519) we sign and verify
// with, exposed for the known-answer tests.
struct SignatureAlgorithmInfo {
    const char* name;       // "sha256WithRSAEncryption"
    ByteView algorithm_id;  // DER
};
std::vector<SignatureAlgorithmInfo> known_signature_algorithms();

// <SignedOctets> = RealMessage | Nonce(peer) | prf(SK_p, RestOfIDPayload)  (RFC 7296 §2.15) — the same
// octets for PSK and signature authentication.
class Prf;
Bytes signed_octets(const Prf& prf, ByteView real_message, ByteView peer_nonce, ByteView sk_p,
                    ByteView id_payload_body);

}  // namespace ikevpn::crypto
