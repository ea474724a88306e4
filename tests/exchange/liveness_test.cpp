// In-memory tests of the liveness checks the client starts (RFC 7296 §2.4; core/session_liveness.cpp and
// core/liveness_policy.hpp): core::IkeSession against TestResponder with a fake clock. `Monitor` plays the
// client's once-a-second sampling (client/gateway_liveness.cpp): it tells the policy what was heard and
// asks the session for a check when one is due.
#include "exchange_driver.hpp"
#include "test_responder.hpp"

#include "core/liveness_policy.hpp"
#include "core/session.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

using namespace ikevpn;
using namespace std::chrono_literals;

namespace {

bool is_response(const Bytes& message) { return msg::decode_header(message).value().is_response(); }
msg::Header header_of(const Bytes& message) { return msg::decode_header(message).value(); }

// Our requests and our answers are kept apart; `drop` loses requests on the way to the gateway (a dead
// gateway), `hold` keeps them back until release().
struct Harness : test::ExchangeDriver {
    explicit Harness(core::SessionConfig config = test::psk_session_config(), test::ResponderOptions options = {})
        : ExchangeDriver(std::move(config), std::move(options)) {
        on_send = [this](const core::SendDatagram& send) -> std::optional<Bytes> {
            if (is_response(send.message)) {
                answers.push_back(send.message);
                return std::nullopt;
            }
            requests.push_back(send.message);
            if (drop(send.message)) return std::nullopt;
            if (hold(send.message)) {
                held.push_back(send.message);
                return std::nullopt;
            }
            return answer(send.message);
        };
    }
    std::vector<Bytes> requests, answers, held;
    std::function<bool(const Bytes&)> drop = [](const Bytes&) { return false; };
    std::function<bool(const Bytes&)> hold = [](const Bytes&) { return false; };

    void release() {
        auto pending = std::move(held);
        held.clear();
        for (const auto& request : pending) {
            Bytes reply = responder.handle(request);
            if (!reply.empty()) run(session.on_datagram(reply, now));
        }
    }
    void connect() {
        run(session.start(now));
        REQUIRE(session.info().state == "connected");
    }
    std::size_t informational_requests() const {
        std::size_t n = 0;
        for (const auto& r : requests)
            if (header_of(r).exchange == msg::ExchangeType::informational) ++n;
        return n;
    }
    const core::Closed* closed() const { return find<core::Closed>(); }
};

// The client's once-a-second monitor: what arrived (the session's last authenticated IKE message, ESP
// reported by the test) goes to the policy; a due check goes to the session.
struct Monitor {
    explicit Monitor(core::Duration interval) : policy(interval) {}
    core::LivenessPolicy policy;
    unsigned asked = 0;
    void tick(Harness& h, bool esp_arrived = false) {
        if (auto last = h.session.info().last_received) policy.heard(*last);
        if (esp_arrived) policy.heard(h.now);
        if (!policy.due(h.now)) return;
        policy.checked(h.now);
        ++asked;
        h.run(h.session.check_liveness(h.now));
    }
    // `seconds` ticks, one a second (no other timers are armed in these tests).
    void idle(Harness& h, int seconds, bool esp_arrives = false) {
        for (int i = 0; i < seconds; ++i) {
            h.now += 1s;
            tick(h, esp_arrives);
        }
    }
};

}  // namespace

TEST_CASE("idle for the interval: one empty INFORMATIONAL request; its empty answer completes it") {
    Harness h;
    h.connect();
    const auto ids_before = h.requests.size();
    CHECK(h.session.info().last_received == h.now);  // the IKE_AUTH response
    Monitor m(30s);
    m.idle(h, 29);
    CHECK(h.requests.size() == ids_before);  // not yet
    m.idle(h, 1);
    REQUIRE(h.requests.size() == ids_before + 1);
    const auto header = header_of(h.requests.back());
    CHECK(header.exchange == msg::ExchangeType::informational);
    CHECK(header.message_id == 2);  // after IKE_SA_INIT (0) and IKE_AUTH (1)
    CHECK(h.responder.last_inner.empty());  // no payloads in the SK payload
    CHECK(h.session.info().liveness_checks == 1);
    CHECK(h.session.info().last_received == h.now);
    CHECK(h.session.info().state == "connected");
    CHECK_FALSE(h.timer);  // answered: no retransmission armed
    CHECK_FALSE(h.closed());

    // No second check until the gateway has been silent for the interval again.
    m.idle(h, 29);
    CHECK(h.requests.size() == ids_before + 1);
    m.idle(h, 1);
    REQUIRE(h.requests.size() == ids_before + 2);
    CHECK(header_of(h.requests.back()).message_id == 3);
    CHECK(h.session.info().liveness_checks == 2);
    CHECK(m.asked == 2);
}

TEST_CASE("ESP or IKE from the gateway in between: no check") {
    Harness h;
    h.connect();
    const auto before = h.requests.size();
    Monitor m(30s);
    m.idle(h, 120, true);  // ESP keeps arriving
    CHECK(h.requests.size() == before);
    // The gateway's own liveness checks count as well (authenticated IKE messages).
    for (int i = 0; i < 4; ++i) {
        m.idle(h, 20);
        h.run(h.session.on_datagram(h.responder.make_request(msg::ExchangeType::informational, {}), h.now));
        m.tick(h);
    }
    CHECK(h.answers.size() == 4);
    CHECK(h.requests.size() == before);
    CHECK(m.asked == 0);
    // A forged message (wrong ICV) is not a sign of life.
    Bytes forged = h.responder.make_request(msg::ExchangeType::informational, {});
    forged.back() ^= 1;
    m.idle(h, 29);
    h.run(h.session.on_datagram(forged, h.now));
    CHECK(h.answers.size() == 4);
    m.idle(h, 1);
    CHECK(h.requests.size() == before + 1);
    CHECK(m.asked == 1);
}

TEST_CASE("unanswered: retransmissions, then Closed{timeout} with a one-line reason") {
    Harness h;
    h.connect();
    h.drop = [](const Bytes&) { return true; };  // the gateway is gone
    const auto before = h.requests.size();
    const auto started = h.now + 30s;
    Monitor m(30s);
    m.idle(h, 30);
    REQUIRE(h.requests.size() == before + 1);
    const Bytes first = h.requests.back();
    // More calls while it is under way change nothing (one check at a time).
    h.now += 500ms;
    h.run(h.session.check_liveness(h.now));
    CHECK(h.requests.size() == before + 1);
    while (h.fire_timer() && !h.closed()) {
    }
    // The default schedule: 1 + 4 retransmissions, 1 s doubling, 31 s in all; every copy the same bytes.
    CHECK(h.requests.size() == before + 5);
    for (std::size_t i = before; i < h.requests.size(); ++i) CHECK(h.requests[i] == first);
    const auto* closed = h.closed();
    REQUIRE(closed);
    CHECK(closed->code == core::CloseCode::timeout);
    CHECK(closed->reason == "the gateway 192.0.2.1 stopped answering liveness checks (no answer to 4 "
                            "retransmissions over 31 s)");
    CHECK(closed->reason.find('\n') == std::string::npos);
    CHECK(h.now - started == 31s);
    CHECK(h.session.info().liveness_failed);
    CHECK(h.session.closed());
    CHECK_FALSE(h.timer);
}

TEST_CASE("a shorter retransmission schedule shortens the time to notice") {
    core::SessionConfig c = test::psk_session_config();
    c.retransmit = {500ms, 2, 2};
    Harness h(c);
    h.connect();
    h.drop = [](const Bytes&) { return true; };
    const auto asked = h.now;
    h.run(h.session.check_liveness(h.now));
    while (h.fire_timer() && !h.closed()) {
    }
    REQUIRE(h.closed());
    CHECK(h.now - asked == 3500ms);
    CHECK(h.closed()->reason.find("no answer to 2 retransmissions over 3 s") != std::string::npos);
}

TEST_CASE("an unprotected INVALID_IKE_SPI answer is no proof: the check still runs out") {
    Harness h;
    h.connect();
    h.drop = [](const Bytes&) { return true; };
    h.run(h.session.check_liveness(h.now));
    // What a rebooted gateway (or anyone on the path) sends back: no SK payload (RFC 7296 §2.21.4).
    msg::Message reply;
    reply.header = header_of(h.requests.back());
    reply.header.flags = msg::flag_response;
    reply.payloads.push_back(msg::make_notify(msg::NotifyType::invalid_ike_spi));
    h.run(h.session.on_datagram(msg::encode(reply), h.now));
    CHECK_FALSE(h.closed());
    REQUIRE(h.timer);  // still retransmitting
    while (h.fire_timer() && !h.closed()) {
    }
    REQUIRE(h.closed());
    CHECK(h.closed()->code == core::CloseCode::timeout);
    CHECK(h.session.info().liveness_failed);
}

TEST_CASE("queued behind an outstanding IKE SA rekey; dropped once the rekey's answer proved the gateway alive") {
    Harness h;
    h.connect();
    h.hold = [](const Bytes& m) { return header_of(m).exchange == msg::ExchangeType::create_child_sa; };
    h.run(h.session.rekey_ike(h.now));
    REQUIRE(h.held.size() == 1);
    const auto before = h.requests.size();
    h.now += 1s;
    h.run(h.session.check_liveness(h.now));
    CHECK(h.requests.size() == before);  // the window is busy: queued
    CHECK(h.session.info().liveness_checks == 0);
    h.now += 1s;
    h.hold = [](const Bytes&) { return false; };
    h.release();
    CHECK(h.responder.ike_rekeys == 1);
    CHECK(h.responder.old_ike_sa_deleted);
    // After the rekey and the Delete of the old IKE SA nothing else went out: the check was not needed.
    CHECK(h.session.info().liveness_checks == 0);
    CHECK(h.requests.size() == before + 1);  // the Delete
    CHECK(h.session.info().state == "connected");
    // On the new IKE SA a later check works as before (message ID 0 there: we initiated it).
    h.now += 30s;
    h.run(h.session.check_liveness(h.now));
    REQUIRE(h.requests.size() == before + 2);
    CHECK(header_of(h.requests.back()).message_id == 0);
    CHECK(header_of(h.requests.back()).exchange == msg::ExchangeType::informational);
    CHECK(h.session.info().liveness_checks == 1);
    CHECK_FALSE(h.timer);
}

TEST_CASE("queued behind a rekey that goes unanswered: the rekey's own timeout ends the session") {
    Harness h;
    h.connect();
    h.drop = [](const Bytes&) { return true; };
    h.run(h.session.rekey_ike(h.now));
    h.run(h.session.check_liveness(h.now));
    while (h.fire_timer() && !h.closed()) {
    }
    REQUIRE(h.closed());
    CHECK(h.closed()->code == core::CloseCode::timeout);
    CHECK(h.session.info().liveness_checks == 0);
    CHECK_FALSE(h.session.info().liveness_failed);
}

TEST_CASE("the gateway's requests while our check is outstanding are answered; its IKE SA rekey replaces the check") {
    Harness h;
    h.connect();
    h.hold = [](const Bytes& m) { return header_of(m).exchange == msg::ExchangeType::informational; };
    h.run(h.session.check_liveness(h.now));
    REQUIRE(h.held.size() == 1);
    // The gateway's own liveness check crosses ours: answered at once, ours stays outstanding.
    h.run(h.session.on_datagram(h.responder.make_request(msg::ExchangeType::informational, {}), h.now));
    REQUIRE(h.answers.size() == 1);
    CHECK(h.responder.open_response(h.answers.back()));
    REQUIRE(h.timer);
    h.hold = [](const Bytes&) { return false; };
    h.release();
    CHECK_FALSE(h.timer);
    CHECK(h.session.info().state == "connected");

    // An IKE SA rekey by the gateway while a check is outstanding is accepted, not refused with
    // TEMPORARY_FAILURE (as it is behind a rekey of ours): the request proves the gateway alive.
    h.hold = [](const Bytes& m) { return header_of(m).exchange == msg::ExchangeType::informational; };
    h.run(h.session.check_liveness(h.now));
    REQUIRE(h.held.size() == 1);
    h.run(h.session.on_datagram(h.responder.make_ike_rekey_request(31), h.now));
    REQUIRE(h.answers.size() == 2);
    REQUIRE(h.responder.finish_ike_rekey(h.answers.back()));
    const auto rekeyed = h.all<core::IkeRekeyed>();
    REQUIRE(rekeyed.size() == 1);
    CHECK_FALSE(rekeyed[0].by_us);
    CHECK_FALSE(h.timer);  // the check went with the old IKE SA: nothing to retransmit, no timeout
    h.held.clear();
    h.now += 60s;
    CHECK_FALSE(h.fire_timer());
    CHECK_FALSE(h.closed());
    CHECK(h.session.info().state == "connected");
}

TEST_CASE("no check during a wait for a path (MOBIKE) or before the tunnel is up") {
    Harness h;
    h.drop = [](const Bytes&) { return true; };
    h.run(h.session.check_liveness(h.now));  // not started
    h.run(h.session.start(h.now));
    const auto before = h.requests.size();
    h.run(h.session.check_liveness(h.now));  // IKE_SA_INIT in flight
    CHECK(h.requests.size() == before);

    Harness r;
    r.connect();
    r.run(r.session.on_path(std::nullopt, r.now));  // no route to the gateway: wait quietly
    REQUIRE(r.session.info().state == "roaming");
    const auto sent = r.requests.size();
    r.now += 30s;
    r.run(r.session.check_liveness(r.now));
    CHECK(r.requests.size() == sent);
    CHECK(r.session.info().liveness_checks == 0);
}

TEST_CASE("MOBIKE: a path change while a check is in flight resends it from the new path, then moves the SAs") {
    core::SessionConfig c = test::psk_session_config();
    c.mobike = true;
    test::ResponderOptions o;
    o.mobike = true;
    Harness h(c, o);
    const core::Path wifi{{*IpAddress::parse("192.0.2.10"), 40001}, {*IpAddress::parse("192.0.2.1"), 4500}};
    const core::Path cellular{{*IpAddress::parse("192.0.2.20"), 40002}, wifi.remote};
    h.run(h.session.on_path(wifi, h.now));
    h.connect();
    REQUIRE(h.session.info().mobike);
    h.hold = [](const Bytes& m) { return header_of(m).exchange == msg::ExchangeType::informational; };
    h.now += 30s;
    h.run(h.session.check_liveness(h.now));
    REQUIRE(h.held.size() == 1);
    h.now += 1s;
    h.run(h.session.on_path(cellular, h.now));  // the check goes out again at once, from the new path
    REQUIRE(h.held.size() == 2);
    CHECK(h.held[1] == h.held[0]);
    CHECK(h.responder.updates_seen == 0);
    h.hold = [](const Bytes&) { return false; };
    h.release();  // the answer to the check, then UPDATE_SA_ADDRESSES for the new path
    CHECK(h.responder.updates_seen == 1);
    const auto moved = h.all<core::PathChanged>();
    REQUIRE(moved.size() == 1);
    CHECK(moved[0].new_path == cellular);
    REQUIRE(h.session.info().path);
    CHECK(*h.session.info().path == cellular);
    CHECK(h.session.info().state == "connected");
    CHECK(h.session.info().liveness_checks == 1);
}

TEST_CASE("no check while a reauthentication builds the new IKE SA: its own retransmissions notice a dead gateway") {
    core::SessionConfig c = test::psk_session_config();
    c.rekey.reauth_lifetime = 600s;
    Harness h(c);
    h.connect();
    h.drop = [](const Bytes& m) { return header_of(m).exchange == msg::ExchangeType::ike_sa_init; };
    REQUIRE(h.fire_timer());  // the reauthentication starts; its IKE_SA_INIT goes unanswered
    REQUIRE(h.session.info().reauthenticating);
    const auto informational = h.informational_requests();
    h.now += 500ms;
    h.run(h.session.check_liveness(h.now));
    CHECK(h.informational_requests() == informational);
    CHECK(h.session.info().liveness_checks == 0);
}
