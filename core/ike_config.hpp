// Configuration payload exchange for a remote-access client (RFC 7296 §2.19): ask for a virtual IPv4
// address and DNS servers in IKE_AUTH, read them from the CFG_REPLY.
#pragma once
#include "core/ike_sa.hpp"
#include "core/session.hpp"

#include <optional>
#include <vector>

namespace ikevpn::core {

void build_config_request(const SessionConfig& config, std::vector<msg::Payload>& payloads);

// Fills virtual_ip and dns. A missing address when one was requested is a failure: without it the tunnel
// has no source address the gateway would accept.
std::optional<Failure> process_config_reply(const SessionConfig& config, const std::vector<msg::Payload>& payloads,
                                            NetworkConfig& network);

}  // namespace ikevpn::core
