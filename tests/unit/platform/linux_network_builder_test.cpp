// LinuxNetworkBuilder against the real kernel, inside a private network namespace. The "lab" is two TUN
// devices: an uplink with a LAN (10.0.0.2/24, fd01::2/64) and default routes via 10.0.0.1 / fd01::1 —
// standing in for the physical interface — and the VPN tunnel the builder configures.
#include "platform/linux_network_builder.hpp"

#include "platform/platform_error.hpp"
#include "platform/tun_device.hpp"
#include "platform/udp_socket.hpp"
#include "private_netns.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <netinet/in.h>
#include <optional>
#include <poll.h>
#include <sys/socket.h>

using namespace ikevpn;
using namespace ikevpn::platform;
using ikevpn::platform::testing::run;

namespace {

IpAddress ip(const char* text) { return IpAddress::parse(text).value(); }
IpPrefix prefix(const char* text) { return IpPrefix::parse(text).value(); }
constexpr auto v4 = IpAddress::Family::v4;
constexpr auto v6 = IpAddress::Family::v6;
const PolicyRouting kPolicy{};

struct Lab {
    Netlink netlink;
    TunDevice uplink = TunDevice::open("iup%d");
    std::optional<TunDevice> vpn = TunDevice::open("ikevpn%d");

    Lab() {
        netlink.set_link(uplink.ifindex(), true, 1500);
        netlink.add_address(uplink.ifindex(), ip("10.0.0.2"), 24);
        netlink.add_address(uplink.ifindex(), ip("fd01::2"), 64);
        netlink.add_route({prefix("0.0.0.0/0"), uplink.ifindex(), 254, std::nullopt, ip("10.0.0.1")});
        netlink.add_route({prefix("::/0"), uplink.ifindex(), 254, std::nullopt, ip("fd01::1")});
    }
};

// Everything the builder may touch, as text (so that a failing comparison shows the difference).
std::string snapshot(Netlink& netlink, int vpn_ifindex) {
    std::string text;
    for (auto family : {v4, v6}) {
        for (const RuleSpec& r : netlink.list_rules(family))
            text += "rule " + std::to_string(r.priority) + (r.invert ? " not" : "") + " mark " +
                    std::to_string(r.fwmark.value_or(0)) + " table " + std::to_string(r.table) + "\n";
        for (std::uint32_t table : {254u, kPolicy.table})
            for (const RouteSpec& r : netlink.list_routes(family, table))
                text += "route " + r.destination.to_string() + " dev " + std::to_string(r.ifindex) + " table " +
                        std::to_string(r.table) + "\n";
        for (const AddressInfo& a : netlink.list_addresses(family))
            if (a.ifindex == vpn_ifindex) text += "address " + a.address.to_string() + "\n";
    }
    LinkInfo link = netlink.link_info(vpn_ifindex);
    text += "link " + std::to_string(link.mtu) + (link.up ? " up" : " down") + "\n";
    return text;
}

std::size_t count_rule(Netlink& netlink, const RuleSpec& rule) {
    auto rules = netlink.list_rules(rule.family);
    return static_cast<std::size_t>(std::count(rules.begin(), rules.end(), rule));
}

RuleSpec tunnel_rule(IpAddress::Family family) {
    return {family, kPolicy.priority, kPolicy.fwmark, true, kPolicy.table, std::nullopt};
}
RuleSpec suppress_rule(IpAddress::Family family) {
    return {family, kPolicy.priority - 1, std::nullopt, false, 254, std::uint8_t{0}};
}

void describe_full_tunnel(NetworkBuilder& builder, const TunDevice& vpn) {
    builder.set_tun(vpn.ifindex(), vpn.name(), 1380);
    builder.add_address(ip("10.99.0.2"), 32);
    builder.add_address(ip("fd99::2"), 128);
    builder.add_route(prefix("0.0.0.0/0"), ip("10.99.0.2"));
    builder.add_route(prefix("::/0"), ip("fd99::2"));
}

// An IPv4/UDP packet with a valid header checksum (the UDP checksum 0 means "none", RFC 768).
std::vector<std::uint8_t> udp_packet(const IpAddress& source, std::uint16_t source_port,
                                     const IpAddress& destination, std::uint16_t destination_port,
                                     std::string_view payload) {
    std::size_t total = 20 + 8 + payload.size();
    std::vector<std::uint8_t> p(total, 0);
    p[0] = 0x45;
    p[2] = static_cast<std::uint8_t>(total >> 8);
    p[3] = static_cast<std::uint8_t>(total);
    p[6] = 0x40;  // don't fragment
    p[8] = 64;    // TTL
    p[9] = IPPROTO_UDP;
    std::copy(source.bytes().begin(), source.bytes().end(), p.begin() + 12);
    std::copy(destination.bytes().begin(), destination.bytes().end(), p.begin() + 16);
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < 20; i += 2) sum += (p[i] << 8) | p[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    std::uint16_t checksum = static_cast<std::uint16_t>(~sum);
    p[10] = static_cast<std::uint8_t>(checksum >> 8);
    p[11] = static_cast<std::uint8_t>(checksum);
    p[20] = static_cast<std::uint8_t>(source_port >> 8);
    p[21] = static_cast<std::uint8_t>(source_port);
    p[22] = static_cast<std::uint8_t>(destination_port >> 8);
    p[23] = static_cast<std::uint8_t>(destination_port);
    std::size_t udp_length = 8 + payload.size();
    p[24] = static_cast<std::uint8_t>(udp_length >> 8);
    p[25] = static_cast<std::uint8_t>(udp_length);
    std::copy(payload.begin(), payload.end(), p.begin() + 28);
    return p;
}

bool wait_readable(int fd) {
    pollfd entry{fd, POLLIN, 0};
    return ::poll(&entry, 1, 1000) == 1;
}

void send_to(int fd, const char* address, std::uint16_t port, std::string_view payload) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    REQUIRE(::inet_pton(AF_INET, address, &to.sin_addr) == 1);
    REQUIRE(::sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
            static_cast<ssize_t>(payload.size()));
}

// Reads the TUN until an IPv4/UDP packet to `destination` shows up (IPv6 neighbour discovery and the
// like may come first); returns it, or an empty vector.
std::vector<std::uint8_t> next_udp_packet_to(TunDevice& tun, const IpAddress& destination) {
    std::array<std::array<std::uint8_t, 2048>, 4> buffers{};
    for (int attempt = 0; attempt < 10 && wait_readable(tun.fd()); ++attempt) {
        std::array<PacketSlot, 4> slots;
        for (std::size_t i = 0; i < slots.size(); ++i) slots[i] = {buffers[i].data(), buffers[i].size(), 0};
        std::size_t n = tun.read_batch(slots);
        for (std::size_t i = 0; i < n; ++i) {
            const auto* p = slots[i].data;
            if (slots[i].length >= 28 && p[0] == 0x45 && p[9] == IPPROTO_UDP &&
                std::equal(p + 16, p + 20, destination.bytes().begin()))
                return std::vector<std::uint8_t>(p, p + slots[i].length);
        }
    }
    return {};
}

}  // namespace

TEST_CASE("a full tunnel goes into table T behind policy rules, and teardown restores the initial state") {
    IKEVPN_REQUIRE_NETNS();
    Lab lab;
    const std::string before = snapshot(lab.netlink, lab.vpn->ifindex());
    LinuxNetworkBuilder builder;
    describe_full_tunnel(builder, *lab.vpn);
    builder.establish();
    CHECK(builder.established());

    for (auto family : {v4, v6}) {
        CHECK(count_rule(lab.netlink, tunnel_rule(family)) == 1);
        CHECK(count_rule(lab.netlink, suppress_rule(family)) == 1);
        CHECK(lab.netlink.list_routes(family, kPolicy.table).size() == 1);
    }
    std::string ip_rule = run("ip -4 rule show");
    CHECK(ip_rule.find("31879:\tfrom all lookup main suppress_prefixlength 0") != std::string::npos);
    CHECK(ip_rule.find("31880:\tnot from all fwmark 0xcaa8 lookup 51880") != std::string::npos);
    CHECK(run("ip -6 route show table 51880").find("default dev " + lab.vpn->name()) != std::string::npos);
    LinkInfo link = lab.netlink.link_info(lab.vpn->ifindex());
    CHECK(link.up);
    CHECK(link.mtu == 1380);

    // Ordinary traffic enters the tunnel with the virtual IP as its source ...
    RouteLookup tunneled = lab.netlink.route_get(ip("198.51.100.7"));
    CHECK(tunneled.ifindex == lab.vpn->ifindex());
    CHECK(tunneled.source == ip("10.99.0.2"));
    RouteLookup tunneled6 = lab.netlink.route_get(ip("2001:db8::1"));
    CHECK(tunneled6.ifindex == lab.vpn->ifindex());
    CHECK(tunneled6.source == ip("fd99::2"));
    // ... marked traffic (IKE/ESP to the gateway) keeps the normal default route ...
    RouteLookup marked = lab.netlink.route_get(ip("198.51.100.7"), kPolicy.fwmark);
    CHECK(marked.ifindex == lab.uplink.ifindex());
    CHECK(marked.gateway == ip("10.0.0.1"));
    CHECK(marked.source == ip("10.0.0.2"));
    RouteLookup marked6 = lab.netlink.route_get(ip("2001:db8::1"), kPolicy.fwmark);
    CHECK(marked6.ifindex == lab.uplink.ifindex());
    CHECK(marked6.gateway == ip("fd01::1"));
    // ... and the LAN stays reachable thanks to "suppress_prefixlength 0".
    CHECK(lab.netlink.route_get(ip("10.0.0.9")).ifindex == lab.uplink.ifindex());

    builder.teardown();
    CHECK_FALSE(builder.established());
    CHECK(builder.teardown_errors().empty());
    CHECK(snapshot(lab.netlink, lab.vpn->ifindex()) == before);
    builder.teardown();  // idempotent
    CHECK(builder.teardown_errors().empty());
    CHECK(snapshot(lab.netlink, lab.vpn->ifindex()) == before);
    CHECK(lab.netlink.route_get(ip("198.51.100.7")).ifindex == lab.uplink.ifindex());
}

TEST_CASE("packets follow the routes: unmarked into the TUN, marked around it, TUN writes reach sockets") {
    IKEVPN_REQUIRE_NETNS();
    Lab lab;
    LinuxNetworkBuilder builder;
    builder.set_tun(lab.vpn->ifindex(), lab.vpn->name(), 1400);
    builder.add_address(ip("10.99.0.2"), 32);
    builder.add_route(prefix("0.0.0.0/0"), ip("10.99.0.2"));
    builder.establish();

    int plain = open_udp_socket(v4, std::nullopt, 0);
    int marked = open_udp_socket(v4, kPolicy.fwmark, 1 << 20);
    send_to(plain, "198.51.100.7", 4444, "into the tunnel");
    auto packet = next_udp_packet_to(*lab.vpn, ip("198.51.100.7"));
    REQUIRE(packet.size() == 28 + 15);
    CHECK(IpAddress::from_bytes(ByteView(packet.data() + 12, 4)) == ip("10.99.0.2"));
    CHECK(std::string(packet.begin() + 28, packet.end()) == "into the tunnel");

    send_to(marked, "198.51.100.7", 4500, "to the gateway");
    auto around = next_udp_packet_to(lab.uplink, ip("198.51.100.7"));
    REQUIRE(around.size() == 28 + 14);
    CHECK(IpAddress::from_bytes(ByteView(around.data() + 12, 4)) == ip("10.0.0.2"));
    CHECK(std::string(around.begin() + 28, around.end()) == "to the gateway");

    // The reverse direction: a decrypted packet written into the TUN is delivered to the local socket.
    auto reply = udp_packet(ip("198.51.100.7"), 4444, ip("10.99.0.2"), local_port(plain), "reply");
    std::array<PacketSlot, 1> slots{PacketSlot{reply.data(), reply.size(), reply.size()}};
    CHECK(lab.vpn->write_batch(slots) == 1);
    CHECK(lab.vpn->dropped_writes() == 0);
    REQUIRE(wait_readable(plain));
    char received[64] = {};
    CHECK(::recv(plain, received, sizeof received, 0) == 5);
    CHECK(std::string(received) == "reply");

    // A runt the kernel refuses is consumed and counted, not retried forever.
    std::uint8_t runt[3] = {0x45, 0, 0};
    std::array<PacketSlot, 1> bad{PacketSlot{runt, sizeof runt, sizeof runt}};
    CHECK(lab.vpn->write_batch(bad) == 1);
    ::close(plain);
    ::close(marked);
}

TEST_CASE("split routes add no suppress rule, and the destructor tears down") {
    IKEVPN_REQUIRE_NETNS();
    Lab lab;
    const std::string before = snapshot(lab.netlink, lab.vpn->ifindex());
    {
        LinuxNetworkBuilder builder;
        builder.set_tun(lab.vpn->ifindex(), lab.vpn->name(), 1400);
        builder.add_address(ip("10.99.0.2"), 32);
        builder.add_route(prefix("192.0.2.0/24"), ip("10.99.0.2"));
        builder.add_route(prefix("198.51.100.0/24"), std::nullopt);
        builder.establish();
        CHECK(count_rule(lab.netlink, tunnel_rule(v4)) == 1);
        CHECK(count_rule(lab.netlink, suppress_rule(v4)) == 0);
        CHECK(count_rule(lab.netlink, tunnel_rule(v6)) == 0);  // no IPv6 route, no IPv6 rule
        CHECK(lab.netlink.list_routes(v4, kPolicy.table).size() == 2);
        CHECK(lab.netlink.route_get(ip("192.0.2.1")).ifindex == lab.vpn->ifindex());
        CHECK(lab.netlink.route_get(ip("203.0.113.1")).ifindex == lab.uplink.ifindex());
        CHECK_THROWS_AS(builder.establish(), PlatformError);  // already established
    }
    CHECK(snapshot(lab.netlink, lab.vpn->ifindex()) == before);
}

TEST_CASE("a failing establish undoes its partial work") {
    IKEVPN_REQUIRE_NETNS();
    Lab lab;
    const std::string before = snapshot(lab.netlink, lab.vpn->ifindex());
    LinuxNetworkBuilder builder;
    builder.set_tun(lab.vpn->ifindex(), lab.vpn->name(), 1400);
    builder.add_address(ip("10.99.0.2"), 32);
    builder.add_route(prefix("192.0.2.0/24"), ip("10.99.0.2"));
    builder.add_route(prefix("198.51.100.0/24"), ip("10.55.0.1"));  // not a local address: EINVAL
    try {
        builder.establish();
        FAIL("establish should have failed");
    } catch (const PlatformError& error) {
        CHECK(error.code() == EINVAL);
        CHECK(std::string(error.what()).rfind("add route 198.51.100.0/24 dev " + lab.vpn->name(), 0) == 0);
    }
    CHECK_FALSE(builder.established());
    CHECK(snapshot(lab.netlink, lab.vpn->ifindex()) == before);

    LinuxNetworkBuilder no_tun;
    CHECK_THROWS_AS(no_tun.establish(), PlatformError);
}

TEST_CASE("teardown tolerates objects that vanished already") {
    IKEVPN_REQUIRE_NETNS();
    Lab lab;
    LinuxNetworkBuilder builder;
    describe_full_tunnel(builder, *lab.vpn);
    builder.establish();
    lab.netlink.del_rule(suppress_rule(v4));
    lab.vpn.reset();  // the TUN disappears, taking its addresses and routes with it
    builder.teardown();
    CHECK(builder.teardown_errors().empty());
    for (auto family : {v4, v6}) {
        CHECK(count_rule(lab.netlink, tunnel_rule(family)) == 0);
        CHECK(count_rule(lab.netlink, suppress_rule(family)) == 0);
    }
}

TEST_CASE("cleanup_stale removes what a crashed run left, and nothing else") {
    IKEVPN_REQUIRE_NETNS();
    Lab lab;
    RuleSpec foreign{v4, 100, 0x77u, false, 1000, std::nullopt};
    lab.netlink.add_rule(foreign);
    // What a killed client leaves behind: its rules, and a route in table T on a still-existing device.
    lab.netlink.add_rule(suppress_rule(v4));
    lab.netlink.add_rule(tunnel_rule(v4));
    lab.netlink.add_rule(tunnel_rule(v6));
    lab.netlink.set_link(lab.vpn->ifindex(), true);
    lab.netlink.add_route({prefix("0.0.0.0/0"), lab.vpn->ifindex(), kPolicy.table, std::nullopt, std::nullopt});

    CHECK(LinuxNetworkBuilder::cleanup_stale(lab.netlink) == 4);
    for (auto family : {v4, v6}) {
        CHECK(count_rule(lab.netlink, tunnel_rule(family)) == 0);
        CHECK(lab.netlink.list_routes(family, kPolicy.table).empty());
    }
    CHECK(count_rule(lab.netlink, suppress_rule(v4)) == 0);
    CHECK(count_rule(lab.netlink, foreign) == 1);
    CHECK(LinuxNetworkBuilder::cleanup_stale(lab.netlink) == 0);
    lab.netlink.del_rule(foreign);
}
