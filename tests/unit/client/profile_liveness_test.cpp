// The profile's "data_path_timeout" (client/profile.hpp; the watch is client/esp_liveness.hpp).
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
    return ikevpn::test::load_minimal_profile("data_path_timeout", value, error);
}
std::string error_of(const json& value) { return ikevpn::test::minimal_profile_error("data_path_timeout", value); }

}  // namespace

TEST_CASE("data_path_timeout: 30 s by default, 0 turns the watch off, up to an hour") {
    CHECK(load_with(nullptr).data_path_timeout == 30);
    CHECK(load_with(0).data_path_timeout == 0);
    CHECK(load_with(5).data_path_timeout == 5);
    CHECK(load_with(3600).data_path_timeout == 3600);
}

TEST_CASE("bad data_path_timeout values are errors that name the key") {
    CHECK(error_of(3601) == "demo.json: key 'data_path_timeout': expected an integer from 0 to 3600, got 3601");
    CHECK(error_of(-1).find("key 'data_path_timeout'") != std::string::npos);
    CHECK(error_of("30s").find("key 'data_path_timeout'") != std::string::npos);
}
