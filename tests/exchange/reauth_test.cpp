// In-memory tests of reauthentication, make-before-break (RFC 7296 §2.8.3; RFC 4478 AUTH_LIFETIME):
// core::IkeSession against scripted gateways with a fake clock. Every new IKE SA (a fresh IKE_SA_INIT) is
// answered by a fresh TestResponder, as if the gateway ran a second IKE SA beside the first; requests on an
// existing IKE SA go to the responder that created it.
#include "exchange_driver.hpp"
#include "test_responder.hpp"

#include "core/proposal.hpp"
#include "core/reauth.hpp"
#include "core/session.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>

using namespace ikevpn;
using namespace std::chrono_literals;

namespace {

core::SessionConfig make_config() { return test::psk_session_config(); }

struct Harness : test::ExchangeDriver {
    explicit Harness(core::SessionConfig config, test::ResponderOptions first = {})
        : ExchangeDriver(std::move(config), first) {
        on_send = [this](const core::SendDatagram& send) -> std::optional<Bytes> {
            const auto h = msg::decode_header(send.message).value();
            if (h.is_response()) return std::nullopt;
            if (drop && drop(send.message)) return std::nullopt;
            test::TestResponder* gw = nullptr;
            if (auto it = by_spi.find(h.spi_i); it != by_spi.end()) gw = it->second;
            else if (by_spi.empty()) gw = &responder;
            else {
                extra.push_back(std::make_unique<test::TestResponder>(next_options(extra.size())));
                extra.back()->esp_spi = 0xc0ffee01 + 0x100 * std::uint32_t(extra.size());
                gw = extra.back().get();
            }
            by_spi[h.spi_i] = gw;
            Bytes reply = gw->handle(send.message);
            if (reply.empty()) return std::nullopt;
            return reply;
        };
    }
    // Options of the responder of the n-th new IKE SA after the first (n from 0).
    std::function<test::ResponderOptions(std::size_t)> next_options = [](std::size_t) { return test::ResponderOptions{}; };
    std::function<bool(const Bytes&)> drop;
    std::map<msg::Spi8, test::TestResponder*> by_spi;
    std::vector<std::unique_ptr<test::TestResponder>> extra;

    std::size_t index_of(const std::function<bool(const core::Action&)>& pred) const {
        for (std::size_t i = 0; i < log.size(); ++i)
            if (pred(log[i])) return i;
        return log.size();
    }
    bool progress_contains(const std::string& text) const {
        for (const auto& p : all<core::Progress>())
            if (p.line.find(text) != std::string::npos) return true;
        return false;
    }
};

test::ResponderOptions with_lifetime(std::uint32_t seconds) {
    test::ResponderOptions o;
    o.auth_lifetime = seconds;
    return o;
}

bool deletes_ike_sa(const std::vector<msg::Payload>& inner) {
    const auto* del = msg::find<msg::DeletePayload>(inner, msg::PayloadType::del);
    return del && del->protocol == msg::ProtocolId::ike;
}

}  // namespace

TEST_CASE("AUTH_LIFETIME in IKE_AUTH: a new IKE SA before it ends, its CHILD SA installed before the old goes") {
    Harness h(make_config(), with_lifetime(100));
    h.next_options = [](std::size_t) { return with_lifetime(100); };
    h.run(h.session.start(h.now));
    REQUIRE(h.session.info().state == "connected");
    const auto first = h.all<core::InstallChildSa>().front().child;
    const std::string old_spi_i = h.session.info().spi_i;
    const auto info = h.session.info();
    REQUIRE(info.reauth_at);
    REQUIRE(info.auth_expires_at);
    CHECK(*info.auth_expires_at == h.now + 100s);
    CHECK(*info.reauth_at >= h.now + 80s);  // margin 10 s, jitter up to 10 s more
    CHECK(*info.reauth_at <= h.now + 90s);
    CHECK(h.progress_contains("AUTH_LIFETIME"));

    REQUIRE(h.fire_timer());
    CHECK(h.now == *info.reauth_at);
    REQUIRE(h.extra.size() == 1);
    auto& second = *h.extra[0];
    CHECK(second.auth_seen_ok);
    // No INITIAL_CONTACT (it would make the gateway drop the old SA first); the CP asks for our address.
    CHECK_FALSE(msg::find_notify(second.last_inner, msg::NotifyType::initial_contact));
    const auto* cp = msg::find<msg::CpPayload>(second.last_inner, msg::PayloadType::cp);
    REQUIRE(cp);
    bool asked_same = false;
    for (const auto& a : cp->attributes)
        asked_same |= a.type == std::uint16_t(msg::CfgAttr::internal_ip4_address) && a.value == Bytes{203, 0, 113, 7};
    CHECK(asked_same);

    const auto* reauth = h.find<core::Reauthenticated>();
    REQUIRE(reauth);
    CHECK(reauth->gateway_asked);
    CHECK_FALSE(reauth->virtual_ip_changed);
    CHECK(reauth->spi_i != old_spi_i);
    CHECK(h.session.info().spi_i == reauth->spi_i);
    CHECK(h.session.info().state == "connected");
    // Make before break: the new pair is installed before the old one is removed, and the old one is
    // removed only after the gateway confirmed the Delete of the old IKE SA.
    const auto installs = h.all<core::InstallChildSa>();
    REQUIRE(installs.size() == 2);
    CHECK(installs[1].child.spi_out == second.esp_spi);
    const auto installed_at = h.index_of([&](const core::Action& a) {
        auto* i = std::get_if<core::InstallChildSa>(&a);
        return i && i->child.spi_in == installs[1].child.spi_in;
    });
    const auto removed_at = h.index_of([&](const core::Action& a) {
        auto* r = std::get_if<core::RemoveChildSa>(&a);
        return r && r->spi_in == first.spi_in;
    });
    CHECK(installed_at < removed_at);
    CHECK(removed_at < h.log.size());
    CHECK(deletes_ike_sa(h.responder.last_inner));
    CHECK(h.all<core::RemoveChildSa>().size() == 1);
    CHECK(h.find<core::Closed>() == nullptr);
    // The new IKE SA's own AUTH_LIFETIME schedules the next one.
    REQUIRE(h.session.info().reauth_at);
    CHECK(*h.session.info().reauth_at > h.now + 79s);
}

TEST_CASE("reauthentication happens again and again, each time on the newest IKE SA") {
    Harness h(make_config(), with_lifetime(30));
    h.next_options = [](std::size_t) { return with_lifetime(30); };
    h.run(h.session.start(h.now));
    for (int round = 1; round <= 3; ++round) {
        // Fire timers until the next reauthentication is complete.
        while (h.all<core::Reauthenticated>().size() < std::size_t(round)) REQUIRE(h.fire_timer());
        CHECK(h.extra.size() == std::size_t(round));
    }
    CHECK(h.session.info().state == "connected");
    CHECK(h.find<core::Closed>() == nullptr);
    // Every old pair went, the newest stays: 4 installed, 3 removed.
    CHECK(h.all<core::InstallChildSa>().size() == 4);
    CHECK(h.all<core::RemoveChildSa>().size() == 3);
    CHECK(h.now < core::TimePoint{} + 90s);
}

TEST_CASE("rekey.reauth_seconds: reauthentication without the gateway asking") {
    auto config = make_config();
    config.rekey.reauth_lifetime = 600s;
    Harness h(config);
    h.run(h.session.start(h.now));
    REQUIRE(h.session.info().reauth_at);
    CHECK(*h.session.info().reauth_at >= h.now + 540s);
    CHECK_FALSE(h.session.info().auth_expires_at);
    REQUIRE(h.fire_timer());
    const auto* reauth = h.find<core::Reauthenticated>();
    REQUIRE(reauth);
    CHECK_FALSE(reauth->gateway_asked);
    REQUIRE(h.session.info().reauth_at);  // the next one, from the new IKE SA's start
    CHECK(*h.session.info().reauth_at >= h.now + 540s);
}

TEST_CASE("AUTH_LIFETIME in a gateway's INFORMATIONAL is answered and schedules a reauthentication") {
    Harness h(make_config());
    h.run(h.session.start(h.now));
    CHECK_FALSE(h.session.info().reauth_at);
    Bytes answer;
    h.on_send = [&](const core::SendDatagram& s) -> std::optional<Bytes> {
        answer = s.message;
        return std::nullopt;
    };
    h.run(h.session.on_datagram(h.responder.make_request(msg::ExchangeType::informational, {core::make_auth_lifetime(50)}), h.now));
    CHECK_FALSE(answer.empty());
    CHECK(h.responder.open_response(answer));
    REQUIRE(h.session.info().reauth_at);
    CHECK(*h.session.info().auth_expires_at == h.now + 50s);
    CHECK(*h.session.info().reauth_at <= h.now + 45s);
}

TEST_CASE("a lost message of the new IKE SA is retransmitted on the session's one timer") {
    Harness h(make_config(), with_lifetime(100));
    h.run(h.session.start(h.now));
    int dropped = 0;
    h.drop = [&](const Bytes& m) {
        const auto hdr = msg::decode_header(m).value();
        return hdr.exchange == msg::ExchangeType::ike_sa_init && dropped++ == 0;
    };
    REQUIRE(h.fire_timer());  // starts the reauthentication; its IKE_SA_INIT is lost
    CHECK(h.session.info().reauthenticating);
    CHECK(h.find<core::Reauthenticated>() == nullptr);
    REQUIRE(h.fire_timer());  // its retransmission
    CHECK(h.find<core::Reauthenticated>() != nullptr);
    CHECK_FALSE(h.session.info().reauthenticating);
}

TEST_CASE("a failed reauthentication keeps the old IKE SA, retries, and ends with REAUTH_FAILED at the lifetime") {
    Harness h(make_config(), with_lifetime(40));
    h.next_options = [](std::size_t) {
        test::ResponderOptions o;
        o.psk = "another secret";  // the gateway rejects us now (AUTHENTICATION_FAILED)
        return o;
    };
    h.run(h.session.start(h.now));
    const auto start = h.now;
    REQUIRE(h.fire_timer());
    CHECK(h.progress_contains("reauthentication failed"));
    CHECK(h.session.info().state == "connected");
    CHECK(h.find<core::Closed>() == nullptr);
    while (!h.find<core::Closed>()) REQUIRE(h.fire_timer());
    CHECK(h.extra.size() >= 2);  // it tried more than once
    const auto* closed = h.find<core::Closed>();
    CHECK(closed->code == core::CloseCode::reauth_failed);
    CHECK(closed->reason.find("AUTH_LIFETIME") != std::string::npos);
    CHECK(std::string(core::error_code_name(closed->code)) == "REAUTH_FAILED");
    CHECK(h.now >= start + 40s);
    CHECK(deletes_ike_sa(h.responder.last_inner));  // the old IKE SA deleted at the gateway on the way out
    CHECK(h.find<core::Reauthenticated>() == nullptr);
}

TEST_CASE("a different virtual IP after reauthentication is reported") {
    Harness h(make_config(), with_lifetime(100));
    h.next_options = [](std::size_t) {
        test::ResponderOptions o;
        o.virtual_ip = {203, 0, 113, 99};
        return o;
    };
    h.run(h.session.start(h.now));
    REQUIRE(h.fire_timer());
    const auto* reauth = h.find<core::Reauthenticated>();
    REQUIRE(reauth);
    CHECK(reauth->virtual_ip_changed);
    REQUIRE(reauth->network.virtual_ip);
    CHECK(reauth->network.virtual_ip->to_string() == "203.0.113.99");
}

TEST_CASE("a disconnect during a reauthentication deletes the current IKE SA and closes") {
    Harness h(make_config(), with_lifetime(100));
    h.run(h.session.start(h.now));
    h.drop = [](const Bytes& m) { return msg::decode_header(m).value().exchange == msg::ExchangeType::ike_sa_init; };
    REQUIRE(h.fire_timer());
    CHECK(h.session.info().reauthenticating);
    h.drop = nullptr;
    h.run(h.session.close(h.now));
    REQUIRE(h.find<core::Closed>());
    CHECK(h.find<core::Closed>()->code == core::CloseCode::requested);
    CHECK(h.session.closed());
    CHECK_FALSE(h.session.info().reauthenticating);
}
