// The data path's pieces that need no SA and no TUN device: the MTU arithmetic, NAT-T keepalives, and the
// batched receive loop handing IKE messages on in order. (ESP through a real TUN and gateway is covered by
// tests/interop/test_psk_connect.sh.)
#include "client/data_path.hpp"
#include "tests/unit/client/data_path_fixture.hpp"
#include "dataplane/engine.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

using namespace ikevpn;
using namespace ikevpn::client;
using namespace ikevpn::client::test;
using namespace std::chrono_literals;

TEST_CASE("outer headers of ESP in UDP: 28 octets over IPv4, 48 over IPv6") {
    CHECK(outer_udp_overhead(false) == 28);
    CHECK(outer_udp_overhead(true) == 48);
}

TEST_CASE("the MTU warning appears exactly when a full TUN packet no longer fits the path") {
    CHECK(mtu_warning_text(1500, 1500, 1438) ==
          "tun.mtu 1500 exceeds 1438, the largest packet the path MTU 1500 carries once encapsulated in ESP and "
          "UDP; large packets will be fragmented (set tun.mtu to 1438 or \"auto\")");
    CHECK_FALSE(mtu_warning_text(1438, 1500, 1438).has_value());
    CHECK(mtu_warning_text(1439, 1500, 1438).has_value());
    CHECK_FALSE(mtu_warning_text(1400, 1500, 1438).has_value());
}

TEST_CASE("keepalives: one octet 0xFF after each idle interval") {
    Loopback net;
    DataPath path(net.io, net.ours, [](ByteView) {});
    asio::co_spawn(net.io, path.run_keepalives(40ms), asio::detached);
    net.io.run_for(300ms);
    const auto received = net.drain_gateway();
    // Due at 40, 80, ... 280 ms; a loaded machine may fire late, never early or more often.
    CHECK(received.size() >= 3);
    CHECK(received.size() <= 7);
    CHECK(path.keepalives_sent() == received.size());
    for (const auto& d : received) CHECK(d == std::vector<std::uint8_t>{0xff});
    path.stop();
}

TEST_CASE("keepalives: none while other datagrams keep the mapping fresh, none at interval 0") {
    Loopback net;
    DataPath path(net.io, net.ours, [](ByteView) {});
    asio::co_spawn(net.io, path.run_keepalives(200ms), asio::detached);
    // Something is sent every 20 ms (send_keepalive() stands in for ESP traffic: both set last_sent()).
    asio::steady_timer traffic(net.io);
    int sent_by_test = 0;
    std::function<void(std::error_code)> tick = [&](std::error_code ec) {
        if (ec) return;
        path.send_keepalive();
        ++sent_by_test;
        traffic.expires_after(20ms);
        traffic.async_wait(tick);
    };
    tick({});
    net.io.run_for(300ms);
    CHECK(sent_by_test >= 5);  // at 0, 20, 40, ... ms
    CHECK(path.keepalives_sent() == std::uint64_t(sent_by_test));
    path.stop();

    Loopback quiet;
    DataPath off(quiet.io, quiet.ours, [](ByteView) {});
    asio::co_spawn(quiet.io, off.run_keepalives(0ms), asio::detached);
    quiet.io.run_for(50ms);
    CHECK(off.keepalives_sent() == 0);
    CHECK(quiet.drain_gateway().empty());
}

TEST_CASE("a burst of IKE messages larger than one batch reaches the IKE handler in order, marker removed") {
    Loopback net;
    std::vector<std::vector<std::uint8_t>> ike;
    DataPath path(net.io, net.ours, [&](ByteView message) { ike.emplace_back(message.begin(), message.end()); });
    path.start_receiving();
    constexpr int count = 3 * int(DataPath::batch_size) + 5;
    for (int i = 0; i < count; ++i) {
        // RFC 3948 §2.2: a non-ESP marker (four zero octets) in front of an IKE message.
        std::vector<std::uint8_t> datagram = {0, 0, 0, 0, std::uint8_t(i), std::uint8_t(i >> 8), 0x2a};
        net.gateway.send(asio::buffer(datagram));
        if (i == 10) net.gateway.send(asio::buffer(std::vector<std::uint8_t>{0xff}));  // a keepalive: ignored
        if (i == 20) net.gateway.send(asio::buffer(std::vector<std::uint8_t>{1, 2}));  // malformed: dropped
    }
    net.io.run_for(200ms);
    REQUIRE(ike.size() == std::size_t(count));
    for (int i = 0; i < count; ++i) {
        CAPTURE(i);
        CHECK(ike[std::size_t(i)] == std::vector<std::uint8_t>{std::uint8_t(i), std::uint8_t(i >> 8), 0x2a});
    }
    // A message arriving after the burst, once the socket was drained, is still seen (edge-triggered epoll).
    net.gateway.send(asio::buffer(std::vector<std::uint8_t>{0, 0, 0, 0, 7}));
    net.io.run_for(50ms);
    CHECK(ike.size() == std::size_t(count) + 1);
    path.stop();
}

TEST_CASE("ESP that arrives before its SA is installed (the rekey race) is decrypted once the SA is there") {
    Loopback net;
    DataPath path(net.io, net.ours, [](ByteView) {});
    path.start_receiving();
    constexpr std::uint32_t spi = 0xc0ffee01;
    SecureBytes key(20, 0x5a);  // AES-128-GCM key | salt

    gateway_sends(net, spi, key, 3);  // 198.51.100.10 → 203.0.113.1 on our future inbound SPI
    net.io.run_for(100ms);  // received: no SA yet, so parked

    core::ChildSaKeys child;
    child.spi_in = spi;
    child.spi_out = 0x0badf00d;
    child.encr_id = 20;
    child.key_bits = 128;
    child.key_in = key;
    child.key_out = key;
    msg::TrafficSelector ours{msg::TsType::ipv4_addr_range, 0, 0, 65535, {203, 0, 113, 1}, {203, 0, 113, 1}};
    msg::TrafficSelector theirs{msg::TsType::ipv4_addr_range, 0, 0, 65535, {198, 51, 100, 0}, {198, 51, 100, 255}};
    child.local_ts = {ours};
    child.remote_ts = {theirs};
    path.install(child);

    const auto sas = path.child_sas_status();
    REQUIRE(sas.size() == 1);
    CHECK(sas[0]["packets_in"] == 3);  // decrypted after all, in order (the replay window saw 1, 2, 3)
    CHECK(sas[0]["drops"]["unknown_spi"] == 0);
    CHECK(sas[0]["drops"]["replay"] == 0);
    CHECK(path.offload_status()["early_packets_delivered"] == 3);

    path.remove(spi);
    path.stop();
}
