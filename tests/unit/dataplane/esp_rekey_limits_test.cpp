// pair_needs_rekey() (dataplane/esp_sa.hpp): what the control plane polls to rekey a CHILD SA pair before
// its sequence numbers run out or after its byte lifetime — and the hard limit behind it, where the
// outbound SA refuses to send rather than reuse a sequence number (and so a nonce) under the same key.
#include "dataplane/engine.hpp"

#include "dp_test_util.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace ikevpn::dataplane;

namespace {

const auto any4 = TrafficSelector::any_v4();

// Our pair (client: outbound 0x1001, inbound 0x2002) against the gateway's mirror image.
struct Pair {
    Engine client, gateway;
    EspSa* out = nullptr;
    EspSa* in = nullptr;
    std::vector<std::uint8_t> storage;

    explicit Pair(bool esn) {
        const auto& suite = test::all_suites[0];
        REQUIRE(client.sas().install(test::suite_params(suite, 0x1001, Direction::outbound, 1, {any4}, {any4}, esn)) == InstallResult::ok);
        REQUIRE(client.sas().install(test::suite_params(suite, 0x2002, Direction::inbound, 2, {any4}, {any4}, esn)) == InstallResult::ok);
        REQUIRE(gateway.sas().install(test::suite_params(suite, 0x1001, Direction::inbound, 1, {any4}, {any4}, esn)) == InstallResult::ok);
        REQUIRE(gateway.sas().install(test::suite_params(suite, 0x2002, Direction::outbound, 2, {any4}, {any4}, esn)) == InstallResult::ok);
        out = client.sas().find_outbound(0x1001);
        in = client.sas().find_inbound(0x2002);
    }
    PacketResult send(std::size_t payload) {
        Packet p = test::load(storage, test::ipv4_packet({10, 0, 0, 1}, {10, 0, 0, 2}, payload));
        client.encrypt_batch({&p, 1});
        return p.result;
    }
    PacketResult receive(std::size_t payload) {
        Packet p = test::load(storage, test::ipv4_packet({10, 0, 0, 2}, {10, 0, 0, 1}, payload));
        gateway.encrypt_batch({&p, 1});
        if (p.result != PacketResult::ok) return p.result;
        client.decrypt_batch({&p, 1});
        return p.result;
    }
};

}  // namespace

TEST_CASE("a pair is due after its byte limit, counting both directions; 0 means no limit") {
    Pair pair(false);
    CHECK_FALSE(pair_needs_rekey(*pair.in, *pair.out, 1000));
    REQUIRE(pair.send(400) == PacketResult::ok);
    REQUIRE(pair.receive(400) == PacketResult::ok);
    const std::uint64_t carried = pair.out->counters().bytes_out + pair.in->counters().bytes_in;
    CHECK(carried == 800);  // two 400-octet inner packets
    CHECK_FALSE(pair_needs_rekey(*pair.in, *pair.out, carried + 1));
    CHECK(pair_needs_rekey(*pair.in, *pair.out, carried));
    CHECK_FALSE(pair_needs_rekey(*pair.in, *pair.out, 0));
}

TEST_CASE("a pair is due once the outbound counter passes the soft limit, long before the hard limit") {
    for (bool esn : {false, true}) {
        CAPTURE(esn);
        Pair pair(esn);
        const std::uint64_t soft = esn ? EspSa::soft_limit_64 : EspSa::soft_limit_32;
        REQUIRE(pair.out->skip_sequence_to(soft));  // the next packet is number `soft`
        CHECK_FALSE(pair_needs_rekey(*pair.in, *pair.out, 0));
        REQUIRE(pair.send(40) == PacketResult::ok);
        CHECK(pair_needs_rekey(*pair.in, *pair.out, 0));
    }
}

TEST_CASE("at the hard limit the outbound SA refuses to send instead of reusing a sequence number") {
    Pair pair(false);
    REQUIRE(pair.out->skip_sequence_to(0xffffffffULL));
    CHECK(pair.send(40) == PacketResult::ok);  // 2^32 - 1: the last number there is
    CHECK(pair.out->next_sequence() == 0x100000000ULL);
    for (int i = 0; i < 3; ++i) CHECK(pair.send(40) == PacketResult::seq_exhausted);
    CHECK(pair.out->counters().seq_exhausted == 3);
    CHECK(pair.out->counters().packets_out == 1);
    CHECK_FALSE(pair.out->skip_sequence_to(1));  // and the counter never goes back
    CHECK(pair_needs_rekey(*pair.in, *pair.out, 0));
}
