#include "core/ike_config.hpp"

namespace ikevpn::core {

void build_config_request(const SessionConfig& config, std::vector<msg::Payload>& payloads) {
    if (!config.request_virtual_ip) return;
    msg::CpPayload cp;
    cp.cfg_type = msg::CfgType::request;
    // Empty values ask the gateway to choose (RFC 7296 §3.15.1).
    cp.attributes.push_back({std::uint16_t(msg::CfgAttr::internal_ip4_address), {}});
    cp.attributes.push_back({std::uint16_t(msg::CfgAttr::internal_ip4_dns), {}});
    payloads.push_back({msg::PayloadType::cp, false, std::move(cp)});
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
            default:
                break;  // attributes we did not ask for are ignored (RFC 7296 §3.15.1)
            }
        }
    }
    if (config.request_virtual_ip && !network.virtual_ip)
        return Failure{CloseCode::internal_address_failure, "the gateway assigned no virtual IPv4 address"};
    return std::nullopt;
}

}  // namespace ikevpn::core
