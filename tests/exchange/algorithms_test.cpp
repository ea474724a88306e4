// In-memory exchanges with the IKE algorithms of issue 3: AES-CBC + HMAC-SHA2 and ChaCha20-Poly1305 in the
// SK payload, ECP-384 and MODP groups, an INVALID_KE_PAYLOAD retry into a MODP group, and the IKE SA rekey
// key derivation for a CBC transform. The scripted gateway (test_responder) reads the chosen transforms on
// its own, so matching keys on both sides are a real check.
#include "exchange_driver.hpp"
#include "test_responder.hpp"

#include "core/ike_rekey.hpp"
#include "core/ike_transforms.hpp"
#include "core/message/message.hpp"
#include "core/proposal.hpp"
#include "core/session.hpp"

#include <doctest/doctest.h>

using namespace ikevpn;

namespace {

core::SessionConfig make_config(const std::string& ike, const core::WeakAlgorithms& weak = {}) {
    core::SessionConfig c;
    c.local_id = "client@example.com";
    c.remote_id = "gw.example.com";
    const std::string psk = "correct horse battery staple";
    c.psk.assign(psk.begin(), psk.end());
    c.ike_proposals = {core::parse_ike_proposal(ike, weak)};
    c.esp_proposals = {core::parse_esp_proposal("aes256gcm16")};
    c.remote_networks = {*IpPrefix::parse("198.51.100.0/24")};
    c.gateway = *IpAddress::parse("192.0.2.1");
    return c;
}

struct Harness : test::ExchangeDriver {
    explicit Harness(core::SessionConfig config, test::ResponderOptions options = {})
        : ExchangeDriver(std::move(config), std::move(options)) {
        on_send = [this](const core::SendDatagram& send) -> std::optional<Bytes> {
            const auto header = msg::decode_header(send.message);
            if (header && header.value().exchange == msg::ExchangeType::ike_sa_init) {
                const auto m = msg::decode(send.message);
                if (m)
                    if (const auto* ke = msg::find<msg::KePayload>(m.value().payloads, msg::PayloadType::ke))
                        init_groups.push_back(ke->group);
            }
            return answer(send.message);
        };
    }
    std::vector<std::uint16_t> init_groups;  // the KE group of every IKE_SA_INIT request sent
};

// A liveness check from the gateway, answered and read back: both directions of the SK cipher work.
void check_both_directions(Harness& h) {
    const Bytes request = h.responder.make_request(msg::ExchangeType::informational, {});
    const auto actions = h.session.on_datagram(request, h.now);
    const core::SendDatagram* reply = nullptr;
    for (const auto& a : actions)
        if (const auto* send = std::get_if<core::SendDatagram>(&a)) reply = send;
    REQUIRE(reply);
    CHECK(h.responder.open_response(reply->message));
}

}  // namespace

TEST_CASE("aes256-sha384-ecp384: AES-CBC-256 with HMAC-SHA2-384-192, PRF from the integrity algorithm") {
    Harness h(make_config("aes256-sha384-ecp384"));
    h.run(h.session.start(h.now));
    REQUIRE(h.responder.auth_seen_ok);
    REQUIRE(h.find<core::InstallChildSa>());
    CHECK(h.session.info().state == "connected");
    CHECK(h.session.info().encryption == "AES_CBC_256/HMAC_SHA2_384_192");
    CHECK(h.session.info().prf == "PRF_HMAC_SHA2_384");
    CHECK(h.session.info().dh == "ECP_384");
    CHECK(h.responder.keys.sk_ai.size() == 48);  // RFC 4868 §2.1.2
    CHECK(h.responder.keys.sk_ei.size() == 32);
    CHECK(h.init_groups == std::vector<std::uint16_t>{20});
    check_both_directions(h);
}

TEST_CASE("aes128-sha256-ecp521 and aes192-sha512-modp2048 connect") {
    for (const char* ike : {"aes128-sha256-ecp521", "aes192-sha512-modp2048"}) {
        CAPTURE(ike);
        Harness h(make_config(ike));
        h.run(h.session.start(h.now));
        REQUIRE(h.responder.auth_seen_ok);
        CHECK(h.find<core::InstallChildSa>());
        check_both_directions(h);
    }
}

TEST_CASE("chacha20poly1305-prfsha256-modp3072: ChaCha20-Poly1305 in the SK payload (RFC 7634)") {
    Harness h(make_config("chacha20poly1305-prfsha256-modp3072"));
    h.run(h.session.start(h.now));
    REQUIRE(h.responder.auth_seen_ok);
    REQUIRE(h.find<core::InstallChildSa>());
    CHECK(h.session.info().encryption == "CHACHA20_POLY1305");
    CHECK(h.session.info().prf == "PRF_HMAC_SHA2_256");
    CHECK(h.session.info().dh == "MODP_3072");
    CHECK(h.responder.keys.sk_ei.size() == 36);  // 32-octet key + 4-octet salt
    CHECK(h.responder.keys.sk_ai.empty());
    check_both_directions(h);
}

TEST_CASE("INVALID_KE_PAYLOAD: the first KE is X25519, the gateway wants MODP-3072, the retry uses it") {
    test::ResponderOptions o;
    o.demand_group = 15;
    Harness h(make_config("aes256gcm16-prfsha384-x25519-modp3072"), o);
    h.run(h.session.start(h.now));
    REQUIRE(h.responder.auth_seen_ok);
    CHECK(h.find<core::InstallChildSa>());
    CHECK(h.init_groups == std::vector<std::uint16_t>{31, 15});
    CHECK(h.session.info().dh == "MODP_3072");
    bool said_why = false;
    for (const auto& p : h.all<core::Progress>())
        said_why = said_why || p.line == "IKE_SA_INIT: INVALID_KE_PAYLOAD: the gateway wants DH group MODP_3072, retrying";
    CHECK(said_why);
    check_both_directions(h);
}

TEST_CASE("weak algorithms with the opt-in: 3des-sha1-modp1024 connects") {
    Harness h(make_config("3des-sha1-modp1024", {"3des", "sha1", "modp1024"}));
    h.run(h.session.start(h.now));
    REQUIRE(h.responder.auth_seen_ok);
    CHECK(h.find<core::InstallChildSa>());
    CHECK(h.session.info().encryption == "3DES/HMAC_SHA1_96");
    CHECK(h.session.info().prf == "PRF_HMAC_SHA1");
    CHECK(h.session.info().dh == "MODP_1024");
}

TEST_CASE("IKE SA rekey key derivation for CBC + HMAC: SK_ai/SK_ar sit between SK_d and SK_ei") {
    core::IkeSa old;
    old.prf = crypto::make_prf(crypto::PrfId::hmac_sha2_256);
    old.keys.sk_d = SecureBytes(32, 0x0d);
    core::IkeSa sa;
    sa.nonce_i = Bytes(32, 1);
    sa.nonce_r = Bytes(32, 2);
    sa.spi_i = {1, 1, 1, 1, 1, 1, 1, 1};
    sa.spi_r = {2, 2, 2, 2, 2, 2, 2, 2};
    msg::Proposal p = core::parse_ike_proposal("aes256-sha512-modp2048");
    core::set_transforms(sa.transforms, p);
    const SecureBytes shared(256, 0x77);
    core::derive_rekeyed_ike_keys(old, shared, true, sa);

    // SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr); keys = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) with the
    // new PRF (HMAC-SHA2-512 here: 64-octet SK_d/SK_p, 64-octet SK_a, 32-octet SK_e).
    Bytes seed(shared.begin(), shared.end());
    append(seed, sa.nonce_i);
    append(seed, sa.nonce_r);
    const SecureBytes skeyseed = old.prf->compute(old.keys.sk_d, seed);
    Bytes stream = sa.nonce_i;
    append(stream, sa.nonce_r);
    append(stream, sa.spi_i);
    append(stream, sa.spi_r);
    const auto prf = crypto::make_prf(crypto::PrfId::hmac_sha2_512);
    const SecureBytes keymat = crypto::prf_plus(*prf, skeyseed, stream, 64 + 2 * 64 + 2 * 32 + 2 * 64);
    auto slice = [&](std::size_t at, std::size_t n) { return SecureBytes(keymat.begin() + std::ptrdiff_t(at), keymat.begin() + std::ptrdiff_t(at + n)); };
    CHECK(sa.keys.sk_d == slice(0, 64));
    CHECK(sa.keys.sk_ai == slice(64, 64));
    CHECK(sa.keys.sk_ar == slice(128, 64));
    CHECK(sa.keys.sk_ei == slice(192, 32));
    CHECK(sa.keys.sk_er == slice(224, 32));
    CHECK(sa.keys.sk_pr == slice(320, 64));
    // The ciphers are keyed for the new SA: what one side seals, a cipher keyed like the peer opens.
    REQUIRE(sa.aead_out);
    REQUIRE(sa.aead_in);
    const auto peer_in = crypto::make_sk_cipher(core::sk_transform(sa.transforms), sa.keys.sk_ei, sa.keys.sk_ai);
    const Bytes iv(16, 9), aad(8, 1), plaintext(32, 2);
    CHECK(peer_in->open(iv, aad, sa.aead_out->seal(iv, aad, plaintext)) == plaintext);
}

TEST_CASE("COOKIE round with a CBC proposal: the progress line names it, then the session connects") {
    test::ResponderOptions o;
    o.demand_cookie = true;
    Harness h(make_config("aes128-sha256-modp2048"), o);
    h.run(h.session.start(h.now));
    REQUIRE(h.responder.auth_seen_ok);
    CHECK(h.init_groups == std::vector<std::uint16_t>{14, 14});
    bool said_why = false;
    for (const auto& p : h.all<core::Progress>())
        said_why = said_why || p.line == "IKE_SA_INIT: the gateway asked for a COOKIE (RFC 7296 §2.6), retrying";
    CHECK(said_why);
    check_both_directions(h);
}
