// Standby outbound SAs (SaTable::install_standby / promote): the gateway's CHILD SA rekey installs the new
// outbound SA ahead of time, but traffic is routed to it only once it is promoted — and then at once, with
// the old SA still installed, so no packet ever finds no SA.
#include "dp_test_util.hpp"

#include "dataplane/engine.hpp"

#include <doctest/doctest.h>

using namespace ikevpn::dataplane;

namespace {

SaParams outbound(std::uint32_t spi, std::uint8_t seed) {
    return test::sa_params(spi, Direction::outbound, 128, seed, {TrafficSelector::any_v4()}, {TrafficSelector::any_v4()});
}

std::uint32_t routed(SaTable& table) {
    const std::uint8_t src[4] = {203, 0, 113, 1}, dst[4] = {198, 51, 100, 10};
    const EspSa* sa = table.route_outbound(src, dst, false);
    return sa ? sa->spi() : 0;
}

// Encrypts one packet by traffic selector and returns the SPI it went out with (0: dropped).
std::uint32_t sent_with(Engine& engine) {
    std::vector<std::uint8_t> storage;
    auto bytes = test::ipv4_packet({203, 0, 113, 1}, {198, 51, 100, 10}, 60);
    Packet p = test::load(storage, bytes);
    p.spi = 0;
    engine.encrypt_batch({&p, 1});
    if (p.result != PacketResult::ok) return 0;
    return std::uint32_t(p.data()[0]) << 24 | std::uint32_t(p.data()[1]) << 16 | std::uint32_t(p.data()[2]) << 8 | p.data()[3];
}

}  // namespace

TEST_CASE("a standby outbound SA is never routed to until promoted; then it is, before the old one goes") {
    Engine engine;
    SaTable& table = engine.sas();
    REQUIRE(table.install(outbound(0x1111, 1)) == InstallResult::ok);
    REQUIRE(table.install_standby(outbound(0x2222, 2)) == InstallResult::ok);
    CHECK(table.is_standby(0x2222));
    CHECK(routed(table) == 0x1111);
    CHECK(sent_with(engine) == 0x1111);
    CHECK(table.find_outbound(0x2222) == nullptr);             // not on the packet path
    CHECK(table.find(0x2222, Direction::outbound) != nullptr);  // but visible for status
    CHECK(table.outbound_count() == 1);

    CHECK(table.promote(0x2222));
    CHECK_FALSE(table.is_standby(0x2222));
    CHECK_FALSE(table.promote(0x2222));
    CHECK(routed(table) == 0x2222);
    CHECK(sent_with(engine) == 0x2222);
    // Its sequence numbers start at 1 (RFC 4303 §3.3.3): nothing was sent on it while it waited.
    CHECK(table.find(0x2222, Direction::outbound)->counters().packets_out == 1);
    CHECK(table.remove(0x1111, Direction::outbound));
    CHECK(sent_with(engine) == 0x2222);
}

TEST_CASE("standby SAs: duplicates refused, inbound refused, removal without promotion") {
    SaTable table;
    REQUIRE(table.install(outbound(0x1111, 1)) == InstallResult::ok);
    CHECK(table.install_standby(outbound(0x1111, 3)) == InstallResult::duplicate_spi);
    REQUIRE(table.install_standby(outbound(0x2222, 2)) == InstallResult::ok);
    CHECK(table.install(outbound(0x2222, 4)) == InstallResult::duplicate_spi);
    auto inbound = outbound(0x3333, 5);
    inbound.direction = Direction::inbound;
    CHECK(table.install_standby(std::move(inbound)) == InstallResult::invalid_params);
    int visited = 0;
    table.for_each([&](const EspSa&) { ++visited; });
    CHECK(visited == 2);
    CHECK(table.remove(0x2222, Direction::outbound));  // superseded: it never sends
    CHECK_FALSE(table.promote(0x2222));
    CHECK(routed(table) == 0x1111);
}
