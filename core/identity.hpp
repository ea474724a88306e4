// Identities as the profile writes them ("alice@example.com", "vpn.example.com", "192.0.2.1",
// "CN=vpn.example.com, O=Example", "keyid:#0123abcd") and as the ID payload carries them (RFC 7296 §3.5).
#pragma once
#include "core/message/message.hpp"

#include <optional>
#include <string>

namespace ikevpn::core {

// "keyid:#HEX" / "keyid:0xHEX" / "keyid:TEXT" → ID_KEY_ID; text with '=' → ID_DER_ASN1_DN (DER made from
// the attribute=value list); an IP address → ID_IPV4_ADDR/ID_IPV6_ADDR; text with '@' → ID_RFC822_ADDR;
// anything else ID_FQDN. nullopt with a one-line `error` for a malformed DN or key id.
std::optional<msg::IdPayload> parse_identity(const std::string& text, std::string& error);
// The same for values already checked (the profile loader validates every identity); throws
// std::invalid_argument on a malformed one.
msg::IdPayload make_identity(const std::string& text);
std::string identity_to_string(const msg::IdPayload& id);
// Same type and value; DNs compare by RFC 5280 §7.1 rules, not bytes (string types and case differ).
bool identity_equal(const msg::IdPayload& a, const msg::IdPayload& b);

}  // namespace ikevpn::core
