#include "platform/udp_socket.hpp"

#include "platform/platform_error.hpp"

#include <arpa/inet.h>
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
                    std::optional<IpAddress> local, std::uint16_t port) {
    const bool v4 = family == IpAddress::Family::v4;
    if (local && local->family() != family)
        throw PlatformError("open UDP socket: local address family differs", EINVAL);
    FdGuard fd(::socket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP));
    if (fd.get() < 0) throw_errno(v4 ? "open UDP/IPv4 socket" : "open UDP/IPv6 socket");

    if (!v4) set_int_option(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY");
    if (fwmark) {
        if (::setsockopt(fd.get(), SOL_SOCKET, SO_MARK, &*fwmark, sizeof *fwmark) < 0)
            throw_errno("set SO_MARK " + std::to_string(*fwmark));
    }
    if (buffer_bytes > 0) {
        set_buffer(fd.get(), SO_RCVBUFFORCE, SO_RCVBUF, buffer_bytes, "SO_RCVBUF");
        set_buffer(fd.get(), SO_SNDBUFFORCE, SO_SNDBUF, buffer_bytes, "SO_SNDBUF");
    }

    sockaddr_storage address{};
    socklen_t length = 0;
    if (v4) {
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_port = htons(port);
        if (local) std::memcpy(&sin.sin_addr, local->bytes().data(), 4);
        std::memcpy(&address, &sin, sizeof sin);
        length = sizeof sin;
    } else {
        sockaddr_in6 sin6{};
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(port);
        if (local) std::memcpy(&sin6.sin6_addr, local->bytes().data(), 16);
        std::memcpy(&address, &sin6, sizeof sin6);
        length = sizeof sin6;
    }
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), length) < 0) {
        std::string where = local ? local->to_string() : std::string(v4 ? "0.0.0.0" : "::");
        throw_errno("bind UDP socket to " + where + " port " + std::to_string(port));
    }
    return fd.release();
}

std::uint16_t local_port(int fd) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) < 0) throw_errno("get socket name");
    if (address.ss_family == AF_INET) {
        sockaddr_in sin;
        std::memcpy(&sin, &address, sizeof sin);
        return ntohs(sin.sin_port);
    }
    sockaddr_in6 sin6;
    std::memcpy(&sin6, &address, sizeof sin6);
    return ntohs(sin6.sin6_port);
}

}  // namespace ikevpn::platform
