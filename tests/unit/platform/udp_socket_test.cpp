#include "platform/udp_socket.hpp"

#include "platform/platform_error.hpp"
#include "private_netns.hpp"
#include "socket_option.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

using namespace ikevpn;
using namespace ikevpn::platform;
using ikevpn::platform::testing::int_option;

TEST_CASE("a UDP socket is non-blocking, close-on-exec and bound to an ephemeral port") {
    int fd = open_udp_socket(IpAddress::Family::v4, std::nullopt, 0);
    CHECK((::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    CHECK((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    CHECK(local_port(fd) != 0);
    CHECK(int_option(fd, SOL_SOCKET, SO_MARK) == 0);
    ::close(fd);

    int v6 = open_udp_socket(IpAddress::Family::v6, std::nullopt, 0);
    CHECK(int_option(v6, IPPROTO_IPV6, IPV6_V6ONLY) == 1);
    ::close(v6);

    CHECK_THROWS_AS(open_udp_socket(IpAddress::Family::v6, std::nullopt, 0, IpAddress::parse("127.0.0.1")),
                    PlatformError);
}

TEST_CASE("a UDP socket carries its fwmark and forced buffers") {
    IKEVPN_REQUIRE_NETNS();
    constexpr int kBuffer = 4 * 1024 * 1024;  // above the default rmem_max: only the FORCE options reach it
    int fd = open_udp_socket(IpAddress::Family::v4, 0xcaa8u, kBuffer, IpAddress::parse("127.0.0.1"));
    CHECK(int_option(fd, SOL_SOCKET, SO_MARK) == 0xcaa8);
    // The kernel doubles the requested size for its bookkeeping.
    CHECK(int_option(fd, SOL_SOCKET, SO_RCVBUF) == 2 * kBuffer);
    CHECK(int_option(fd, SOL_SOCKET, SO_SNDBUF) == 2 * kBuffer);
    std::uint16_t port = local_port(fd);
    CHECK(port != 0);

    // A second socket cannot take the same explicit port.
    try {
        open_udp_socket(IpAddress::Family::v4, std::nullopt, 0, IpAddress::parse("127.0.0.1"), port);
        FAIL("bound twice");
    } catch (const PlatformError& error) {
        CHECK(error.code() == EADDRINUSE);
        CHECK(std::string(error.what()) ==
              "bind UDP socket to 127.0.0.1 port " + std::to_string(port) + ": Address already in use");
    }
    ::close(fd);
}
