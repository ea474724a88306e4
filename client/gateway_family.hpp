// The gateway's addresses of both families (issue 5: an IPv6-only uplink replaced by an IPv4-only one).
// The profile's gateway name is resolved to all its A and AAAA records; the first attempt keeps the old
// preference (IPv4 first). During the tunnel, when the family in use has no path at all, MOBIKE may move to
// the other family (RFC 4555 §3.5 restricts nothing about the family; §3.6 lists both in
// ADDITIONAL_IP4/IP6_ADDRESS): these helpers choose the address, the session moves the socket.
#pragma once
#include "core/ip_address.hpp"

#include <functional>
#include <optional>
#include <vector>

namespace ikevpn::client {

// Resolved addresses in the order to try them at connect: IPv4 before IPv6 (the order ikevpn always had),
// otherwise as the resolver gave them, each once.
std::vector<IpAddress> connect_order(const std::vector<IpAddress>& resolved);

// The address to move to when `current` (the gateway's address in use) has no path: the first address of the
// other family that `has_path` accepts — the resolved ones first (the name the user gave), then those the
// gateway announced (ADDITIONAL_IP4/IP6_ADDRESS). nullopt when there is none.
std::optional<IpAddress> other_family_gateway(const IpAddress& current, const std::vector<IpAddress>& resolved,
                                              const std::vector<IpAddress>& announced,
                                              const std::function<bool(const IpAddress&)>& has_path);

}  // namespace ikevpn::client
