// Extended sequence numbers (RFC 4303 §2.2.1, Appendix A), sequence number exhaustion and the rekey signal.
#include "dataplane/engine.hpp"
#include "dataplane/esp_format.hpp"
#include "dataplane/replay_window.hpp"

#include "dp_test_util.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace ikevpn::dataplane;

namespace {

constexpr std::uint64_t two32 = std::uint64_t{1} << 32;

// A window that has committed exactly `numbers`, in order.
ReplayWindow window_at(std::uint32_t size, std::initializer_list<std::uint64_t> numbers) {
    ReplayWindow w(size);
    for (std::uint64_t n : numbers) w.commit(n);
    return w;
}

const auto any4 = TrafficSelector::any_v4();
const auto any6 = TrafficSelector::any_v6();

struct Tunnel {
    Engine client;
    Engine gateway;
    EspSa* out = nullptr;
    EspSa* in = nullptr;
    std::vector<std::uint8_t> storage;

    test::Suite suite;
    bool esn;
    std::uint32_t spi;

    Tunnel(const test::Suite& suite_, bool esn_, std::uint32_t spi_ = 0xe5e5) : suite(suite_), esn(esn_), spi(spi_) {
        REQUIRE(client.sas().install(test::suite_params(suite, spi, Direction::outbound, 3, {any4, any6},
                                                        {any4, any6}, esn)) == InstallResult::ok);
        REQUIRE(gateway.sas().install(test::suite_params(suite, spi, Direction::inbound, 3, {any4, any6},
                                                         {any4, any6}, esn)) == InstallResult::ok);
        out = client.sas().find_outbound(spi);
        in = gateway.sas().find_inbound(spi);
    }
    // Encrypts one packet with sequence number `seq` (the counter is moved there first).
    std::vector<std::uint8_t> make(std::uint64_t seq) {
        REQUIRE(out->skip_sequence_to(seq));
        const auto inner = test::ipv4_packet({10, 0, 0, 1}, {10, 0, 0, 2}, 60);
        Packet p = test::load(storage, inner);
        client.encrypt_batch({&p, 1});
        REQUIRE(p.result == PacketResult::ok);
        // Only the low 32 bits are on the wire.
        REQUIRE(esp::read_be32(p.data() + 4) == static_cast<std::uint32_t>(seq));
        return test::bytes_of(p);
    }
    // The same, from a second sender with the same keys (so that numbers below the first sender's
    // counter can still be produced).
    std::vector<std::uint8_t> make_elsewhere(std::uint64_t seq) {
        Engine other;
        REQUIRE(other.sas().install(test::suite_params(suite, spi, Direction::outbound, 3, {any4, any6},
                                                       {any4, any6}, esn)) == InstallResult::ok);
        REQUIRE(other.sas().find_outbound(spi)->skip_sequence_to(seq));
        Packet p = test::load(storage, test::ipv4_packet({10, 0, 0, 1}, {10, 0, 0, 2}, 60));
        other.encrypt_batch({&p, 1});
        REQUIRE(p.result == PacketResult::ok);
        return test::bytes_of(p);
    }
    PacketResult receive(const std::vector<std::uint8_t>& bytes) {
        Packet p = test::load(storage, bytes);
        gateway.decrypt_batch({&p, 1});
        return p.result;
    }
};

}  // namespace

TEST_CASE("ESN inference, RFC 4303 A2.2 case A: the window lies within one subspace") {
    // W = 64, T = 2^32 + 1000: Tl = 1000 >= W - 1. Bottom low half Bl = 937.
    const ReplayWindow w = window_at(64, {two32 + 1000});
    CHECK(w.infer_esn(1000) == two32 + 1000);         // the top itself (then a duplicate)
    CHECK(w.infer_esn(937) == two32 + 937);           // exactly the bottom of the window
    CHECK(w.infer_esn(5000) == two32 + 5000);         // ahead, same subspace
    CHECK(w.infer_esn(0xffffffff) == two32 + 0xffffffff);
    CHECK(w.infer_esn(936) == 2 * two32 + 936);       // below the bottom: taken as the next subspace
    CHECK(w.infer_esn(0) == 2 * two32);
    CHECK(w.check(w.infer_esn(936)) == ReplayWindow::Verdict::ok);  // far-future jump, up to the ICV
}

TEST_CASE("ESN inference, RFC 4303 A2.2 case B: the window straddles a multiple of 2^32") {
    // W = 64, T = 2^32 + 5: Tl = 5 < W - 1, the window reaches back into subspace 0 (Bl = 2^32 - 58).
    const ReplayWindow w = window_at(64, {two32 - 3, two32 + 5});
    CHECK(w.infer_esn(5) == two32 + 5);
    CHECK(w.infer_esn(6) == two32 + 6);
    CHECK(w.infer_esn(0) == two32);
    // Late packets from the previous subspace.
    CHECK(w.infer_esn(0xfffffffd) == two32 - 3);
    CHECK(w.infer_esn(0xffffffc6) == two32 - 58);  // exactly the bottom: T - W + 1
    CHECK(w.check(two32 - 58) == ReplayWindow::Verdict::ok);
    CHECK(w.check(w.infer_esn(0xfffffffd)) == ReplayWindow::Verdict::duplicate);
    CHECK(w.check(w.infer_esn(0xfffffffc)) == ReplayWindow::Verdict::ok);
    // Just below the bottom's low half: the current subspace, i.e. ahead of T.
    CHECK(w.infer_esn(0xffffffc5) == two32 + 0xffffffc5);
}

TEST_CASE("ESN inference before the first wrap: nothing received yet, or only small numbers") {
    const ReplayWindow fresh(1024);
    CHECK(fresh.infer_esn(1) == 1);
    // Case B with Th = 0 has no previous subspace: a high low half is a jump ahead in subspace 0.
    CHECK(fresh.infer_esn(0xffffffff) == 0xffffffff);
    const ReplayWindow w = window_at(1024, {10});
    CHECK(w.infer_esn(3) == 3);
    CHECK(w.infer_esn(0xfffffff0) == 0xfffffff0);
}

TEST_CASE("ESN round trip across 2^32 for every transform; the low half alone never wraps the counter") {
    for (const test::Suite& suite : test::all_suites) {
        const std::string suite_name = suite.name;
        CAPTURE(suite_name);
        Tunnel t(suite, true);
        std::vector<std::vector<std::uint8_t>> sent;
        for (std::uint64_t seq : {two32 - 2, two32 - 1, two32, two32 + 1}) {
            CAPTURE(seq);
            sent.push_back(t.make(seq));
            CHECK(t.receive(sent.back()) == PacketResult::ok);
        }
        CHECK(t.in->replay_window()->highest() == two32 + 1);
        CHECK(t.in->counters().packets_in == 4);
        // Replays from both sides of the boundary are recognised (the low half 0xffffffff maps back).
        CHECK(t.receive(sent[1]) == PacketResult::replay);
        CHECK(t.receive(sent[2]) == PacketResult::replay);
        CHECK(t.in->counters().replay == 2);
    }
}

TEST_CASE("ESN: late packet from the previous subspace, duplicate across the boundary, far-future jump") {
    Tunnel t(test::all_suites[0], true);
    const auto late = t.make(two32 - 10);
    const auto before = t.make(two32 - 1);
    const auto after = t.make(two32 + 3);
    CHECK(t.receive(before) == PacketResult::ok);
    CHECK(t.receive(after) == PacketResult::ok);
    CHECK(t.receive(late) == PacketResult::ok);     // inferred as 2^32 - 10, inside the window
    CHECK(t.receive(before) == PacketResult::replay);
    CHECK(t.receive(after) == PacketResult::replay);
    // Far future: 2^33 + 7 is inferred as 2^32 + 7 (the current subspace) — the high half is wrong, so the
    // ICV fails and the window does not move.
    const auto far = t.make(2 * two32 + 7);
    CHECK(t.receive(far) == PacketResult::icv);
    CHECK(t.in->replay_window()->highest() == two32 + 3);
    CHECK(t.in->counters().icv == 1);
}

TEST_CASE("ESN: the high half is authenticated — a wrong inference fails the ICV for every transform") {
    for (const test::Suite& suite : test::all_suites) {
        const std::string suite_name = suite.name;
        CAPTURE(suite_name);
        Tunnel t(suite, true);
        // Fresh receiver (T = 0) infers high half 0; the sender used 2.
        CHECK(t.receive(t.make_elsewhere(2 * two32 + 7)) == PacketResult::icv);
        CHECK(t.in->replay_window()->highest() == 0);
        // Walk the receiver there in steps that Appendix A can follow (each less than 2^32 - W ahead); then
        // a packet in subspace 2 passes.
        for (std::uint64_t seq : {std::uint64_t{0xfffffff0}, two32 + 5, two32 + 0x80000000, 2 * two32 + 8}) {
            CAPTURE(seq);
            CHECK(t.receive(t.make(seq)) == PacketResult::ok);
        }
        CHECK(t.in->replay_window()->highest() == 2 * two32 + 8);
    }
}

TEST_CASE("ESN and non-ESN ends do not interoperate silently: the ICV fails") {
    Engine client;
    Engine gateway;
    const test::Suite& suite = test::all_suites[3];  // aes128-sha256: ESN high half appended to the HMAC input
    REQUIRE(client.sas().install(test::suite_params(suite, 9, Direction::outbound, 1, {any4}, {any4}, true)) ==
            InstallResult::ok);
    REQUIRE(gateway.sas().install(test::suite_params(suite, 9, Direction::inbound, 1, {any4}, {any4}, false)) ==
            InstallResult::ok);
    std::vector<std::uint8_t> storage;
    Packet p = test::load(storage, test::ipv4_packet({1, 1, 1, 1}, {2, 2, 2, 2}, 40));
    client.encrypt_batch({&p, 1});
    REQUIRE(p.result == PacketResult::ok);
    gateway.decrypt_batch({&p, 1});
    CHECK(p.result == PacketResult::icv);
}

TEST_CASE("non-ESN outbound SAs refuse to wrap 32 bits; ESN SAs continue, and stop only at 2^64 - 1") {
    for (bool esn : {false, true}) {
        CAPTURE(esn);
        Tunnel t(test::all_suites[2], esn);
        REQUIRE(t.out->skip_sequence_to(0xffffffffULL));
        t.make(0xffffffffULL);
        const auto inner = test::ipv4_packet({10, 0, 0, 1}, {10, 0, 0, 2}, 60);
        Packet p = test::load(t.storage, inner);
        t.client.encrypt_batch({&p, 1});
        CHECK(p.result == (esn ? PacketResult::ok : PacketResult::seq_exhausted));
        CHECK(t.out->counters().seq_exhausted == (esn ? 0U : 1U));
    }
    Tunnel t(test::all_suites[2], true);
    REQUIRE(t.out->skip_sequence_to(~std::uint64_t{0}));
    t.make(~std::uint64_t{0});
    CHECK(t.out->needs_rekey());
    const auto inner = test::ipv4_packet({10, 0, 0, 1}, {10, 0, 0, 2}, 60);
    for (int i = 0; i < 2; ++i) {
        Packet p = test::load(t.storage, inner);
        t.client.encrypt_batch({&p, 1});
        CHECK(p.result == PacketResult::seq_exhausted);
        CHECK(test::bytes_of(p) == inner);
    }
    // The wrapped counter cannot be moved anywhere (that would reuse sequence numbers, hence IVs).
    CHECK_FALSE(t.out->skip_sequence_to(5));
    CHECK_FALSE(t.out->skip_sequence_to(~std::uint64_t{0}));
    CHECK(t.out->counters().seq_exhausted == 2);
}

TEST_CASE("needs_rekey: once the counter passes 2^32 - 2^24 (non-ESN) or 2^64 - 2^32 (ESN)") {
    CHECK(EspSa::soft_limit_32 == 0xff000000ULL);
    CHECK(EspSa::soft_limit_64 == 0xffffffff00000000ULL);
    for (bool esn : {false, true}) {
        CAPTURE(esn);
        const std::uint64_t limit = esn ? EspSa::soft_limit_64 : EspSa::soft_limit_32;
        Tunnel t(test::all_suites[3], esn);
        CHECK_FALSE(t.out->needs_rekey());
        CHECK_FALSE(t.in->needs_rekey());
        const auto below = t.make(limit - 1);
        CHECK_FALSE(t.out->needs_rekey());
        const auto at = t.make(limit);
        CHECK(t.out->needs_rekey());
        if (!esn) {
            // The receiver signals too, once it has authenticated a number past the limit.
            CHECK(t.receive(below) == PacketResult::ok);
            CHECK_FALSE(t.in->needs_rekey());
            CHECK(t.receive(at) == PacketResult::ok);
            CHECK(t.in->needs_rekey());
        }
    }
}
