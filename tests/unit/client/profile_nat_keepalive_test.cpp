// The optional "nat_keepalive" profile key (seconds between NAT-T keepalives, 0 disables).
#include "client/profile.hpp"

#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

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

// Loads the base profile patched with {"nat_keepalive": value}; returns the profile or throws.
Profile load_with(const json& patch) {
    TempDir dir;
    dir.write("demo.psk", "secret\n");
    json doc = base_profile;
    doc.merge_patch(patch);
    const auto file = dir.write("demo.json", doc.dump(2));
    std::vector<std::string> warnings;
    return load_profile(file, warnings);
}

std::string error_with(const json& value) {
    try {
        load_with({{"nat_keepalive", value}});
    } catch (const ProfileError& e) {
        const std::string message = e.what();
        const auto at = message.find("demo.json: ");
        return at == std::string::npos ? message : message.substr(at);
    }
    return "";
}

}  // namespace

TEST_CASE("nat_keepalive defaults to 20 seconds") {
    CHECK(load_with(json::object()).nat_keepalive == 20);
}

TEST_CASE("nat_keepalive takes 0 (off) up to 3600 seconds") {
    CHECK(load_with({{"nat_keepalive", 0}}).nat_keepalive == 0);
    CHECK(load_with({{"nat_keepalive", 1}}).nat_keepalive == 1);
    CHECK(load_with({{"nat_keepalive", 3600}}).nat_keepalive == 3600);
}

TEST_CASE("a bad nat_keepalive is an error that names the key") {
    const std::string range = "demo.json: key 'nat_keepalive': expected an integer from 0 to 3600, got ";
    CHECK(error_with(3601) == range + "3601");
    CHECK(error_with(-1) == range + "-1");
    CHECK(error_with("20") == "demo.json: key 'nat_keepalive': expected an integer from 0 to 3600, got a string");
    CHECK(error_with(2.5).find("key 'nat_keepalive'") != std::string::npos);
    CHECK(error_with(true).find("key 'nat_keepalive'") != std::string::npos);
}
