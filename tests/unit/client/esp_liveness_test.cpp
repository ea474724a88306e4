// client/esp_liveness.hpp: the dead-data-path watch, with a fake clock.
#include "client/esp_liveness.hpp"

#include <doctest/doctest.h>

using ikevpn::client::EspLiveness;
using namespace std::chrono_literals;
using V = EspLiveness::Verdict;

namespace {

struct Watch {
    EspLiveness live{10s};
    EspLiveness::Clock::time_point t{};
    std::uint32_t spi = 0x1111;
    std::uint64_t in = 0, out = 0;
    // One second passes; `sent` packets go out and `got` come in on the current pair.
    V tick(std::uint64_t sent, std::uint64_t got) {
        t += 1s;
        out += sent;
        in += got;
        return live.observe({spi, in, out}, t);
    }
    void new_pair(std::uint32_t s) { spi = s, in = 0, out = 0; }
};

}  // namespace

TEST_CASE("traffic both ways, or none at all, never raises an alarm") {
    Watch w;
    for (int i = 0; i < 60; ++i) CHECK(w.tick(100, 100) == V::fine);
    for (int i = 0; i < 60; ++i) CHECK(w.tick(0, 0) == V::fine);  // idle tunnel
}

TEST_CASE("sending without an answer for the timeout: rekey once, then re-establish after the new pair is silent too") {
    Watch w;
    CHECK(w.tick(10, 10) == V::fine);
    for (int i = 0; i < 9; ++i) CHECK(w.tick(10, 0) == V::fine);  // silent since the first of these
    CHECK(w.tick(10, 0) == V::rekey);
    CHECK(w.live.why().find("no ESP from the gateway for 10 s while 100 packets went out") != std::string::npos);
    CHECK(w.tick(10, 0) == V::fine);  // a verdict is given once
    w.new_pair(0x2222);               // the rekey installed new SPIs, still nothing comes back
    for (int i = 0; i < 9; ++i) CHECK(w.tick(10, 0) == V::fine);
    CHECK(w.tick(10, 0) == V::reestablish);
    CHECK(w.live.why().find("re-establishing") != std::string::npos);
}

TEST_CASE("the rekey helps: inbound ESP on the new pair clears the escalation") {
    Watch w;
    CHECK(w.tick(5, 5) == V::fine);
    for (int i = 0; i < 9; ++i) CHECK(w.tick(5, 0) == V::fine);
    CHECK(w.tick(5, 0) == V::rekey);
    w.new_pair(0x3333);
    CHECK(w.tick(5, 5) == V::fine);
    // A later silence starts over with a rekey, not a re-establishment.
    V last = V::fine;
    for (int i = 0; i < 10 && last == V::fine; ++i) last = w.tick(5, 0);
    CHECK(last == V::rekey);
}

TEST_CASE("a single answer within the timeout resets the clock") {
    Watch w;
    for (int i = 0; i < 9; ++i) CHECK(w.tick(10, 0) == V::fine);
    CHECK(w.tick(10, 1) == V::fine);
    for (int i = 0; i < 9; ++i) CHECK(w.tick(10, 0) == V::fine);
    CHECK(w.tick(10, 0) == V::rekey);
}

TEST_CASE("disabled (timeout 0) or no pair installed: always fine") {
    EspLiveness off{0s};
    EspLiveness::Clock::time_point t{};
    for (std::uint64_t i = 1; i < 100; ++i) CHECK(off.observe({0x1, 0, i * 10}, t += 1s) == V::fine);
    EspLiveness none{5s};
    for (std::uint64_t i = 1; i < 100; ++i) CHECK(none.observe({0, 0, i * 10}, t += 1s) == V::fine);
}

TEST_CASE("set_reestablish_after: the rekey still comes after the timeout, the re-establishment after the longer wait") {
    Watch w;
    w.live.set_reestablish_after(25s);
    CHECK(w.tick(10, 10) == V::fine);
    for (int i = 0; i < 9; ++i) CHECK(w.tick(10, 0) == V::fine);
    CHECK(w.tick(10, 0) == V::rekey);
    w.new_pair(0x2222);
    for (int i = 0; i < 24; ++i) CHECK(w.tick(10, 0) == V::fine);
    CHECK(w.tick(10, 0) == V::reestablish);
    CHECK(w.live.why().find("no ESP from the gateway for 25 s") != std::string::npos);
}
