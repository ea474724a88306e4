// Signature AUTH (RFC 7296 §2.15/§3.8, RFC 4754, RFC 7427, RFC 8420), private key loading, X.509 path
// validation and identity checks. Certificates are made with Botan at test time (tests/support/test_pki.hpp).
#include "core/crypto/crypto.hpp"
#include "core/crypto/public_key.hpp"
#include "tests/support/test_pki.hpp"
#include "tests/unit/core/crypto/hex.hpp"

#include <botan/ber_dec.h>
#include <botan/pubkey.h>
#include <botan/system_rng.h>
#include <doctest/doctest.h>

using namespace ikevpn;
using namespace ikevpn::crypto;
using ikevpn::crypto::test::hex;
using ikevpn::crypto::test::to_hex;
using ikevpn::test::TestCert;
using ikevpn::test::TestCertOptions;
using ikevpn::test::TestKey;
using ikevpn::test::TestPki;
using ikevpn::test::to_bytes;

namespace {

const std::uint16_t all_hashes[] = {2, 3, 4, 5};

CertificatePtr load_one(const std::string& pem) {
    std::string error;
    auto certs = load_certificates_pem(to_bytes(pem), error);
    REQUIRE_MESSAGE(certs.size() == 1, error);
    return certs.front();
}

PrivateKeyPtr load_key(const std::string& pem) {
    std::string error;
    auto key = load_private_key(to_bytes(pem), error);
    REQUIRE_MESSAGE(key, error);
    return key;
}

TestPki& shared_pki() {
    static TestPki pki;
    return pki;
}

}  // namespace

TEST_CASE("RFC 7427 Appendix A AlgorithmIdentifiers and RFC 8420 Ed25519") {
    // RFC 7427 Appendix A.1 (PKCS#1 1.5), A.3 (ECDSA); RFC 8420 §3 (id-Ed25519, parameters absent).
    const std::pair<const char*, const char*> expected[] = {
        {"sha256WithRSAEncryption", "30 0d 06 09 2a 86 48 86 f7 0d 01 01 0b 05 00"},
        {"sha384WithRSAEncryption", "30 0d 06 09 2a 86 48 86 f7 0d 01 01 0c 05 00"},
        {"sha512WithRSAEncryption", "30 0d 06 09 2a 86 48 86 f7 0d 01 01 0d 05 00"},
        {"ecdsa-with-SHA256", "30 0a 06 08 2a 86 48 ce 3d 04 03 02"},
        {"ecdsa-with-SHA384", "30 0a 06 08 2a 86 48 ce 3d 04 03 03"},
        {"ecdsa-with-SHA512", "30 0a 06 08 2a 86 48 ce 3d 04 03 04"},
        {"Ed25519", "30 05 06 03 2b 65 70"},
        // RSASSA-PSS-params {SHA-256, MGF1-SHA-256, saltLength 32} (RFC 4055 §3.1), the DER published for
        // "RSASSA-PSS with SHA-256" in draft-ietf-cose-cbor-encoded-cert's signature algorithm table.
        {"RSASSA-PSS SHA-256", "30 41 06 09 2A 86 48 86 F7 0D 01 01 0A 30 34 A0 0F 30 0D 06 09 60 86 48 01 65 03 04 02"
                               "01 05 00 A1 1C 30 1A 06 09 2A 86 48 86 F7 0D 01 01 08 30 0D 06 09 60 86 48 01 65 03"
                               "04 02 01 05 00 A2 03 02 01 20"},
    };
    const auto known = known_signature_algorithms();
    for (const auto& [name, der] : expected) {
        CAPTURE(name);
        const auto it = std::find_if(known.begin(), known.end(), [&](const auto& k) { return std::string(k.name) == name; });
        REQUIRE(it != known.end());
        CHECK(to_hex(Bytes(it->algorithm_id.begin(), it->algorithm_id.end())) == to_hex(hex(der)));
    }
}

TEST_CASE("sign/verify round trips for every key type, RFC 7427 and classic methods") {
    TestPki& pki = shared_pki();
    const Bytes octets = to_bytes("RealMessage | Nonce | prf(SK_p, ID')");
    struct Case { TestKey key; bool pss; std::uint8_t classic; };
    const Case cases[] = {{TestKey::rsa2048, false, 1}, {TestKey::rsa2048, true, 1}, {TestKey::p256, false, 9},
                          {TestKey::p384, false, 10},  {TestKey::ed25519, false, 0}};
    for (const auto& c : cases) {
        CAPTURE(int(c.key));
        CAPTURE(c.pss);
        TestCertOptions o;
        o.key = c.key;
        const TestCert tc = pki.issue(o);
        const auto key = load_key(tc.key_pem);
        const auto cert = load_one(tc.cert_pem);
        CHECK(key_matches_certificate(*key, *cert));
        std::string error;
        auto auth = sign_auth(*key, octets, all_hashes, c.pss, error);
        REQUIRE_MESSAGE(auth, error);
        CHECK(auth->method == 14);
        CHECK_FALSE(verify_auth(*cert, auth->method, auth->data, octets));
        Bytes tampered = octets;
        tampered.back() ^= 1;
        CHECK(verify_auth(*cert, auth->method, auth->data, tampered) == std::string("the signature does not verify"));

        auto classic = sign_auth(*key, octets, {}, c.pss, error);
        if (c.classic == 0) {
            CHECK_FALSE(classic);  // Ed25519 exists only in RFC 8420
            CHECK(error.find("RFC 8420") != std::string::npos);
            continue;
        }
        REQUIRE_MESSAGE(classic, error);
        CHECK(classic->method == c.classic);
        CHECK_FALSE(verify_auth(*cert, classic->method, classic->data, octets));
        CHECK(verify_auth(*cert, classic->method, classic->data, tampered));
    }
}

TEST_CASE("RFC 7427 hash choice follows the peer's SIGNATURE_HASH_ALGORITHMS") {
    TestCertOptions o;
    o.key = TestKey::p384;
    const TestCert tc = shared_pki().issue(o);
    const auto key = load_key(tc.key_pem);
    std::string error;
    const std::uint16_t only_sha256[] = {2};
    auto auth = sign_auth(*key, to_bytes("x"), only_sha256, false, error);
    REQUIRE(auth);
    // 1-byte length, then ecdsa-with-SHA256
    CHECK(to_hex(Bytes(auth->data.begin(), auth->data.begin() + 13)) == to_hex(hex("0c 30 0a 06 08 2a 86 48 ce 3d 04 03 02")));
    const std::uint16_t only_sha1[] = {1};
    CHECK_FALSE(sign_auth(*key, to_bytes("x"), only_sha1, false, error));
    CHECK(error.find("no hash usable") != std::string::npos);
}

TEST_CASE("verification refuses mismatched key types, SHA-1 in RFC 7427 and malformed data") {
    TestPki& pki = shared_pki();
    const TestCert ec = pki.issue({});
    TestCertOptions ro;
    ro.key = TestKey::rsa2048;
    const TestCert rsa = pki.issue(ro);
    const auto ec_cert = load_one(ec.cert_pem);
    const auto rsa_key = load_key(rsa.key_pem);
    std::string error;
    auto auth = sign_auth(*rsa_key, to_bytes("m"), all_hashes, false, error);
    REQUIRE(auth);
    CHECK(verify_auth(*ec_cert, 14, auth->data, to_bytes("m"))->find("does not fit") != std::string::npos);
    CHECK(verify_auth(*ec_cert, 1, auth->data, to_bytes("m")));
    CHECK(verify_auth(*ec_cert, 14, {}, to_bytes("m")) == std::string("malformed RFC 7427 AUTH data"));
    const Bytes too_long = {0x20, 0x30, 0x00};
    CHECK(verify_auth(*ec_cert, 14, too_long, to_bytes("m")) == std::string("malformed RFC 7427 AUTH data"));
    // ecdsa-with-SHA1 (RFC 7427 A.3.1) is refused: we never announce SHA-1.
    Bytes sha1 = hex("09 30 07 06 05 2b 0e 03 02 1a");
    sha1.resize(sha1.size() + 64, 0x01);
    CHECK(verify_auth(*ec_cert, 14, sha1, to_bytes("m"))->find("not accepted") != std::string::npos);
    CHECK(verify_auth(*ec_cert, 2, auth->data, to_bytes("m"))->find("not supported") != std::string::npos);
}

TEST_CASE("PSS with the RFC 4055 parameter defaults spelled out (trailerField) verifies") {
    TestCertOptions ro;
    ro.key = TestKey::rsa2048;
    const TestCert rsa = shared_pki().issue(ro);
    Botan::PK_Signer signer(*rsa.key, Botan::system_rng(), "EMSA4(SHA-256,MGF1,32)");
    const Bytes msg = to_bytes("octets");
    const auto sig = signer.sign_message(msg, Botan::system_rng());
    // The SHA-256 PSS AlgorithmIdentifier with an explicit trailerField [3] INTEGER 1.
    Bytes data = hex("48 30 46 06 09 2A 86 48 86 F7 0D 01 01 0A 30 39 A0 0F 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00"
                     "A1 1C 30 1A 06 09 2A 86 48 86 F7 0D 01 01 08 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00"
                     "A2 03 02 01 20 A3 03 02 01 01");
    data.insert(data.end(), sig.begin(), sig.end());
    CHECK_FALSE(verify_auth(*load_one(rsa.cert_pem), 14, data, msg));
}

TEST_CASE("private keys: PKCS#8, PKCS#1 and SEC1 PEM; clear errors otherwise") {
    Botan::AutoSeeded_RNG rng;
    Botan::RSA_PrivateKey rsa(rng, 2048);
    const std::string pkcs1 = Botan::PEM_Code::encode(rsa.private_key_bits(), "RSA PRIVATE KEY");
    std::string error;
    auto k = load_private_key(to_bytes(pkcs1), error);
    REQUIRE_MESSAGE(k, error);
    CHECK(private_key_type(*k) == KeyType::rsa);

    // SEC1 ECPrivateKey with the named curve in [0] (RFC 5915 §3), as `pki --gen --type ecdsa` writes it.
    Botan::ECDSA_PrivateKey ec(rng, Botan::EC_Group("secp384r1"));
    Bytes sec1;
    Botan::DER_Encoder(sec1)
        .start_cons(Botan::SEQUENCE)
        .encode(std::size_t(1))
        .encode(Botan::BigInt::encode_1363(ec.private_value(), 48), Botan::OCTET_STRING)
        .start_explicit(0).encode(Botan::OID::from_string("1.3.132.0.34")).end_explicit()
        .end_cons();
    k = load_private_key(to_bytes(Botan::PEM_Code::encode(sec1, "EC PRIVATE KEY")), error);
    REQUIRE_MESSAGE(k, error);
    CHECK(private_key_type(*k) == KeyType::ecdsa_p384);

    CHECK_FALSE(load_private_key(to_bytes("not a key"), error));
    CHECK(error.find("not a valid PEM private key") == 0);
    CHECK_FALSE(load_private_key(to_bytes("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"), error));
    CHECK(error.find("encrypted") == 0);
    CHECK_FALSE(load_private_key(to_bytes(shared_pki().ca_pem()), error));
    CHECK(error.find("found 'CERTIFICATE'") != std::string::npos);
}

TEST_CASE("path validation: good chain, intermediates, wrong CA, expired, not yet valid, key usage") {
    TestPki& pki = shared_pki();
    const auto now = std::chrono::system_clock::now();
    const std::vector<CertificatePtr> trusted{load_one(pki.ca_pem())};

    const auto good = load_one(pki.issue({}).cert_pem);
    CHECK_FALSE(validate_certificate(*good, {}, trusted, now));

    TestCertOptions sub;
    sub.common_name = "Intermediate CA";
    sub.ca = true;
    const TestCert intermediate = pki.issue(sub);
    TestPki sub_pki(intermediate);
    const auto leaf = load_one(sub_pki.issue({}).cert_pem);
    CHECK_FALSE(validate_certificate(*leaf, {load_one(intermediate.cert_pem)}, trusted, now));
    CHECK(validate_certificate(*leaf, {}, trusted, now) == std::string("certificate issuer not found"));

    TestPki other("Other CA");
    CHECK(validate_certificate(*good, {}, {load_one(other.ca_pem())}, now) == std::string("certificate issuer not found"));

    TestCertOptions expired;
    expired.not_before = std::chrono::hours(-48);
    expired.not_after = std::chrono::hours(-1);
    CHECK(validate_certificate(*load_one(pki.issue(expired).cert_pem), {}, trusted, now) ==
          std::string("certificate has expired"));
    // The validation time is injected: the good certificate is expired a year from now.
    CHECK(validate_certificate(*good, {}, trusted, now + std::chrono::hours(24 * 365)) == std::string("certificate has expired"));

    TestCertOptions future;
    future.not_before = std::chrono::hours(1);
    CHECK(validate_certificate(*load_one(pki.issue(future).cert_pem), {}, trusted, now) ==
          std::string("certificate is not yet valid"));

    TestCertOptions encipher_only;
    encipher_only.key = TestKey::rsa2048;
    encipher_only.usage = Botan::KEY_ENCIPHERMENT;
    CHECK(validate_certificate(*load_one(pki.issue(encipher_only).cert_pem), {}, trusted, now) ==
          std::string("its key usage does not allow digital signatures"));
}

TEST_CASE("identity checks against subjectAltName, subject DN and key id") {
    TestCertOptions o;
    o.common_name = "vpn.example.com";
    o.dns = "vpn.example.com";
    o.email = "gw@example.com";
    o.ip = "192.0.2.1";
    const TestCert tc = shared_pki().issue(o);
    const auto cert = load_one(tc.cert_pem);
    CHECK(certificate_has_dns(*cert, "VPN.example.com"));
    CHECK_FALSE(certificate_has_dns(*cert, "other.example.com"));
    CHECK(certificate_has_email(*cert, "gw@example.com"));
    CHECK_FALSE(certificate_has_email(*cert, "alice@example.com"));
    const Bytes ip = {192, 0, 2, 1}, other_ip = {192, 0, 2, 2};
    CHECK(certificate_has_ip(*cert, ip));
    CHECK_FALSE(certificate_has_ip(*cert, other_ip));

    std::string error;
    auto dn = dn_from_string("CN=vpn.example.com, O=Example", error);
    REQUIRE_MESSAGE(dn, error);
    CHECK(certificate_has_dn(*cert, *dn));
    CHECK(dn_to_string(*dn).find("vpn.example.com") != std::string::npos);
    auto other_dn = dn_from_string("CN=other.example.com, O=Example", error);
    REQUIRE(other_dn);
    CHECK_FALSE(certificate_has_dn(*cert, *other_dn));
    CHECK(dn_equal(*dn, *dn_from_string("cn=VPN.example.com,o=example", error)));
    CHECK_FALSE(dn_from_string("CN=x, XX=y", error));
    CHECK(error.find("unknown distinguished name attribute 'XX'") == 0);
    CHECK_FALSE(dn_from_string("CN=x,", error));
    CHECK(dn_to_string(hex("30 03 01 02")) == "(malformed DN)");

    CHECK_FALSE(certificate_has_key_id(*cert, hex("0102")));
}

TEST_CASE("CERTREQ hashes are SHA-1 of the CA's SubjectPublicKeyInfo; DER round trip; bad input") {
    const auto ca = load_one(shared_pki().ca_pem());
    CHECK(public_key_sha1(*ca).size() == 20);
    std::string error;
    const auto again = parse_certificate_der(certificate_der(*ca), error);
    REQUIRE(again);
    CHECK(public_key_sha1(*again) == public_key_sha1(*ca));
    CHECK(certificate_subject(*again).find("Test CA") != std::string::npos);
    CHECK_FALSE(parse_certificate_der(hex("30 03 02 01 01"), error));
    CHECK(error.find("malformed certificate") == 0);
    CHECK(load_certificates_pem(to_bytes("nothing here"), error).empty());
    CHECK(error.find("no PEM certificate") == 0);
    // Two blocks in one file (a CA bundle).
    const std::string bundle = shared_pki().ca_pem() + "\n" + TestPki("Second CA").ca_pem();
    CHECK(load_certificates_pem(to_bytes(bundle), error).size() == 2);
}
