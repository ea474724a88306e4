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

std::string selectors_text(const std::vector<msg::TrafficSelector>& list) {
    std::string out;
    for (const auto& ts : list)
        out += (out.empty() ? "" : ", ") + address_text(ts.start_address) + "-" + address_text(ts.end_address);
    return out.empty() ? "none" : out;
}

std::string payload_list(const std::vector<msg::Payload>& payloads) {
    std::string out;
    for (const auto& p : payloads) {
        out += (out.empty() ? "" : " ") + msg::payload_name(p.type);
        if (const auto* n = std::get_if<msg::NotifyPayload>(&p.body)) out += "(" + std::to_string(n->type) + ")";
        if (const auto* sk = std::get_if<msg::SkPayload>(&p.body))
            out += std::string(sk->inner_first == msg::PayloadType::none ? "{empty" : "{first " + msg::payload_name(sk->inner_first)) +
                   ", " + std::to_string(sk->body.size()) + " bytes}";
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
    return verb + msg::exchange_name(h.exchange) + (h.is_response() ? " response" : " request") + " #" +
           std::to_string(h.message_id) + " (" + std::to_string(datagram.size()) + " bytes, SPIs " +
           hex_spi(h.spi_i) + "/" + hex_spi(h.spi_r) + "): " + payload_list(decoded.value().payloads);
}

std::string describe_action(const core::Action& action) {
    return std::visit(
        [](const auto& a) -> std::string {
            using T = std::decay_t<decltype(a)>;
            if constexpr (std::is_same_v<T, core::InstallChildSa>) {
                const auto& c = a.child;
                return std::string(a.rekey ? "install rekeyed" : "install") + " CHILD SA: spi_in " + hex32(c.spi_in) +
                       " spi_out " + hex32(c.spi_out) + ", ENCR " + std::to_string(c.encr_id) + "/" +
                       std::to_string(c.key_bits) + (c.integ_id ? ", INTEG " + std::to_string(c.integ_id) : "") +
                       (c.esn ? ", ESN" : "") + ", local " + selectors_text(c.local_ts) + ", remote " +
                       selectors_text(c.remote_ts) + " (keys not shown)";
            } else if constexpr (std::is_same_v<T, core::ApplyNetworkConfig>) {
                const auto& n = a.config;
                std::string text = "network configuration: virtual IP ";
                text += n.virtual_ip ? n.virtual_ip->to_string() : "none";
                if (n.virtual_ip6) text += " and " + n.virtual_ip6->to_string();
                text += ", " + std::to_string(n.routes.size()) + " routes, " + std::to_string(n.dns.size()) +
                        " DNS servers";
                return text;
            } else if constexpr (std::is_same_v<T, core::RemoveChildSa>) {
                return "remove CHILD SA spi_in " + hex32(a.spi_in);
            } else if constexpr (std::is_same_v<T, core::IkeRekeyed>) {
                return "IKE SA rekeyed: new SPIs " + a.spi_i + "/" + a.spi_r;
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
