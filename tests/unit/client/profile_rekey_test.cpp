// The profile's "rekey" object (client/profile.hpp RekeySettings): defaults, ranges, errors naming the key.
#include "client/profile.hpp"

#include "minimal_profile.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

using ikevpn::client::Profile;
using nlohmann::json;

namespace {

Profile load_with(const json& value, std::string* error = nullptr) {
    return ikevpn::test::load_minimal_profile("rekey", value, error);
}
std::string error_of(const json& value) { return ikevpn::test::minimal_profile_error("rekey", value); }

}  // namespace

TEST_CASE("rekey defaults: IKE SA every 4 h, CHILD SA every hour, up to 6 min earlier, no byte limit") {
    const Profile p = load_with(nullptr);
    CHECK(p.rekey.ike_seconds == 14400);
    CHECK(p.rekey.child_seconds == 3600);
    CHECK(p.rekey.child_bytes == 0);
    CHECK(p.rekey.jitter_seconds == 360);
}

TEST_CASE("rekey values are read; jitter defaults to a tenth of the shortest lifetime") {
    Profile p = load_with({{"ike_seconds", 600}, {"child_seconds", 30}, {"child_bytes", 1048576}});
    CHECK(p.rekey.ike_seconds == 600);
    CHECK(p.rekey.child_seconds == 30);
    CHECK(p.rekey.child_bytes == 1048576);
    CHECK(p.rekey.jitter_seconds == 3);
    p = load_with({{"ike_seconds", 0}, {"child_seconds", 0}, {"jitter_seconds", 0}});
    CHECK(p.rekey.ike_seconds == 0);
    CHECK(p.rekey.child_seconds == 0);
    CHECK(p.rekey.jitter_seconds == 0);
    CHECK(load_with({{"child_bytes", 4611686018427387904ULL}}).rekey.child_bytes == 4611686018427387904ULL);
}

TEST_CASE("bad rekey values are errors that name the key") {
    CHECK(error_of({{"child_seconds", 5}}) ==
          "demo.json: key 'rekey.child_seconds': expected 0 (never) or 10 to 604800 seconds, got 5");
    CHECK(error_of({{"ike_seconds", 604801}}) ==
          "demo.json: key 'rekey.ike_seconds': expected an integer from 0 to 604800, got 604801");
    CHECK(error_of({{"ike_seconds", "1h"}}).find("key 'rekey.ike_seconds'") != std::string::npos);
    CHECK(error_of({{"child_bytes", 1000}}).find("key 'rekey.child_bytes': expected 0 (no limit) or") != std::string::npos);
    CHECK(error_of({{"child_bytes", -1}}).find("key 'rekey.child_bytes'") != std::string::npos);
    CHECK(error_of({{"child_seconds", 60}, {"jitter_seconds", 60}}) ==
          "demo.json: key 'rekey.jitter_seconds': must be less than the shortest lifetime (60 s), got 60");
    CHECK(error_of({{"lifetime", 60}}) == "demo.json: unknown key 'rekey.lifetime'");
    CHECK(error_of(json::array()) == "demo.json: key 'rekey': expected an object, got an array");
}

TEST_CASE("rekey.reauth_seconds: off by default, 0 or 10..604800, no part in the default jitter") {
    CHECK(load_with(nullptr).rekey.reauth_seconds == 0);
    const Profile p = load_with({{"reauth_seconds", 20}});
    CHECK(p.rekey.reauth_seconds == 20);
    CHECK(p.rekey.jitter_seconds == 360);  // still a tenth of the shortest rekey lifetime
    CHECK(error_of({{"reauth_seconds", 9}}) ==
          "demo.json: key 'rekey.reauth_seconds': expected 0 (never) or 10 to 604800 seconds, got 9");
    CHECK(error_of({{"reauth_seconds", true}}).find("key 'rekey.reauth_seconds'") != std::string::npos);
}
