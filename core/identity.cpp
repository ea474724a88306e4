#include "core/identity.hpp"

#include "core/crypto/public_key.hpp"
#include "core/ip_address.hpp"

#include <cctype>
#include <stdexcept>

namespace ikevpn::core {

namespace {

std::optional<Bytes> parse_hex(const std::string& text) {
    if (text.empty() || text.size() % 2 != 0) return std::nullopt;
    Bytes out;
    for (std::size_t i = 0; i < text.size(); i += 2) {
        if (!std::isxdigit(static_cast<unsigned char>(text[i])) || !std::isxdigit(static_cast<unsigned char>(text[i + 1])))
            return std::nullopt;
        out.push_back(std::uint8_t(std::stoi(text.substr(i, 2), nullptr, 16)));
    }
    return out;
}

std::optional<msg::IdPayload> parse_key_id(const std::string& value, std::string& error) {
    msg::IdPayload id;
    id.id_type = msg::IdType::key_id;
    if (value.rfind('#', 0) == 0 || value.rfind("0x", 0) == 0) {
        auto bytes = parse_hex(value.substr(value[0] == '#' ? 1 : 2));
        if (!bytes) {
            error = "key id '" + value + "' is not an even number of hex digits";
            return std::nullopt;
        }
        id.data = std::move(*bytes);
    } else {
        id.data.assign(value.begin(), value.end());
    }
    if (id.data.empty()) {
        error = "empty key id";
        return std::nullopt;
    }
    return id;
}

}  // namespace

std::optional<msg::IdPayload> parse_identity(const std::string& text, std::string& error) {
    msg::IdPayload id;
    if (text.empty()) {
        error = "empty identity";
        return std::nullopt;
    }
    if (text.rfind("keyid:", 0) == 0) return parse_key_id(text.substr(6), error);
    if (text.find('=') != std::string::npos) {
        auto der = crypto::dn_from_string(text, error);
        if (!der) return std::nullopt;
        id.id_type = msg::IdType::der_asn1_dn;
        id.data = std::move(*der);
    } else if (auto ip = IpAddress::parse(text)) {
        id.id_type = ip->is_v4() ? msg::IdType::ipv4_addr : msg::IdType::ipv6_addr;
        id.data.assign(ip->bytes().begin(), ip->bytes().end());
    } else {
        id.id_type = text.find('@') != std::string::npos ? msg::IdType::rfc822_addr : msg::IdType::fqdn;
        id.data.assign(text.begin(), text.end());
    }
    return id;
}

msg::IdPayload make_identity(const std::string& text) {
    std::string error;
    auto id = parse_identity(text, error);
    if (!id) throw std::invalid_argument("identity '" + text + "': " + error);
    return std::move(*id);
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
    case msg::IdType::der_asn1_dn:
        return crypto::dn_to_string(id.data);
    case msg::IdType::key_id: {
        static constexpr char digits[] = "0123456789abcdef";
        std::string out = "keyid:#";
        for (auto b : id.data) {
            out += digits[b >> 4];
            out += digits[b & 15];
        }
        return out;
    }
    default:
        return "(identity of type " + std::to_string(int(id.id_type)) + ")";
    }
}

bool identity_equal(const msg::IdPayload& a, const msg::IdPayload& b) {
    if (a.id_type != b.id_type) return false;
    if (a.id_type == msg::IdType::der_asn1_dn) return crypto::dn_equal(a.data, b.data);
    return a.data == b.data;
}

}  // namespace ikevpn::core
