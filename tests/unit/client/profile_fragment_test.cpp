// Profile keys of IKE fragmentation (RFC 7383): "fragmentation" and "fragment_size".
#include "client/profile.hpp"

#include "minimal_profile.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

using ikevpn::client::Profile;
using nlohmann::json;

namespace {

Profile load_with(const json& extra) { return ikevpn::test::load_minimal_profile("", extra); }
std::string error_with(const json& extra) { return ikevpn::test::minimal_profile_error("", extra); }

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
