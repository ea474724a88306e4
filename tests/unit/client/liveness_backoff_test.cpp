// client/liveness_backoff.hpp: the dead-data-path re-establishment backoff, alone and driving
// client/esp_liveness.hpp across re-established tunnels the way client/session.cpp does, with a fake clock.
#include "client/esp_liveness.hpp"
#include "client/liveness_backoff.hpp"

#include <doctest/doctest.h>

#include <vector>

using ikevpn::client::EspLiveness;
using ikevpn::client::LivenessBackoff;
using namespace std::chrono_literals;
using V = EspLiveness::Verdict;

TEST_CASE("each re-establishment doubles the wait after the rekey, up to 8 times the timeout") {
    LivenessBackoff b{3s};
    CHECK(b.level() == 0);
    CHECK(b.reestablish_after() == 3s);
    std::vector<long> waits;
    for (int i = 0; i < 6; ++i) {
        b.reestablishing();
        waits.push_back(long(b.reestablish_after().count()));
    }
    CHECK(waits == std::vector<long>{6, 12, 24, 24, 24, 24});
    CHECK(b.level() == 6);  // still counted, for the status
}

TEST_CASE("the wait never passes 10 minutes, nor falls below the timeout") {
    LivenessBackoff mid{120s};
    std::vector<long> waits;
    for (int i = 0; i < 5; ++i) {
        mid.reestablishing();
        waits.push_back(long(mid.reestablish_after().count()));
    }
    CHECK(waits == std::vector<long>{240, 480, 600, 600, 600});
    LivenessBackoff slow{3600s};  // the profile's largest timeout is already above the cap
    slow.reestablishing();
    CHECK(slow.reestablish_after() == 3600s);
}

TEST_CASE("inbound ESP resets the backoff, and says so only when there was one") {
    LivenessBackoff b{5s};
    CHECK_FALSE(b.heard());
    b.reestablishing();
    b.reestablishing();
    CHECK(b.status() == nlohmann::json{{"level", 2}, {"reestablish_after_seconds", 20}});
    CHECK(b.heard());
    CHECK(b.level() == 0);
    CHECK(b.reestablish_after() == 5s);
    CHECK_FALSE(b.heard());
    CHECK(b.status() == nlohmann::json{{"level", 0}, {"reestablish_after_seconds", 5}});
}

namespace {

// One tunnel after another, as run_connect() makes them, each with a fresh watch and the backoff carried
// over; one sample a second as run_rekey_monitor() takes them. A rekey verdict installs a new pair at the
// next sample; a re-establish verdict ends the tunnel and the next one is up one second later.
struct Tunnels {
    explicit Tunnels(std::chrono::seconds t) : timeout(t), backoff(t) {}
    std::chrono::seconds timeout;
    LivenessBackoff backoff;
    EspLiveness::Clock::time_point t{};
    std::vector<long> reestablished_at;  // seconds since the start

    // `seconds` of one-way traffic (or, with `answers`, traffic both ways), over as many tunnels as it takes.
    void run(int seconds, bool answers = false) {
        const auto end = t + std::chrono::seconds(seconds);
        while (t < end) {
            EspLiveness watch{timeout};
            std::uint32_t spi = 0x1000;
            std::uint64_t in = 0, out = 0;
            bool up = true;
            while (up && t < end) {
                t += 1s;
                out += 10;
                if (answers) in += 10;
                if (in > 0) backoff.heard();
                watch.set_reestablish_after(backoff.reestablish_after());
                switch (watch.observe({spi, in, out}, t)) {
                case V::fine: break;
                case V::rekey: ++spi, in = 0, out = 0; break;
                case V::reestablish:
                    backoff.reestablishing();
                    reestablished_at.push_back(long((t - EspLiveness::Clock::time_point{}) / 1s));
                    t += 1s;
                    up = false;
                    break;
                }
            }
        }
    }
};

}  // namespace

TEST_CASE("a one-way stream: re-establishments at growing intervals instead of a reconnect storm") {
    Tunnels tunnels(3s);
    tunnels.run(120);
    // Each tunnel: up after 1 s, silent from its first sample 1 s later, the rekey after 3 s of silence, then
    // 3, 6, 12, 24, 24 s more on the new pair before it is re-established.
    CHECK(tunnels.reestablished_at == std::vector<long>{7, 18, 35, 64, 93});
    CHECK(tunnels.backoff.level() == 5);
    CHECK(tunnels.backoff.reestablish_after() == 24s);
    // Without the backoff every tunnel would wait 3 s: every 8 s, 15 times in these 2 minutes (now 5), 3 times
    // in the first 30 s (now 2).
}

TEST_CASE("traffic both ways after re-establishments: back to the plain timeout") {
    Tunnels tunnels(3s);
    tunnels.run(30);
    const auto before = tunnels.reestablished_at.size();
    REQUIRE(before >= 2);
    tunnels.run(10, true);  // the path works again (or the stream got an answer)
    CHECK(tunnels.reestablished_at.size() == before);
    CHECK(tunnels.backoff.level() == 0);
    const auto from = long((tunnels.t - EspLiveness::Clock::time_point{}) / 1s);
    tunnels.run(10);  // silent again: rekey after 3 s, re-establish 3 s later, as the first time
    REQUIRE(tunnels.reestablished_at.size() == before + 1);
    CHECK(tunnels.reestablished_at.back() - from == 7);
}
