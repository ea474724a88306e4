// EAP-MSCHAPv2: the MS-CHAPv2 and MPPE known answers, the EAP and MS-CHAPv2 codecs with malformed input,
// and the peer state machine against a scripted server.
#include "core/crypto/crypto.hpp"
#include "core/crypto/mschapv2.hpp"
#include "core/eap/eap_message.hpp"
#include "core/eap/eap_peer.hpp"
#include "tests/unit/core/crypto/hex.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace ikevpn;
using crypto::test::hex;
namespace ms = crypto::mschapv2;
namespace eap = core::eap;

namespace {

// RFC 2759 §9.2 (repeated in RFC 3079 §3.5.3): user "User", password "clientPass".
const std::string user = "User";
const std::string password = "clientPass";
const Bytes auth_challenge = hex("5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28");
const Bytes peer_challenge = hex("21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E");
const Bytes expected_nt_response = hex("82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF");

SecureBytes secure(const std::string& s) { return SecureBytes(s.begin(), s.end()); }
Bytes bytes(const SecureBytes& s) { return Bytes(s.begin(), s.end()); }

// Hands out the RFC's PeerChallenge as "random" bytes.
class FixedRandom : public crypto::RandomSource {
public:
    void fill(std::span<std::uint8_t> out) override {
        for (std::size_t i = 0; i < out.size(); ++i) out[i] = peer_challenge[i % peer_challenge.size()];
    }
};

Bytes mschapv2_request(std::uint8_t id, eap::MsOpCode op, std::uint8_t ms_id, const Bytes& body) {
    Bytes data{std::uint8_t(op), ms_id, std::uint8_t((4 + body.size()) >> 8), std::uint8_t(4 + body.size())};
    append(data, body);
    return eap::encode({eap::Code::request, id, std::uint8_t(eap::Type::mschapv2), data});
}

Bytes challenge_request() {
    Bytes body{16};
    append(body, auth_challenge);
    const std::string name = "gw";
    body.insert(body.end(), name.begin(), name.end());
    return mschapv2_request(2, eap::MsOpCode::challenge, 7, body);
}

Bytes text_request(eap::MsOpCode op, const std::string& text) {
    return mschapv2_request(3, op, 7, Bytes(text.begin(), text.end()));
}

}  // namespace

TEST_CASE("MS-CHAPv2 known answers (RFC 2759 §9.2)") {
    const auto hash = ms::nt_password_hash(secure(password));
    REQUIRE(hash);
    CHECK(bytes(*hash) == hex("44 EB BA 8D 53 12 B8 D6 11 47 44 11 F5 69 89 AE"));
    CHECK(ms::challenge_hash(peer_challenge, auth_challenge, user) == hex("D0 2E 43 86 BC E9 12 26"));
    CHECK(ms::nt_response(auth_challenge, peer_challenge, user, *hash) == expected_nt_response);
    CHECK(ms::authenticator_response(*hash, expected_nt_response, peer_challenge, auth_challenge, user) ==
          "S=407A5589115FD0D6209F510FE9C04566932CDA56");
}

TEST_CASE("MPPE keys (RFC 3079 §3.5.3) and the EAP-MSCHAPv2 MSK") {
    const auto hash = *ms::nt_password_hash(secure(password));
    const SecureBytes master = ms::master_key(hash, expected_nt_response);
    CHECK(bytes(master) == hex("FD EC E3 71 7A 8C 83 8C B3 88 E5 27 AE 3C DD 31"));
    // The RFC's SendStartKey128 is the server's send key (Magic3), i.e. the client's receive key.
    const SecureBytes receive = ms::client_start_key(master, false);
    CHECK(bytes(receive) == hex("8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB"));
    const SecureBytes send = ms::client_start_key(master, true);
    CHECK(send != receive);
    const SecureBytes msk = ms::msk(hash, expected_nt_response);
    REQUIRE(msk.size() == 64);
    // The server's receive key (= our send key) first: the order strongSwan accepts.
    CHECK(std::equal(send.begin(), send.end(), msk.begin()));
    CHECK(std::equal(receive.begin(), receive.end(), msk.begin() + 16));
    CHECK(std::all_of(msk.begin() + 32, msk.end(), [](std::uint8_t b) { return b == 0; }));
}

TEST_CASE("NT password hash takes UTF-8 and refuses malformed UTF-8") {
    // "ü" is U+00FC: UTF-16LE FC 00, the same as the Latin-1 byte would give.
    const auto utf8 = ms::nt_password_hash(secure("\xc3\xbc"));
    REQUIRE(utf8);
    CHECK(utf8->size() == 16);
    CHECK_FALSE(ms::nt_password_hash(secure("\xc3")));      // truncated sequence
    CHECK_FALSE(ms::nt_password_hash(secure("\xff")));      // never valid in UTF-8
    CHECK_FALSE(ms::nt_password_hash(secure("\xc3\x41")));  // continuation byte missing
    CHECK_FALSE(ms::nt_password_hash(secure("\xed\xa0\x80")));  // a surrogate
}

TEST_CASE("EAP codec: round trip and every length checked") {
    const eap::Packet p{eap::Code::request, 9, std::uint8_t(eap::Type::identity), {'a', 'b'}};
    const Bytes wire = eap::encode(p);
    CHECK(wire == Bytes{1, 9, 0, 7, 1, 'a', 'b'});
    std::string error;
    auto back = eap::decode(wire, error);
    REQUIRE(back);
    CHECK(back->identifier == 9);
    CHECK(back->type == 1);
    CHECK(back->data == Bytes{'a', 'b'});
    // Every truncation fails: Length then exceeds what arrived.
    for (std::size_t n = 0; n < wire.size(); ++n) {
        CHECK_FALSE(eap::decode(ByteView(wire.data(), n), error));
        CHECK_FALSE(error.empty());
    }
    Bytes padded = wire;
    padded.push_back(0xee);  // bytes after Length are padding
    REQUIRE(eap::decode(padded, error));
    CHECK(eap::decode(padded, error)->data == Bytes{'a', 'b'});
    CHECK_FALSE(eap::decode(Bytes{1, 1, 0, 3, 1}, error));           // Length below the header
    CHECK_FALSE(eap::decode(Bytes{1, 1, 0, 4}, error));              // Request without a Type
    CHECK_FALSE(eap::decode(Bytes{3, 1, 0, 5, 0}, error));           // Success must be 4 bytes
    CHECK_FALSE(eap::decode(Bytes{5, 1, 0, 4}, error));              // unknown Code
    CHECK_FALSE(eap::decode(Bytes{0, 1, 0, 4}, error));
    REQUIRE(eap::decode(Bytes{3, 1, 0, 4}, error));
    CHECK(eap::encode({eap::Code::failure, 4, 0, {}}) == Bytes{4, 4, 0, 4});
}

TEST_CASE("MS-CHAPv2 request codec rejects malformed input") {
    std::string error;
    CHECK_FALSE(eap::decode_mschapv2_request(Bytes{1, 1, 0}, error));
    CHECK_FALSE(eap::decode_mschapv2_request(Bytes{1, 1, 0, 30, 16}, error));  // MS-Length beyond the data
    CHECK_FALSE(eap::decode_mschapv2_request(Bytes{1, 1, 0, 3}, error));       // MS-Length below the header
    Bytes challenge{1, 1, 0, 21, 8};
    challenge.resize(21, 0);
    CHECK_FALSE(eap::decode_mschapv2_request(challenge, error));  // Value-Size must be 16
    challenge[4] = 16;
    REQUIRE(eap::decode_mschapv2_request(challenge, error));
    challenge[3] = 20;  // one byte short of the challenge value
    CHECK_FALSE(eap::decode_mschapv2_request(ByteView(challenge.data(), 20), error));
    CHECK_FALSE(eap::decode_mschapv2_request(Bytes{2, 1, 0, 4}, error));  // a Response OpCode
    CHECK_FALSE(eap::decode_mschapv2_request(Bytes{7, 1, 0, 4}, error));  // Change-Password
    auto success = eap::decode_mschapv2_request(Bytes{3, 1, 0, 6, 'S', '=', 'x'}, error);
    REQUIRE(success);
    CHECK(success->text == "S=");  // MS-Length ends the message
}

TEST_CASE("EAP peer: identity, MS-CHAPv2 with the RFC 2759 values, success and MSK") {
    FixedRandom random;
    eap::EapPeer peer(user, secure(password), random);
    auto step = peer.on_packet(eap::encode({eap::Code::request, 1, std::uint8_t(eap::Type::identity), {}}));
    REQUIRE(step.send);
    CHECK(*step.send == eap::encode({eap::Code::response, 1, 1, Bytes(user.begin(), user.end())}));

    step = peer.on_packet(challenge_request());
    REQUIRE(step.send);
    std::string error;
    auto response = eap::decode(*step.send, error);
    REQUIRE(response);
    CHECK(response->code == eap::Code::response);
    CHECK(response->identifier == 2);
    REQUIRE(response->data.size() == 4 + 1 + 49 + user.size());
    CHECK(response->data[0] == 2);  // OpCode Response
    CHECK(response->data[1] == 7);  // the Challenge's MS-CHAPv2-ID
    CHECK(Bytes(response->data.begin() + 5, response->data.begin() + 21) == peer_challenge);
    CHECK(Bytes(response->data.begin() + 29, response->data.begin() + 53) == expected_nt_response);
    CHECK(std::string(response->data.begin() + 54, response->data.end()) == user);

    CHECK_FALSE(peer.on_packet(Bytes{3, 3, 0, 4}).success);  // Success before the authenticator is checked
}

TEST_CASE("EAP peer: a verified Success gives the MSK; a wrong authenticator response fails") {
    FixedRandom random;
    eap::EapPeer peer(user, secure(password), random);
    REQUIRE(peer.on_packet(challenge_request()).send);
    SUBCASE("right") {
        auto step = peer.on_packet(text_request(eap::MsOpCode::success, "S=407A5589115FD0D6209F510FE9C04566932CDA56 M=ok"));
        REQUIRE(step.send);
        CHECK_FALSE(step.failure);
        step = peer.on_packet(Bytes{3, 4, 0, 4});
        CHECK(step.success);
        REQUIRE(peer.msk());
        CHECK(*peer.msk() == ms::msk(*ms::nt_password_hash(secure(password)), expected_nt_response));
    }
    SUBCASE("wrong") {
        auto step = peer.on_packet(text_request(eap::MsOpCode::success, "S=407A5589115FD0D6209F510FE9C04566932CDA57"));
        CHECK_FALSE(step.send);
        REQUIRE(step.failure);
        CHECK(step.failure->find("authenticator response is wrong") != std::string::npos);
        CHECK_FALSE(peer.msk());
    }
}

TEST_CASE("EAP peer: MS-CHAPv2 Failure E=691 is acknowledged, then reported on EAP-Failure") {
    FixedRandom random;
    eap::EapPeer peer(user, secure("wrong"), random);
    REQUIRE(peer.on_packet(challenge_request()).send);
    auto step = peer.on_packet(text_request(eap::MsOpCode::failure, "E=691 R=0 C=00000000000000000000000000000000 V=3 M=no"));
    REQUIRE(step.send);
    CHECK(*step.send == eap::encode({eap::Code::response, 3, 26, Bytes{4}}));
    step = peer.on_packet(Bytes{4, 4, 0, 4});
    REQUIRE(step.failure);
    CHECK(*step.failure == "EAP-MSCHAPv2: authentication failed (wrong username or password)");
    CHECK(eap::mschapv2_failure_reason("E=648 R=0 V=3") ==
          "EAP-MSCHAPv2: authentication failed (password expired, E=648)");
}

TEST_CASE("EAP peer: Nak proposes MS-CHAPv2; Notification answered; bad packets fail") {
    FixedRandom random;
    eap::EapPeer peer(user, secure(password), random);
    auto step = peer.on_packet(eap::encode({eap::Code::request, 5, std::uint8_t(eap::Type::md5), {16}}));
    REQUIRE(step.send);
    CHECK(*step.send == eap::encode({eap::Code::response, 5, 3, Bytes{26}}));
    step = peer.on_packet(eap::encode({eap::Code::request, 6, std::uint8_t(eap::Type::notification), {'h', 'i'}}));
    REQUIRE(step.send);
    CHECK(*step.send == eap::encode({eap::Code::response, 6, 2, {}}));
    CHECK(peer.on_packet(Bytes{1, 1, 0}).failure);
    CHECK(peer.on_packet(mschapv2_request(1, eap::MsOpCode::challenge, 1, Bytes{16, 1, 2})).failure);
    CHECK(peer.on_packet(Bytes{2, 1, 0, 5, 1}).failure);  // a Response from the gateway
    step = peer.on_packet(Bytes{4, 9, 0, 4});
    REQUIRE(step.failure);
    CHECK(*step.failure == "EAP: the gateway offered EAP method 4, which ikevpn does not support, and refused EAP-MSCHAPv2");
    eap::EapPeer fresh(user, secure(password), random);
    step = fresh.on_packet(Bytes{4, 9, 0, 4});
    REQUIRE(step.failure);
    CHECK(*step.failure == "EAP: the gateway rejected the authentication (EAP-Failure)");
}
