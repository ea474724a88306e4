#include "platform/netlink.hpp"

#include "platform/netlink_message.hpp"
#include "platform/platform_error.hpp"
#include "platform/tun_device.hpp"
#include "private_netns.hpp"

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <linux/rtnetlink.h>

using namespace ikevpn;
using namespace ikevpn::platform;
using ikevpn::platform::testing::run;

namespace {

IpAddress ip(const char* text) { return IpAddress::parse(text).value(); }
IpPrefix prefix(const char* text) { return IpPrefix::parse(text).value(); }

std::string sys_mtu(const std::string& name) {
    std::ifstream file("/sys/class/net/" + name + "/mtu");
    std::string mtu;
    file >> mtu;
    return mtu;
}

bool has_address(Netlink& netlink, int ifindex, const IpAddress& address, std::uint8_t length) {
    auto all = netlink.list_addresses(address.family());
    return std::any_of(all.begin(), all.end(), [&](const AddressInfo& a) {
        return a.ifindex == ifindex && a.address == address && a.prefix_len == length;
    });
}

template <class F>
int error_of(F&& action, std::string* message = nullptr) {
    try {
        action();
    } catch (const PlatformError& error) {
        if (message) *message = error.what();
        return error.code();
    }
    return 0;
}

}  // namespace

TEST_CASE("netlink message parsing rejects lengths that overrun the buffer") {
    // rtattr {len=8, type=3} + 4 value bytes, then a second attribute claiming 12 bytes with only 8 left.
    std::vector<std::uint8_t> attrs = {8, 0, 3, 0, 1, 2, 3, 4, 12, 0, 4, 0, 9, 9, 9, 9};
    std::vector<std::uint16_t> seen;
    CHECK_FALSE(nl::for_each_attr(attrs, [&](std::uint16_t type, nl::Span) { seen.push_back(type); }));
    CHECK(seen == std::vector<std::uint16_t>{3});

    attrs[8] = 8;  // now well formed
    seen.clear();
    CHECK(nl::for_each_attr(attrs, [&](std::uint16_t type, nl::Span value) {
        seen.push_back(type);
        CHECK(value.size() == 4);
    }));
    CHECK(seen == std::vector<std::uint16_t>{3, 4});

    std::vector<std::uint8_t> short_attr = {3, 0, 1, 0};  // rta_len below the header size
    CHECK_FALSE(nl::for_each_attr(short_attr, [](std::uint16_t, nl::Span) {}));

    // A message header claiming more bytes than were received.
    nl::MessageBuilder builder(RTM_NEWLINK, NLM_F_REQUEST);
    builder.put_u32(IFLA_MTU, 1400);
    auto& bytes = builder.bytes();
    CHECK(bytes.size() == sizeof(nlmsghdr) + 8);
    std::uint32_t claimed = static_cast<std::uint32_t>(bytes.size() + 4);
    std::memcpy(bytes.data(), &claimed, sizeof claimed);
    CHECK_FALSE(nl::for_each_message(bytes, [](const nlmsghdr&, nl::Span) {}));

    CHECK(nl::attr_u32(std::vector<std::uint8_t>{1, 2, 3}) == std::nullopt);
    CHECK(nl::attr_address(std::vector<std::uint8_t>{10, 0, 0, 1}, IpAddress::Family::v6) == std::nullopt);
    CHECK(nl::attr_address(std::vector<std::uint8_t>{10, 0, 0, 1}, IpAddress::Family::v4) == ip("10.0.0.1"));
}

TEST_CASE("set_link brings a TUN up with an MTU, visible in netlink and sysfs") {
    IKEVPN_REQUIRE_NETNS();
    TunDevice tun = TunDevice::open("ikevpn%d");
    Netlink netlink;
    CHECK_FALSE(netlink.link_info(tun.ifindex()).up);
    netlink.set_link(tun.ifindex(), true, 1380);
    LinkInfo info = netlink.link_info(tun.ifindex());
    CHECK(info.up);
    CHECK(info.mtu == 1380);
    CHECK(info.name == tun.name());
    CHECK(sys_mtu(tun.name()) == "1380");
    netlink.set_link(tun.ifindex(), false);
    CHECK_FALSE(netlink.link_info(tun.ifindex()).up);
    CHECK(netlink.link_info(tun.ifindex()).mtu == 1380);

    std::string message;
    CHECK(error_of([&] { netlink.link_index("no-such-link"); }, &message) == ENODEV);
    CHECK(message.find("no-such-link") != std::string::npos);
}

TEST_CASE("addresses are added, listed, refused twice with EEXIST, and deleted") {
    IKEVPN_REQUIRE_NETNS();
    TunDevice tun = TunDevice::open("ikevpn%d");
    Netlink netlink;
    netlink.set_link(tun.ifindex(), true, 1400);
    netlink.add_address(tun.ifindex(), ip("10.77.0.2"), 32);
    netlink.add_address(tun.ifindex(), ip("fd77::2"), 128);
    CHECK(has_address(netlink, tun.ifindex(), ip("10.77.0.2"), 32));
    CHECK(has_address(netlink, tun.ifindex(), ip("fd77::2"), 128));
    CHECK(run("ip -4 addr show dev " + tun.name()).find("inet 10.77.0.2/32") != std::string::npos);

    std::string message;
    CHECK(error_of([&] { netlink.add_address(tun.ifindex(), ip("10.77.0.2"), 32); }, &message) == EEXIST);
    // The kernel's extended-ack text, when it sends one, follows in parentheses.
    CHECK(message.rfind("add address 10.77.0.2/32 dev " + tun.name() + ": File exists", 0) == 0);

    netlink.del_address(tun.ifindex(), ip("10.77.0.2"), 32);
    netlink.del_address(tun.ifindex(), ip("fd77::2"), 128);
    CHECK_FALSE(has_address(netlink, tun.ifindex(), ip("10.77.0.2"), 32));
    CHECK_FALSE(has_address(netlink, tun.ifindex(), ip("fd77::2"), 128));
    CHECK(error_of([&] { netlink.del_address(tun.ifindex(), ip("10.77.0.2"), 32); }) == EADDRNOTAVAIL);
}

TEST_CASE("routes in a table and policy rules round-trip through the kernel") {
    IKEVPN_REQUIRE_NETNS();
    TunDevice tun = TunDevice::open("ikevpn%d");
    Netlink netlink;
    netlink.set_link(tun.ifindex(), true, 1400);
    netlink.add_address(tun.ifindex(), ip("10.78.0.2"), 32);

    RouteSpec route{prefix("0.0.0.0/0"), tun.ifindex(), 51999, ip("10.78.0.2"), std::nullopt};
    netlink.add_route(route);
    RouteSpec lan{prefix("192.0.2.0/24"), tun.ifindex(), 51999, std::nullopt, std::nullopt};
    netlink.add_route(lan);
    auto routes = netlink.list_routes(IpAddress::Family::v4, 51999);
    REQUIRE(routes.size() == 2);
    CHECK(std::count(routes.begin(), routes.end(), route) == 1);
    CHECK(std::count(routes.begin(), routes.end(), lan) == 1);
    std::string shown = run("ip route show table 51999");
    CHECK(shown.find("default dev " + tun.name() + " proto static scope link src 10.78.0.2") != std::string::npos);

    std::string message;
    CHECK(error_of([&] { netlink.add_route(route); }, &message) == EEXIST);
    CHECK(message.rfind("add route 0.0.0.0/0 dev " + tun.name() + " table 51999 src 10.78.0.2: File exists", 0) ==
          0);

    RuleSpec rule{IpAddress::Family::v4, 31000, 0x1234u, true, 51999, std::nullopt};
    RuleSpec suppress{IpAddress::Family::v4, 30999, std::nullopt, false, 254, std::uint8_t{0}};
    netlink.add_rule(rule);
    netlink.add_rule(suppress);
    auto rules = netlink.list_rules(IpAddress::Family::v4);
    CHECK(std::count(rules.begin(), rules.end(), rule) == 1);
    CHECK(std::count(rules.begin(), rules.end(), suppress) == 1);
    std::string ip_rule = run("ip -4 rule show");
    CHECK(ip_rule.find("31000:\tnot from all fwmark 0x1234 lookup 51999") != std::string::npos);
    CHECK(ip_rule.find("30999:\tfrom all lookup main suppress_prefixlength 0") != std::string::npos);
    CHECK(error_of([&] { netlink.add_rule(rule); }) == EEXIST);

    netlink.del_rule(rule);
    netlink.del_rule(suppress);
    netlink.del_route(route);
    netlink.del_route(lan);
    CHECK(netlink.list_routes(IpAddress::Family::v4, 51999).empty());
    rules = netlink.list_rules(IpAddress::Family::v4);
    CHECK(std::count(rules.begin(), rules.end(), rule) == 0);
    CHECK(error_of([&] { netlink.del_rule(rule); }) == ENOENT);
    CHECK(error_of([&] { netlink.del_route(route); }) == ESRCH);
}

TEST_CASE("route_get reports the device, gateway and source the kernel would use") {
    IKEVPN_REQUIRE_NETNS();
    TunDevice tun = TunDevice::open("ikevpn%d");
    Netlink netlink;
    netlink.set_link(tun.ifindex(), true, 1400);
    netlink.add_address(tun.ifindex(), ip("10.79.0.2"), 24);
    netlink.add_address(tun.ifindex(), ip("fd79::2"), 64);
    netlink.add_route({prefix("203.0.113.0/24"), tun.ifindex(), 254, std::nullopt, ip("10.79.0.1")});

    RouteLookup on_link = netlink.route_get(ip("10.79.0.9"));
    CHECK(on_link.ifindex == tun.ifindex());
    CHECK(on_link.source == ip("10.79.0.2"));
    CHECK_FALSE(on_link.gateway.has_value());

    RouteLookup via = netlink.route_get(ip("203.0.113.5"), 7u);
    CHECK(via.ifindex == tun.ifindex());
    CHECK(via.gateway == ip("10.79.0.1"));

    RouteLookup v6 = netlink.route_get(ip("fd79::99"));
    CHECK(v6.ifindex == tun.ifindex());
    CHECK(v6.source == ip("fd79::2"));

    std::string message;
    CHECK(error_of([&] { netlink.route_get(ip("198.51.100.1")); }, &message) == ENETUNREACH);
    CHECK(message.rfind("look up route to 198.51.100.1", 0) == 0);
}
