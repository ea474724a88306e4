// Signature AUTH (RFC 7296 §2.15, §3.8): private keys, the classic methods (1: RSA PKCS#1 v1.5 with SHA-1;
// 9/10/11: ECDSA, RFC 4754) and RFC 7427 digital signatures (method 14) incl. Ed25519 (RFC 8420).
#include "core/crypto/crypto.hpp"
#include "core/crypto/public_key_impl.hpp"

#include <botan/asn1_obj.h>
#include <botan/ber_dec.h>
#include <botan/data_src.h>
#include <botan/der_enc.h>
#include <botan/ecdsa.h>
#include <botan/oids.h>
#include <botan/pem.h>
#include <botan/pkcs8.h>
#include <botan/pubkey.h>
#include <botan/rsa.h>
#include <botan/system_rng.h>

#include <algorithm>
#include <array>
#include <string_view>

namespace ikevpn::crypto {

namespace {

// RFC 7427 Appendix A (A.1.2-A.1.4 PKCS#1 v1.5, A.3.2-A.3.4 ECDSA) and RFC 8420 §3 (Ed25519):
//   AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL }
constexpr std::array<std::uint8_t, 15> sha256_rsa = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00};
constexpr std::array<std::uint8_t, 15> sha384_rsa = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c, 0x05, 0x00};
constexpr std::array<std::uint8_t, 15> sha512_rsa = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d, 0x05, 0x00};
constexpr std::array<std::uint8_t, 12> ecdsa_sha256 = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
constexpr std::array<std::uint8_t, 12> ecdsa_sha384 = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03};
constexpr std::array<std::uint8_t, 12> ecdsa_sha512 = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04};
constexpr std::array<std::uint8_t, 7> ed25519 = {0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70};

// id-RSASSA-PSS with RSASSA-PSS-params (RFC 4055 §3.1): hashAlgorithm [0], maskGenAlgorithm [1] =
// MGF1 with the same hash, saltLength [2] = the hash length; trailerField left at its default.
std::vector<std::uint8_t> pss_algorithm_id(const std::string& hash, std::size_t salt) {
    const Botan::AlgorithmIdentifier hash_id(hash, Botan::AlgorithmIdentifier::USE_NULL_PARAM);
    const Botan::AlgorithmIdentifier mgf(Botan::OID::from_string("1.2.840.113549.1.1.8"), hash_id.BER_encode());
    std::vector<std::uint8_t> params;
    Botan::DER_Encoder(params)
        .start_cons(Botan::SEQUENCE)
        .start_explicit(0).encode(hash_id).end_explicit()
        .start_explicit(1).encode(mgf).end_explicit()
        .start_explicit(2).encode(salt).end_explicit()
        .end_cons();
    return Botan::AlgorithmIdentifier(Botan::OID::from_string("1.2.840.113549.1.1.10"), params).BER_encode();
}

const std::vector<std::uint8_t>& pss_id(HashAlgorithm hash) {
    static const std::vector<std::uint8_t> p256 = pss_algorithm_id("SHA-256", 32), p384 = pss_algorithm_id("SHA-384", 48),
                                           p512 = pss_algorithm_id("SHA-512", 64);
    return hash == HashAlgorithm::sha512 ? p512 : hash == HashAlgorithm::sha384 ? p384 : p256;
}

// How Botan signs or verifies one scheme.
struct Scheme {
    std::string padding;  // Botan's EMSA name
    Botan::Signature_Format format = Botan::IEEE_1363;
};

const char* hash_name(HashAlgorithm h) {
    switch (h) {
    case HashAlgorithm::sha1: return "SHA-1";
    case HashAlgorithm::sha256: return "SHA-256";
    case HashAlgorithm::sha384: return "SHA-384";
    case HashAlgorithm::sha512: return "SHA-512";
    case HashAlgorithm::identity: break;
    }
    return "";
}

bool announced(std::span<const std::uint16_t> hashes, HashAlgorithm h) {
    return std::find(hashes.begin(), hashes.end(), std::uint16_t(h)) != hashes.end();
}

// The hash of ECDSA follows the curve (RFC 4754 pairs them the same way); RSA takes the strongest
// common one, preferring SHA-256 since every gateway has it.
std::optional<HashAlgorithm> pick_hash(KeyType type, std::span<const std::uint16_t> peer) {
    std::vector<HashAlgorithm> order;
    switch (type) {
    case KeyType::ed25519: order = {HashAlgorithm::identity}; break;
    case KeyType::ecdsa_p384: order = {HashAlgorithm::sha384, HashAlgorithm::sha512, HashAlgorithm::sha256}; break;
    case KeyType::ecdsa_p521: order = {HashAlgorithm::sha512, HashAlgorithm::sha384, HashAlgorithm::sha256}; break;
    default: order = {HashAlgorithm::sha256, HashAlgorithm::sha384, HashAlgorithm::sha512}; break;
    }
    for (auto h : order)
        if (announced(peer, h)) return h;
    return std::nullopt;
}

Bytes run_signer(const Botan::Private_Key& key, const Scheme& scheme, ByteView octets) {
    Botan::PK_Signer signer(key, Botan::system_rng(), scheme.padding, scheme.format);
    const auto sig = signer.sign_message(octets.data(), octets.size(), Botan::system_rng());
    return Bytes(sig.begin(), sig.end());
}

bool run_verifier(const Botan::Public_Key& key, const Scheme& scheme, ByteView octets, ByteView signature) {
    try {
        Botan::PK_Verifier verifier(key, scheme.padding, scheme.format);
        return verifier.verify_message(octets.data(), octets.size(), signature.data(), signature.size());
    } catch (const std::exception&) {
        return false;
    }
}

std::string hash_of_algorithm_id(const Botan::AlgorithmIdentifier& id) {
    return Botan::OIDS::oid2str_or_empty(id.get_oid());
}

// RSASSA-PSS-params (RFC 4055 §3.1) → Botan's "EMSA4(hash,MGF1,salt)"; the MGF1 hash must be the same.
std::optional<Scheme> pss_scheme(const std::vector<std::uint8_t>& params, std::string& error) {
    try {
        const Botan::AlgorithmIdentifier sha1("SHA-160", Botan::AlgorithmIdentifier::USE_NULL_PARAM);
        Botan::AlgorithmIdentifier hash = sha1, mgf;
        std::size_t salt = 20;
        Botan::BER_Decoder(params)
            .start_cons(Botan::SEQUENCE)
            .decode_optional(hash, Botan::ASN1_Tag(0), Botan::ASN1_Tag(Botan::CONSTRUCTED | Botan::CONTEXT_SPECIFIC), sha1)
            .decode_optional(mgf, Botan::ASN1_Tag(1), Botan::ASN1_Tag(Botan::CONSTRUCTED | Botan::CONTEXT_SPECIFIC), Botan::AlgorithmIdentifier())
            .decode_optional(salt, Botan::ASN1_Tag(2), Botan::ASN1_Tag(Botan::CONSTRUCTED | Botan::CONTEXT_SPECIFIC), std::size_t(20));
        const std::string h = hash_of_algorithm_id(hash);
        if (h != "SHA-256" && h != "SHA-384" && h != "SHA-512") {
            error = "RSASSA-PSS with hash '" + (h.empty() ? hash.get_oid().to_string() : h) + "' is not accepted";
            return std::nullopt;
        }
        if (mgf.get_oid() != Botan::OID::from_string("1.2.840.113549.1.1.8")) {
            error = "RSASSA-PSS with a mask generation function other than MGF1";
            return std::nullopt;
        }
        Botan::AlgorithmIdentifier mgf_hash;
        Botan::BER_Decoder(mgf.get_parameters()).decode(mgf_hash);
        if (hash_of_algorithm_id(mgf_hash) != h) {
            error = "RSASSA-PSS with an MGF1 hash different from the message hash";
            return std::nullopt;
        }
        return Scheme{"EMSA4(" + h + ",MGF1," + std::to_string(salt) + ")", Botan::IEEE_1363};
    } catch (const std::exception& e) {
        error = std::string("malformed RSASSA-PSS parameters: ") + e.what();
        return std::nullopt;
    }
}

// The scheme an RFC 7427 AlgorithmIdentifier names, for the key type of the certificate.
std::optional<Scheme> scheme_for_algorithm_id(ByteView der, KeyType key, std::string& error) {
    Botan::AlgorithmIdentifier id;
    try {
        Botan::BER_Decoder decoder(der.data(), der.size());
        decoder.decode(id);
        decoder.verify_end();
    } catch (const std::exception&) {
        error = "the AUTH payload's AlgorithmIdentifier is malformed";
        return std::nullopt;
    }
    const std::string oid = id.get_oid().to_string();
    const bool rsa = key == KeyType::rsa;
    const bool ecdsa = key == KeyType::ecdsa_p256 || key == KeyType::ecdsa_p384 || key == KeyType::ecdsa_p521;
    struct Known { const char* oid; const char* padding; bool for_rsa; bool for_ecdsa; };
    static constexpr Known table[] = {
        {"1.2.840.113549.1.1.11", "EMSA3(SHA-256)", true, false}, {"1.2.840.113549.1.1.12", "EMSA3(SHA-384)", true, false},
        {"1.2.840.113549.1.1.13", "EMSA3(SHA-512)", true, false}, {"1.2.840.10045.4.3.2", "EMSA1(SHA-256)", false, true},
        {"1.2.840.10045.4.3.3", "EMSA1(SHA-384)", false, true},   {"1.2.840.10045.4.3.4", "EMSA1(SHA-512)", false, true},
    };
    for (const auto& k : table) {
        if (oid != k.oid) continue;
        if ((k.for_rsa && !rsa) || (k.for_ecdsa && !ecdsa)) {
            error = "the AUTH signature algorithm does not fit the certificate's " + key_type_name(key) + " key";
            return std::nullopt;
        }
        // RFC 7427 §3: ECDSA signatures in method 14 are the DER ECDSA-Sig-Value, not r | s.
        return Scheme{k.padding, k.for_ecdsa ? Botan::DER_SEQUENCE : Botan::IEEE_1363};
    }
    if (oid == "1.2.840.113549.1.1.10") {
        if (!rsa) {
            error = "RSASSA-PSS signature, but the certificate holds a " + key_type_name(key) + " key";
            return std::nullopt;
        }
        return pss_scheme(id.get_parameters(), error);
    }
    if (oid == "1.3.101.112") {
        if (key != KeyType::ed25519) {
            error = "Ed25519 signature, but the certificate holds a " + key_type_name(key) + " key";
            return std::nullopt;
        }
        return Scheme{"Pure", Botan::IEEE_1363};
    }
    const std::string name = hash_of_algorithm_id(id);
    error = "signature algorithm " + (name.empty() ? oid : name) + " is not accepted (SHA-1 and unknown ones are refused)";
    return std::nullopt;
}

// PKCS#1 RSAPrivateKey or SEC1 ECPrivateKey (the formats of `pki --gen`) wrapped as Botan key objects.
std::unique_ptr<Botan::Private_Key> load_legacy_key(const std::string& label, const Botan::secure_vector<std::uint8_t>& der) {
    if (label == "RSA PRIVATE KEY")
        return std::make_unique<Botan::RSA_PrivateKey>(
            Botan::AlgorithmIdentifier("RSA", Botan::AlgorithmIdentifier::USE_NULL_PARAM), der);
    // ECPrivateKey ::= SEQUENCE { version 1, privateKey OCTET STRING, parameters [0] ECParameters, ... }
    // (RFC 5915 §3): the curve comes from [0], which Botan expects in the AlgorithmIdentifier instead.
    std::size_t version = 0;
    Botan::secure_vector<std::uint8_t> scalar;
    Botan::OID curve;
    Botan::BER_Decoder(der)
        .start_cons(Botan::SEQUENCE)
        .decode(version)
        .decode(scalar, Botan::OCTET_STRING)
        .decode_optional(curve, Botan::ASN1_Tag(0), Botan::ASN1_Tag(Botan::CONSTRUCTED | Botan::CONTEXT_SPECIFIC));
    if (curve.empty()) throw std::invalid_argument("EC key without a named curve");
    std::vector<std::uint8_t> curve_der;
    Botan::DER_Encoder(curve_der).encode(curve);
    return std::make_unique<Botan::ECDSA_PrivateKey>(
        Botan::AlgorithmIdentifier(Botan::OID::from_string("1.2.840.10045.2.1"), curve_der), der);
}

}  // namespace

std::string key_type_name(KeyType type) {
    switch (type) {
    case KeyType::rsa: return "RSA";
    case KeyType::ecdsa_p256: return "ECDSA P-256";
    case KeyType::ecdsa_p384: return "ECDSA P-384";
    case KeyType::ecdsa_p521: return "ECDSA P-521";
    case KeyType::ed25519: return "Ed25519";
    }
    return "unknown";
}

std::vector<HashAlgorithm> announced_hash_algorithms() {
    return {HashAlgorithm::sha256, HashAlgorithm::sha384, HashAlgorithm::sha512, HashAlgorithm::identity};
}

PrivateKeyPtr load_private_key(ByteView pem, std::string& error) {
    std::unique_ptr<Botan::Private_Key> key;
    try {
        // Searched in place: a std::string copy of the key would outlive this function unwiped.
        const auto contains = [&](std::string_view needle) {
            return std::search(pem.begin(), pem.end(), needle.begin(), needle.end()) != pem.end();
        };
        if (contains("ENCRYPTED")) {
            error = "encrypted private keys are not supported (store it unencrypted with mode 0600)";
            return nullptr;
        }
        Botan::DataSource_Memory source(pem.data(), pem.size());
        if (contains("-----BEGIN PRIVATE KEY-----")) {
            key = Botan::PKCS8::load_key(source);
        } else {
            std::string label;
            const auto der = Botan::PEM_Code::decode(source, label);
            if (label != "RSA PRIVATE KEY" && label != "EC PRIVATE KEY") {
                error = "expected a PEM private key (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY), found '" + label + "'";
                return nullptr;
            }
            key = load_legacy_key(label, der);
        }
    } catch (const std::exception& e) {
        error = std::string("not a valid PEM private key: ") + e.what();
        return nullptr;
    }
    const auto type = key_type_of(*key);
    if (!type) {
        error = "unsupported key algorithm '" + key->algo_name() + "' (RSA, ECDSA P-256/P-384/P-521 or Ed25519)";
        return nullptr;
    }
    return std::make_shared<const PrivateKey>(std::move(key), *type);
}

KeyType private_key_type(const PrivateKey& key) { return key.type; }

std::optional<SignatureAuth> sign_auth(const PrivateKey& key, ByteView octets, std::span<const std::uint16_t> peer_hashes,
                                       bool rsa_pss, std::string& error) {
    try {
        if (peer_hashes.empty()) {
            // Classic methods (RFC 7296 §3.8, RFC 4754 §7): the signature alone.
            switch (key.type) {
            case KeyType::rsa: return SignatureAuth{1, run_signer(*key.key, {"EMSA3(SHA-1)"}, octets)};
            case KeyType::ecdsa_p256: return SignatureAuth{9, run_signer(*key.key, {"EMSA1(SHA-256)"}, octets)};
            case KeyType::ecdsa_p384: return SignatureAuth{10, run_signer(*key.key, {"EMSA1(SHA-384)"}, octets)};
            case KeyType::ecdsa_p521: return SignatureAuth{11, run_signer(*key.key, {"EMSA1(SHA-512)"}, octets)};
            case KeyType::ed25519:
                error = "an Ed25519 key needs RFC 8420 signatures, but the gateway announced no SIGNATURE_HASH_ALGORITHMS";
                return std::nullopt;
            }
        }
        const auto hash = pick_hash(key.type, peer_hashes);
        if (!hash) {
            error = "the gateway's SIGNATURE_HASH_ALGORITHMS hold no hash usable with our " + key_type_name(key.type) + " key";
            return std::nullopt;
        }
        ByteView algorithm_id;
        Scheme scheme;
        const std::string h = hash_name(*hash);
        switch (key.type) {
        case KeyType::rsa:
            if (rsa_pss) {
                algorithm_id = pss_id(*hash);
                scheme = {"EMSA4(" + h + ",MGF1," + std::to_string(*hash == HashAlgorithm::sha512 ? 64 : *hash == HashAlgorithm::sha384 ? 48 : 32) + ")"};
            } else {
                algorithm_id = *hash == HashAlgorithm::sha512 ? ByteView(sha512_rsa) : *hash == HashAlgorithm::sha384 ? ByteView(sha384_rsa) : ByteView(sha256_rsa);
                scheme = {"EMSA3(" + h + ")"};
            }
            break;
        case KeyType::ed25519:
            algorithm_id = ed25519;
            scheme = {"Pure"};
            break;
        default:
            algorithm_id = *hash == HashAlgorithm::sha512 ? ByteView(ecdsa_sha512) : *hash == HashAlgorithm::sha384 ? ByteView(ecdsa_sha384) : ByteView(ecdsa_sha256);
            scheme = {"EMSA1(" + h + ")", Botan::DER_SEQUENCE};
            break;
        }
        // RFC 7427 §3: Authentication Data = ASN.1 Length (1 octet) | AlgorithmIdentifier | Signature Value
        const Bytes signature = run_signer(*key.key, scheme, octets);
        SignatureAuth out{14, {}};
        out.data.push_back(std::uint8_t(algorithm_id.size()));
        out.data.insert(out.data.end(), algorithm_id.begin(), algorithm_id.end());
        out.data.insert(out.data.end(), signature.begin(), signature.end());
        return out;
    } catch (const std::exception& e) {
        error = std::string("signing failed: ") + e.what();
        return std::nullopt;
    }
}

std::optional<std::string> verify_auth(const Certificate& cert, std::uint8_t method, ByteView data, ByteView octets) {
    std::unique_ptr<Botan::Public_Key> key;
    try {
        key = cert.cert.load_subject_public_key();
    } catch (const std::exception&) {
        return std::string("the certificate's public key cannot be read");
    }
    const auto type = key_type_of(*key);
    if (!type) return "the certificate's key algorithm '" + key->algo_name() + "' is not supported";
    Scheme scheme;
    ByteView signature = data;
    switch (method) {
    case 1:
        if (*type != KeyType::rsa) return "AUTH method 1 (RSA) with a " + key_type_name(*type) + " certificate";
        scheme = {"EMSA3(SHA-1)"};
        break;
    case 9: case 10: case 11: {
        const KeyType expected = method == 9 ? KeyType::ecdsa_p256 : method == 10 ? KeyType::ecdsa_p384 : KeyType::ecdsa_p521;
        if (*type != expected) return "AUTH method " + std::to_string(method) + " (" + key_type_name(expected) +
                                      ") with a " + key_type_name(*type) + " certificate";
        scheme = {method == 9 ? "EMSA1(SHA-256)" : method == 10 ? "EMSA1(SHA-384)" : "EMSA1(SHA-512)"};
        break;
    }
    case 14: {
        if (data.empty() || data[0] == 0 || data.size() < 1u + data[0]) return std::string("malformed RFC 7427 AUTH data");
        std::string error;
        auto s = scheme_for_algorithm_id(data.subspan(1, data[0]), *type, error);
        if (!s) return error;
        scheme = *s;
        signature = data.subspan(1u + data[0]);
        break;
    }
    default:
        return "AUTH method " + std::to_string(method) + " is not supported";
    }
    if (!run_verifier(*key, scheme, octets, signature)) return std::string("the signature does not verify");
    return std::nullopt;
}

std::vector<SignatureAlgorithmInfo> known_signature_algorithms() {
    return {{"sha256WithRSAEncryption", sha256_rsa}, {"sha384WithRSAEncryption", sha384_rsa},
            {"sha512WithRSAEncryption", sha512_rsa}, {"ecdsa-with-SHA256", ecdsa_sha256},
            {"ecdsa-with-SHA384", ecdsa_sha384},     {"ecdsa-with-SHA512", ecdsa_sha512},
            {"Ed25519", ed25519},                    {"RSASSA-PSS SHA-256", pss_id(HashAlgorithm::sha256)},
            {"RSASSA-PSS SHA-384", pss_id(HashAlgorithm::sha384)}, {"RSASSA-PSS SHA-512", pss_id(HashAlgorithm::sha512)}};
}

Bytes signed_octets(const Prf& prf, ByteView real_message, ByteView peer_nonce, ByteView sk_p, ByteView id_payload_body) {
    // MACedIDFor<I|R> = prf(SK_p<i|r>, RestOfID<I|R>Payload); <SignedOctets> = RealMessage | Nonce | MACedID
    const SecureBytes maced_id = prf.compute(sk_p, id_payload_body);
    Bytes out(real_message.begin(), real_message.end());
    out.insert(out.end(), peer_nonce.begin(), peer_nonce.end());
    out.insert(out.end(), maced_id.begin(), maced_id.end());
    return out;
}

}  // namespace ikevpn::crypto
