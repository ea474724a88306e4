// The profile's "dpd_seconds" (client/profile.hpp; the watch is client/gateway_liveness.hpp).
#include "client/profile.hpp"

#include "minimal_profile.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <string>

using ikevpn::client::Profile;
using nlohmann::json;

namespace {

Profile load_with(const json& value) { return ikevpn::test::load_minimal_profile("dpd_seconds", value); }
std::string error_of(const json& value) { return ikevpn::test::minimal_profile_error("dpd_seconds", value); }

}  // namespace

TEST_CASE("dpd_seconds: 30 s by default, 0 turns the checks off, up to an hour") {
    CHECK(load_with(nullptr).dpd_seconds == 30);
    CHECK(load_with(0).dpd_seconds == 0);
    CHECK(load_with(1).dpd_seconds == 1);
    CHECK(load_with(3).dpd_seconds == 3);
    CHECK(load_with(3600).dpd_seconds == 3600);
}

TEST_CASE("bad dpd_seconds values are errors that name the key") {
    CHECK(error_of(3601) == "demo.json: key 'dpd_seconds': expected an integer from 0 to 3600, got 3601");
    CHECK(error_of(-1) == "demo.json: key 'dpd_seconds': expected an integer from 0 to 3600, got -1");
    CHECK(error_of("30") == "demo.json: key 'dpd_seconds': expected an integer from 0 to 3600, got a string");
    CHECK(error_of(2.5).find("key 'dpd_seconds'") != std::string::npos);
    CHECK(error_of(true).find("key 'dpd_seconds'") != std::string::npos);
}
