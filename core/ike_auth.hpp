// The authentication part of IKE_AUTH (RFC 7296 §1.2, §2.15): IDi, [CERT+], [CERTREQ] and AUTH out, IDr,
// [CERT+] and AUTH in. We authenticate with a PSK or a private key; the gateway with the PSK or, when the
// profile names CAs, a certificate (core/certificate_auth). Configuration and the CHILD SA travel in the
// same exchange but are their own tasks (ike_config, child_create).
#pragma once
#include "core/ike_sa.hpp"
#include "core/session.hpp"

#include <optional>
#include <vector>

namespace ikevpn::core {

// Fails only when our key cannot sign in a form the gateway accepts (e.g. Ed25519 without RFC 8420).
std::optional<Failure> build_auth(const IkeSa& sa, const SessionConfig& config, std::vector<msg::Payload>& payloads);

// Checks that the gateway is who the profile says (IDr, and its certificate when `ca` is set) and that it
// proved it (AUTH: the PSK, or a signature by the certificate's key).
std::optional<Failure> process_auth(const IkeSa& sa, const SessionConfig& config,
                                    const std::vector<msg::Payload>& payloads, std::string& peer_identity);

}  // namespace ikevpn::core
