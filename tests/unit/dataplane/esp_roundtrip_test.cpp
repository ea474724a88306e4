// Round trips through an outbound SA and the matching inbound SA of two engines ("client" and "gateway"),
// as a tunnel would carry them.
#include "dataplane/engine.hpp"
#include "dataplane/esp_format.hpp"

#include "dp_test_util.hpp"

#include <doctest/doctest.h>

#include <array>
#include <vector>

using namespace ikevpn::dataplane;

namespace {

const auto client_net = TrafficSelector::v4_range({10, 1, 0, 0}, {10, 1, 255, 255});
const auto gateway_net = TrafficSelector::v4_range({192, 168, 0, 0}, {192, 168, 255, 255});
const auto client_net6 = TrafficSelector::v6_range(test::v6(0x00), test::v6(0x0f));
const auto gateway_net6 = TrafficSelector::v6_range(test::v6(0x80), test::v6(0xff));

// The client's outbound SA (SPI chosen by the gateway) and the gateway's inbound SA for it.
void install_pair(Engine& client, Engine& gateway, std::uint32_t spi, unsigned key_bits, std::uint8_t seed) {
    REQUIRE(client.sas().install(test::sa_params(spi, Direction::outbound, key_bits, seed, {client_net, client_net6},
                                                 {gateway_net, gateway_net6})) == InstallResult::ok);
    REQUIRE(gateway.sas().install(test::sa_params(spi, Direction::inbound, key_bits, seed,
                                                  {gateway_net, gateway_net6}, {client_net, client_net6})) ==
            InstallResult::ok);
}

}  // namespace

TEST_CASE("ESP round trip of IPv4 and IPv6 inner packets, AES-128 and AES-256") {
    for (unsigned key_bits : {128U, 256U}) {
        CAPTURE(key_bits);
        Engine client;
        Engine gateway;
        install_pair(client, gateway, 0xc0ffee01, key_bits, 7);
        std::vector<std::uint8_t> storage;
        std::uint64_t expected_seq = 1;
        for (std::size_t length : {20, 21, 22, 23, 24, 63, 64, 65, 100, 1400, 1500}) {
            CAPTURE(length);
            const auto inner = test::ipv4_packet({10, 1, 0, 5}, {192, 168, 1, 9}, length);
            Packet p = test::load(storage, inner);
            client.encrypt_batch({&p, 1});
            REQUIRE(p.result == PacketResult::ok);
            CHECK(p.spi == 0xc0ffee01);
            CHECK(p.offset == 64 - 16);
            // Header in place: SPI, Seq, IV = 64-bit counter.
            CHECK(esp::read_be32(p.data()) == 0xc0ffee01);
            CHECK(esp::read_be32(p.data() + 4) == expected_seq);
            CHECK(esp::read_be32(p.data() + 8) == 0);
            CHECK(esp::read_be32(p.data() + 12) == expected_seq);
            // Ciphertext (payload + trailer) is 4-octet aligned; then the 16-octet ICV.
            const std::size_t ct = p.length - 16 - 16;
            CHECK(ct % 4 == 0);
            CHECK(ct == inner.size() + esp::padding_for(inner.size()) + 2);
            ++expected_seq;

            gateway.decrypt_batch({&p, 1});
            REQUIRE(p.result == PacketResult::ok);
            CHECK(p.offset == 64);
            CHECK(test::bytes_of(p) == inner);
        }
        for (std::size_t length : {40, 41, 43, 100, 1280, 1400}) {
            CAPTURE(length);
            const auto inner = test::ipv6_packet(test::v6(0x01), test::v6(0x99), length);
            Packet p = test::load(storage, inner);
            client.encrypt_batch({&p, 1});
            REQUIRE(p.result == PacketResult::ok);
            gateway.decrypt_batch({&p, 1});
            REQUIRE(p.result == PacketResult::ok);
            CHECK(test::bytes_of(p) == inner);
        }
        const SaCounters& out = client.sas().find(0xc0ffee01, Direction::outbound)->counters();
        const SaCounters& in = gateway.sas().find(0xc0ffee01, Direction::inbound)->counters();
        CHECK(out.packets_out == 17);
        CHECK(in.packets_in == 17);
        CHECK(in.bytes_in == out.bytes_out);
        CHECK(in.bytes_in == 20 + 21 + 22 + 23 + 24 + 63 + 64 + 65 + 100 + 1400 + 1500 + 40 + 41 + 43 + 100 + 1280 + 1400);
    }
}

TEST_CASE("next header follows the inner version: 4 for IPv4, 41 for IPv6") {
    Engine client;
    Engine gateway;
    install_pair(client, gateway, 0x1001, 128, 3);
    // Decrypt with open() to see the Next Header octet.
    EspSa* in = gateway.sas().find_inbound(0x1001);
    std::vector<std::uint8_t> storage;
    Packet p4 = test::load(storage, test::ipv4_packet({10, 1, 0, 1}, {192, 168, 0, 1}, 33));
    client.encrypt_batch({&p4, 1});
    std::uint8_t nh = 0;
    REQUIRE(in->open(p4, nh) == PacketResult::ok);
    CHECK(nh == 4);
    Packet p6 = test::load(storage, test::ipv6_packet(test::v6(1), test::v6(0x90), 57));
    client.encrypt_batch({&p6, 1});
    REQUIRE(in->open(p6, nh) == PacketResult::ok);
    CHECK(nh == 41);
}

TEST_CASE("a batch of packets keeps order and per-packet results") {
    Engine client;
    Engine gateway;
    install_pair(client, gateway, 0x2002, 256, 9);
    PacketPool pool(8);
    std::array<Packet, 6> batch{};
    std::vector<std::vector<std::uint8_t>> inners;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        REQUIRE(pool.acquire(batch[i]));
        CHECK(batch[i].headroom() == PacketPool::default_headroom);
        // Packet 3 goes to an address no SA covers.
        const std::array<std::uint8_t, 4> dst{static_cast<std::uint8_t>(i == 3 ? 172 : 192), 168, 0, 1};
        inners.push_back(test::ipv4_packet({10, 1, 2, 3}, dst, 100 + i));
        std::memcpy(batch[i].data(), inners.back().data(), inners.back().size());
        batch[i].length = static_cast<std::uint32_t>(inners.back().size());
    }
    CHECK(pool.available() == 2);
    client.encrypt_batch(batch);
    for (std::size_t i = 0; i < batch.size(); ++i) {
        CHECK(batch[i].result == (i == 3 ? PacketResult::no_sa : PacketResult::ok));
    }
    CHECK(client.counters().no_sa == 1);
    // Sequence numbers were assigned in batch order to the packets that were sent.
    CHECK(esp::read_be32(batch[4].data() + 4) == 4);
    // Deliver in reverse order: all inside the replay window.
    std::array<Packet, 5> sent{batch[5], batch[4], batch[2], batch[1], batch[0]};
    gateway.decrypt_batch(sent);
    const std::size_t original_index[] = {5, 4, 2, 1, 0};
    for (std::size_t i = 0; i < sent.size(); ++i) {
        REQUIRE(sent[i].result == PacketResult::ok);
        CHECK(test::bytes_of(sent[i]) == inners[original_index[i]]);
    }
    for (const Packet& p : batch) pool.release(p);
    CHECK(pool.available() == 8);
}

TEST_CASE("rekey: the new inbound SA is installed before the old one is removed, and both work meanwhile") {
    Engine client;
    Engine gateway;
    install_pair(client, gateway, 0x3001, 128, 1);
    std::vector<std::uint8_t> s_old;
    std::vector<std::uint8_t> s_new;
    const auto inner = test::ipv4_packet({10, 1, 0, 1}, {192, 168, 0, 1}, 200);
    Packet old_in_flight = test::load(s_old, inner);
    client.encrypt_batch({&old_in_flight, 1});
    REQUIRE(old_in_flight.spi == 0x3001);

    install_pair(client, gateway, 0x3002, 256, 2);
    Packet new_packet = test::load(s_new, inner);
    client.encrypt_batch({&new_packet, 1});
    CHECK(new_packet.spi == 0x3002);  // the most recent outbound SA takes over at once

    gateway.decrypt_batch({&new_packet, 1});
    CHECK(new_packet.result == PacketResult::ok);
    gateway.decrypt_batch({&old_in_flight, 1});  // late packet of the old SA still accepted
    CHECK(old_in_flight.result == PacketResult::ok);

    CHECK(client.sas().remove(0x3001, Direction::outbound));
    CHECK(gateway.sas().remove(0x3001, Direction::inbound));
    CHECK_FALSE(gateway.sas().remove(0x3001, Direction::inbound));
    Packet after = test::load(s_new, inner);
    client.encrypt_batch({&after, 1});
    REQUIRE(after.result == PacketResult::ok);
    CHECK(after.spi == 0x3002);
    gateway.decrypt_batch({&after, 1});
    CHECK(after.result == PacketResult::ok);
    CHECK(test::bytes_of(after) == inner);

    Packet stale = test::load(s_old, inner);
    client.encrypt_batch({&stale, 1});
    esp::write_be32(stale.data(), 0x3001);  // pretend it came from the removed SA
    gateway.decrypt_batch({&stale, 1});
    CHECK(stale.result == PacketResult::unknown_spi);
    CHECK(gateway.counters().unknown_spi == 1);
}

TEST_CASE("an explicit outbound SPI overrides routing; unknown ones are no_sa") {
    Engine client;
    Engine gateway;
    install_pair(client, gateway, 0x4001, 128, 4);
    install_pair(client, gateway, 0x4002, 128, 5);
    std::vector<std::uint8_t> storage;
    Packet p = test::load(storage, test::ipv4_packet({10, 1, 0, 1}, {192, 168, 0, 1}, 60));
    p.spi = 0x4001;
    client.encrypt_batch({&p, 1});
    CHECK(p.result == PacketResult::ok);
    CHECK(esp::read_be32(p.data()) == 0x4001);
    Packet q = test::load(storage, test::ipv4_packet({10, 1, 0, 1}, {192, 168, 0, 1}, 60));
    q.spi = 0x4999;
    client.encrypt_batch({&q, 1});
    CHECK(q.result == PacketResult::no_sa);
}

TEST_CASE("sequence numbers never wrap: seq_exhausted after 2^32 - 1") {
    Engine client;
    Engine gateway;
    install_pair(client, gateway, 0x5001, 128, 6);
    EspSa* out = client.sas().find_outbound(0x5001);
    CHECK_FALSE(out->skip_sequence_to(0));  // never backwards
    REQUIRE(out->skip_sequence_to(0xfffffffeULL));
    std::vector<std::uint8_t> storage;
    const auto inner = test::ipv4_packet({10, 1, 0, 1}, {192, 168, 0, 1}, 80);
    for (std::uint64_t expected : {0xfffffffeULL, 0xffffffffULL}) {
        Packet p = test::load(storage, inner);
        client.encrypt_batch({&p, 1});
        REQUIRE(p.result == PacketResult::ok);
        CHECK(esp::read_be32(p.data() + 4) == expected);
        gateway.decrypt_batch({&p, 1});
        CHECK(p.result == PacketResult::ok);
    }
    for (int i = 0; i < 3; ++i) {
        Packet p = test::load(storage, inner);
        client.encrypt_batch({&p, 1});
        CHECK(p.result == PacketResult::seq_exhausted);
        CHECK(p.offset == 64);  // untouched
        CHECK(test::bytes_of(p) == inner);
    }
    CHECK(out->counters().seq_exhausted == 3);
    CHECK(out->counters().packets_out == 2);
    CHECK(out->next_sequence() == 0x100000000ULL);
}

TEST_CASE("inbound traffic selectors: source must be in remote TS, destination in local TS") {
    Engine client;
    Engine gateway;
    install_pair(client, gateway, 0x6001, 128, 8);
    std::vector<std::uint8_t> storage;
    // The client routes by its own selectors, so force the SA to send what the gateway must refuse.
    const std::vector<std::vector<std::uint8_t>> outside = {
        test::ipv4_packet({10, 2, 0, 1}, {192, 168, 0, 1}, 60),   // source outside client_net
        test::ipv4_packet({10, 1, 0, 1}, {192, 169, 0, 1}, 60),   // destination outside gateway_net
        test::ipv6_packet(test::v6(0x10), test::v6(0x90), 60),   // v6 source outside client_net6
    };
    for (const auto& inner : outside) {
        Packet p = test::load(storage, inner);
        p.spi = 0x6001;
        client.encrypt_batch({&p, 1});
        REQUIRE(p.result == PacketResult::ok);
        gateway.decrypt_batch({&p, 1});
        CHECK(p.result == PacketResult::ts_mismatch);
    }
    const SaCounters& c = gateway.sas().find(0x6001, Direction::inbound)->counters();
    CHECK(c.ts_mismatch == 3);
    CHECK(c.packets_in == 0);
}

TEST_CASE("install refuses unusable parameters and duplicate SPIs") {
    SaTable table;
    auto good = [] {
        return test::sa_params(0x7001, Direction::inbound, 128, 1, {TrafficSelector::any_v4()},
                               {TrafficSelector::any_v4()});
    };
    CHECK(table.install(good()) == InstallResult::ok);
    CHECK(table.install(good()) == InstallResult::duplicate_spi);
    auto zero_spi = good();
    zero_spi.spi = 0;
    CHECK(table.install(std::move(zero_spi)) == InstallResult::invalid_params);
    auto short_key = good();
    short_key.spi = 0x7002;
    short_key.key_material.resize(19);
    CHECK(table.install(std::move(short_key)) == InstallResult::invalid_params);
    auto wrong_bits = good();
    wrong_bits.spi = 0x7003;
    wrong_bits.key_bits = 192;
    CHECK(table.install(std::move(wrong_bits)) == InstallResult::invalid_params);
    auto esn = good();  // extended sequence numbers are supported (esp_esn_test.cpp)
    esn.spi = 0x7004;
    esn.esn = true;
    CHECK(table.install(std::move(esn)) == InstallResult::ok);
    // The same SPI may exist once per direction.
    auto outbound = good();
    outbound.direction = Direction::outbound;
    CHECK(table.install(std::move(outbound)) == InstallResult::ok);
    CHECK(table.inbound_count() == 2);
    CHECK(table.outbound_count() == 1);
    int visited = 0;
    table.for_each([&](const EspSa&) { ++visited; });
    CHECK(visited == 3);
}
