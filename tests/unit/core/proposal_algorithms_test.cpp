// Proposal tokens of issue 3: CBC + HMAC and ChaCha20-Poly1305 for IKE, ECP-384/521 and MODP groups, the
// PRF derived from the integrity algorithm, and weak algorithms refused unless the profile opts in.
// Transform IDs are IANA "IKEv2 Parameters" values (RFC 7296 §3.3.2, RFC 3526, RFC 4868, RFC 5903, RFC 7634).
#include "core/proposal.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace ikevpn;
using namespace ikevpn::core;
using msg::Transform;
using msg::TransformType;

namespace {

std::string ike_error(const std::string& text, const WeakAlgorithms& weak = {}) {
    try {
        parse_ike_proposal(text, weak);
    } catch (const ProposalError& e) {
        return e.what();
    }
    return "no error";
}

std::string esp_error(const std::string& text, const WeakAlgorithms& weak = {}) {
    try {
        parse_esp_proposal(text, weak);
    } catch (const ProposalError& e) {
        return e.what();
    }
    return "no error";
}

Transform encr(std::uint16_t id, std::optional<std::uint16_t> bits) { return {TransformType::encr, id, bits}; }
Transform prf(std::uint16_t id) { return {TransformType::prf, id, std::nullopt}; }
Transform integ(std::uint16_t id) { return {TransformType::integ, id, std::nullopt}; }
Transform dh(std::uint16_t id) { return {TransformType::dh, id, std::nullopt}; }

}  // namespace

TEST_CASE("IKE CBC proposals: the PRF follows the integrity algorithm unless given (as in strongSwan)") {
    CHECK(parse_ike_proposal("aes256-sha384-ecp384").transforms ==
          std::vector<Transform>{encr(12, 256), prf(6), integ(13), dh(20)});
    CHECK(parse_ike_proposal("aes128-sha2_256-modp2048").transforms ==
          std::vector<Transform>{encr(12, 128), prf(5), integ(12), dh(14)});
    CHECK(parse_ike_proposal("aes192-sha512-sha256-ecp521-modp4096").transforms ==
          std::vector<Transform>{encr(12, 192), prf(7), prf(5), integ(14), integ(12), dh(21), dh(16)});
    // An explicit PRF wins.
    CHECK(parse_ike_proposal("aes256-sha256-prfsha512-modp3072").transforms ==
          std::vector<Transform>{encr(12, 256), prf(7), integ(12), dh(15)});
}

TEST_CASE("IKE combined-mode proposals: ChaCha20-Poly1305 without a key length, AES-GCM-192") {
    CHECK(parse_ike_proposal("chacha20poly1305-prfsha256-x25519").transforms ==
          std::vector<Transform>{encr(28, std::nullopt), prf(5), dh(31)});
    CHECK(parse_ike_proposal("aes192gcm16-prfsha384-ecp384").transforms ==
          std::vector<Transform>{encr(20, 192), prf(6), dh(20)});
    CHECK(ike_error("chacha20poly1305-x25519").find("no PRF") != std::string::npos);
    CHECK(ike_error("aes256gcm16-sha256-prfsha256-x25519").find("combined-mode cipher") != std::string::npos);
    CHECK(ike_error("aes256gcm16-aes256-sha256-x25519").find("cannot share one proposal") != std::string::npos);
    // The ESP data plane has no AES-GCM-192: IKE only.
    CHECK(esp_error("aes192gcm16") ==
          "'aes192gcm16' is supported for IKE only (the ESP data plane does not implement it) in ESP proposal "
          "'aes192gcm16'");
    CHECK(esp_error("aes192-sha256") == "no error");
}

TEST_CASE("weak algorithms are refused by default with the profile key that opts in") {
    CHECK(ike_error("aes128-sha1-modp2048") ==
          "'sha1' is a weak algorithm, refused unless the profile lists \"sha1\" in allow_weak_algorithms in IKE "
          "proposal 'aes128-sha1-modp2048'");
    CHECK(ike_error("aes128-sha256-modp1024").find("\"modp1024\" in allow_weak_algorithms") != std::string::npos);
    CHECK(ike_error("3des-sha256-modp2048").find("\"3des\" in allow_weak_algorithms") != std::string::npos);
    CHECK(ike_error("aes128-md5-modp2048").find("\"md5\" in allow_weak_algorithms") != std::string::npos);
    CHECK(ike_error("aes128gcm16-prfsha1-x25519").find("\"sha1\" in allow_weak_algorithms") != std::string::npos);
    CHECK(ike_error("aes128gcm16-prfmd5-x25519").find("\"md5\"") != std::string::npos);
    // Allowing one name does not allow the others.
    CHECK(ike_error("aes128-sha1-modp1024", {"sha1"}).find("\"modp1024\"") != std::string::npos);
}

TEST_CASE("weak algorithms with the opt-in: IKE transforms; ESP still refuses them, saying why") {
    CHECK(parse_ike_proposal("aes128-sha1-modp1024", {"sha1", "modp1024"}).transforms ==
          std::vector<Transform>{encr(12, 128), prf(2), integ(2), dh(2)});
    CHECK(parse_ike_proposal("3des-md5-modp2048", {"3des", "md5"}).transforms ==
          std::vector<Transform>{encr(3, std::nullopt), prf(1), integ(1), dh(14)});
    CHECK(parse_ike_proposal("aes128-sha-prfsha1-modp2048", {"sha1"}).transforms ==
          std::vector<Transform>{encr(12, 128), prf(2), integ(2), dh(14)});
    // HMAC-SHA1-96 the data plane has; 3DES and HMAC-MD5-96 it has not.
    CHECK(parse_esp_proposal("aes128-sha1", {"sha1"}).transforms ==
          std::vector<Transform>{encr(12, 128), integ(2), Transform{TransformType::esn, 0, std::nullopt}});
    CHECK(esp_error("aes128-md5", {"md5"}) ==
          "'md5' is supported for IKE only (the ESP data plane does not implement it) in ESP proposal 'aes128-md5'");
    CHECK(esp_error("3des-sha256", {"3des"}).find("IKE only") != std::string::npos);
    CHECK(esp_error("aes128-sha1").find("allow_weak_algorithms") != std::string::npos);
    // MODP-1024 in an ESP proposal is a PFS group for rekeys, which the negotiator computes: allowed.
    CHECK(esp_error("aes256gcm16-modp1024").find("\"modp1024\" in allow_weak_algorithms") != std::string::npos);
    CHECK(esp_error("aes256gcm16-modp1024", {"modp1024"}) == "no error");
}

TEST_CASE("weak_algorithm_names lists what the profile may opt into") {
    const auto& names = weak_algorithm_names();
    CHECK(names == std::vector<std::string_view>{"3des", "sha1", "md5", "modp1024"});
    CHECK(ike_error("aes128-sha256-modp1536").find("unsupported algorithm 'modp1536'") != std::string::npos);
}
