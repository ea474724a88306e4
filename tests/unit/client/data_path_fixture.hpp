// Shared set-up of the data-path tests that feed real ESP through a loopback UDP pair: a "gateway" socket,
// an AES-128-GCM CHILD SA pair in documentation ranges, and one ESP packet from the gateway's side.
#pragma once
#include "client/data_path.hpp"
#include "dataplane/engine.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace ikevpn::client::test {

struct Loopback {
    asio::io_context io;
    asio::ip::udp::socket ours{io}, gateway{io};
    Loopback() {
        const asio::ip::udp::endpoint any(asio::ip::address_v4::loopback(), 0);
        ours.open(asio::ip::udp::v4());
        ours.bind(any);
        gateway.open(asio::ip::udp::v4());
        gateway.bind(any);
        ours.connect(gateway.local_endpoint());
        gateway.connect(ours.local_endpoint());
        ours.non_blocking(true);
        gateway.non_blocking(true);
    }
    // Every datagram waiting at the gateway.
    std::vector<std::vector<std::uint8_t>> drain_gateway() {
        std::vector<std::vector<std::uint8_t>> out;
        std::array<std::uint8_t, 2048> buffer;
        std::error_code ec;
        for (;;) {
            const std::size_t n = gateway.receive(asio::buffer(buffer), 0, ec);
            if (ec) break;
            out.emplace_back(buffer.begin(), buffer.begin() + std::ptrdiff_t(n));
        }
        return out;
    }
};

// AES-128-GCM pair 203.0.113.1 (us) ↔ 198.51.100.0/24 (the gateway's side), documentation ranges.
inline core::ChildSaKeys pair(std::uint32_t spi_in, std::uint32_t spi_out, std::uint8_t key_byte) {
    core::ChildSaKeys child;
    child.spi_in = spi_in;
    child.spi_out = spi_out;
    child.encr_id = 20;
    child.key_bits = 128;
    child.key_in = SecureBytes(20, key_byte);
    child.key_out = SecureBytes(20, std::uint8_t(key_byte + 1));
    child.local_ts = {{msg::TsType::ipv4_addr_range, 0, 0, 65535, {203, 0, 113, 1}, {203, 0, 113, 1}}};
    child.remote_ts = {{msg::TsType::ipv4_addr_range, 0, 0, 65535, {198, 51, 100, 0}, {198, 51, 100, 255}}};
    return child;
}

// The gateway sends `count` ESP packets (198.51.100.10 → 203.0.113.1, sequence numbers 1, 2, …) on our
// inbound SPI `spi` with `key`.
inline void gateway_sends(Loopback& net, std::uint32_t spi, const SecureBytes& key, int count = 1) {
    dataplane::Engine gateway;
    dataplane::SaParams out;
    out.spi = spi;
    out.direction = dataplane::Direction::outbound;
    out.key_bits = 128;
    out.key_material = key;
    out.local_ts = {dataplane::TrafficSelector::v4_range({198, 51, 100, 0}, {198, 51, 100, 255})};
    out.remote_ts = {dataplane::TrafficSelector::v4_range({203, 0, 113, 1}, {203, 0, 113, 1})};
    REQUIRE(gateway.sas().install(std::move(out)) == dataplane::InstallResult::ok);
    dataplane::PacketPool pool(1);
    for (int i = 0; i < count; ++i) {
        dataplane::Packet packet;
        REQUIRE(pool.acquire(packet));
        std::vector<std::uint8_t> inner(60, 0);
        inner[0] = 0x45;
        inner[3] = 60;
        inner[8] = 64;
        inner[9] = 17;
        const std::uint8_t src[] = {198, 51, 100, 10}, dst[] = {203, 0, 113, 1};
        std::copy(std::begin(src), std::end(src), inner.begin() + 12);
        std::copy(std::begin(dst), std::end(dst), inner.begin() + 16);
        std::copy(inner.begin(), inner.end(), packet.data());
        packet.length = std::uint32_t(inner.size());
        gateway.encrypt_batch(std::span(&packet, 1));
        REQUIRE(packet.result == dataplane::PacketResult::ok);
        net.gateway.send(asio::buffer(packet.data(), packet.length));
        pool.release(packet);
    }
}

}  // namespace ikevpn::client::test
