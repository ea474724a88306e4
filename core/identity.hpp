// Identities as the profile writes them ("alice@example.com", "vpn.example.com", "192.0.2.1") and as the
// ID payload carries them (RFC 7296 §3.5).
#pragma once
#include "core/message/message.hpp"

#include <string>

namespace ikevpn::core {

// An IP address becomes ID_IPV4_ADDR/ID_IPV6_ADDR, text with '@' ID_RFC822_ADDR, anything else ID_FQDN.
msg::IdPayload make_identity(const std::string& text);
std::string identity_to_string(const msg::IdPayload& id);

}  // namespace ikevpn::core
