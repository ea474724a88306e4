// NetlinkMonitor in a private network namespace: two veth "uplinks", a stand-in for the TUN device and the
// tunnel's policy routing, changed with iproute2 while the monitor watches.
#include "platform/netlink_monitor.hpp"

#include "platform/netlink.hpp"
#include "platform/platform_error.hpp"
#include "platform/udp_reconnect.hpp"
#include "platform/udp_socket.hpp"
#include "private_netns.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace ikevpn;
using namespace ikevpn::platform;
using ikevpn::platform::testing::run;

namespace {

IpAddress ip(const char* text) { return IpAddress::parse(text).value(); }

constexpr std::uint32_t mark = 51880;
const IpAddress gateway = IpAddress::parse("198.51.100.1").value();

void sh(const std::string& command) { run("{ " + command + "; } 2>&1"); }

// IPv6 announces a new address from the DAD work queue, after `ip addr add` has returned: poll a little.
bool change_seen(NetlinkMonitor& monitor) {
    for (int i = 0; i < 200; ++i) {
        if (monitor.drain()) return true;
        ::usleep(10'000);
    }
    return false;
}

// wifi0 (192.0.2.10/24, default route via 192.0.2.1) and cell0 (203.0.113.20/24, a worse default route).
void make_uplinks() {
    sh("ip link del wifi0; ip link del cell0; ip link del tun0");
    sh("ip link add wifi0 type veth peer name wifi0p && ip link set wifi0p up && ip link set wifi0 up");
    sh("ip link add cell0 type veth peer name cell0p && ip link set cell0p up && ip link set cell0 up");
    sh("ip addr add 192.0.2.10/24 dev wifi0 && ip route add default via 192.0.2.1 dev wifi0 metric 100");
    sh("ip addr add 203.0.113.20/24 dev cell0 && ip route add default via 203.0.113.1 dev cell0 metric 200");
}

}  // namespace

TEST_CASE("the source toward the gateway follows the uplinks, and a change is reported") {
    IKEVPN_REQUIRE_NETNS();
    NetlinkMonitor monitor;
    make_uplinks();
    CHECK(change_seen(monitor));
    CHECK(monitor.source_for(gateway, mark) == ip("192.0.2.10"));

    sh("ip link set wifi0 down");  // Wi-Fi gone: cellular's default route takes over
    CHECK(change_seen(monitor));
    CHECK(monitor.source_for(gateway, mark) == ip("203.0.113.20"));

    sh("ip link set wifi0 up && ip route add default via 192.0.2.1 dev wifi0 metric 100");
    CHECK(change_seen(monitor));
    CHECK(monitor.source_for(gateway, mark) == ip("192.0.2.10"));

    // DHCP renumbering on the same interface.
    sh("ip addr del 192.0.2.10/24 dev wifi0 && ip addr add 192.0.2.11/24 dev wifi0");
    sh("ip route add default via 192.0.2.1 dev wifi0 metric 100");
    CHECK(change_seen(monitor));
    CHECK(monitor.source_for(gateway, mark) == ip("192.0.2.11"));

    sh("ip link set wifi0 down && ip link set cell0 down");
    CHECK(change_seen(monitor));
    CHECK_FALSE(monitor.source_for(gateway, mark));  // no path at all
    CHECK(monitor.notifications() >= monitor.relevant());
}

TEST_CASE("the TUN device and the tunnel's table are noise; the marked lookup skips the tunnel's rule") {
    IKEVPN_REQUIRE_NETNS();
    make_uplinks();
    sh("ip tuntap add dev tun0 mode tun && ip link set tun0 up");
    Netlink netlink;
    const int tun = netlink.link_index("tun0");
    NetlinkMonitor monitor;
    monitor.ignore_interface(tun);
    monitor.ignore_table(mark);
    monitor.drain();

    // What connect does to the TUN: an address, routes in table 51880, the policy rule.
    sh("ip addr add 203.0.113.7/32 dev tun0");
    sh("ip route add 0.0.0.0/0 dev tun0 table 51880");
    sh("ip route add 198.51.100.0/24 dev tun0 table 51880");
    CHECK_FALSE(monitor.drain());
    sh("ip rule add not fwmark 51880 table 51880 priority 100");

    // Unmarked traffic would go into the tunnel; the IKE/ESP socket's marked packets still take wifi0.
    CHECK(monitor.source_for(gateway, mark) == ip("192.0.2.10"));
    CHECK_FALSE(monitor.source_for(gateway, std::nullopt));  // leads into the TUN: not a path

    sh("ip route del 198.51.100.0/24 dev tun0 table 51880 && ip link set tun0 mtu 1300");
    CHECK_FALSE(monitor.drain());
    sh("ip rule del priority 100");
}

TEST_CASE("an IPv6 source that is deprecated is no path; a preferred one is") {
    IKEVPN_REQUIRE_NETNS();
    make_uplinks();
    NetlinkMonitor monitor;
    sh("ip -6 addr add 2001:db8:1::10/64 dev wifi0 nodad preferred_lft 0");
    sh("ip -6 route add 2001:db8:2::/64 via 2001:db8:1::1 dev wifi0");
    CHECK(change_seen(monitor));
    CHECK_FALSE(monitor.source_for(ip("2001:db8:2::1"), mark));
    sh("ip -6 addr add 2001:db8:1::11/64 dev wifi0 nodad");
    CHECK(change_seen(monitor));
    CHECK(monitor.source_for(ip("2001:db8:2::1"), mark) == ip("2001:db8:1::11"));
}

TEST_CASE("a connected, marked UDP socket moves to the new source on the same fd") {
    IKEVPN_REQUIRE_NETNS();
    make_uplinks();
    const int fd = open_udp_socket(IpAddress::Family::v4, mark, 0);
    auto first = reconnect_udp(fd, gateway, 4500);
    CHECK(first.first == ip("192.0.2.10"));
    CHECK(first.second != 0);
    sh("ip link set wifi0 down");
    auto second = reconnect_udp(fd, gateway, 4500);
    CHECK(second.first == ip("203.0.113.20"));
    CHECK(local_endpoint(fd) == second);
    const char byte = 1;
    CHECK(::send(fd, &byte, 1, 0) == 1);  // still connected, and sendable
    sh("ip link set cell0 down");
    CHECK_THROWS_AS(reconnect_udp(fd, gateway, 4500), PlatformError);
    ::close(fd);
}

TEST_CASE("address_usable: configured, usable and on an up link") {
    IKEVPN_REQUIRE_NETNS();
    make_uplinks();
    NetlinkMonitor monitor;
    CHECK(monitor.address_usable(ip("192.0.2.10")));
    CHECK_FALSE(monitor.address_usable(ip("192.0.2.99")));
    sh("ip link set wifi0 down");
    CHECK_FALSE(monitor.address_usable(ip("192.0.2.10")));  // IPv4 addresses stay on a down link
    sh("ip -6 addr add 2001:db8:1::12/64 dev cell0 nodad preferred_lft 0");
    CHECK_FALSE(monitor.address_usable(ip("2001:db8:1::12")));  // deprecated
}

namespace {
// One datagram from `from` (bound to 127.0.0.x:from_port) to 127.0.0.1:`port`.
void send_from(const char* from, std::uint16_t from_port, std::uint16_t port) {
    const int fd = open_udp_listener(ip(from), from_port, mark, false);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(0x7f000001);
    const char byte = 7;
    ::sendto(fd, &byte, 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    ::close(fd);
}
bool readable(int fd) {
    char byte;
    for (int i = 0; i < 100; ++i) {
        if (::recv(fd, &byte, 1, MSG_DONTWAIT) == 1) return true;
        ::usleep(1000);
    }
    return false;
}
}  // namespace

TEST_CASE("a shared listener gets what does not come from the connected socket's peer") {
    IKEVPN_REQUIRE_NETNS();
    const int peer_port = 45000;
    const int main_fd = open_udp_socket(IpAddress::Family::v4, mark, 0);
    const auto [address, port] = reconnect_udp(main_fd, ip("127.0.0.1"), peer_port);
    share_address(main_fd);
    const int listener = open_udp_listener(address, port, mark, true);
    send_from("127.0.0.1", peer_port, port);  // the "gateway": the connected socket
    CHECK(readable(main_fd));
    CHECK_FALSE(readable(listener));
    send_from("127.0.0.3", peer_port, port);  // another address of the gateway: the listener
    CHECK(readable(listener));
    CHECK_FALSE(readable(main_fd));
    ::close(listener);
    ::close(main_fd);
}
