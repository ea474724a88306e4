// Profile keys of IKE fragmentation (RFC 7383): "fragmentation" and "fragment_size".
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

// Loads a PSK profile with `extra` merged in; throws ProfileError like load_profile.
Profile load_with(const json& extra) {
    TempDir dir;
    dir.write("demo.psk", "secret\n");
    json doc = {{"gateway", "192.0.2.1"}, {"local_id", "alice@example.com"},
                {"auth", {{"method", "psk"}, {"psk_file", "demo.psk"}}}};
    doc.merge_patch(extra);
    const auto file = dir.write("demo.json", doc.dump(2));
    std::vector<std::string> warnings;
    return load_profile(file, warnings);
}

std::string error_with(const json& extra) {
    try {
        load_with(extra);
    } catch (const ProfileError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("fragmentation is on with 1280-byte fragments by default") {
    const Profile p = load_with(json::object());
    CHECK(p.fragmentation);
    CHECK(p.fragment_size == 1280);
}

TEST_CASE("fragmentation and fragment_size are read") {
    const Profile p = load_with({{"fragmentation", false}, {"fragment_size", 576}});
    CHECK_FALSE(p.fragmentation);
    CHECK(p.fragment_size == 576);
    CHECK(load_with({{"fragment_size", 9000}}).fragment_size == 9000);
}

TEST_CASE("bad values name the key") {
    CHECK(error_with({{"fragment_size", 575}}).find("fragment_size") != std::string::npos);
    CHECK(error_with({{"fragment_size", 9001}}).find("fragment_size") != std::string::npos);
    CHECK(error_with({{"fragment_size", "big"}}).find("fragment_size") != std::string::npos);
    CHECK(error_with({{"fragmentation", "yes"}}).find("fragmentation") != std::string::npos);
}
