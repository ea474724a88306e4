// Proposal strings (strongSwan syntax) and the check of the responder's accepted proposal.
// Transform IDs expected below are IANA "IKEv2 Parameters" values (RFC 7296 §3.3.2, RFC 5282, RFC 4868,
// RFC 5903, RFC 8031).
#include "core/proposal.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace ikevpn;
using namespace ikevpn::core;
using msg::ProtocolId;
using msg::Transform;
using msg::TransformType;

namespace {

std::string error_of(msg::Proposal (*parse)(const std::string&), const std::string& text) {
    try {
        parse(text);
    } catch (const ProposalError& e) {
        return e.what();
    }
    return "no error";
}

const Transform gcm128{TransformType::encr, 20, 128};
const Transform gcm256{TransformType::encr, 20, 256};
const Transform sha256{TransformType::prf, 5, std::nullopt};
const Transform sha384{TransformType::prf, 6, std::nullopt};
const Transform sha512{TransformType::prf, 7, std::nullopt};
const Transform ecp256{TransformType::dh, 19, std::nullopt};
const Transform x25519{TransformType::dh, 31, std::nullopt};
const Transform no_esn{TransformType::esn, 0, std::nullopt};

}  // namespace

TEST_CASE("IKE proposals") {
    auto p = parse_ike_proposal("aes256gcm16-prfsha384-x25519");
    CHECK(p.number == 1);
    CHECK(p.protocol == ProtocolId::ike);
    CHECK(p.spi.empty());
    CHECK(p.transforms == std::vector<Transform>{gcm256, sha384, x25519});

    CHECK(parse_ike_proposal("aes128gcm-prfsha256-curve25519").transforms ==
          std::vector<Transform>{gcm128, sha256, x25519});
    // Several of a type, in the order given, grouped by type; repeats dropped.
    CHECK(parse_ike_proposal("aes128gcm16-ecp256-aes256gcm16-prfsha512-prfsha256-x25519-ecp256").transforms ==
          std::vector<Transform>{gcm128, gcm256, sha512, sha256, ecp256, x25519});
    CHECK(parse_ike_proposal("AES256GCM16-PRFSHA384-ECP256").transforms ==
          std::vector<Transform>{gcm256, sha384, ecp256});
}

TEST_CASE("IKE proposal errors name the token and the string") {
    CHECK(error_of(parse_ike_proposal, "aes256gcm17-prfsha384-x25519") ==
          "unknown algorithm 'aes256gcm17' in IKE proposal 'aes256gcm17-prfsha384-x25519'");
    CHECK(error_of(parse_ike_proposal, "aes128-ecp256") ==
          "no integrity algorithm for the CBC cipher (e.g. aes256-sha256) in IKE proposal 'aes128-ecp256'");
    const std::string no_prf = error_of(parse_ike_proposal, "aes256gcm16-x25519");
    CHECK(no_prf.find("no PRF") != std::string::npos);
    CHECK(no_prf.find("'aes256gcm16-x25519'") != std::string::npos);
    CHECK(error_of(parse_ike_proposal, "aes256gcm16-prfsha256").find("no key exchange") != std::string::npos);
    CHECK(error_of(parse_ike_proposal, "prfsha256-x25519").find("no encryption") != std::string::npos);
    CHECK(error_of(parse_ike_proposal, "").find("empty algorithm name") != std::string::npos);
    CHECK(error_of(parse_ike_proposal, "aes256gcm16--prfsha256-x25519").find("empty") != std::string::npos);
    CHECK(error_of(parse_ike_proposal, "aes256gcm16-prfsha256-x25519-noesn").find("'noesn'") !=
          std::string::npos);
}

TEST_CASE("ESP proposals always carry an ESN transform") {
    auto p = parse_esp_proposal("aes128gcm16");
    CHECK(p.protocol == ProtocolId::esp);
    CHECK(p.transforms == std::vector<Transform>{gcm128, no_esn});
    CHECK(parse_esp_proposal("aes256gcm-noesn").transforms == std::vector<Transform>{gcm256, no_esn});
    CHECK(parse_esp_proposal("aes256gcm16-aes128gcm16").transforms ==
          std::vector<Transform>{gcm256, gcm128, no_esn});

    // A DH group asks for PFS on the CHILD SA rekeys we start.
    CHECK(parse_esp_proposal("aes128gcm16-x25519").transforms == std::vector<Transform>{gcm128, x25519, no_esn});
    CHECK(error_of(parse_esp_proposal, "aes128gcm16-prfsha256").find("'prfsha256'") != std::string::npos);
    CHECK(error_of(parse_esp_proposal, "noesn").find("no encryption") != std::string::npos);
}

TEST_CASE("ESP-only transforms: ChaCha20-Poly1305, AES-CBC with HMAC-SHA2, ESN") {
    const Transform chacha{TransformType::encr, 28, std::nullopt};  // RFC 7634: no Key Length attribute
    const Transform cbc256{TransformType::encr, 12, 256};
    const Transform sha512_256{TransformType::integ, 14, std::nullopt};
    const Transform sha256_128{TransformType::integ, 12, std::nullopt};
    const Transform esn{TransformType::esn, 1, std::nullopt};
    CHECK(parse_esp_proposal("chacha20poly1305").transforms == std::vector<Transform>{chacha, no_esn});
    CHECK(parse_esp_proposal("aes256-sha512").transforms == std::vector<Transform>{cbc256, sha512_256, no_esn});
    CHECK(parse_esp_proposal("aes256-sha256-sha512").transforms ==
          std::vector<Transform>{cbc256, sha256_128, sha512_256, no_esn});
    CHECK(parse_esp_proposal("aes128gcm16-esn").transforms == std::vector<Transform>{gcm128, esn});
    CHECK(parse_esp_proposal("aes128gcm16-esn-noesn").transforms == std::vector<Transform>{gcm128, esn, no_esn});

    CHECK(error_of(parse_esp_proposal, "aes256").find("no integrity algorithm") != std::string::npos);
    CHECK(error_of(parse_esp_proposal, "aes256gcm16-sha256").find("combined-mode") != std::string::npos);
    CHECK(error_of(parse_esp_proposal, "aes256gcm16-aes256-sha256").find("cannot share") != std::string::npos);
    // Since issue 3 the SK payload implements them too (tests/unit/core/proposal_algorithms_test.cpp).
    CHECK(error_of(parse_ike_proposal, "chacha20poly1305-prfsha256-x25519") == "no error");
    CHECK(error_of(parse_ike_proposal, "aes256-sha256-prfsha256-x25519") == "no error");
}

TEST_CASE("check_accepted") {
    auto first = parse_ike_proposal("aes256gcm16-prfsha384-prfsha256-x25519-ecp256");
    auto second = parse_ike_proposal("aes128gcm16-prfsha256-ecp256");
    second.number = 2;
    const std::vector<msg::Proposal> offered = {first, second};

    msg::Proposal ok{1, ProtocolId::ike, {}, {gcm256, sha256, ecp256}};
    CHECK(check_accepted(offered, ok) == std::nullopt);
    msg::Proposal ok2{2, ProtocolId::ike, {}, {gcm128, sha256, ecp256}};
    CHECK(check_accepted(offered, ok2) == std::nullopt);
    msg::Proposal rekey = ok;
    rekey.spi = Bytes(8, 1);
    CHECK(check_accepted(offered, rekey) == std::nullopt);

    SUBCASE("two of a type") {
        msg::Proposal two_dh{1, ProtocolId::ike, {}, {gcm256, sha256, ecp256, x25519}};
        CHECK(check_accepted(offered, two_dh) ==
              "accepted proposal 1 has 2 transforms of type 4 (must be exactly one)");
    }
    SUBCASE("a type missing") {
        msg::Proposal no_dh{1, ProtocolId::ike, {}, {gcm256, sha256}};
        CHECK(check_accepted(offered, no_dh).has_value());
    }
    SUBCASE("a transform offered only in another proposal") {
        msg::Proposal mixed{2, ProtocolId::ike, {}, {gcm256, sha256, ecp256}};  // gcm256 is proposal 1's
        CHECK(check_accepted(offered, mixed) ==
              "accepted proposal 2 holds transform type 1 id 20 that was not offered");
    }
    SUBCASE("a key length not offered") {
        msg::Proposal kl{1, ProtocolId::ike, {}, {gcm128, sha256, ecp256}};
        CHECK(check_accepted(offered, kl).has_value());
    }
    SUBCASE("a proposal number not offered, or the wrong protocol") {
        msg::Proposal three{3, ProtocolId::ike, {}, {gcm128, sha256, ecp256}};
        CHECK(check_accepted(offered, three) == "accepted proposal 3 was not offered for this protocol");
        msg::Proposal esp{1, ProtocolId::esp, {1, 2, 3, 4}, {gcm256, sha256, ecp256}};
        CHECK(check_accepted(offered, esp).has_value());
    }
    SUBCASE("IKE SPI size") {
        msg::Proposal bad = ok;
        bad.spi = Bytes(4, 1);
        CHECK(check_accepted(offered, bad).has_value());
    }
}

TEST_CASE("check_accepted for ESP") {
    auto offer = parse_esp_proposal("aes256gcm16-aes128gcm16");
    offer.spi = {0xc0, 0x01, 0xd0, 0x0d};
    msg::Proposal accepted{1, ProtocolId::esp, {0x11, 0x22, 0x33, 0x44}, {gcm128, no_esn}};
    CHECK(check_accepted({offer}, accepted) == std::nullopt);
    accepted.spi = Bytes(8, 1);
    CHECK(check_accepted({offer}, accepted) == "accepted proposal 1 has an SPI of 8 bytes, not 4");
    accepted.spi = {1, 2, 3, 4};
    accepted.transforms = {gcm128};  // ESN missing
    CHECK(check_accepted({offer}, accepted) ==
          "accepted proposal 1 has 0 transforms of type 5 (must be exactly one)");
    accepted.transforms = {gcm128, Transform{TransformType::esn, 1, std::nullopt}};  // ESN not offered
    CHECK(check_accepted({offer}, accepted).has_value());
}
