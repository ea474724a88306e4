// The session's gateway liveness watch (client/gateway_liveness.hpp): what counts as hearing from the
// gateway, when a check is asked for, and what status and the event show. Fake times only.
#include "client/gateway_liveness.hpp"

#include <doctest/doctest.h>

using ikevpn::client::GatewayLiveness;
using namespace std::chrono_literals;

namespace {
const GatewayLiveness::Clock::time_point t0 = GatewayLiveness::Clock::time_point{} + 1000s;
}

TEST_CASE("silent for dpd_seconds after the last IKE message: one check, then not every second") {
    GatewayLiveness w(3s);
    CHECK_FALSE(w.observe(0, std::nullopt, t0));  // nothing heard yet (connecting)
    CHECK_FALSE(w.observe(0, t0, t0 + 1s));       // IKE_AUTH's response at t0
    CHECK_FALSE(w.observe(0, t0, t0 + 2s));
    CHECK(w.observe(0, t0, t0 + 3s));
    CHECK(w.silent_seconds(t0 + 3s) == 3);
    CHECK_FALSE(w.observe(0, t0, t0 + 4s));
    CHECK_FALSE(w.observe(0, t0, t0 + 5s));
    CHECK(w.observe(0, t0, t0 + 6s));  // still nothing: asked again (the negotiator ignores a repeat)
    CHECK_FALSE(w.observe(0, t0 + 6s, t0 + 7s));  // answered
    CHECK(w.silent_seconds(t0 + 7s) == 1);
    CHECK(w.observe(0, t0 + 6s, t0 + 9s));
}

TEST_CASE("inbound ESP (a changed packet count) is a sign of life; outbound traffic is not") {
    GatewayLiveness w(3s);
    CHECK_FALSE(w.observe(100, t0, t0));  // the first count is a baseline
    for (int i = 1; i <= 10; ++i) CHECK_FALSE(w.observe(100 + std::uint64_t(i), t0, t0 + i * 1s));
    CHECK(w.silent_seconds(t0 + 10s) == 0);
    CHECK_FALSE(w.observe(110, t0, t0 + 12s));
    CHECK(w.observe(110, t0, t0 + 13s));
    // A pair removed after a rekey lowers the sum: also counted (that rekey was IKE traffic anyway).
    CHECK_FALSE(w.observe(5, t0, t0 + 14s));
}

TEST_CASE("dpd_seconds 0: never a check, the status still says when the gateway was last heard") {
    GatewayLiveness w(0s);
    for (int i = 0; i < 100; ++i) CHECK_FALSE(w.observe(0, t0, t0 + i * 1s));
    nlohmann::json ike;
    ikevpn::core::IkeSaInfo info;
    w.add_status(ike, info, t0 + 99s);
    CHECK(ike["dpd_seconds"] == 0);
    CHECK(ike["dpd_checks"] == 0);
    CHECK(ike["last_received_seconds_ago"] == 99);
}

TEST_CASE("status keys and the gateway_dead event") {
    GatewayLiveness w(3s);
    nlohmann::json ike;
    ikevpn::core::IkeSaInfo info;
    info.liveness_checks = 2;
    w.add_status(ike, info, t0);
    CHECK(ike["last_received_seconds_ago"].is_null());  // nothing heard yet
    info.last_received = t0 - 2s;  // IKE_AUTH's answer, before the first sample
    w.add_status(ike, info, t0);
    CHECK(ike["last_received_seconds_ago"] == 2);
    info.last_received.reset();
    w.observe(0, t0, t0);
    w.add_status(ike, info, t0 + 5s);
    CHECK(ike["dpd_seconds"] == 3);
    CHECK(ike["dpd_checks"] == 2);
    CHECK(ike["last_received_seconds_ago"] == 5);
    const auto event = w.dead_event("the gateway stopped answering", t0 + 34s);
    CHECK(event["event"] == "gateway_dead");
    CHECK(event["reason"] == "the gateway stopped answering");
    CHECK(event["dpd_seconds"] == 3);
    CHECK(event["silent_seconds"] == 34);
}
