// Profile key "rekey.reauth_initial_contact": whether a reauthentication after a MOBIKE move sends
// INITIAL_CONTACT (core/session_reauth.cpp; RFC 7296 §2.4).
#include "client/profile.hpp"

#include "minimal_profile.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <string>

using ikevpn::client::Profile;
using nlohmann::json;

namespace {

Profile load_with(const json& extra) { return ikevpn::test::load_minimal_profile("", extra); }
std::string error_with(const json& extra) { return ikevpn::test::minimal_profile_error("", extra); }

}  // namespace

TEST_CASE("rekey.reauth_initial_contact is on by default, also when rekey has other keys") {
    CHECK(load_with(json::object()).rekey.reauth_initial_contact);
    CHECK(load_with({{"rekey", {{"reauth_seconds", 3600}}}}).rekey.reauth_initial_contact);
}

TEST_CASE("rekey.reauth_initial_contact false is read") {
    const Profile p = load_with({{"rekey", {{"reauth_initial_contact", false}}}});
    CHECK_FALSE(p.rekey.reauth_initial_contact);
}

TEST_CASE("a value that is not a boolean names the key") {
    const std::string e = error_with({{"rekey", {{"reauth_initial_contact", "no"}}}});
    CHECK(e.find("rekey.reauth_initial_contact") != std::string::npos);
}
