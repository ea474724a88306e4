#include "client/profile.hpp"

#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

using ikevpn::IpPrefix;
using ikevpn::client::load_profile;
using ikevpn::client::Profile;
using ikevpn::client::ProfileError;
using ikevpn::test::TempDir;
using nlohmann::json;

namespace {

const json base_profile = {
    {"gateway", "192.0.2.1"},
    {"local_id", "alice@example.com"},
    {"auth", {{"method", "psk"}, {"psk_file", "demo.psk"}}},
};

// Loads `text` as <dir>/demo.json (with demo.psk next to it) and returns the error message, or "" when it
// loaded.
std::string error_of(const std::string& text) {
    TempDir dir;
    dir.write("demo.psk", "secret\n");
    const auto file = dir.write("demo.json", text);
    std::vector<std::string> warnings;
    try {
        load_profile(file, warnings);
    } catch (const ProfileError& e) {
        const std::string message = e.what();
        // The message names the file as given; strip the directory so that cases compare on "demo.json".
        const auto prefix = (dir.path() / "").string();
        CHECK(message.rfind(prefix, 0) == 0);
        CHECK(message.find('\n') == std::string::npos);
        return message.substr(prefix.size());
    }
    return "";
}

std::string error_of_patch(const json& patch) {
    json doc = base_profile;
    doc.merge_patch(patch);
    return error_of(doc.dump(2));
}

// Loads the base profile with `patch` applied; throws ProfileError like load_profile.
Profile load_patched(const json& patch) {
    TempDir dir;
    dir.write("demo.psk", "secret\n");
    json doc = base_profile;
    doc.merge_patch(patch);
    const auto file = dir.write("demo.json", doc.dump(2));
    std::vector<std::string> warnings;
    return load_profile(file, warnings);
}

}  // namespace

TEST_CASE("a minimal profile gets the documented defaults") {
    TempDir dir;
    dir.write("demo.psk", "secret\n");
    const auto file = dir.write("demo.json", base_profile.dump());
    std::vector<std::string> warnings;
    const Profile p = load_profile(file, warnings);
    CHECK(warnings.empty());
    CHECK(p.path == file);
    CHECK(p.name == "demo");
    CHECK(p.gateway == "192.0.2.1");
    CHECK(p.port == 500);
    CHECK(p.local_id == "alice@example.com");
    CHECK(p.remote_id == "192.0.2.1");
    CHECK(std::string(p.psk.begin(), p.psk.end()) == "secret");
    CHECK(p.ike == std::vector<std::string>{"aes256gcm16-prfsha384-x25519", "aes128gcm16-prfsha256-ecp256"});
    REQUIRE(p.ike_proposals.size() == 2);
    CHECK(p.ike_proposals[0].number == 1);
    CHECK(p.ike_proposals[1].number == 2);
    CHECK(p.ike_proposals[0].protocol == ikevpn::msg::ProtocolId::ike);
    CHECK(p.esp == std::vector<std::string>{"aes256gcm16", "aes128gcm16"});
    REQUIRE(p.esp_proposals.size() == 2);
    CHECK(p.esp_proposals[1].number == 2);
    CHECK(p.esp_proposals[0].protocol == ikevpn::msg::ProtocolId::esp);
    CHECK(p.virtual_ip);
    REQUIRE(p.routes.size() == 1);
    CHECK(p.routes[0] == *IpPrefix::parse("0.0.0.0/0"));
    CHECK_FALSE(p.dns);
    CHECK_FALSE(p.mobike);
    CHECK(p.tun.name == "ikevpn0");
    CHECK(p.tun.mtu == 0);  // auto: derived from the path MTU once the CHILD SA's transform is known
    CHECK(p.replay_window == 1024);
}

TEST_CASE("every key of a full profile is read") {
    TempDir dir;
    const json doc = {
        {"name", "work"}, {"gateway", "vpn.example.com"}, {"port", 4500}, {"local_id", "alice"},
        {"remote_id", "gw.example.com"}, {"auth", {{"method", "psk"}, {"psk", "inline secret"}}},
        {"ca", json::array()}, {"ike", {"aes128gcm16-prfsha256-ecp256"}}, {"esp", {"aes128gcm16"}},
        {"virtual_ip", true}, {"routes", {"10.0.0.0/8", "2001:db8::/32", "192.0.2.7"}}, {"dns", false},
        {"mobike", false}, {"encap", "udp"}, {"tun", {{"name", "vpn%d"}, {"mtu", 1280}}},
        {"replay_window", 4096},
    };
    std::vector<std::string> warnings;
    const Profile p = load_profile(dir.write("x.json", doc.dump()), warnings);
    CHECK(warnings.empty());
    CHECK(p.name == "work");
    CHECK(p.gateway == "vpn.example.com");
    CHECK(p.port == 4500);
    CHECK(p.remote_id == "gw.example.com");
    CHECK(std::string(p.psk.begin(), p.psk.end()) == "inline secret");
    CHECK(p.ike_proposals.size() == 1);
    CHECK(p.esp_proposals.size() == 1);
    REQUIRE(p.routes.size() == 3);
    CHECK(p.routes[1].to_string() == "2001:db8::/32");
    CHECK(p.routes[2].to_string() == "192.0.2.7/32");
    CHECK(p.tun.name == "vpn%d");
    CHECK(p.tun.mtu == 1280);
    CHECK(p.replay_window == 4096);
}

TEST_CASE("tun.mtu \"auto\" is the default made explicit") {
    CHECK(load_patched({{"tun", {{"mtu", "auto"}}}}).tun.mtu == 0);
    CHECK(load_patched({{"tun", {{"mtu", 1280}}}}).tun.mtu == 1280);
    CHECK(load_patched(json::object()).tun.offload);
    CHECK_FALSE(load_patched({{"tun", {{"offload", false}}}}).tun.offload);
}

TEST_CASE("psk_file is relative to the profile, and only one trailing newline is stripped") {
    TempDir dir;
    std::filesystem::create_directory(dir.path() / "etc");
    std::filesystem::create_directory(dir.path() / "etc" / "keys");
    dir.write("etc/keys/work.psk", "two newlines\n\n");
    json doc = base_profile;
    doc["auth"]["psk_file"] = "keys/work.psk";
    std::vector<std::string> warnings;
    // The current directory is not the profile's: the relative path must still resolve.
    const Profile p = load_profile(dir.write("etc/work.json", doc.dump()), warnings);
    CHECK(std::string(p.psk.begin(), p.psk.end()) == "two newlines\n");

    doc["auth"]["psk_file"] = (dir.path() / "etc" / "keys" / "work.psk").string();
    const Profile q = load_profile(dir.write("etc/abs.json", doc.dump()), warnings);
    CHECK(q.psk == p.psk);
    CHECK(warnings.empty());
}

TEST_CASE("secrets readable by group or others draw a warning") {
    TempDir dir;
    dir.write("demo.psk", "secret", 0640);
    std::vector<std::string> warnings;
    load_profile(dir.write("demo.json", base_profile.dump()), warnings);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0] == (dir.path() / "demo.psk").string() + " is readable by group/others (chmod 600)");

    warnings.clear();
    json doc = base_profile;
    doc["auth"] = {{"method", "psk"}, {"psk", "inline"}};
    load_profile(dir.write("inline.json", doc.dump(), 0644), warnings);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("inline 'auth.psk'") != std::string::npos);
    CHECK(warnings[0].find("readable by group/others") != std::string::npos);
}

TEST_CASE("errors name the file and the key") {
    struct Case {
        json patch;
        std::string expected;
    };
    const std::vector<Case> cases{
        {{{"gatewy", "x"}}, "demo.json: unknown key 'gatewy'"},
        {{{"auth", {{"psk_fil", "x"}}}}, "demo.json: unknown key 'auth.psk_fil'"},
        {{{"tun", {{"nmae", "x"}}}}, "demo.json: unknown key 'tun.nmae'"},
        {{{"routes", {"0.0.0.0/0", "10.0.0.1/8"}}},
         "demo.json: key 'routes[1]': '10.0.0.1/8' is not a network prefix (host bits set)"},
        {{{"routes", {"10.0.0.0/33"}}}, "demo.json: key 'routes[0]': '10.0.0.0/33' has a bad prefix length (0 to 32)"},
        {{{"routes", {"bogus"}}}, "demo.json: key 'routes[0]': 'bogus' is not an IP prefix such as 10.0.0.0/8"},
        {{{"routes", json::array()}}, "demo.json: key 'routes': must not be empty"},
        {{{"auth", {{"psk_file", "x.psk"}}}},
         "demo.json: key 'auth.psk_file': cannot read 'x.psk': No such file or directory"},
        {{{"auth", {{"psk", "inline"}}}}, "demo.json: key 'auth': set exactly one of 'psk_file' (recommended) and 'psk'"},
        {{{"auth", {{"psk_file", nullptr}}}}, "demo.json: key 'auth': set exactly one of 'psk_file' (recommended) and 'psk'"},
        {{{"auth", {{"psk_file", nullptr}, {"psk", ""}}}}, "demo.json: key 'auth.psk': must not be empty"},
        {{{"auth", {{"method", "eap-tls"}}}}, "demo.json: unknown key 'auth.psk_file'"},
        {{{"auth", {{"method", "eap-tls"}, {"psk_file", nullptr}}}}, "demo.json: key 'auth.cert': missing"},
        {{{"auth", {{"method", "pubkey"}, {"psk_file", nullptr}}}}, "demo.json: key 'auth.cert': missing"},
        {{{"auth", {{"method", "token"}}}},
         "demo.json: key 'auth.method': unknown method 'token' (expected psk, pubkey, eap-mschapv2 or eap-tls)"},
        {{{"auth", "psk"}}, "demo.json: key 'auth': expected an object"},
        {{{"port", "500"}}, "demo.json: key 'port': expected an integer from 1 to 65535, got a string"},
        {{{"port", 70000}}, "demo.json: key 'port': expected an integer from 1 to 65535, got 70000"},
        {{{"port", 0}}, "demo.json: key 'port': expected an integer from 1 to 65535, got 0"},
        {{{"port", 500.5}}, "demo.json: key 'port': expected an integer from 1 to 65535, got a number"},
        {{{"dns", "yes"}}, "demo.json: key 'dns': expected true or false, got a string"},
        {{{"virtual_ip", false}}, "demo.json: key 'virtual_ip': running without a virtual IP is not supported yet"},
        {{{"encap", "tcp"}}, "demo.json: key 'encap': 'tcp' is not supported yet; use \"udp\""},
        {{{"encap", "auto"}}, "demo.json: key 'encap': 'auto' is not supported yet"},
        {{{"encap", "ipip"}}, "demo.json: key 'encap': unknown value 'ipip' (expected udp, tcp or auto)"},
        {{{"ca", {"ca.pem"}}}, "demo.json: key 'ca[0]': cannot read 'ca.pem': No such file or directory"},
        {{{"remote_id", "CN=vpn, XY=1"}}, "demo.json: key 'remote_id': 'CN=vpn, XY=1': unknown distinguished name attribute 'XY'"},
        {{{"local_id", "keyid:#abc"}}, "demo.json: key 'local_id': 'keyid:#abc': key id '#abc' is not an even number of hex digits"},
        {{{"ike", "aes256gcm16-prfsha384-x25519"}}, "demo.json: key 'ike': expected an array of strings, got a string"},
        {{{"ike", {"aes256gcm16-prfsha384-x25519", 5}}}, "demo.json: key 'ike[1]': expected a string, got an integer"},
        {{{"ike", {"aes256gcm17-prfsha384-x25519"}}}, "demo.json: key 'ike[0]': "},
        {{{"esp", {"aes256gcm16", "aes128gcm16-prfsha256"}}}, "demo.json: key 'esp[1]': "},
        {{{"ike", json::array()}}, "demo.json: key 'ike': must not be empty"},
        {{{"tun", {{"name", "a-very-long-name0"}}}}, "demo.json: key 'tun.name': 'a-very-long-name0' must be 1 to 15"},
        {{{"tun", {{"name", "vpn%d%d"}}}}, "demo.json: key 'tun.name': 'vpn%d%d' may contain '%' only once"},
        {{{"tun", {{"name", "vpn%s"}}}}, "demo.json: key 'tun.name': 'vpn%s' may contain '%' only once"},
        {{{"tun", {{"name", "vpn 0"}}}}, "demo.json: key 'tun.name': 'vpn 0' may only contain"},
        {{{"tun", {{"mtu", 100}}}}, "demo.json: key 'tun.mtu': expected an integer from 576 to 9000, got 100"},
        {{{"tun", {{"mtu", "big"}}}}, "demo.json: key 'tun.mtu': expected an integer from 576 to 9000 or \"auto\""},
        {{{"tun", {{"offload", "yes"}}}}, "demo.json: key 'tun.offload': expected"},
        {{{"replay_window", 32}}, "demo.json: key 'replay_window': expected an integer from 64 to 65536, got 32"},
        {{{"replay_window", "1024"}}, "demo.json: key 'replay_window': expected an integer"},
        {{{"tun", 5}}, "demo.json: key 'tun': expected an object"},
        {{{"gateway", nullptr}}, "demo.json: key 'gateway': missing"},
        {{{"gateway", ""}}, "demo.json: key 'gateway': must not be empty"},
        {{{"gateway", "bad host!"}}, "demo.json: key 'gateway': 'bad host!' is neither an IP address nor a host name"},
        {{{"local_id", nullptr}}, "demo.json: key 'local_id': missing"},
        {{{"local_id", 7}}, "demo.json: key 'local_id': expected a string, got an integer"},
        {{{"remote_id", "a\nb"}}, "demo.json: key 'remote_id': must not contain control characters"},
        {{{"auth", nullptr}}, "demo.json: key 'auth': missing"},
        {{{"name", "../etc"}}, "demo.json: key 'name': '../etc' is not usable"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.patch.dump());
        const auto message = error_of_patch(c.patch);
        CHECK_MESSAGE(message.rfind(c.expected, 0) == 0, message);
    }
}

TEST_CASE("JSON syntax errors give a line and a column") {
    const auto message = error_of("{\n  \"gateway\": \"192.0.2.1\",\n  \"local_id\" x\n}\n");
    CHECK_MESSAGE(message.rfind("demo.json: line 3 column 14: JSON syntax error: ", 0) == 0, message);
    const auto first = error_of("[1,");
    CHECK_MESSAGE(first.rfind("demo.json: line 1 column 4: JSON syntax error: ", 0) == 0, first);
    CHECK(error_of("[1, 2]") == "demo.json: the profile must be a JSON object, got an array");
    CHECK(error_of("{\"port\": 1, \"port\": 2}") == "demo.json: duplicate key 'port'");
}

TEST_CASE("file-level problems") {
    TempDir dir;
    std::vector<std::string> warnings;
    const auto missing = dir.path() / "nope.json";
    CHECK_THROWS_WITH_AS(load_profile(missing, warnings),
                         (missing.string() + ": cannot read the profile: No such file or directory").c_str(),
                         ProfileError);
    CHECK_THROWS_WITH_AS(load_profile(dir.path(), warnings),
                         (dir.path().string() + ": cannot read the profile: Is a directory").c_str(), ProfileError);
    // A file name that cannot name a socket needs an explicit "name".
    dir.write("demo.psk", "x");
    CHECK_THROWS_WITH_AS(load_profile(dir.write("my vpn.json", base_profile.dump()), warnings),
                         doctest::Contains("key 'name': the file name gives the name 'my vpn'"), ProfileError);
    dir.write("empty.psk", "\n");
    json doc = base_profile;
    doc["auth"]["psk_file"] = "empty.psk";
    CHECK_THROWS_WITH_AS(load_profile(dir.write("demo.json", doc.dump()), warnings),
                         doctest::Contains("key 'auth.psk_file': 'empty.psk' is empty"), ProfileError);
}

TEST_CASE("nat_keepalive defaults to 20 seconds") {
    CHECK(load_patched(json::object()).nat_keepalive == 20);
}

TEST_CASE("nat_keepalive takes 0 (off) up to 3600 seconds") {
    CHECK(load_patched({{"nat_keepalive", 0}}).nat_keepalive == 0);
    CHECK(load_patched({{"nat_keepalive", 1}}).nat_keepalive == 1);
    CHECK(load_patched({{"nat_keepalive", 3600}}).nat_keepalive == 3600);
}

TEST_CASE("a bad nat_keepalive is an error that names the key") {
    auto error_with = [](const json& value) { return error_of_patch({{"nat_keepalive", value}}); };
    const std::string range = "demo.json: key 'nat_keepalive': expected an integer from 0 to 3600, got ";
    CHECK(error_with(3601) == range + "3601");
    CHECK(error_with(-1) == range + "-1");
    CHECK(error_with("20") == "demo.json: key 'nat_keepalive': expected an integer from 0 to 3600, got a string");
    CHECK(error_with(2.5).find("key 'nat_keepalive'") != std::string::npos);
    CHECK(error_with(true).find("key 'nat_keepalive'") != std::string::npos);
}
