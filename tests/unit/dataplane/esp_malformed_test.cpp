// Hostile and broken inbound packets: each must be dropped under the right counter, never crash, and never
// move the replay window unless it authenticated.
#include "dataplane/aes_gcm_esp.hpp"
#include "dataplane/engine.hpp"
#include "dataplane/esp_format.hpp"

#include "dp_test_util.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace ikevpn::dataplane;

namespace {

constexpr std::uint32_t spi = 0x0badcafe;
constexpr std::uint8_t seed = 42;

SaParams inbound_params() {
    return test::sa_params(spi, Direction::inbound, 128, seed, {TrafficSelector::any_v4(), TrafficSelector::any_v6()},
                           {TrafficSelector::any_v4(), TrafficSelector::any_v6()});
}

// A correctly authenticated ESP packet whose plaintext (payload + trailer) is given verbatim, so that the
// trailer can be wrong in ways encapsulate() never produces.
std::vector<std::uint8_t> forge(std::uint32_t seq, const std::vector<std::uint8_t>& plaintext) {
    const auto keymat = test::key_material(128, seed);
    AesGcmEsp transform(keymat, Direction::outbound);
    std::vector<std::uint8_t> packet(16 + plaintext.size() + 16);
    esp::write_be32(packet.data(), spi);
    esp::write_be32(packet.data() + 4, seq);
    esp::write_be64(packet.data() + 8, seq);
    std::copy(plaintext.begin(), plaintext.end(), packet.begin() + 16);
    REQUIRE(transform.seal({packet.data(), 8}, packet.data() + 8, {packet.data() + 16, plaintext.size()},
                           packet.data() + 16 + plaintext.size()));
    return packet;
}

std::vector<std::uint8_t> with_trailer(std::vector<std::uint8_t> payload, std::vector<std::uint8_t> trailer) {
    payload.insert(payload.end(), trailer.begin(), trailer.end());
    return payload;
}

const SaCounters& counters(Engine& e) { return e.sas().find(spi, Direction::inbound)->counters(); }

PacketResult decrypt(Engine& e, const std::vector<std::uint8_t>& bytes) {
    std::vector<std::uint8_t> storage;
    Packet p = test::load(storage, bytes);
    e.decrypt_batch({&p, 1});
    return p.result;
}

}  // namespace

TEST_CASE("forged packets with a correct trailer are accepted (the forging helper itself is right)") {
    Engine e;
    REQUIRE(e.sas().install(inbound_params()) == InstallResult::ok);
    const auto inner = test::ipv4_packet({1, 2, 3, 4}, {5, 6, 7, 8}, 41);
    CHECK(decrypt(e, forge(1, with_trailer(inner, {0x01, 0x01, 0x04}))) == PacketResult::ok);
    CHECK(counters(e).packets_in == 1);
}

TEST_CASE("truncation at every length is malformed, and nothing else is counted") {
    Engine e;
    REQUIRE(e.sas().install(inbound_params()) == InstallResult::ok);
    const auto inner = test::ipv4_packet({1, 2, 3, 4}, {5, 6, 7, 8}, 60);
    const auto full = forge(1, with_trailer(inner, {0x01, 0x02, 0x02, 0x04}));
    std::uint64_t engine_malformed = 0;
    std::uint64_t sa_malformed = 0;
    std::uint64_t icv = 0;
    for (std::size_t len = 0; len < full.size(); ++len) {
        CAPTURE(len);
        const std::vector<std::uint8_t> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
        const PacketResult r = decrypt(e, cut);
        if (len < 8) {
            REQUIRE(r == PacketResult::malformed);
            ++engine_malformed;
        } else if (len < 16 + 2 + 16) {
            REQUIRE(r == PacketResult::malformed);
            ++sa_malformed;
        } else {
            // Long enough to parse: the ICV is taken from the wrong place and fails.
            REQUIRE(r == PacketResult::icv);
            ++icv;
        }
    }
    CHECK(e.counters().malformed == engine_malformed);
    CHECK(counters(e).malformed == sa_malformed);
    CHECK(counters(e).icv == icv);
    CHECK(counters(e).packets_in == 0);
    // None of it consumed sequence number 1.
    CHECK(decrypt(e, full) == PacketResult::ok);
}

TEST_CASE("wrong ICV, then the genuine packet still passes") {
    Engine e;
    REQUIRE(e.sas().install(inbound_params()) == InstallResult::ok);
    const auto inner = test::ipv4_packet({1, 2, 3, 4}, {5, 6, 7, 8}, 100);
    const auto good = forge(7, with_trailer(inner, {0x01, 0x02, 0x02, 0x04}));
    auto bad = good;
    bad.back() ^= 0x01;
    CHECK(decrypt(e, bad) == PacketResult::icv);
    CHECK(counters(e).icv == 1);
    CHECK(e.sas().find(spi, Direction::inbound)->replay_window()->highest() == 0);
    CHECK(decrypt(e, good) == PacketResult::ok);
    // Wrong key altogether (a packet for another SA with our SPI).
    Engine other;
    auto params = inbound_params();
    params.key_material = test::key_material(128, seed + 1);
    REQUIRE(other.sas().install(std::move(params)) == InstallResult::ok);
    CHECK(decrypt(other, good) == PacketResult::icv);
}

TEST_CASE("unknown SPI is counted by the engine") {
    Engine e;
    REQUIRE(e.sas().install(inbound_params()) == InstallResult::ok);
    auto packet = forge(1, with_trailer(test::ipv4_packet({1, 2, 3, 4}, {5, 6, 7, 8}, 40), {0x01, 0x02, 0x02, 0x04}));
    esp::write_be32(packet.data(), spi + 1);
    CHECK(decrypt(e, packet) == PacketResult::unknown_spi);
    CHECK(e.counters().unknown_spi == 1);
    CHECK(counters(e).icv == 0);
}

TEST_CASE("bad pad length and bad padding octets are bad_padding") {
    Engine e;
    REQUIRE(e.sas().install(inbound_params()) == InstallResult::ok);
    const auto inner = test::ipv4_packet({1, 2, 3, 4}, {5, 6, 7, 8}, 40);
    // Pad length larger than the whole plaintext.
    CHECK(decrypt(e, forge(1, with_trailer(inner, {0x01, 0x02, 0xff, 0x04}))) == PacketResult::bad_padding);
    // Padding octets not 1, 2.
    CHECK(decrypt(e, forge(2, with_trailer(inner, {0x00, 0x00, 0x02, 0x04}))) == PacketResult::bad_padding);
    CHECK(decrypt(e, forge(3, with_trailer(inner, {0x02, 0x01, 0x02, 0x04}))) == PacketResult::bad_padding);
    CHECK(counters(e).bad_padding == 3);
    // They authenticated, so their sequence numbers are spent.
    CHECK(decrypt(e, forge(2, with_trailer(inner, {0x01, 0x02, 0x02, 0x04}))) == PacketResult::replay);
}

TEST_CASE("next header: dummy packets (59) are dropped silently, other values are refused") {
    Engine e;
    REQUIRE(e.sas().install(inbound_params()) == InstallResult::ok);
    // RFC 4303 §2.6 dummy packet: random-looking payload, Next Header 59.
    CHECK(decrypt(e, forge(1, {0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x02, 59})) == PacketResult::dummy);
    CHECK(counters(e).dummy == 1);
    const auto inner4 = test::ipv4_packet({1, 2, 3, 4}, {5, 6, 7, 8}, 40);
    CHECK(decrypt(e, forge(2, with_trailer(inner4, {0x01, 0x02, 0x02, 17}))) == PacketResult::bad_next_header);
    CHECK(counters(e).bad_next_header == 1);
    // Next Header says IPv6 but the packet is IPv4.
    CHECK(decrypt(e, forge(3, with_trailer(inner4, {0x01, 0x02, 0x02, 41}))) == PacketResult::malformed);
    // Next Header IPv4 but too short to be one.
    CHECK(decrypt(e, forge(4, {0x45, 0x00, 0x04})) == PacketResult::malformed);
    CHECK(counters(e).malformed == 2);
    CHECK(counters(e).packets_in == 0);
}

TEST_CASE("replayed packets and sequence number 0 are replay drops") {
    Engine e;
    REQUIRE(e.sas().install(inbound_params()) == InstallResult::ok);
    const auto inner = test::ipv4_packet({1, 2, 3, 4}, {5, 6, 7, 8}, 64);
    const auto p5 = forge(5, with_trailer(inner, {0x01, 0x02, 0x02, 0x04}));
    CHECK(decrypt(e, p5) == PacketResult::ok);
    CHECK(decrypt(e, p5) == PacketResult::replay);
    CHECK(decrypt(e, forge(0, with_trailer(inner, {0x01, 0x02, 0x02, 0x04}))) == PacketResult::replay);
    CHECK(decrypt(e, forge(5000, with_trailer(inner, {0x01, 0x02, 0x02, 0x04}))) == PacketResult::ok);
    CHECK(decrypt(e, forge(5000 - 1024, with_trailer(inner, {0x01, 0x02, 0x02, 0x04}))) == PacketResult::replay);
    CHECK(decrypt(e, forge(5000 - 1023, with_trailer(inner, {0x01, 0x02, 0x02, 0x04}))) == PacketResult::ok);
    CHECK(counters(e).replay == 3);
    CHECK(counters(e).packets_in == 3);
}

TEST_CASE("outbound: not an IP packet, or no room in the buffer") {
    Engine client;
    REQUIRE(client.sas().install(test::sa_params(0x99, Direction::outbound, 256, 1, {TrafficSelector::any_v4()},
                                                 {TrafficSelector::any_v4()})) == InstallResult::ok);
    std::vector<std::uint8_t> storage;
    Packet empty = test::load(storage, {});
    client.encrypt_batch({&empty, 1});
    CHECK(empty.result == PacketResult::malformed);
    Packet junk = test::load(storage, std::vector<std::uint8_t>(50, 0x00));
    junk.spi = 0x99;
    client.encrypt_batch({&junk, 1});
    CHECK(junk.result == PacketResult::malformed);

    const auto inner = test::ipv4_packet({1, 1, 1, 1}, {2, 2, 2, 2}, 101);  // needs 3 trailer octets + 16 ICV
    Packet no_head = test::load(storage, inner, 15);
    client.encrypt_batch({&no_head, 1});
    CHECK(no_head.result == PacketResult::no_room);
    Packet no_tail = test::load(storage, inner, 64, 64 + 101 + 18);
    client.encrypt_batch({&no_tail, 1});
    CHECK(no_tail.result == PacketResult::no_room);
    Packet exact = test::load(storage, inner, 16, 16 + 101 + 19);
    client.encrypt_batch({&exact, 1});
    CHECK(exact.result == PacketResult::ok);
    CHECK(exact.offset == 0);
    CHECK(exact.length == exact.capacity);
    const SaCounters& c = client.sas().find(0x99, Direction::outbound)->counters();
    CHECK(c.no_room == 2);
    CHECK(c.malformed == 1);
    CHECK(client.counters().malformed == 1);
    CHECK(c.packets_out == 1);
}

TEST_CASE("descriptors whose offset + length exceed the capacity are refused, not trusted") {
    Engine e;
    REQUIRE(e.sas().install(inbound_params()) == InstallResult::ok);
    REQUIRE(e.sas().install(test::sa_params(spi, Direction::outbound, 128, seed, {TrafficSelector::any_v4()},
                                            {TrafficSelector::any_v4()})) == InstallResult::ok);
    std::vector<std::uint8_t> storage;
    Packet p = test::load(storage, test::ipv4_packet({1, 2, 3, 4}, {5, 6, 7, 8}, 100), 64, 200);
    p.length = 200;  // 64 + 200 > 200
    e.encrypt_batch({&p, 1});
    CHECK(p.result == PacketResult::malformed);
    p.spi = spi;
    e.encrypt_batch({&p, 1});
    CHECK(p.result == PacketResult::malformed);
    e.decrypt_batch({&p, 1});
    CHECK(p.result == PacketResult::malformed);
    Packet null_buffer;
    null_buffer.length = 40;
    e.decrypt_batch({&null_buffer, 1});
    CHECK(null_buffer.result == PacketResult::malformed);
    CHECK(e.counters().malformed == 4);
}
