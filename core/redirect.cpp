#include "core/redirect.hpp"

#include <algorithm>

namespace ikevpn::core {

namespace {

enum : std::uint8_t { ident_ipv4 = 1, ident_ipv6 = 2, ident_fqdn = 3 };

// RFC 1035 text form: labels of letters, digits, '-' (and '_', seen in the wild), 1..63 octets each,
// at most 253 in all; an optional final dot is dropped.
std::optional<std::string> fqdn(ByteView data) {
    std::string name(data.begin(), data.end());
    if (!name.empty() && name.back() == '.') name.pop_back();
    if (name.empty() || name.size() > 253) return std::nullopt;
    std::size_t label = 0;
    for (char c : name) {
        if (c == '.') {
            if (label == 0) return std::nullopt;
            label = 0;
            continue;
        }
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok || ++label > 63) return std::nullopt;
    }
    if (label == 0) return std::nullopt;
    return name;
}

}  // namespace

std::string GatewayIdentity::to_string() const {
    if (const auto* a = std::get_if<IpAddress>(&value)) return a->to_string();
    return std::get<std::string>(value);
}

Bytes encode_gateway_identity(const GatewayIdentity& gw) {
    // Sized once, then filled (GCC 12 warns falsely about insert() after push_back() here).
    const auto* a = std::get_if<IpAddress>(&gw.value);
    const std::string* name = a ? nullptr : &std::get<std::string>(gw.value);
    const std::size_t length = a ? a->bytes().size() : std::min<std::size_t>(name->size(), 255);
    Bytes out(2 + length);
    out[0] = a ? (a->is_v4() ? ident_ipv4 : ident_ipv6) : ident_fqdn;
    out[1] = std::uint8_t(length);
    if (a) std::copy(a->bytes().begin(), a->bytes().end(), out.begin() + 2);
    else std::copy_n(name->begin(), length, out.begin() + 2);
    return out;
}

std::optional<GatewayIdentity> decode_gateway_identity(ByteView data, Bytes* rest) {
    if (data.size() < 2) return std::nullopt;
    const std::uint8_t type = data[0];
    const std::size_t length = data[1];
    if (data.size() < 2 + length) return std::nullopt;
    const ByteView ident = data.subspan(2, length);
    GatewayIdentity gw;
    switch (type) {
    case ident_ipv4:
    case ident_ipv6: {
        if (length != (type == ident_ipv4 ? 4u : 16u)) return std::nullopt;
        auto a = IpAddress::from_bytes(ident);
        if (!a) return std::nullopt;
        gw.value = *a;
        break;
    }
    case ident_fqdn: {
        auto name = fqdn(ident);
        if (!name) return std::nullopt;
        gw.value = *name;
        break;
    }
    default: return std::nullopt;
    }
    if (rest) rest->assign(data.begin() + std::ptrdiff_t(2 + length), data.end());
    return gw;
}

msg::Payload make_redirect_supported() { return msg::make_notify(msg::NotifyType(notify_redirect_supported)); }

msg::Payload make_redirected_from(const GatewayIdentity& original) {
    return msg::make_notify(msg::NotifyType(notify_redirected_from), encode_gateway_identity(original));
}

msg::Payload make_redirect(const GatewayIdentity& gw, const Bytes& nonce) {
    Bytes data = encode_gateway_identity(gw);
    data.insert(data.end(), nonce.begin(), nonce.end());
    return msg::make_notify(msg::NotifyType(notify_redirect), std::move(data));
}

RedirectNotify read_redirect(const std::vector<msg::Payload>& payloads) {
    RedirectNotify out;
    const auto* n = msg::find_notify(payloads, msg::NotifyType(notify_redirect));
    if (!n) return out;
    out.present = true;
    if (!n->spi.empty()) {
        out.error = "a REDIRECT notification with an SPI";
        return out;
    }
    Redirect r;
    auto gw = decode_gateway_identity(n->data, &r.nonce);
    if (!gw) {
        out.error = "a malformed REDIRECT notification (unknown gateway identity type or wrong length)";
        return out;
    }
    r.gateway = std::move(*gw);
    out.redirect = std::move(r);
    return out;
}

std::optional<std::string> RedirectChain::follow(const std::string& from, const std::string& to,
                                                bool connected_in_between) {
    if (connected_in_between || hops_.empty()) hops_ = {from};
    hops_.push_back(to);
    if (hops_.size() <= limit_ + 1) return std::nullopt;
    std::string path;
    for (const auto& g : hops_) path += (path.empty() ? "" : " -> ") + g;
    return "redirected more than " + std::to_string(limit_) + " times in a row (" + path + "): giving up";
}

}  // namespace ikevpn::core
