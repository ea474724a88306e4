#include "core/child_create.hpp"

#include "core/ike_config.hpp"
#include "core/proposal.hpp"

namespace ikevpn::core {
namespace {

msg::TrafficSelector selector_for(const IpPrefix& prefix) {
    msg::TrafficSelector ts;
    ts.type = prefix.address.is_v4() ? msg::TsType::ipv4_addr_range : msg::TsType::ipv6_addr_range;
    ts.ip_protocol = 0;
    ts.start_port = 0;
    ts.end_port = 65535;
    auto first = prefix.first().bytes(), last = prefix.last().bytes();
    ts.start_address.assign(first.begin(), first.end());
    ts.end_address.assign(last.begin(), last.end());
    return ts;
}

// Key sizes of the ESP transforms (RFC 4106 §8.1, RFC 7634 §2 add a 4-byte salt; RFC 4868 §2.1.1).
std::size_t esp_encr_key_size(std::uint16_t encr_id, std::uint16_t key_bits) {
    const bool salted = encr_id == 20 || encr_id == 28;
    return key_bits / 8 + (salted ? 4 : 0);
}
std::size_t esp_integ_key_size(std::uint16_t integ_id) {
    switch (integ_id) {
    case 12: return 32;
    case 13: return 48;
    case 14: return 64;
    case 2: return 20;  // HMAC-SHA1-96 (RFC 2404), weak: only with allow_weak_algorithms
    default: return 0;
    }
}

std::uint32_t read_spi(const Bytes& spi) {
    return std::uint32_t(spi[0]) << 24 | std::uint32_t(spi[1]) << 16 | std::uint32_t(spi[2]) << 8 | spi[3];
}

}  // namespace

std::uint16_t esp_fixed_key_bits(std::uint16_t encr_id) { return encr_id == 28 ? 256 : 0; }

void read_esp_transforms(const msg::Proposal& accepted, ChildSaKeys& child) {
    for (const auto& t : accepted.transforms) {
        if (t.type == msg::TransformType::encr) {
            child.encr_id = t.id;
            child.key_bits = t.key_length.value_or(esp_fixed_key_bits(t.id));
        } else if (t.type == msg::TransformType::integ) {
            child.integ_id = t.id;
        } else if (t.type == msg::TransformType::esn) {
            child.esn = t.id == 1;
        }
    }
}

void derive_child_keys_from_seed(const IkeSa& sa, ByteView seed, bool we_initiated, ChildSaKeys& child) {
    // KEYMAT = prf+(SK_d, seed) (RFC 7296 §2.17): "All keys for SAs carrying data from the initiator
    // to the responder are taken before SAs going from the responder to the initiator", and within one
    // direction the encryption key comes before the integrity key.
    const std::size_t encr = esp_encr_key_size(child.encr_id, child.key_bits);
    const std::size_t integ = esp_integ_key_size(child.integ_id);
    SecureBytes keymat = crypto::prf_plus(*sa.prf, sa.keys.sk_d, seed, 2 * (encr + integ));
    auto take = [&, at = std::size_t(0)](std::size_t n) mutable {
        SecureBytes out(keymat.begin() + std::ptrdiff_t(at), keymat.begin() + std::ptrdiff_t(at + n));
        at += n;
        return out;
    };
    SecureBytes& first_encr = we_initiated ? child.key_out : child.key_in;
    SecureBytes& first_integ = we_initiated ? child.integ_key_out : child.integ_key_in;
    SecureBytes& second_encr = we_initiated ? child.key_in : child.key_out;
    SecureBytes& second_integ = we_initiated ? child.integ_key_in : child.integ_key_out;
    first_encr = take(encr);
    first_integ = take(integ);
    second_encr = take(encr);
    second_integ = take(integ);
}

void derive_child_keys(const IkeSa& sa, ByteView nonce_i, ByteView nonce_r, ChildSaKeys& child) {
    Bytes seed(nonce_i.begin(), nonce_i.end());
    append(seed, nonce_r);
    derive_child_keys_from_seed(sa, seed, true, child);
}

ChildCreateTask::ChildCreateTask(const SessionConfig& config, crypto::RandomSource& random)
    : config_(config), offered_(config.esp_proposals) {
    // SPIs below 256 are reserved (RFC 4303 §2.1).
    do {
        std::uint8_t b[4];
        random.fill(b);
        spi_in_ = std::uint32_t(b[0]) << 24 | std::uint32_t(b[1]) << 16 | std::uint32_t(b[2]) << 8 | b[3];
    } while (spi_in_ < 256);
    std::uint8_t number = 1;
    for (auto& p : offered_) {
        // IKE_AUTH has no KE payload: the CHILD SA created with it offers no DH group (RFC 7296 §1.2).
        std::erase_if(p.transforms, [](const msg::Transform& t) { return t.type == msg::TransformType::dh; });
        p.number = number++;
        p.protocol = msg::ProtocolId::esp;
        p.spi = {std::uint8_t(spi_in_ >> 24), std::uint8_t(spi_in_ >> 16), std::uint8_t(spi_in_ >> 8),
                 std::uint8_t(spi_in_)};
    }
}

void ChildCreateTask::build(std::vector<msg::Payload>& payloads) {
    payloads.push_back({msg::PayloadType::sa, false, msg::SaPayload{offered_}});
    // TSi: with a virtual IP requested, any address of each family the tunnel carries (the gateway narrows
    // it to the addresses it assigns).
    const TunnelFamilies families = tunnel_families(config_);
    msg::TsPayload ts_i;
    if (families.v4) ts_i.selectors.push_back(selector_for(*IpPrefix::parse("0.0.0.0/0")));
    if (families.v6) ts_i.selectors.push_back(selector_for(*IpPrefix::parse("::/0")));
    msg::TsPayload ts_r;
    for (const auto& net : config_.remote_networks) ts_r.selectors.push_back(selector_for(net));
    payloads.push_back({msg::PayloadType::ts_i, false, std::move(ts_i)});
    payloads.push_back({msg::PayloadType::ts_r, false, std::move(ts_r)});
}

std::optional<Failure> ChildCreateTask::process(const IkeSa& sa, const std::vector<msg::Payload>& payloads,
                                                ChildSaKeys& child, std::vector<IpPrefix>& routes) {
    const auto* sa_payload = msg::find<msg::SaPayload>(payloads, msg::PayloadType::sa);
    const auto* ts_i = msg::find<msg::TsPayload>(payloads, msg::PayloadType::ts_i);
    const auto* ts_r = msg::find<msg::TsPayload>(payloads, msg::PayloadType::ts_r);
    if (!sa_payload || !ts_i || !ts_r)
        return Failure{CloseCode::protocol_error, "IKE_AUTH response without SA, TSi or TSr for the CHILD SA"};
    // The codec drops proposals it cannot understand (RFC 7296 §3.3.6), so zero is possible here.
    if (sa_payload->proposals.size() != 1)
        return Failure{CloseCode::protocol_error, "the gateway's answer must hold exactly one usable ESP proposal, it holds " +
                                                   std::to_string(sa_payload->proposals.size())};
    const auto& accepted = sa_payload->proposals.front();
    if (auto bad = check_accepted(offered_, accepted))
        return Failure{CloseCode::protocol_error, "the gateway chose an ESP proposal we did not offer: " + *bad};
    if (accepted.spi.size() != 4 || read_spi(accepted.spi) < 256)
        return Failure{CloseCode::protocol_error, "the gateway's ESP SPI is malformed"};

    child.spi_in = spi_in_;
    child.spi_out = read_spi(accepted.spi);
    read_esp_transforms(accepted, child);
    child.local_ts = ts_i->selectors;
    child.remote_ts = ts_r->selectors;
    for (const auto& ts : ts_r->selectors) {
        auto first = IpAddress::from_bytes(ts.start_address), last = IpAddress::from_bytes(ts.end_address);
        if (!first || !last) continue;
        for (auto& prefix : range_to_prefixes(*first, *last)) routes.push_back(prefix);
    }
    if (routes.empty())
        return Failure{CloseCode::ts_unacceptable, "the gateway's traffic selectors leave nothing to route"};

    derive_child_keys(sa, sa.nonce_i, sa.nonce_r, child);
    return std::nullopt;
}

}  // namespace ikevpn::core
