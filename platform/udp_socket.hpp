// UDP sockets for IKE and ESP-in-UDP. They carry the client's firewall mark so that the policy rules of
// LinuxNetworkBuilder send them around the tunnel, and get large buffers because a userspace data plane
// loses packets to receive-buffer overflows long before it runs out of CPU.
#pragma once
#include "core/ip_address.hpp"

#include <cstdint>
#include <optional>
#include <sys/socket.h>
#include <utility>

namespace ikevpn::platform {

// Opens a non-blocking, close-on-exec UDP socket of `family` (IPv6 sockets are IPV6_V6ONLY) and binds it
// to `local` (default: the wildcard address) and `port` (default 0: an ephemeral port).
// - `fwmark`: SO_MARK (needs CAP_NET_ADMIN).
// - `buffer_bytes` > 0: SO_RCVBUFFORCE/SO_SNDBUFFORCE, which ignore net.core.rmem_max (needs
//   CAP_NET_ADMIN); without the privilege, falls back to SO_RCVBUF/SO_SNDBUF (capped by the sysctl).
// - `dual_stack` (IPv6 only): IPV6_V6ONLY off, so the socket also reaches IPv4 addresses (as ::ffff:a.b.c.d,
//   see socket_address_for) and a MOBIKE move can change the address family on the same fd.
// Returns the fd, owned by the caller. Throws PlatformError.
int open_udp_socket(IpAddress::Family family, std::optional<std::uint32_t> fwmark, int buffer_bytes,
                    std::optional<IpAddress> local = std::nullopt, std::uint16_t port = 0, bool dual_stack = false);

// `address`:`port` as a sockaddr_in or sockaddr_in6, for bind() and connect().
struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};
SocketAddress socket_address(const IpAddress& address, std::uint16_t port);

// socket_address(), except that an IPv4 address becomes IPv4-mapped (::ffff:a.b.c.d) when `fd` is an IPv6
// socket — the form a dual-stack socket needs for bind() and connect().
SocketAddress socket_address_for(int fd, const IpAddress& address, std::uint16_t port);
// An IPv4-mapped IPv6 address as the IPv4 address it stands for; any other address unchanged.
IpAddress unmapped(const IpAddress& address);

// The local address and port of a socket (IPv4-mapped addresses as IPv4). Throws PlatformError.
std::pair<IpAddress, std::uint16_t> local_endpoint(int fd);
// The port a socket is bound to (after binding to 0). Throws PlatformError.
std::uint16_t local_port(int fd);

}  // namespace ikevpn::platform
