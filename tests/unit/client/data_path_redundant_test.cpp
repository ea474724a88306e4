// A rekey collision's redundant CHILD SA pair (RFC 7296 §2.8.1, core::InstallChildSa::redundant) in the
// data path: installed receive-only — the gateway may still send on it until our Delete arrives — while
// our traffic and the "current pair" stay on the surviving pair.
#include "client/data_path.hpp"
#include "tests/unit/client/data_path_fixture.hpp"
#include "dataplane/engine.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>

#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <vector>

using namespace ikevpn;
using namespace ikevpn::client;
using namespace ikevpn::client::test;
using namespace std::chrono_literals;


TEST_CASE("a receive-only (redundant) pair decrypts what the gateway sends on it, but never becomes the sending pair") {
    Loopback net;
    DataPath path(net.io, net.ours, [](ByteView) {});
    path.start_receiving();
    const core::ChildSaKeys survivor = pair(0x1000aaaa, 0x2000aaaa, 0x11);
    const core::ChildSaKeys redundant = pair(0x1000bbbb, 0x2000bbbb, 0x22);
    path.install(survivor);
    path.install(redundant, false);

    // The surviving pair stays the current one (status, rekey soft limits, MTU), whatever the install order.
    CHECK(path.current_pair_counters().spi_in == survivor.spi_in);
    const auto sas = path.child_sas_status();
    REQUIRE(sas.size() == 1);  // pairs that send; the redundant one is on its way out
    CHECK(sas[0]["spi_in"] == "1000aaaa");

    // The gateway may still use the redundant pair until our Delete arrives: nothing is lost.
    gateway_sends(net, redundant.spi_in, redundant.key_in);
    net.io.run_for(100ms);
    CHECK(path.packets_in() == 1);

    path.remove(redundant.spi_in);
    CHECK(path.current_pair_counters().spi_in == survivor.spi_in);
    gateway_sends(net, survivor.spi_in, survivor.key_in);
    net.io.run_for(100ms);
    CHECK(path.current_pair_counters().packets_in == 1);  // the survivor's own packet
    path.remove(survivor.spi_in);
    path.stop();
}
