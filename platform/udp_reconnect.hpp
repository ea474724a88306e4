// Moving a connected UDP socket to the source address the routing table picks now (MOBIKE): the same fd —
// so whatever waits on it, batches through it and the SAs behind it stay as they are — disconnected
// (AF_UNSPEC, which also releases the kernel-chosen source address and port) and connected again to the
// same destination. The kernel then chooses the source the way it would for a new socket with the same
// firewall mark, and a fresh ephemeral port.
#pragma once
#include "core/ip_address.hpp"
#include "platform/udp_socket.hpp"  // local_endpoint

#include <cstdint>
#include <utility>

namespace ikevpn::platform {

// With `device` (an ifindex) the socket is bound to that device (SO_BINDTOIFINDEX) between the two steps —
// the disconnect clears a binding — so the route and source come from that device alone; needed when the
// kernel's best route leads into a link without carrier (NetlinkMonitor::path_for: `pinned`). 0 = any device.
// Returns the new local address and port. Throws PlatformError (e.g. ENETUNREACH when no route exists).
std::pair<IpAddress, std::uint16_t> reconnect_udp(int fd, const IpAddress& remote, std::uint16_t remote_port,
                                                  int device = 0);

// Keeps the connected UDP socket `fd` on `device` (SO_BINDTOIFINDEX) without reconnecting it: the same
// address and port; the kernel drops its cached route, so from the next datagram on only routes through
// that device are used. Undone by the next reconnect_udp (a disconnect clears a device binding). Throws.
void hold_on_device(int fd, int device);

// SO_REUSEADDR on `fd`, so that an unconnected socket (open_udp_listener) may bind the same address and port:
// Linux then delivers datagrams from the connected peer to the connected socket and all others to the
// unconnected one. Throws PlatformError.
void share_address(int fd);

// An unconnected, non-blocking UDP socket with mark `fwmark` (0: none) bound to `local`:`port`; with `shared`, with
// SO_REUSEADDR set before the bind (see share_address). Returns the fd, owned by the caller. Throws.
int open_udp_listener(const IpAddress& local, std::uint16_t port, std::uint32_t fwmark, bool shared);


}  // namespace ikevpn::platform
