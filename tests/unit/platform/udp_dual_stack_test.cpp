// Dual-stack UDP sockets (platform/udp_socket.hpp, dual_stack): the NAT-T socket that MOBIKE moves between
// the gateway's IPv4 and IPv6 addresses on the same fd (client/gateway_family.hpp).
#include "platform/udp_reconnect.hpp"
#include "platform/udp_socket.hpp"

#include "platform/platform_error.hpp"
#include "private_netns.hpp"
#include "socket_option.hpp"

#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace ikevpn;
using namespace ikevpn::platform;
using ikevpn::platform::testing::int_option;

namespace {

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

}  // namespace

TEST_CASE("unmapped: ::ffff:a.b.c.d is the IPv4 address; every other address stays as it is") {
    CHECK(unmapped(ip("::ffff:192.0.2.1")) == ip("192.0.2.1"));
    CHECK(unmapped(ip("192.0.2.1")) == ip("192.0.2.1"));
    CHECK(unmapped(ip("2001:db8::1")) == ip("2001:db8::1"));
    CHECK(unmapped(ip("::192.0.2.1")) == ip("::192.0.2.1"));  // IPv4-compatible (deprecated) is not mapped
    CHECK(unmapped(ip("::fffe:c000:201")) == ip("::fffe:c000:201"));
}

TEST_CASE("a dual-stack socket is an IPv6 socket without IPV6_V6ONLY; IPv4 addresses reach it mapped") {
    int fd = open_udp_socket(IpAddress::Family::v6, std::nullopt, 0, std::nullopt, 0, true);
    CHECK(int_option(fd, IPPROTO_IPV6, IPV6_V6ONLY) == 0);
    const SocketAddress to = socket_address_for(fd, ip("192.0.2.1"), 4500);
    REQUIRE(to.storage.ss_family == AF_INET6);
    CHECK(to.length == sizeof(sockaddr_in6));
    sockaddr_in6 sin6;
    std::memcpy(&sin6, &to.storage, sizeof sin6);
    const std::uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
    CHECK(std::memcmp(&sin6.sin6_addr, mapped, 16) == 0);
    CHECK(ntohs(sin6.sin6_port) == 4500);
    CHECK(socket_address_for(fd, ip("2001:db8::1"), 4500).storage.ss_family == AF_INET6);
    ::close(fd);

    int v4 = open_udp_socket(IpAddress::Family::v4, std::nullopt, 0);
    CHECK(socket_address_for(v4, ip("192.0.2.1"), 4500).storage.ss_family == AF_INET);  // no mapping on IPv4
    ::close(v4);
    CHECK_THROWS_AS(open_udp_socket(IpAddress::Family::v4, std::nullopt, 0, std::nullopt, 0, true), PlatformError);
}

TEST_CASE("one dual-stack fd moves from an IPv4 destination to an IPv6 one and back (reconnect_udp)") {
    IKEVPN_REQUIRE_NETNS();
    if (!ipv6_available()) {
        MESSAGE("skipped: IPv6 is disabled here");
        return;
    }
    int fd = open_udp_socket(IpAddress::Family::v6, 0x1234u, 0, std::nullopt, 0, true);
    auto [local4, port4] = reconnect_udp(fd, ip("127.0.0.1"), 4500);
    CHECK(local4 == ip("127.0.0.1"));  // shown as IPv4, not ::ffff:127.0.0.1
    CHECK(local_endpoint(fd).first == ip("127.0.0.1"));
    CHECK(port4 != 0);
    auto [local6, port6] = reconnect_udp(fd, ip("::1"), 4500);
    CHECK(local6 == ip("::1"));
    CHECK(port6 != 0);
    auto [back, port_back] = reconnect_udp(fd, ip("127.0.0.1"), 4500);
    CHECK(back == ip("127.0.0.1"));
    CHECK(port_back != 0);
    CHECK(int_option(fd, SOL_SOCKET, SO_MARK) == 0x1234);  // the mark survives the moves
    ::close(fd);

    // A single-family IPv6 socket cannot take the IPv4 destination: a clear error, not a silent mix.
    int v6only = open_udp_socket(IpAddress::Family::v6, std::nullopt, 0);
    CHECK_THROWS_AS(reconnect_udp(v6only, ip("127.0.0.1"), 4500), PlatformError);
    ::close(v6only);
}
