// auth.method "eap-tls": cert, key, intermediates and eap_identity (default local_id), the required "ca",
// the Ed25519 refusal (TLS 1.2 has no Ed25519 client signatures), with a Botan test PKI in a temporary
// directory.
#include "client/profile.hpp"
#include "tests/support/test_pki.hpp"

#include "demo_profile_file.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using ikevpn::client::AuthMethod;
using ikevpn::client::Profile;
using ikevpn::test::load_demo_profile;
using ikevpn::test::TempDir;
using ikevpn::test::TestCertOptions;
using ikevpn::test::TestKey;
using ikevpn::test::TestPki;
using nlohmann::json;

namespace {

struct TlsDir {
    TempDir dir;
    TestPki pki;
    TlsDir() {
        TestCertOptions o;
        o.common_name = "alice";
        o.email = "alice@example.com";
        const auto client = pki.issue(o);
        o.key = TestKey::ed25519;
        const auto ed = pki.issue(o);
        dir.write("ca.pem", pki.ca_pem());
        dir.write("alice.pem", client.cert_pem);
        dir.write("alice.key", client.key_pem, 0600);
        dir.write("ed.pem", ed.cert_pem);
        dir.write("ed.key", ed.key_pem, 0600);
    }
    std::string load(const json& doc, Profile* out = nullptr) {
        return load_demo_profile(dir, doc, out);
    }
};

json tls_profile(const json& auth_extra = json::object()) {
    json auth = {{"method", "eap-tls"}, {"cert", "alice.pem"}, {"key", "alice.key"}};
    auth.update(auth_extra);
    return {{"gateway", "192.0.2.1"}, {"local_id", "alice@example.com"}, {"remote_id", "vpn.example.com"},
            {"auth", auth}, {"ca", {"ca.pem"}}};
}

}  // namespace

TEST_CASE("eap-tls profile: certificate, key and the EAP identity") {
    TlsDir d;
    Profile p;
    REQUIRE(d.load(tls_profile(), &p) == "");
    CHECK(p.auth == AuthMethod::eap_tls);
    REQUIRE(p.private_key);
    REQUIRE(p.local_certs.size() == 1);
    CHECK(p.eap_identity == "alice@example.com");  // default: local_id
    CHECK(p.ca.size() == 1);

    REQUIRE(d.load(tls_profile({{"eap_identity", "alice"}, {"intermediates", {"ca.pem"}}}), &p) == "");
    CHECK(p.eap_identity == "alice");
    CHECK(p.local_certs.size() == 2);
}

TEST_CASE("eap-tls profile: errors name the key") {
    TlsDir d;
    json no_cert = tls_profile();
    no_cert["auth"].erase("cert");
    CHECK(d.load(no_cert) == "demo.json: key 'auth.cert': missing (the PEM file of our certificate)");
    json no_key = tls_profile();
    no_key["auth"].erase("key");
    CHECK(d.load(no_key) == "demo.json: key 'auth.key': missing (the PEM file of our private key)");
    json no_ca = tls_profile();
    no_ca.erase("ca");
    CHECK(d.load(no_ca).rfind("demo.json: key 'ca': missing: with auth.method 'eap-tls'", 0) == 0);
    CHECK(d.load(tls_profile({{"username", "alice"}})) == "demo.json: unknown key 'auth.username'");
    CHECK(d.load(tls_profile({{"password_file", "x"}})) == "demo.json: unknown key 'auth.password_file'");
    CHECK(d.load(tls_profile({{"eap_identity", std::string(256, 'a')}})) == "demo.json: key 'auth.eap_identity': must be 1 to 255 printable characters");
    CHECK(d.load(tls_profile({{"cert", "ed.pem"}, {"key", "ed.key"}})) ==
          "demo.json: key 'auth.key': an Ed25519 key cannot sign in TLS 1.2; EAP-TLS needs an ECDSA or RSA key");
    CHECK(d.load(tls_profile({{"key", "ed.key"}})).rfind("demo.json: key 'auth.key': 'ed.key' is not the private key", 0) == 0);
}
