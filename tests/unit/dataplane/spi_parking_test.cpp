#include "dataplane/spi_parking.hpp"

#include <doctest/doctest.h>

#include <array>
#include <vector>

using ikevpn::dataplane::Packet;
using ikevpn::dataplane::SpiParking;
using namespace std::chrono_literals;

namespace {

// An ESP-looking packet: SPI then a marker octet, `length` bytes in all.
struct Source {
    std::vector<std::uint8_t> bytes;
    Packet packet;
    Source(std::uint32_t spi, std::uint8_t marker, std::uint32_t length = 100) : bytes(length + 16, 0) {
        packet = Packet{bytes.data(), std::uint32_t(bytes.size()), 16, length, spi, ikevpn::dataplane::PacketResult::unknown_spi};
        packet.data()[0] = std::uint8_t(spi >> 24);
        packet.data()[3] = std::uint8_t(spi);
        packet.data()[8] = marker;
    }
};

const SpiParking::Clock::time_point t0{};

}  // namespace

TEST_CASE("packets parked for an SPI come back in arrival order, copied, with headroom") {
    SpiParking parking(8, 2s);
    Source a1(0xc0000001, 1), b1(0xc0000002, 2), a2(0xc0000001, 3, 1400);
    parking.park(a1.packet, t0);
    parking.park(b1.packet, t0 + 1ms);
    parking.park(a2.packet, t0 + 2ms);
    a1.bytes.assign(a1.bytes.size(), 0xff);  // the parking holds its own copy

    std::array<Packet, 8> out;
    REQUIRE(parking.take(0xc0000001, t0 + 10ms, out) == 2);
    CHECK(out[0].data()[8] == 1);
    CHECK(out[0].length == 100);
    CHECK(out[0].spi == 0xc0000001);
    CHECK(out[0].headroom() >= SpiParking::slot_headroom);
    CHECK(out[0].valid());
    CHECK(out[1].data()[8] == 3);
    CHECK(out[1].length == 1400);
    CHECK(parking.take(0xc0000001, t0 + 10ms, out) == 0);  // taken once only
    REQUIRE(parking.take(0xc0000002, t0 + 10ms, out) == 1);
    CHECK(out[0].data()[8] == 2);
    CHECK(parking.parked() == 3);
    CHECK(parking.handed_back() == 3);
}

TEST_CASE("old packets expire; a full parking overwrites the oldest; oversized packets are not kept") {
    SpiParking parking(2, 1s);
    Source old(0x100, 1), newer(0x100, 2), other(0x200, 3), huge(0x100, 4, SpiParking::slot_capacity + 1);
    parking.park(old.packet, t0);
    std::array<Packet, 4> out;
    CHECK(parking.take(0x100, t0 + 1001ms, out) == 0);  // older than max_age

    parking.park(old.packet, t0);
    parking.park(newer.packet, t0 + 1ms);
    parking.park(other.packet, t0 + 2ms);  // full: `old` goes
    parking.park(huge.packet, t0 + 3ms);   // not kept, overwrites nothing
    REQUIRE(parking.take(0x100, t0 + 5ms, out) == 1);
    CHECK(out[0].data()[8] == 2);
    REQUIRE(parking.take(0x200, t0 + 5ms, out) == 1);
    CHECK(out[0].data()[8] == 3);
}

TEST_CASE("take stops at the size of the output span") {
    SpiParking parking(4, 1s);
    Source p(0x300, 7);
    for (int i = 0; i < 4; ++i) parking.park(p.packet, t0 + std::chrono::milliseconds(i));
    std::array<Packet, 3> out;
    CHECK(parking.take(0x300, t0 + 10ms, out) == 3);
    CHECK(parking.take(0x300, t0 + 10ms, out) == 1);
}
