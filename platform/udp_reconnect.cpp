#include "platform/udp_reconnect.hpp"

#include "platform/platform_error.hpp"

#include <arpa/inet.h>
#include <array>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ikevpn::platform {

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
    return {IpAddress::v6(bytes), ntohs(v6.sin6_port)};
}

void share_address(int fd) {
    const int on = 1;
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) throw_errno("set SO_REUSEADDR");
}

int open_udp_listener(const IpAddress& local, std::uint16_t port, std::uint32_t fwmark, bool shared) {
    const int fd = ::socket(local.is_v4() ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
    if (fd < 0) throw_errno("open a UDP listener");
    try {
        const int on = 1;
        if (!local.is_v4() && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0) throw_errno("set IPV6_V6ONLY");
        if (::setsockopt(fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof fwmark) != 0) throw_errno("set SO_MARK");
        if (shared) share_address(fd);
        sockaddr_storage address{};
        socklen_t length = 0;
        if (local.is_v4()) {
            sockaddr_in v4{};
            v4.sin_family = AF_INET;
            v4.sin_port = htons(port);
            std::memcpy(&v4.sin_addr, local.bytes().data(), 4);
            std::memcpy(&address, &v4, sizeof v4);
            length = sizeof v4;
        } else {
            sockaddr_in6 v6{};
            v6.sin6_family = AF_INET6;
            v6.sin6_port = htons(port);
            std::memcpy(&v6.sin6_addr, local.bytes().data(), 16);
            std::memcpy(&address, &v6, sizeof v6);
            length = sizeof v6;
        }
        if (::bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0)
            throw_errno("bind a UDP listener to " + local.to_string() + ":" + std::to_string(port));
    } catch (...) {
        ::close(fd);
        throw;
    }
    return fd;
}

std::pair<IpAddress, std::uint16_t> reconnect_udp(int fd, const IpAddress& remote, std::uint16_t remote_port) {
    sockaddr_storage to{};
    socklen_t length = 0;
    if (remote.is_v4()) {
        sockaddr_in v4{};
        v4.sin_family = AF_INET;
        v4.sin_port = htons(remote_port);
        std::memcpy(&v4.sin_addr, remote.bytes().data(), 4);
        std::memcpy(&to, &v4, sizeof v4);
        length = sizeof v4;
    } else {
        sockaddr_in6 v6{};
        v6.sin6_family = AF_INET6;
        v6.sin6_port = htons(remote_port);
        std::memcpy(&v6.sin6_addr, remote.bytes().data(), 16);
        std::memcpy(&to, &v6, sizeof v6);
        length = sizeof v6;
    }
    sockaddr unspecified{};
    unspecified.sa_family = AF_UNSPEC;
    ::connect(fd, &unspecified, sizeof unspecified);  // "dissolve the association" (connect(2)); cannot fail here
    if (::connect(fd, reinterpret_cast<sockaddr*>(&to), length) != 0)
        throw_errno("connect the UDP socket to " + remote.to_string() + " again");
    return local_endpoint(fd);
}

}  // namespace ikevpn::platform
