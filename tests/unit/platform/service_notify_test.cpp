#include "platform/service_notify.hpp"

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

using ikevpn::platform::ServiceNotifier;

namespace {

// A datagram socket standing in for the service manager: bound to `name` ("/path" or "@abstract").
struct Listener {
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    std::string path;
    explicit Listener(const std::string& name) {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::memcpy(address.sun_path, name.data(), name.size());
        socklen_t length = offsetof(sockaddr_un, sun_path) + name.size();
        if (name[0] == '@') address.sun_path[0] = '\0';
        else path = name;
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), length) == 0);
    }
    ~Listener() {
        ::close(fd);
        if (!path.empty()) ::unlink(path.c_str());
    }
    std::string receive() const {
        char buffer[512];
        const ssize_t n = ::recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
        return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
    }
};

}  // namespace

TEST_CASE("notify sends one datagram to a socket path and to an abstract socket") {
    const std::string path = "/tmp/ikevpn-notify-test-" + std::to_string(::getpid());
    Listener by_path(path);
    ServiceNotifier notifier(path);
    REQUIRE(notifier.enabled());
    notifier.notify("READY=1\nSTATUS=connected");
    CHECK(by_path.receive() == "READY=1\nSTATUS=connected");

    const std::string abstract = "@ikevpn-notify-test-" + std::to_string(::getpid());
    Listener by_name(abstract);
    ServiceNotifier abstract_notifier(abstract);
    REQUIRE(abstract_notifier.enabled());
    abstract_notifier.notify("STOPPING=1");
    CHECK(by_name.receive() == "STOPPING=1");
}

TEST_CASE("no or unusable NOTIFY_SOCKET: disabled, and notify does nothing") {
    for (const char* name : {"", "relative/path", "@", "/"}) {
        ServiceNotifier notifier{std::string(name)};
        CHECK_FALSE(notifier.enabled());
        notifier.notify("READY=1");
    }
    ServiceNotifier too_long(std::string(200, '/'));
    CHECK_FALSE(too_long.enabled());
    // A vanished service manager is not an error.
    ServiceNotifier gone("/tmp/ikevpn-notify-test-nobody-listens");
    CHECK(gone.enabled());
    gone.notify("READY=1");
}
