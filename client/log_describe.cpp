#include "client/log_describe.hpp"

#include "core/message/message.hpp"

#include <cstdio>

namespace ikevpn::client {

namespace {

std::string hex_spi(const msg::Spi8& spi) {
    std::string out;
    char two[3];
    for (std::uint8_t b : spi) {
        std::snprintf(two, sizeof two, "%02x", b);
        out += two;
    }
    return out;
}

std::string hex32(std::uint32_t value) {
    char text[9];
    std::snprintf(text, sizeof text, "%08x", value);
    return text;
}

std::string address_text(const Bytes& raw) {
    if (raw.size() == 4) return IpAddress::v4({raw[0], raw[1], raw[2], raw[3]}).to_string();
    if (raw.size() == 16) {
        std::array<std::uint8_t, 16> a{};
        std::copy(raw.begin(), raw.end(), a.begin());
        return IpAddress::v6(a).to_string();
    }
    return "?";
}

// Built with append(): GCC 12 at -O3 reports a false -Wrestrict for "literal" + temporary string.
std::string selectors_text(const std::vector<msg::TrafficSelector>& list) {
    std::string out;
    for (const auto& ts : list) {
        if (!out.empty()) out.append(", ");
        out.append(address_text(ts.start_address)).append("-").append(address_text(ts.end_address));
    }
    return out.empty() ? "none" : out;
}

std::string payload_list(const std::vector<msg::Payload>& payloads) {
    std::string out;
    for (const auto& p : payloads) {
        if (!out.empty()) out.append(" ");
        out.append(msg::payload_name(p.type));
        if (const auto* n = std::get_if<msg::NotifyPayload>(&p.body))
            out.append("(").append(std::to_string(n->type)).append(")");
        if (const auto* sk = std::get_if<msg::SkPayload>(&p.body)) {
            const bool fragment = p.type == msg::PayloadType::skf && sk->body.size() >= 4;  // RFC 7383 §2.5
            if (fragment)
                out.append("{fragment ").append(std::to_string(sk->body[0] << 8 | sk->body[1])).append(" of ")
                    .append(std::to_string(sk->body[2] << 8 | sk->body[3])).append(sk->inner_first == msg::PayloadType::none ? "" : ", ");
            if (sk->inner_first == msg::PayloadType::none) out.append(fragment ? "" : "{empty");
            else out.append(fragment ? "first " : "{first ").append(msg::payload_name(sk->inner_first));
            out.append(", ").append(std::to_string(sk->body.size())).append(" bytes}");
        }
    }
    return out.empty() ? "no payloads" : out;
}

}  // namespace

std::string describe_datagram(ByteView datagram, bool sent) {
    const std::string verb = sent ? "sent " : "received ";
    const auto decoded = msg::decode(datagram);
    if (!decoded) {
        return verb + std::to_string(datagram.size()) + " bytes that do not decode as IKEv2 (" +
               decoded.error().reason + ")";
    }
    const auto& h = decoded.value().header;
    std::string out = verb;
    out.append(msg::exchange_name(h.exchange)).append(h.is_response() ? " response #" : " request #");
    out.append(std::to_string(h.message_id)).append(" (").append(std::to_string(datagram.size()));
    out.append(" bytes, SPIs ").append(hex_spi(h.spi_i)).append("/").append(hex_spi(h.spi_r)).append("): ");
    return out.append(payload_list(decoded.value().payloads));
}

std::string describe_action(const core::Action& action) {
    return std::visit(
        [](const auto& a) -> std::string {
            using T = std::decay_t<decltype(a)>;
            if constexpr (std::is_same_v<T, core::InstallChildSa>) {
                const auto& c = a.child;
                std::string out = a.rekey ? "install rekeyed CHILD SA: spi_in " : "install CHILD SA: spi_in ";
                out.append(hex32(c.spi_in)).append(" spi_out ").append(hex32(c.spi_out));
                out.append(", ENCR ").append(std::to_string(c.encr_id)).append("/").append(std::to_string(c.key_bits));
                if (c.integ_id) out.append(", INTEG ").append(std::to_string(c.integ_id));
                if (c.esn) out.append(", ESN");
                if (a.redundant) out.append(", receive-only (redundant after a rekey collision)");
                if (a.outbound_deferred) out.append(", sending deferred until the gateway uses it or deletes the old pair");
                out.append(", local ").append(selectors_text(c.local_ts));
                out.append(", remote ").append(selectors_text(c.remote_ts));
                return out.append(" (keys not shown)");
            } else if constexpr (std::is_same_v<T, core::ApplyNetworkConfig>) {
                const auto& n = a.config;
                std::string text = "network configuration: virtual IP ";
                text += n.virtual_ip ? n.virtual_ip->to_string() : "none";
                if (n.virtual_ip6) text.append(" and ").append(n.virtual_ip6->to_string());
                text.append(", ").append(std::to_string(n.routes.size())).append(" routes, ");
                return text.append(std::to_string(n.dns.size())).append(" DNS servers");
            } else if constexpr (std::is_same_v<T, core::RemoveChildSa>) {
                return std::string("remove CHILD SA spi_in ").append(hex32(a.spi_in));
            } else if constexpr (std::is_same_v<T, core::IkeRekeyed>) {
                return "IKE SA rekeyed: new SPIs " + a.spi_i + "/" + a.spi_r;
            } else if constexpr (std::is_same_v<T, core::Redirected>) {
                return "redirected to " + a.gateway.to_string() + " (" + a.during + ")";
            } else if constexpr (std::is_same_v<T, core::Reauthenticated>) {
                return "reauthenticated: new IKE SA " + a.spi_i + "/" + a.spi_r;
            } else if constexpr (std::is_same_v<T, core::Closed>) {
                return std::string("closed: ") + core::error_code_name(a.code) + " (" + a.reason + ")";
            } else if constexpr (std::is_same_v<T, core::ArmTimer>) {
                return "retransmission timer armed";
            } else if constexpr (std::is_same_v<T, core::CancelTimer>) {
                return "retransmission timer cancelled";
            } else {
                return {};  // SendDatagram (described by describe_datagram) and Progress (already a line)
            }
        },
        action);
}

}  // namespace ikevpn::client
