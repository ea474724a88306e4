#include "platform/tun_device.hpp"

#include "platform/netlink.hpp"
#include "platform/platform_error.hpp"
#include "private_netns.hpp"

#include <array>
#include <cerrno>
#include <fcntl.h>
#include <filesystem>

using namespace ikevpn::platform;

TEST_CASE("a TUN name that the kernel cannot take is refused before any system call") {
    CHECK_THROWS_AS(TunDevice::open(""), PlatformError);
    CHECK_THROWS_AS(TunDevice::open("a-name-much-too-long"), PlatformError);
}

TEST_CASE("a template TUN gets a resolved name, its index, and a non-blocking close-on-exec fd") {
    IKEVPN_REQUIRE_NETNS();
    TunDevice tun = TunDevice::open("ikevpn%d");
    CHECK(tun.name().rfind("ikevpn", 0) == 0);
    CHECK(tun.name().find('%') == std::string::npos);
    Netlink netlink;
    CHECK(netlink.link_index(tun.name()) == tun.ifindex());
    CHECK(std::filesystem::exists("/sys/class/net/" + tun.name()));
    int flags = ::fcntl(tun.fd(), F_GETFL);
    CHECK((flags & O_NONBLOCK) != 0);
    CHECK((::fcntl(tun.fd(), F_GETFD) & FD_CLOEXEC) != 0);

    // Nothing is queued on a fresh, down device: the batch ends at EAGAIN without an error.
    std::array<std::uint8_t, 2048> buffer{};
    std::array<PacketSlot, 1> slots{PacketSlot{buffer.data(), buffer.size(), 0}};
    CHECK(tun.read_batch(slots) == 0);
    CHECK(tun.last_error() == 0);
}

TEST_CASE("a named TUN is exclusive to its fd, moves, and disappears when closed") {
    IKEVPN_REQUIRE_NETNS();
    Netlink netlink;
    std::string name;
    {
        TunDevice first = TunDevice::open("iketest0");
        name = first.name();
        CHECK(name == "iketest0");
        // A second open of a non-persistent TUN that is attached already fails (EBUSY).
        CHECK_THROWS_AS(TunDevice::open("iketest0"), PlatformError);

        TunDevice moved = std::move(first);
        CHECK(first.fd() == -1);
        CHECK(moved.name() == "iketest0");
        CHECK(netlink.link_index(name) == moved.ifindex());
    }
    try {
        netlink.link_index(name);
        FAIL("the TUN outlived its fd");
    } catch (const PlatformError& error) {
        CHECK(error.code() == ENODEV);
        CHECK(std::string(error.what()).find("iketest0") != std::string::npos);
    }
}
