// The profile's "allow_weak_algorithms" (client/profile.hpp): weak proposals refused without it, naming
// the algorithm and the key; accepted with it; unknown names and wrong types are errors naming the key.
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
    return ikevpn::test::load_minimal_profile("", value, error);
}
std::string error_of(const json& value) { return ikevpn::test::minimal_profile_error("", value); }

}  // namespace

TEST_CASE("weak IKE algorithms are refused by default, naming the algorithm and allow_weak_algorithms") {
    CHECK(error_of({{"ike", {"aes128-sha1-modp2048"}}}) ==
          "demo.json: key 'ike[0]': 'sha1' is a weak algorithm, refused unless the profile lists \"sha1\" in "
          "allow_weak_algorithms in IKE proposal 'aes128-sha1-modp2048'");
    CHECK(error_of({{"ike", {"aes256gcm16-prfsha256-x25519", "aes128-sha256-modp1024"}}}).find(
              "key 'ike[1]': 'modp1024' is a weak algorithm") != std::string::npos);
}

TEST_CASE("allow_weak_algorithms opts in by name, for IKE only") {
    const Profile p = load_with({{"ike", {"aes128-sha1-modp1024"}}, {"allow_weak_algorithms", {"sha1", "modp1024"}}});
    CHECK(p.allow_weak_algorithms == std::vector<std::string>{"sha1", "modp1024"});
    REQUIRE(p.ike_proposals.size() == 1);
    CHECK(p.ike_proposals[0].transforms.size() == 4);  // AES-CBC-128, PRF-HMAC-SHA1, HMAC-SHA1-96, MODP-1024
    CHECK(error_of({{"ike", {"aes128-sha1-modp1024"}}, {"allow_weak_algorithms", {"sha1"}}}).find("'modp1024'") !=
          std::string::npos);
    CHECK(error_of({{"esp", {"aes128-md5"}}, {"allow_weak_algorithms", {"md5"}}}) ==
          "demo.json: key 'esp[0]': 'md5' is supported for IKE only (the ESP data plane does not implement it) in "
          "ESP proposal 'aes128-md5'");
    CHECK(load_with({{"esp", {"aes128-sha1"}}, {"allow_weak_algorithms", {"sha1"}}}).esp_proposals.size() == 1);
    CHECK(load_with(json::object()).allow_weak_algorithms.empty());
    CHECK(load_with({{"allow_weak_algorithms", json::array()}}).allow_weak_algorithms.empty());
}

TEST_CASE("allow_weak_algorithms: unknown names and wrong types name the key") {
    CHECK(error_of({{"allow_weak_algorithms", {"sha1", "des"}}}) ==
          "demo.json: key 'allow_weak_algorithms': unknown weak algorithm 'des' (known: 3des, sha1, md5, modp1024)");
    CHECK(error_of({{"allow_weak_algorithms", "sha1"}}).find("key 'allow_weak_algorithms': expected an array") !=
          std::string::npos);
}
