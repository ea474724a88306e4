#include "client/sswan_import.hpp"

#include "client/profile.hpp"
#include "temp_dir.hpp"
#include "test_pem.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include <sys/stat.h>

using namespace ikevpn::client;
using ikevpn::test::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Shaped like the example of the strongSwan Android documentation (values are ours).
json eap_sswan() {
    return json::parse(R"json({
        "uuid": "d8f0a9a6-4b6b-4c1e-9a57-2f1f6f0c3b11",
        "name": "Office VPN (EU)",
        "type": "ikev2-eap",
        "remote": {"addr": "vpn.example.com", "port": 4501, "id": "vpn.example.com",
                   "certreq": false, "revocation": {"crl": false}},
        "local": {"eap_id": "alice"},
        "ike-proposal": "aes256gcm16-prfsha384-ecp256",
        "esp-proposal": "aes256gcm16",
        "split-tunneling": {"subnets": "198.51.100.0/24 203.0.113.0/24", "block-ipv6": true},
        "mtu": 1380,
        "nat-keepalive": 45,
        "dns-servers": "192.0.2.53"
    })json");
}

std::string read_text(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string import_error(const json& doc, const std::optional<std::string>& name = std::nullopt) {
    try {
        map_sswan(doc, "x.sswan", name);
    } catch (const ImportError& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

TEST_CASE("import: ikev2-eap maps onto the DESIGN.md keys, unmapped keys are named") {
    const auto m = map_sswan(eap_sswan(), "x.sswan", std::nullopt);
    CHECK(m.name == "Office-VPN-EU");
    CHECK(m.profile == json::parse(R"json({
        "name": "Office-VPN-EU", "gateway": "vpn.example.com", "port": 4501, "remote_id": "vpn.example.com",
        "local_id": "alice", "auth": {"method": "eap-mschapv2", "username": "alice"},
        "ike": ["aes256gcm16-prfsha384-ecp256"], "esp": ["aes256gcm16"],
        "routes": ["198.51.100.0/24", "203.0.113.0/24"], "tun": {"mtu": 1380}, "nat_keepalive": 45})json"));
    CHECK_FALSE(m.ca_pem);
    REQUIRE(m.warnings.size() == 1);  // eap-mschapv2 is supported
    CHECK(m.warnings[0] ==
          "ignored (no ikevpn equivalent): dns-servers, remote.certreq, remote.revocation, split-tunneling.block-ipv6");
    CHECK(m.next_steps.empty());
}

TEST_CASE("import: certificate types, the PSK extension and remote.cert") {
    json doc = {{"name", "lab"}, {"type", "ikev2-cert"}, {"remote", {{"addr", "192.0.2.1"}}},
                {"local", {{"id", "CN=alice"}, {"p12", "AAAA"}}}};
    auto m = map_sswan(doc, "x.sswan", std::nullopt);
    CHECK(m.profile["auth"] == json{{"method", "pubkey"}, {"cert", "lab-cert.pem"}, {"key", "lab-key.pem"}});
    CHECK(m.profile["local_id"] == "CN=alice");
    CHECK(m.warnings.empty());  // pubkey is supported
    REQUIRE(m.next_steps.size() == 1);
    CHECK(m.next_steps[0].find("PKCS#12") != std::string::npos);

    doc["type"] = "ikev2-eap-tls";
    doc["local"].erase("p12");
    doc["remote"]["cert"] = ikevpn::test::test_ca_base64;
    m = map_sswan(doc, "x.sswan", std::string("tls"));
    CHECK(m.profile["auth"]["method"] == "eap-tls");
    CHECK(m.warnings.empty());  // eap-tls is supported
    CHECK(m.profile["ca"] == json::array({"tls-ca.pem"}));
    REQUIRE(m.ca_pem);
    CHECK(m.ca_pem->rfind("-----BEGIN CERTIFICATE-----\n", 0) == 0);
    doc["local"]["eap_id"] = "alice@example.com";
    m = map_sswan(doc, "x.sswan", std::string("tls"));
    CHECK(m.profile["auth"]["eap_identity"] == "alice@example.com");

    doc = {{"name", "psk"}, {"type", "ikev2-psk"}, {"remote", {{"addr", "192.0.2.1"}}}};
    m = map_sswan(doc, "x.sswan", std::nullopt);
    CHECK(m.profile["auth"] == json{{"method", "psk"}, {"psk_file", "psk.psk"}});
    CHECK(m.warnings.empty());
    REQUIRE(m.next_steps.size() == 2);  // the PSK file and local_id
    CHECK(m.next_steps[0].find("psk.psk") != std::string::npos);
    CHECK(m.next_steps[1].find("local_id") != std::string::npos);
}

TEST_CASE("import: clear errors name the key") {
    json doc = eap_sswan();
    doc["type"] = "ikev2-cert-eap";
    CHECK(import_error(doc) == "x.sswan: key 'type': 'ikev2-cert-eap' (two authentication rounds) is not supported by ikevpn");
    doc["type"] = "ikev2-byod-eap";
    CHECK(import_error(doc).find("EAP-TNC) is not supported") != std::string::npos);
    doc["type"] = "l2tp";
    CHECK(import_error(doc).find("key 'type': unknown type 'l2tp'") != std::string::npos);
    doc.erase("type");
    CHECK(import_error(doc).find("key 'type': missing") != std::string::npos);
    doc = eap_sswan();
    doc["remote"].erase("addr");
    CHECK(import_error(doc).find("key 'remote.addr': missing") != std::string::npos);
    doc = eap_sswan();
    doc["ike-proposal"] = "aes256-sha1-modp768";
    CHECK(import_error(doc).find("key 'ike-proposal': ") != std::string::npos);
    doc = eap_sswan();
    doc["split-tunneling"]["subnets"] = "10.0.0.1/8";
    CHECK(import_error(doc).find("key 'split-tunneling.subnets': '10.0.0.1/8'") != std::string::npos);
    doc = eap_sswan();
    doc["mtu"] = 100;
    CHECK(import_error(doc).find("key 'mtu': expected an integer from 576 to 9000") != std::string::npos);
    doc = eap_sswan();
    doc["remote"]["cert"] = "not base64 !";
    CHECK(import_error(doc).find("key 'remote.cert'") != std::string::npos);
    doc = eap_sswan();
    doc["name"] = "***";
    CHECK(import_error(doc).find("--name NAME") != std::string::npos);
    CHECK(import_error(eap_sswan(), std::string(".hidden")).find("'.hidden' is not") != std::string::npos);
    CHECK(import_error(json::array()) == "x.sswan: not a .sswan profile (expected a JSON object)");
}

TEST_CASE("import writes the profile (0600) and CA, refuses to overwrite, and the result loads") {
    TempDir dir;
    json doc = {{"name", "lab"}, {"type", "ikev2-psk"}, {"remote", {{"addr", "192.0.2.1"}, {"cert", ikevpn::test::test_ca_base64}}},
                {"local", {{"id", "alice@example.com"}}}};
    const auto sswan = dir.write("lab.sswan", doc.dump());
    const auto out = dir.path() / "profiles";
    const auto result = import_sswan(sswan, out, std::nullopt);
    REQUIRE(result.written.size() == 2);
    CHECK(result.written[0] == out / "lab.json");
    CHECK(result.written[1] == out / "lab-ca.pem");
    struct stat st {};
    REQUIRE(::stat((out / "lab.json").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(::stat(out.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    CHECK(read_text(out / "lab-ca.pem") == *result.mapped.ca_pem);
    CHECK(json::parse(read_text(out / "lab.json")) == result.mapped.profile);
    const json summary = import_result_json(result);
    CHECK(summary["ok"] == true);
    CHECK(summary["name"] == "lab");
    CHECK(summary["profile"] == (out / "lab.json").string());
    CHECK(summary["written"] == json::array({(out / "lab.json").string(), (out / "lab-ca.pem").string()}));
    CHECK(summary["next_steps"] == json(result.mapped.next_steps));
    CHECK_FALSE(summary["next_steps"].empty());  // the PSK file still has to be written

    try {
        import_sswan(sswan, out, std::nullopt);
        FAIL("expected ImportError");
    } catch (const ImportError& e) {
        CHECK(std::string(e.what()) == (out / "lab.json").string() + " already exists; not overwritten (remove it or choose --name NAME)");
    }
    // Only the CA name is taken: still refused, and nothing half-written is left behind.
    fs::remove(out / "lab.json");
    CHECK_THROWS_AS(import_sswan(sswan, out, std::nullopt), ImportError);
    CHECK_FALSE(fs::exists(out / "lab.json"));

    // With the PSK file the user was told to write (and no CA, which PSK profiles do not take yet), the
    // imported profile is one ikevpn loads.
    doc["remote"].erase("cert");
    const auto plain = import_sswan(dir.write("plain.sswan", doc.dump()), out, std::string("plain"));
    dir.write("profiles/plain.psk", "correct horse battery staple\n");
    std::vector<std::string> warnings;
    const Profile p = load_profile(plain.written[0], warnings);
    CHECK(p.name == "plain");
    CHECK(p.gateway == "192.0.2.1");
    CHECK(p.local_id == "alice@example.com");
}
