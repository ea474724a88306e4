#include "dataplane/replay_window.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <set>

using ikevpn::dataplane::ReplayWindow;
using V = ReplayWindow::Verdict;

TEST_CASE("replay window: size is at least 64 and a multiple of 64") {
    CHECK(ReplayWindow(0).size() == 64);
    CHECK(ReplayWindow(10).size() == 64);
    CHECK(ReplayWindow(64).size() == 64);
    CHECK(ReplayWindow(100).size() == 128);
    CHECK(ReplayWindow().size() == 1024);
}

TEST_CASE("replay window: first packet, sequence number 0, check without commit") {
    ReplayWindow w(64);
    CHECK(w.check(0) == V::zero);
    CHECK(w.check(1) == V::ok);
    CHECK(w.check(1) == V::ok);  // checking alone marks nothing
    CHECK(w.highest() == 0);
    w.commit(1);
    CHECK(w.highest() == 1);
    CHECK(w.check(1) == V::duplicate);
    CHECK(w.check(2) == V::ok);
    w.commit(0);  // a rejected number changes nothing
    CHECK(w.check(0) == V::zero);
    CHECK(w.highest() == 1);
}

TEST_CASE("replay window: first packet far above 1 leaves the numbers below it in the window") {
    ReplayWindow w(64);
    w.commit(100);
    CHECK(w.check(100) == V::duplicate);
    CHECK(w.check(37) == V::ok);       // 100 - 37 = 63 < 64
    CHECK(w.check(36) == V::too_old);  // exactly 64 behind
    CHECK(w.check(101) == V::ok);
}

TEST_CASE("replay window: the window edge, exactly window-size behind") {
    for (std::uint32_t size : {64U, 128U, 1024U}) {
        ReplayWindow w(size);
        const std::uint64_t top = 5000;
        w.commit(top);
        CHECK(w.check(top - (size - 1)) == V::ok);
        CHECK(w.check(top - size) == V::too_old);
        CHECK(w.check(top - size - 1) == V::too_old);
        w.commit(top - (size - 1));
        CHECK(w.check(top - (size - 1)) == V::duplicate);
        // Advancing by one pushes the oldest number out.
        w.commit(top + 1);
        CHECK(w.check(top - (size - 1)) == V::too_old);
        CHECK(w.check(top - (size - 2)) == V::ok);
    }
}

TEST_CASE("replay window: duplicates and out-of-order arrivals inside the window") {
    ReplayWindow w(128);
    for (std::uint64_t s : {10, 5, 7, 3, 64, 65, 63, 128, 127}) {
        REQUIRE(w.check(s) == V::ok);
        w.commit(s);
    }
    for (std::uint64_t s : {10, 5, 7, 3, 64, 65, 63, 128, 127}) CHECK(w.check(s) == V::duplicate);
    for (std::uint64_t s : {4, 6, 8, 9, 62, 66, 126}) CHECK(w.check(s) == V::ok);
    CHECK(w.check(1) == V::ok);  // 128 - 1 = 127 < 128: still inside
    CHECK(w.highest() == 128);
}

TEST_CASE("replay window: a far jump clears stale bits of the reused ring blocks") {
    // 64-bit window → ring of 2 blocks (128 bits): seq 5 and seq 133 share a bit position.
    ReplayWindow w(64);
    w.commit(5);
    w.commit(130);
    CHECK(w.check(133) == V::ok);
    CHECK(w.check(5) == V::too_old);
    // A jump of many rings at once.
    w.commit(1'000'000);
    CHECK(w.check(130) == V::too_old);
    for (std::uint64_t s = 1'000'000 - 63; s < 1'000'000; ++s) REQUIRE(w.check(s) == V::ok);
    CHECK(w.check(1'000'000) == V::duplicate);
    CHECK(w.check(1'000'000 - 64) == V::too_old);
}

TEST_CASE("replay window: the top of the 32-bit space") {
    ReplayWindow w(1024);
    w.commit(0xfffffff0ULL);
    w.commit(0xffffffffULL);
    CHECK(w.highest() == 0xffffffffULL);
    CHECK(w.check(0xffffffffULL) == V::duplicate);
    CHECK(w.check(0xfffffff0ULL) == V::duplicate);
    CHECK(w.check(0xfffffffeULL) == V::ok);
    CHECK(w.check(0xffffffffULL - 1024) == V::too_old);
}

TEST_CASE("replay window: agrees with a simple reference model on a random stream") {
    for (std::uint32_t size : {64U, 192U, 1024U}) {
        ReplayWindow w(size);
        std::set<std::uint64_t> seen;
        std::uint64_t highest = 0;
        std::mt19937_64 rng(size);
        std::uint64_t base = 1;
        for (int i = 0; i < 20000; ++i) {
            // Mostly reordering around a moving base, sometimes a jump ahead.
            base += rng() % 3;
            if (rng() % 500 == 0) base += rng() % 5000;
            const std::uint64_t jitter = rng() % (2 * size + 10);
            const std::uint64_t s = base > jitter ? base - jitter + 5 : 1;
            const bool expected = s != 0 && (s > highest || (highest - s < size && seen.count(s) == 0));
            const bool got = w.check(s) == V::ok;
            REQUIRE(got == expected);
            if (got && rng() % 4 != 0) {  // leave some unauthenticated (uncommitted) packets
                w.commit(s);
                seen.insert(s);
                if (s > highest) highest = s;
            }
        }
    }
}
