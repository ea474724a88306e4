// In-memory tests of redirects (RFC 5685) against the scripted gateway: REDIRECT_SUPPORTED and
// REDIRECTED_FROM in IKE_SA_INIT, a REDIRECT in the IKE_SA_INIT response (checked against our nonce), in
// the IKE_AUTH response (only after the gateway authenticated as remote_id) and in an INFORMATIONAL on an
// established IKE SA (answered, the IKE SA deleted, then Closed{redirected}). The loop limit is the
// driver's (client/session.cpp run_connect), outside core.
#include "exchange_driver.hpp"
#include "test_responder.hpp"

#include "core/proposal.hpp"
#include "core/redirect.hpp"
#include "core/session.hpp"

#include <doctest/doctest.h>

using namespace ikevpn;
using namespace std::chrono_literals;

namespace {

core::SessionConfig make_config() { return test::psk_session_config(); }

const core::GatewayIdentity second_gw{*IpAddress::parse("192.0.2.20")};

}  // namespace

TEST_CASE("IKE_SA_INIT announces REDIRECT_SUPPORTED, or names the gateway we come from") {
    test::ExchangeDriver plain(make_config(), {});
    plain.run(plain.session.start(plain.now));
    CHECK(plain.responder.saw_redirect_supported);
    CHECK(plain.responder.redirected_from.empty());
    CHECK(plain.session.info().state == "connected");

    auto config = make_config();
    config.redirected_from = core::GatewayIdentity{*IpAddress::parse("192.0.2.1")};
    test::ExchangeDriver after(config, {});
    after.run(after.session.start(after.now));
    CHECK_FALSE(after.responder.saw_redirect_supported);
    CHECK(after.responder.redirected_from == Bytes{1, 4, 192, 0, 2, 1});
    CHECK(after.session.info().state == "connected");
}

TEST_CASE("REDIRECT in the IKE_SA_INIT response: start over at the new gateway") {
    test::ResponderOptions o;
    o.redirect_init = core::GatewayIdentity{std::string("vpn2.example.com")};
    test::ExchangeDriver d(make_config(), o);
    d.run(d.session.start(d.now));
    const auto* r = d.find<core::Redirected>();
    REQUIRE(r);
    CHECK(r->gateway.to_string() == "vpn2.example.com");
    CHECK(r->during == "IKE_SA_INIT");
    const auto* closed = d.find<core::Closed>();
    REQUIRE(closed);
    CHECK(closed->code == core::CloseCode::redirected);
    CHECK(closed->reason.find("vpn2.example.com") != std::string::npos);
    CHECK(d.session.closed());
    CHECK_FALSE(d.timer);  // nothing left to retransmit
}

TEST_CASE("a REDIRECT in IKE_SA_INIT without our nonce is ignored (RFC 5685 §4.1)") {
    test::ResponderOptions o;
    o.redirect_init = second_gw;
    o.redirect_wrong_nonce = true;
    test::ExchangeDriver d(make_config(), o);
    d.run(d.session.start(d.now));
    CHECK(d.find<core::Redirected>() == nullptr);
    CHECK(d.find<core::Closed>() == nullptr);
    CHECK_FALSE(d.session.closed());
    CHECK(d.timer);  // the IKE_SA_INIT is retransmitted as if nothing came
    const auto sent_before = d.responder.requests_seen;
    REQUIRE(d.fire_timer());
    CHECK(d.responder.requests_seen == sent_before + 1);
}

TEST_CASE("REDIRECT in the IKE_AUTH response: followed once the gateway is authenticated") {
    test::ResponderOptions o;
    o.redirect_auth = second_gw;
    test::ExchangeDriver d(make_config(), o);
    d.run(d.session.start(d.now));
    const auto* r = d.find<core::Redirected>();
    REQUIRE(r);
    CHECK(r->gateway.to_string() == "192.0.2.20");
    CHECK(r->during == "IKE_AUTH");
    REQUIRE(d.find<core::Closed>());
    CHECK(d.find<core::Closed>()->code == core::CloseCode::redirected);
    CHECK(d.find<core::InstallChildSa>() == nullptr);
    // Nothing deleted: the only request after IKE_AUTH would be a Delete.
    CHECK(d.responder.requests_seen == 2);
}

TEST_CASE("REDIRECT in IKE_AUTH from a gateway that fails authentication is not followed") {
    test::ResponderOptions o;
    o.redirect_auth = second_gw;
    o.corrupt_auth = true;
    test::ExchangeDriver d(make_config(), o);
    d.run(d.session.start(d.now));
    CHECK(d.find<core::Redirected>() == nullptr);
    REQUIRE(d.find<core::Closed>());
    CHECK(d.find<core::Closed>()->code == core::CloseCode::auth_failed);
}

TEST_CASE("REDIRECT in a gateway's INFORMATIONAL: answered, the IKE SA deleted, then redirected") {
    test::ExchangeDriver d(make_config(), {});
    d.run(d.session.start(d.now));
    REQUIRE(d.session.info().state == "connected");
    std::vector<Bytes> sent;
    d.on_send = [&](const core::SendDatagram& s) -> std::optional<Bytes> {
        sent.push_back(s.message);
        if (msg::decode_header(s.message).value().is_response()) return std::nullopt;
        return d.answer(s.message);
    };
    d.run(d.session.on_datagram(
        d.responder.make_request(msg::ExchangeType::informational, {core::make_redirect(second_gw)}), d.now));
    REQUIRE(sent.size() == 2);
    const auto ack = d.responder.open_response(sent[0]);
    REQUIRE(ack);
    CHECK(ack->empty());  // RFC 5685 §5: an empty INFORMATIONAL response
    const auto* del = msg::find<msg::DeletePayload>(d.responder.last_inner, msg::PayloadType::del);
    REQUIRE(del);
    CHECK(del->protocol == msg::ProtocolId::ike);
    const auto* r = d.find<core::Redirected>();
    REQUIRE(r);
    CHECK(r->during == "INFORMATIONAL");
    CHECK(r->gateway == second_gw);
    REQUIRE(d.find<core::Closed>());
    CHECK(d.find<core::Closed>()->code == core::CloseCode::redirected);
    CHECK(d.session.closed());
}

TEST_CASE("a malformed REDIRECT in an INFORMATIONAL is answered and ignored") {
    test::ExchangeDriver d(make_config(), {});
    d.run(d.session.start(d.now));
    Bytes ack;
    d.on_send = [&](const core::SendDatagram& s) -> std::optional<Bytes> {
        ack = s.message;
        return std::nullopt;
    };
    d.run(d.session.on_datagram(d.responder.make_request(msg::ExchangeType::informational,
                                                         {msg::make_notify(msg::NotifyType(core::notify_redirect), Bytes{9, 1, 0})}),
                                d.now));
    CHECK(d.responder.open_response(ack));
    CHECK(d.find<core::Redirected>() == nullptr);
    CHECK(d.find<core::Closed>() == nullptr);
    CHECK(d.session.info().state == "connected");
}
