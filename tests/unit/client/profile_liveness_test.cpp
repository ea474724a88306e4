// The profile's "data_path_timeout" (client/profile.hpp; the watch is client/esp_liveness.hpp).
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

// A minimal profile with `value` as "data_path_timeout" (none if null); the profile, or the error message
// after the directory in `error`.
Profile load_with(const json& value, std::string* error = nullptr) {
    TempDir dir;
    dir.write("demo.psk", "secret\n");
    json doc = {{"gateway", "192.0.2.1"}, {"local_id", "alice@example.com"},
                {"auth", {{"method", "psk"}, {"psk_file", "demo.psk"}}}};
    if (!value.is_null()) doc["data_path_timeout"] = value;
    const auto file = dir.write("demo.json", doc.dump(2));
    std::vector<std::string> warnings;
    try {
        return load_profile(file, warnings);
    } catch (const ProfileError& e) {
        if (!error) throw;
        *error = std::string(e.what()).substr((dir.path() / "").string().size());
        return {};
    }
}

std::string error_of(const json& value) {
    std::string error;
    load_with(value, &error);
    return error;
}

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
