// The authentication part of IKE_AUTH (RFC 7296 §1.2, §2.15) with a pre-shared key: IDi and AUTH out,
// IDr and AUTH in. Configuration and the CHILD SA travel in the same exchange but are their own tasks
// (ike_config, child_create).
#pragma once
#include "core/ike_sa.hpp"
#include "core/session.hpp"

#include <optional>
#include <vector>

namespace ikevpn::core {

void build_auth(const IkeSa& sa, const SessionConfig& config, std::vector<msg::Payload>& payloads);

// Checks that the gateway is who the profile says (IDr) and that it knows the PSK (AUTH).
std::optional<Failure> process_auth(const IkeSa& sa, const SessionConfig& config,
                                    const std::vector<msg::Payload>& payloads, std::string& peer_identity);

}  // namespace ikevpn::core
