#include "platform/udp_reconnect.hpp"

#include "platform/platform_error.hpp"

#include <cerrno>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ikevpn::platform {

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
        if (fwmark != 0 && ::setsockopt(fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof fwmark) != 0) throw_errno("set SO_MARK");
        if (shared) share_address(fd);
        const SocketAddress address = socket_address(local, port);
        if (::bind(fd, address.get(), address.length) != 0)
            throw_errno("bind a UDP listener to " + local.to_string() + ":" + std::to_string(port));
    } catch (...) {
        ::close(fd);
        throw;
    }
    return fd;
}

std::pair<IpAddress, std::uint16_t> reconnect_udp(int fd, const IpAddress& remote, std::uint16_t remote_port,
                                                  int device) {
    const SocketAddress to = socket_address_for(fd, remote, remote_port);  // a dual-stack socket: either family
    sockaddr unspecified{};
    unspecified.sa_family = AF_UNSPEC;
    ::connect(fd, &unspecified, sizeof unspecified);  // "dissolve the association" (connect(2)); cannot fail here
    // Kernels before 5.0 lack SO_BINDTOIFINDEX: fine as long as no binding is asked for.
    if (::setsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &device, sizeof device) != 0 &&
        (device != 0 || errno != ENOPROTOOPT))
        throw_errno(device ? "bind the UDP socket to device " + std::to_string(device)
                           : std::string("unbind the UDP socket from its device"));
    if (::connect(fd, to.get(), to.length) != 0)
        throw_errno("connect the UDP socket to " + remote.to_string() + " again");
    return local_endpoint(fd);
}

void hold_on_device(int fd, int device) {
    if (::setsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &device, sizeof device) != 0)
        throw_errno("bind the UDP socket to device " + std::to_string(device));
}

}  // namespace ikevpn::platform
