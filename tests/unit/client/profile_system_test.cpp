// Profile keys for host integration: "dns" and "kill_switch".
#include "client/profile.hpp"

#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using ikevpn::client::load_profile;
using ikevpn::client::Profile;
using ikevpn::client::ProfileError;
using ikevpn::test::TempDir;
using nlohmann::json;

namespace {

Profile load_with(const json& patch) {
    TempDir dir;
    dir.write("demo.psk", "secret\n");
    json doc = {{"gateway", "192.0.2.1"}, {"local_id", "alice@example.com"},
                {"auth", {{"method", "psk"}, {"psk_file", "demo.psk"}}}};
    doc.merge_patch(patch);
    std::vector<std::string> warnings;
    return load_profile(dir.write("demo.json", doc.dump()), warnings);
}

std::string error_with(const json& patch) {
    try {
        load_with(patch);
    } catch (const ProfileError& e) {
        std::string m = e.what();
        return m.substr(m.find("demo.json"));
    }
    return "";
}

}  // namespace

TEST_CASE("dns: true is accepted now") {
    CHECK(load_with({{"dns", true}}).dns);
    CHECK_FALSE(load_with(json::object()).dns);
}

TEST_CASE("kill_switch: off by default; true; object with allow_lan") {
    Profile p = load_with(json::object());
    CHECK_FALSE(p.kill_switch);
    CHECK_FALSE(p.kill_switch_allow_lan);
    p = load_with({{"kill_switch", true}});
    CHECK(p.kill_switch);
    CHECK_FALSE(p.kill_switch_allow_lan);
    p = load_with({{"kill_switch", false}});
    CHECK_FALSE(p.kill_switch);
    p = load_with({{"kill_switch", {{"allow_lan", true}}}});
    CHECK(p.kill_switch);
    CHECK(p.kill_switch_allow_lan);
    p = load_with({{"kill_switch", json::object()}});
    CHECK(p.kill_switch);
    CHECK_FALSE(p.kill_switch_allow_lan);
}

TEST_CASE("kill_switch errors name the key") {
    CHECK(error_with({{"kill_switch", "yes"}}).rfind(
              "demo.json: key 'kill_switch': expected true, false or an object such as {\"allow_lan\": true}", 0) == 0);
    CHECK(error_with({{"kill_switch", {{"allow_lan", 1}}}}) ==
          "demo.json: key 'kill_switch.allow_lan': expected true or false, got an integer");
    CHECK(error_with({{"kill_switch", {{"allow_wan", true}}}}) == "demo.json: unknown key 'kill_switch.allow_wan'");
}
