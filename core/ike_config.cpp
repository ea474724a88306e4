#include "core/ike_config.hpp"

#include <algorithm>

namespace ikevpn::core {

TunnelFamilies tunnel_families(const SessionConfig& config) {
    const auto& nets = config.remote_networks;
    TunnelFamilies f;
    f.v6 = std::any_of(nets.begin(), nets.end(), [](const IpPrefix& p) { return !p.address.is_v4(); });
    f.v4 = !f.v6 || std::any_of(nets.begin(), nets.end(), [](const IpPrefix& p) { return p.address.is_v4(); });
    return f;
}

void build_config_request(const SessionConfig& config, std::vector<msg::Payload>& payloads) {
    if (!config.request_virtual_ip) return;
    const TunnelFamilies families = tunnel_families(config);
    msg::CpPayload cp;
    cp.cfg_type = msg::CfgType::request;
    // Empty values ask the gateway to choose (RFC 7296 §3.15.1); a reauthentication asks for the
    // addresses the tunnel already has (4 octets; 16 + a prefix length octet for IPv6).
    const auto value = [](const std::optional<IpAddress>& a, bool v6) {
        if (!a) return Bytes{};
        Bytes b(a->bytes().begin(), a->bytes().end());
        if (v6) b.push_back(128);
        return b;
    };
    if (families.v4) {
        cp.attributes.push_back({std::uint16_t(msg::CfgAttr::internal_ip4_address), value(config.requested_virtual_ip, false)});
        cp.attributes.push_back({std::uint16_t(msg::CfgAttr::internal_ip4_dns), {}});
    }
    if (families.v6) {
        cp.attributes.push_back({std::uint16_t(msg::CfgAttr::internal_ip6_address), value(config.requested_virtual_ip6, true)});
        cp.attributes.push_back({std::uint16_t(msg::CfgAttr::internal_ip6_dns), {}});
    }
    // RFC 8598 §4: an empty INTERNAL_DNS_DOMAIN says we support split DNS and would like its domains.
    cp.attributes.push_back({std::uint16_t(msg::CfgAttr::internal_dns_domain), {}});
    payloads.push_back({msg::PayloadType::cp, false, std::move(cp)});
}

namespace {

// INTERNAL_IP6_ADDRESS: "0 or 17 octets": a 16-octet address and a 1-octet prefix length
// (RFC 7296 §3.15.1). The prefix length is ignored: the client puts the address on its TUN as /128.
std::optional<IpAddress> ip6_address(const Bytes& value) {
    if (value.size() != 17) return std::nullopt;
    return IpAddress::from_bytes(ByteView(value.data(), 16));
}

// INTERNAL_IP6_DNS is 16 octets (RFC 7296 §3.15.1); libreswan 4.10 sends 17 (address + prefix length),
// so the first 16 of 17 are accepted too.
std::optional<IpAddress> ip6_dns(const Bytes& value) {
    if (value.size() != 16 && value.size() != 17) return std::nullopt;
    return IpAddress::from_bytes(ByteView(value.data(), 16));
}

}  // namespace

// RFC 8598 §3.1: a domain name "in DNS presentation format" ("corp.example"). Accepted: 1..253 octets of
// labels of letters, digits, '-' and '_' (1..63 each), one optional final dot; never the root. Lower-cased.
std::optional<std::string> split_dns_domain(const Bytes& value) {
    std::string name(value.begin(), value.end());
    if (!name.empty() && name.back() == '.') name.pop_back();
    if (name.empty() || name.size() > 253) return std::nullopt;
    std::size_t label = 0;
    for (char& c : name) {
        if (c == '.') {
            if (label == 0) return std::nullopt;
            label = 0;
            continue;
        }
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                        c == '_';
        if (!ok || ++label > 63) return std::nullopt;
        if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    }
    if (label == 0) return std::nullopt;
    return name;
}

std::optional<Failure> process_config_reply(const SessionConfig& config, const std::vector<msg::Payload>& payloads,
                                            NetworkConfig& network) {
    const auto* cp = msg::find<msg::CpPayload>(payloads, msg::PayloadType::cp);
    if (cp && cp->cfg_type == msg::CfgType::reply) {
        for (const auto& attr : cp->attributes) {
            switch (msg::CfgAttr(attr.type)) {
            case msg::CfgAttr::internal_ip4_address:
                // Only the first address is used; a second one would need a second TUN address.
                if (attr.value.size() == 4 && !network.virtual_ip) network.virtual_ip = IpAddress::from_bytes(attr.value);
                break;
            case msg::CfgAttr::internal_ip4_dns:
                if (attr.value.size() == 4) network.dns.push_back(*IpAddress::from_bytes(attr.value));
                break;
            case msg::CfgAttr::internal_ip6_address:
                if (!network.virtual_ip6) network.virtual_ip6 = ip6_address(attr.value);
                break;
            case msg::CfgAttr::internal_ip6_dns:
                if (auto dns = ip6_dns(attr.value)) network.dns.push_back(*dns);
                break;
            case msg::CfgAttr::internal_dns_domain:
                // A malformed domain is skipped, not fatal: the servers still work for everything else.
                if (auto domain = split_dns_domain(attr.value);
                    domain && std::find(network.dns_domains.begin(), network.dns_domains.end(), *domain) ==
                                  network.dns_domains.end())
                    network.dns_domains.push_back(*domain);
                break;
            default:
                break;  // attributes we did not ask for are ignored (RFC 7296 §3.15.1)
            }
        }
    }
    if (!config.request_virtual_ip) return std::nullopt;
    const TunnelFamilies families = tunnel_families(config);
    // An address of a family we did not ask for would come without routes; ignore it.
    if (!families.v4) network.virtual_ip.reset();
    if (!families.v6) network.virtual_ip6.reset();
    if (network.virtual_ip || network.virtual_ip6) return std::nullopt;
    if (families.v4 && !families.v6)
        return Failure{CloseCode::internal_address_failure, "the gateway assigned no virtual IPv4 address"};
    if (!families.v4)
        return Failure{CloseCode::internal_address_failure, "the gateway assigned no virtual IPv6 address"};
    return Failure{CloseCode::internal_address_failure, "the gateway assigned no virtual IP address"};
}

}  // namespace ikevpn::core
