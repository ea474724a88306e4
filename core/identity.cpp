#include "core/identity.hpp"

#include "core/ip_address.hpp"

namespace ikevpn::core {

msg::IdPayload make_identity(const std::string& text) {
    msg::IdPayload id;
    if (auto ip = IpAddress::parse(text)) {
        id.id_type = ip->is_v4() ? msg::IdType::ipv4_addr : msg::IdType::ipv6_addr;
        id.data.assign(ip->bytes().begin(), ip->bytes().end());
    } else {
        id.id_type = text.find('@') != std::string::npos ? msg::IdType::rfc822_addr : msg::IdType::fqdn;
        id.data.assign(text.begin(), text.end());
    }
    return id;
}

std::string identity_to_string(const msg::IdPayload& id) {
    switch (id.id_type) {
    case msg::IdType::ipv4_addr:
    case msg::IdType::ipv6_addr:
        if (auto ip = IpAddress::from_bytes(id.data)) return ip->to_string();
        return "(malformed address)";
    case msg::IdType::fqdn:
    case msg::IdType::rfc822_addr: {
        std::string out;
        for (auto c : id.data) out += (c >= 0x20 && c < 0x7f) ? char(c) : '?';
        return out;
    }
    default:
        return "(identity of type " + std::to_string(int(id.id_type)) + ")";
    }
}

}  // namespace ikevpn::core
