// Configuration payload exchange for a remote-access client (RFC 7296 §2.19): ask for a virtual IPv4
// and/or IPv6 address and DNS servers in IKE_AUTH, read them from the CFG_REPLY.
#pragma once
#include "core/ike_sa.hpp"
#include "core/session.hpp"

#include <optional>
#include <string>
#include <vector>

namespace ikevpn::core {

// Which address families the tunnel carries, derived from the remote networks: IPv6 when any of them is
// an IPv6 prefix, IPv4 when any is IPv4 or none is IPv6 (an IPv4-only profile behaves as it always did).
struct TunnelFamilies {
    bool v4 = true;
    bool v6 = false;
};
TunnelFamilies tunnel_families(const SessionConfig& config);

void build_config_request(const SessionConfig& config, std::vector<msg::Payload>& payloads);

// RFC 8598 §3.1: the domain of an INTERNAL_DNS_DOMAIN value, validated and lower-cased; nothing if malformed.
std::optional<std::string> split_dns_domain(const Bytes& value);

// Fills virtual_ip, virtual_ip6, dns and dns_domains. Without any requested address the tunnel has no source address
// the gateway would accept: that is a failure. With both families requested, one missing family is not
// (the caller drops that family's routes).
std::optional<Failure> process_config_reply(const SessionConfig& config, const std::vector<msg::Payload>& payloads,
                                            NetworkConfig& network);

}  // namespace ikevpn::core
