// A throwaway PKI made with Botan at test time (no files from elsewhere): a CA, certificates with chosen
// names, validity and key usage, and their private keys as PEM, for the certificate tests.
#pragma once
#include "core/bytes.hpp"

#include <botan/auto_rng.h>
#include <botan/der_enc.h>
#include <botan/ecdsa.h>
#include <botan/ed25519.h>
#include <botan/pem.h>
#include <botan/pkcs8.h>
#include <botan/rsa.h>
#include <botan/x509_ca.h>
#include <botan/x509self.h>

#include <chrono>
#include <memory>
#include <string>

namespace ikevpn::test {

enum class TestKey { rsa2048, p256, p384, ed25519 };

inline std::unique_ptr<Botan::Private_Key> make_test_key(TestKey type, Botan::RandomNumberGenerator& rng) {
    switch (type) {
    case TestKey::rsa2048: return std::make_unique<Botan::RSA_PrivateKey>(rng, 2048);
    case TestKey::p256: return std::make_unique<Botan::ECDSA_PrivateKey>(rng, Botan::EC_Group("secp256r1"));
    case TestKey::p384: return std::make_unique<Botan::ECDSA_PrivateKey>(rng, Botan::EC_Group("secp384r1"));
    case TestKey::ed25519: return std::make_unique<Botan::Ed25519_PrivateKey>(rng);
    }
    return nullptr;
}

inline Bytes to_bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

struct TestCertOptions {
    std::string common_name = "vpn.example.com";
    std::string organization = "Example";
    std::string dns;    // subjectAltName dNSName
    std::string email;  // subjectAltName rfc822Name
    std::string ip;     // subjectAltName iPAddress (IPv4 only: Botan 2 cannot encode IPv6 here)
    TestKey key = TestKey::p256;
    std::chrono::seconds not_before{-3600};  // relative to now
    std::chrono::seconds not_after{86400};
    Botan::Key_Constraints usage = Botan::DIGITAL_SIGNATURE;
    bool ca = false;
};

struct TestCert {
    std::string cert_pem;
    std::string key_pem;  // PKCS#8
    std::shared_ptr<Botan::Private_Key> key;
    std::shared_ptr<Botan::X509_Certificate> cert;
};

class TestPki {
public:
    explicit TestPki(const std::string& ca_name = "Test CA", TestKey ca_key = TestKey::p256)
        : ca_key_(make_test_key(ca_key, rng_)) {
        Botan::X509_Cert_Options opts;
        opts.common_name = ca_name;
        opts.organization = "Example";
        opts.CA_key(1);
        const auto now = std::chrono::system_clock::now();
        opts.start = Botan::X509_Time(now - std::chrono::hours(24));
        opts.end = Botan::X509_Time(now + std::chrono::hours(24 * 365));
        ca_cert_ = std::make_shared<Botan::X509_Certificate>(
            Botan::X509::create_self_signed_cert(opts, *ca_key_, "SHA-256", rng_));
        ca_ = std::make_unique<Botan::X509_CA>(*ca_cert_, *ca_key_, "SHA-256", rng_);
    }

    // A subordinate CA issued by another TestPki (issue() with ca = true).
    explicit TestPki(const TestCert& intermediate) : ca_key_(intermediate.key), ca_cert_(intermediate.cert) {
        ca_ = std::make_unique<Botan::X509_CA>(*ca_cert_, *ca_key_, "SHA-256", rng_);
    }

    std::string ca_pem() const { return ca_cert_->PEM_encode(); }

    TestCert issue(const TestCertOptions& o) {
        TestCert out;
        out.key = make_test_key(o.key, rng_);
        Botan::X509_Cert_Options opts;
        opts.common_name = o.common_name;
        opts.organization = o.organization;
        opts.dns = o.dns;
        opts.email = o.email;
        opts.ip = o.ip;
        if (o.ca) opts.CA_key(0);
        else opts.add_constraints(o.usage);
        const auto request = Botan::X509::create_cert_req(opts, *out.key, "SHA-256", rng_);
        const auto now = std::chrono::system_clock::now();
        out.cert = std::make_shared<Botan::X509_Certificate>(
            ca_->sign_request(request, rng_, Botan::X509_Time(now + o.not_before), Botan::X509_Time(now + o.not_after)));
        out.cert_pem = out.cert->PEM_encode();
        out.key_pem = Botan::PKCS8::PEM_encode(*out.key);
        return out;
    }

private:
    Botan::AutoSeeded_RNG rng_;
    std::shared_ptr<Botan::Private_Key> ca_key_;
    std::shared_ptr<Botan::X509_Certificate> ca_cert_;
    std::unique_ptr<Botan::X509_CA> ca_;
};

}  // namespace ikevpn::test
