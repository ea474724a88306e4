// IKEv2 redirect (RFC 5685): the notifications REDIRECT_SUPPORTED, REDIRECT and REDIRECTED_FROM and the
// gateway identity they carry. What the session does with them is in core/session.cpp (IKE_SA_INIT and
// IKE_AUTH responses) and core/session_reauth.cpp (a gateway's INFORMATIONAL on an established SA).
#pragma once
#include "core/bytes.hpp"
#include "core/ip_address.hpp"
#include "core/message/message.hpp"

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace ikevpn::core {

// RFC 5685 §10 notify types.
inline constexpr std::uint16_t notify_redirect_supported = 16406;
inline constexpr std::uint16_t notify_redirect = 16407;
inline constexpr std::uint16_t notify_redirected_from = 16408;

// RFC 5685 §8: the new gateway's identity (or, in REDIRECTED_FROM, the original one's).
//   GW Ident Type 1: IPv4 address (4 octets), 2: IPv6 address (16 octets), 3: FQDN (RFC 1035 text).
struct GatewayIdentity {
    std::variant<IpAddress, std::string> value;  // an address, or an FQDN to resolve
    std::string to_string() const;
    bool operator==(const GatewayIdentity&) const = default;
};

// RFC 5685 §8 (REDIRECT) and §9 (REDIRECTED_FROM, without Nonce Data):
//
//                       1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  | Next Payload  |C|  RESERVED   |         Payload Length        |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |Protocol ID(=0)| SPI Size (=0) |      Notify Message Type      |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  | GW Ident Type |  GW Ident Len |                               |
//  +---------------+---------------+                               |
//  ~                   New Responder GW Identity                   ~
//  |                                                               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  ~                        Nonce Data                             ~
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Nonce Data is the initiator's Ni in a REDIRECT answering IKE_SA_INIT (so an off-path attacker cannot
// redirect us), and absent in IKE_AUTH and INFORMATIONAL.
struct Redirect {
    GatewayIdentity gateway;
    Bytes nonce;
};
Bytes encode_gateway_identity(const GatewayIdentity& gw);
// nullopt for an unknown type, a length that does not fit the type or the data, or a malformed FQDN.
// `rest` receives the octets after the identity (Nonce Data).
std::optional<GatewayIdentity> decode_gateway_identity(ByteView data, Bytes* rest = nullptr);

msg::Payload make_redirect_supported();
msg::Payload make_redirected_from(const GatewayIdentity& original);
msg::Payload make_redirect(const GatewayIdentity& gw, const Bytes& nonce = {});

// The REDIRECT among payloads: none when absent; an error text when it is there but malformed.
struct RedirectNotify {
    bool present = false;
    std::optional<Redirect> redirect;
    std::string error;
};
RedirectNotify read_redirect(const std::vector<msg::Payload>& payloads);

// Redirects in a row (the driver's view across IKE SAs): a tunnel that came up in between starts a new
// chain. follow() returns the loop error once there are more than `limit` in a row.
class RedirectChain {
public:
    explicit RedirectChain(std::size_t limit = 5) : limit_(limit) {}
    std::optional<std::string> follow(const std::string& from, const std::string& to, bool connected_in_between);

private:
    std::size_t limit_;
    std::vector<std::string> hops_;  // from, to, to, ...
};

}  // namespace ikevpn::core
