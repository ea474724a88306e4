// When a liveness check is due (core/liveness_policy.hpp; RFC 7296 §2.4), with a fake clock.
#include "core/liveness_policy.hpp"

#include <doctest/doctest.h>

using ikevpn::core::LivenessPolicy;
using namespace std::chrono_literals;

namespace {
const LivenessPolicy::TimePoint t0{};
}

TEST_CASE("due once the gateway was silent for the interval, not before; never before it was heard") {
    LivenessPolicy p(30s);
    CHECK(p.enabled());
    CHECK_FALSE(p.due(t0 + 3600s));  // nothing heard yet: the tunnel's setup has its own timeout
    CHECK_FALSE(p.last_heard());
    p.heard(t0);
    CHECK(p.last_heard() == t0);
    CHECK_FALSE(p.due(t0 + 29s));
    CHECK_FALSE(p.due(t0 + 29999ms));
    CHECK(p.due(t0 + 30s));
    CHECK(p.due(t0 + 300s));
}

TEST_CASE("hearing from the gateway postpones the check; an older report changes nothing") {
    LivenessPolicy p(30s);
    p.heard(t0);
    p.heard(t0 + 20s);
    CHECK_FALSE(p.due(t0 + 49s));
    CHECK(p.due(t0 + 50s));
    p.heard(t0 + 10s);  // e.g. the IKE time sampled after a later ESP packet
    CHECK(p.last_heard() == t0 + 20s);
    CHECK(p.due(t0 + 50s));
}

TEST_CASE("after a check, the next one only an interval later, or an interval after the gateway was heard again") {
    LivenessPolicy p(10s);
    p.heard(t0);
    REQUIRE(p.due(t0 + 10s));
    p.checked(t0 + 10s);
    CHECK_FALSE(p.due(t0 + 11s));  // no check every second while one is under way
    CHECK_FALSE(p.due(t0 + 19s));
    CHECK(p.due(t0 + 20s));        // unanswered by then: asking again is harmless (the session ignores it)
    p.checked(t0 + 20s);
    p.heard(t0 + 21s);             // answered
    CHECK_FALSE(p.due(t0 + 30s));
    CHECK(p.due(t0 + 31s));
}

TEST_CASE("a zero interval turns the checks off") {
    LivenessPolicy p(0s);
    CHECK_FALSE(p.enabled());
    p.heard(t0);
    CHECK_FALSE(p.due(t0 + 86400s));
}
