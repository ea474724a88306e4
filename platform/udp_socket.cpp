#include "platform/udp_socket.hpp"

#include "platform/platform_error.hpp"

#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ikevpn::platform {
namespace {

// Closes the fd unless released — so every error path below leaks nothing.
class FdGuard {
public:
    explicit FdGuard(int fd) : fd_(fd) {}
    FdGuard(const FdGuard&) = delete;
    FdGuard& operator=(const FdGuard&) = delete;
    ~FdGuard() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }
    int release() {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }

private:
    int fd_;
};

void set_int_option(int fd, int level, int option, int value, const char* what) {
    if (::setsockopt(fd, level, option, &value, sizeof value) < 0) throw_errno(std::string("set ") + what);
}

void set_buffer(int fd, int forced_option, int plain_option, int bytes, const char* what) {
    if (::setsockopt(fd, SOL_SOCKET, forced_option, &bytes, sizeof bytes) == 0) return;
    if (errno != EPERM) throw_errno(std::string("set ") + what + "FORCE");
    set_int_option(fd, SOL_SOCKET, plain_option, bytes, what);
}

}  // namespace

int open_udp_socket(IpAddress::Family family, std::optional<std::uint32_t> fwmark, int buffer_bytes,
                    std::optional<IpAddress> local, std::uint16_t port, bool dual_stack) {
    const bool v4 = family == IpAddress::Family::v4;
    if (local && local->family() != family)
        throw PlatformError("open UDP socket: local address family differs", EINVAL);
    if (v4 && dual_stack) throw PlatformError("open UDP socket: a dual-stack socket is an IPv6 socket", EINVAL);
    FdGuard fd(::socket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP));
    if (fd.get() < 0) throw_errno(v4 ? "open UDP/IPv4 socket" : "open UDP/IPv6 socket");

    if (!v4) set_int_option(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, dual_stack ? 0 : 1, "IPV6_V6ONLY");
    if (fwmark) {
        if (::setsockopt(fd.get(), SOL_SOCKET, SO_MARK, &*fwmark, sizeof *fwmark) < 0)
            throw_errno("set SO_MARK " + std::to_string(*fwmark));
    }
    if (buffer_bytes > 0) {
        set_buffer(fd.get(), SO_RCVBUFFORCE, SO_RCVBUF, buffer_bytes, "SO_RCVBUF");
        set_buffer(fd.get(), SO_SNDBUFFORCE, SO_SNDBUF, buffer_bytes, "SO_SNDBUF");
    }

    const IpAddress wildcard = v4 ? IpAddress::v4({}) : IpAddress::v6({});
    const SocketAddress address = socket_address(local.value_or(wildcard), port);
    if (::bind(fd.get(), address.get(), address.length) < 0) {
        std::string where = local ? local->to_string() : std::string(v4 ? "0.0.0.0" : "::");
        throw_errno("bind UDP socket to " + where + " port " + std::to_string(port));
    }
    return fd.release();
}

SocketAddress socket_address(const IpAddress& address, std::uint16_t port) {
    SocketAddress out;
    if (address.is_v4()) {
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_port = htons(port);
        std::memcpy(&sin.sin_addr, address.bytes().data(), 4);
        std::memcpy(&out.storage, &sin, sizeof sin);
        out.length = sizeof sin;
    } else {
        sockaddr_in6 sin6{};
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(port);
        std::memcpy(&sin6.sin6_addr, address.bytes().data(), 16);
        std::memcpy(&out.storage, &sin6, sizeof sin6);
        out.length = sizeof sin6;
    }
    return out;
}

SocketAddress socket_address_for(int fd, const IpAddress& address, std::uint16_t port) {
    int domain = 0;
    socklen_t length = sizeof domain;
    if (!address.is_v4() || ::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) != 0 || domain != AF_INET6)
        return socket_address(address, port);
    std::array<std::uint8_t, 16> mapped{};  // ::ffff:a.b.c.d (RFC 4291 §2.5.5.2)
    mapped[10] = mapped[11] = 0xff;
    std::memcpy(mapped.data() + 12, address.bytes().data(), 4);
    return socket_address(IpAddress::v6(mapped), port);
}

IpAddress unmapped(const IpAddress& address) {
    if (address.is_v4()) return address;
    static constexpr std::uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(address.bytes().data(), prefix, sizeof prefix) != 0) return address;
    std::array<std::uint8_t, 4> v4;
    std::memcpy(v4.data(), address.bytes().data() + 12, 4);
    return IpAddress::v4(v4);
}

std::pair<IpAddress, std::uint16_t> local_endpoint(int fd) {
    sockaddr_storage local{};
    socklen_t length = sizeof local;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0) throw_errno("read the socket's address");
    if (local.ss_family == AF_INET) {
        sockaddr_in v4;
        std::memcpy(&v4, &local, sizeof v4);
        std::array<std::uint8_t, 4> bytes;
        std::memcpy(bytes.data(), &v4.sin_addr, 4);
        return {IpAddress::v4(bytes), ntohs(v4.sin_port)};
    }
    sockaddr_in6 v6;
    std::memcpy(&v6, &local, sizeof v6);
    std::array<std::uint8_t, 16> bytes;
    std::memcpy(bytes.data(), &v6.sin6_addr, 16);
    return {unmapped(IpAddress::v6(bytes)), ntohs(v6.sin6_port)};  // a dual-stack socket's IPv4 path
}

std::uint16_t local_port(int fd) { return local_endpoint(fd).second; }

}  // namespace ikevpn::platform
