// Profile keys of certificate authentication: "ca" and auth.method "pubkey" (cert, key, intermediates,
// rsa_pss), with PEM files made by a Botan test PKI in a temporary directory.
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
using ikevpn::test::TestPki;
using nlohmann::json;

namespace {

struct PkiDir {
    TempDir dir;
    TestPki pki;
    PkiDir() {
        const auto client = pki.issue([] { TestCertOptions o; o.common_name = "alice"; o.email = "alice@example.com"; return o; }());
        dir.write("ca.pem", pki.ca_pem());
        dir.write("alice.pem", client.cert_pem);
        dir.write("alice.key", client.key_pem);
        dir.write("other.key", pki.issue({}).key_pem);
        dir.write("demo.psk", "secret\n");
    }
    // Loads demo.json built from `doc`; returns the error ("" when it loaded) and fills `out`/`warnings`.
    std::string load(const json& doc, Profile* out = nullptr, std::vector<std::string>* warnings = nullptr) {
        return load_demo_profile(dir, doc, out, warnings);
    }
};

json pubkey_profile() {
    return {{"gateway", "192.0.2.1"}, {"local_id", "alice@example.com"}, {"remote_id", "CN=vpn.example.com, O=Example"},
            {"auth", {{"method", "pubkey"}, {"cert", "alice.pem"}, {"key", "alice.key"}}}, {"ca", {"ca.pem"}}};
}

}  // namespace

TEST_CASE("a pubkey profile loads its key, certificate and CAs") {
    PkiDir d;
    Profile p;
    std::vector<std::string> warnings;
    REQUIRE(d.load(pubkey_profile(), &p, &warnings) == "");
    CHECK(p.auth == AuthMethod::pubkey);
    REQUIRE(p.private_key);
    CHECK(p.local_certs.size() == 1);
    CHECK(p.ca.size() == 1);
    CHECK_FALSE(p.rsa_pss);
    CHECK(warnings.empty());
}

TEST_CASE("PSK for us, a certificate for the gateway: ca with auth.method psk") {
    PkiDir d;
    json doc = pubkey_profile();
    doc["auth"] = {{"method", "psk"}, {"psk_file", "demo.psk"}};
    Profile p;
    REQUIRE(d.load(doc, &p) == "");
    CHECK(p.auth == AuthMethod::psk);
    CHECK(p.ca.size() == 1);
    CHECK_FALSE(p.private_key);
}

TEST_CASE("pubkey profile errors name the key and the file") {
    PkiDir d;
    d.dir.write("garbage.pem", "not PEM at all\n");
    json doc = pubkey_profile();
    doc.erase("ca");
    CHECK(d.load(doc).rfind("demo.json: key 'ca': missing: with auth.method 'pubkey'", 0) == 0);

    doc = pubkey_profile();
    doc["auth"]["key"] = "other.key";
    CHECK(d.load(doc).rfind("demo.json: key 'auth.key': 'other.key' is not the private key of the certificate", 0) == 0);

    doc = pubkey_profile();
    doc["auth"]["key"] = "garbage.pem";
    CHECK(d.load(doc).rfind("demo.json: key 'auth.key': 'garbage.pem': not a valid PEM private key", 0) == 0);

    doc = pubkey_profile();
    doc["auth"]["cert"] = "garbage.pem";
    CHECK(d.load(doc) == "demo.json: key 'auth.cert': 'garbage.pem': no PEM certificate (\"-----BEGIN CERTIFICATE-----\") found");

    doc = pubkey_profile();
    doc["ca"] = {"ca.pem", "missing.pem"};
    CHECK(d.load(doc) == "demo.json: key 'ca[1]': cannot read 'missing.pem': No such file or directory");

    doc = pubkey_profile();
    doc["auth"]["cert"] = "alice.key";
    CHECK(d.load(doc).rfind("demo.json: key 'auth.cert': 'alice.key': no PEM certificate", 0) == 0);

    doc = pubkey_profile();
    doc["auth"]["psk_file"] = "demo.psk";
    CHECK(d.load(doc).find("psk_file") != std::string::npos);

    doc = pubkey_profile();
    doc["auth"]["rsa_pss"] = "yes";
    CHECK(d.load(doc).rfind("demo.json: key 'auth.rsa_pss': expected true or false", 0) == 0);
}

TEST_CASE("a private key readable by others draws a warning; intermediates are appended") {
    PkiDir d;
    d.dir.write("alice.key", d.pki.issue({}).key_pem, 0644);  // replaced below with the right key
    TestCertOptions sub;
    sub.common_name = "Intermediate CA";
    sub.ca = true;
    const auto intermediate = d.pki.issue(sub);
    TestPki sub_pki(intermediate);
    const auto leaf = sub_pki.issue({});
    d.dir.write("leaf.pem", leaf.cert_pem);
    d.dir.write("leaf.key", leaf.key_pem, 0644);
    d.dir.write("intermediate.pem", intermediate.cert_pem);
    json doc = pubkey_profile();
    doc["auth"] = {{"method", "pubkey"}, {"cert", "leaf.pem"}, {"key", "leaf.key"}, {"intermediates", {"intermediate.pem"}},
                   {"rsa_pss", true}};
    Profile p;
    std::vector<std::string> warnings;
    REQUIRE(d.load(doc, &p, &warnings) == "");
    CHECK(p.local_certs.size() == 2);
    CHECK(p.rsa_pss);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("leaf.key is readable by group/others (chmod 600)") != std::string::npos);
}
