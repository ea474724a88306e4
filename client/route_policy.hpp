// Which extra routes keep a full tunnel of one address family from leaking the other family beside it
// (issue: "IPv6 handled — block or tunnel, never leak"). When the negotiated routes send every IPv4
// packet into the tunnel but no IPv6 at all (the gateway assigned no IPv6 address, or the profile asked for
// none), IPv6 would still leave through the physical uplink; and the other way round. The answer is a
// default route of the missing family into the TUN device: the data plane has no SA for those packets
// and drops them (counted as drops.no_sa), so nothing of that family leaves the host outside the tunnel.
#pragma once
#include "core/ip_address.hpp"

#include <vector>

namespace ikevpn::client {

// The default routes (0.0.0.0/0, ::/0) to add so that a family not carried by `routes` is blocked while
// the other family is fully tunnelled; empty for split tunnels and for full tunnels of both families.
// `ipv6_available`: the host has IPv6 at all (nothing to block otherwise, and the route could not be added).
std::vector<IpPrefix> leak_blocking_routes(const std::vector<IpPrefix>& routes, bool ipv6_available);

}  // namespace ikevpn::client
