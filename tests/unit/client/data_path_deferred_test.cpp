// The gateway's CHILD SA rekey in the data path (core::InstallChildSa::outbound_deferred,
// client/data_path_deferred.cpp): the new pair receives at once, our traffic stays on the replaced pair
// until the gateway shows it holds the new one (its first ESP packet on it, or the removal of the old pair
// after its Delete), an explicit promote(), or the safety limit. The switch is one step: at every moment
// exactly one outbound SA carries our traffic.
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

namespace {

const IpAddress us = IpAddress::v4({203, 0, 113, 1});
const IpAddress them = IpAddress::v4({198, 51, 100, 10});

struct Rekeyed {
    Loopback net;
    DataPath path{net.io, net.ours, [](ByteView) {}};
    core::ChildSaKeys old_pair = pair(0x1000aaaa, 0x2000aaaa, 0x11);
    core::ChildSaKeys new_pair = pair(0x1000bbbb, 0x2000bbbb, 0x33);
    Rekeyed() {
        path.start_receiving();
        path.install(old_pair);
        path.install_deferred(new_pair);
    }
    ~Rekeyed() { path.stop(); }
    bool sends_on_old() { return path.routed_spi_out(us, them) == old_pair.spi_out && path.sending_spi_in() == old_pair.spi_in; }
    bool sends_on_new() { return path.routed_spi_out(us, them) == new_pair.spi_out && path.sending_spi_in() == new_pair.spi_in; }
};

}  // namespace

TEST_CASE("deferred: the new pair receives at once, our traffic stays on the old pair meanwhile") {
    Rekeyed r;
    CHECK(r.sends_on_old());
    CHECK(r.path.deferred_status()["waiting"] == true);
    // The gateway still sends on the old pair (it has not got our answer yet): no switch.
    gateway_sends(r.net, r.old_pair.spi_in, r.old_pair.key_in);
    r.net.io.run_for(100ms);
    CHECK(r.path.packets_in() == 1);
    CHECK(r.sends_on_old());
    // A forged packet on the new SPI (wrong key) does not authenticate and proves nothing.
    gateway_sends(r.net, r.new_pair.spi_in, SecureBytes(20, 0x99));
    r.net.io.run_for(100ms);
    CHECK(r.path.packets_in() == 1);
    CHECK(r.sends_on_old());
    // Both pairs are listed while the old one lives (the new one's outbound SA exists, on standby).
    CHECK(r.path.child_sas_status().size() == 2);
}

TEST_CASE("deferred: the first authenticated ESP packet on the new inbound SA switches our traffic") {
    Rekeyed r;
    gateway_sends(r.net, r.new_pair.spi_in, r.new_pair.key_in);
    r.net.io.run_for(100ms);
    CHECK(r.path.packets_in() == 1);
    CHECK(r.sends_on_new());
    CHECK(r.path.deferred_status()["first_packet"] == 1);
    CHECK(r.path.deferred_status()["waiting"] == false);
    // The old pair still receives until the gateway deletes it; then only the new one is left.
    gateway_sends(r.net, r.old_pair.spi_in, r.old_pair.key_in);
    r.net.io.run_for(100ms);
    CHECK(r.path.packets_in() == 2);
    r.path.remove(r.old_pair.spi_in);
    CHECK(r.sends_on_new());
    CHECK(r.path.child_sas_status().size() == 1);
}

TEST_CASE("deferred: removing the replaced pair (the gateway's Delete) switches first, never leaving no SA") {
    Rekeyed r;
    r.path.remove(r.old_pair.spi_in);
    CHECK(r.sends_on_new());
    CHECK(r.path.deferred_status()["old_pair_removed"] == 1);
}

TEST_CASE("deferred: explicit promotion, and the safety limit") {
    SUBCASE("promote()") {
        Rekeyed r;
        CHECK_FALSE(r.path.promote(r.old_pair.spi_in));  // not waiting
        CHECK(r.path.promote(r.new_pair.spi_in));
        CHECK(r.sends_on_new());
        CHECK_FALSE(r.path.promote(r.new_pair.spi_in));  // already sending
        CHECK(r.path.deferred_status()["promoted"] == 1);
    }
    SUBCASE("the limit") {
        Loopback net;
        DataPath path(net.io, net.ours, [](ByteView) {});
        path.set_deferred_send_limit(500ms);
        const auto old_pair = pair(0x1000aaaa, 0x2000aaaa, 0x11), new_pair = pair(0x1000bbbb, 0x2000bbbb, 0x33);
        path.install(old_pair);
        path.install_deferred(new_pair);
        net.io.run_for(50ms);
        CHECK(path.routed_spi_out(us, them) == old_pair.spi_out);
        net.io.run_for(1s);
        CHECK(path.routed_spi_out(us, them) == new_pair.spi_out);
        CHECK(path.deferred_status()["timeout"] == 1);
        path.stop();
    }
}

TEST_CASE("deferred: a newer sending pair supersedes the waiting one, which never sends (collision)") {
    Rekeyed r;
    // Our own rekey of the old pair won the collision: its pair sends at once; the gateway's is redundant.
    const auto ours = pair(0x1000cccc, 0x2000cccc, 0x55);
    r.path.install(ours);
    CHECK(r.path.routed_spi_out(us, them) == ours.spi_out);
    CHECK(r.path.deferred_status()["superseded"] == 1);
    // The gateway may still send on its redundant pair until it deletes it: received, but no switch.
    gateway_sends(r.net, r.new_pair.spi_in, r.new_pair.key_in);
    r.net.io.run_for(100ms);
    CHECK(r.path.packets_in() == 1);
    CHECK(r.path.routed_spi_out(us, them) == ours.spi_out);
    CHECK(r.path.sending_spi_in() == ours.spi_in);
    CHECK_FALSE(r.path.promote(r.new_pair.spi_in));
    r.path.remove(r.old_pair.spi_in);
    r.path.remove(r.new_pair.spi_in);
    CHECK(r.path.routed_spi_out(us, them) == ours.spi_out);
}

TEST_CASE("deferred: our redundant pair (receive-only) leaves the gateway's waiting pair alone") {
    Rekeyed r;
    // Our own rekey lost the collision: our pair is redundant, the gateway's new pair stays the successor.
    const auto ours = pair(0x1000cccc, 0x2000cccc, 0x55);
    r.path.install(ours, false);
    CHECK(r.sends_on_old());
    CHECK(r.path.deferred_status()["waiting"] == true);
    r.path.remove(ours.spi_in);
    r.path.remove(r.old_pair.spi_in);  // the gateway deletes the old pair: its new one sends
    CHECK(r.sends_on_new());
}
