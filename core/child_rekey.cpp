#include "core/child_rekey.hpp"

#include "core/child_create.hpp"
#include "core/proposal.hpp"

#include <algorithm>

namespace ikevpn::core {
namespace {

constexpr std::size_t nonce_size = 32;

std::uint32_t read_u32(const Bytes& b) {
    return std::uint32_t(b[0]) << 24 | std::uint32_t(b[1]) << 16 | std::uint32_t(b[2]) << 8 | b[3];
}

Bytes spi_bytes(std::uint32_t spi) {
    return {std::uint8_t(spi >> 24), std::uint8_t(spi >> 16), std::uint8_t(spi >> 8), std::uint8_t(spi)};
}

// The first of the gateway's proposals we can accept: ENCR (and INTEG) and ESN of the profile's ESP
// proposals and — if it asks for PFS — the DH group of its KE payload, which must be one we implement.
std::optional<msg::Proposal> choose(const std::vector<msg::Proposal>& theirs, const std::vector<msg::Proposal>& ours,
                                    const msg::KePayload* ke) {
    auto chosen = select_proposal(theirs, msg::ProtocolId::esp, 4, [&](const msg::Transform& t) {
        if (t.type == msg::TransformType::dh)
            return ke && ke->group == t.id && crypto::key_exchange_public_size(crypto::DhGroup(t.id)) != 0;
        return offers_transform(ours, t);
    });
    const bool has_encr = chosen && std::any_of(chosen->transforms.begin(), chosen->transforms.end(),
                                                [](const msg::Transform& t) { return t.type == msg::TransformType::encr; });
    return has_encr ? chosen : std::nullopt;
}

}  // namespace

ChildRekeyAnswer answer_child_rekey(const IkeSa& sa, const SessionConfig& config,
                                    const std::vector<msg::Payload>& request,
                                    const std::vector<ChildSaKeys>& installed, crypto::RandomSource& random) {
    ChildRekeyAnswer answer;
    const auto* rekey = msg::find_notify(request, msg::NotifyType::rekey_sa);
    if (!rekey) {
        answer.response.push_back(msg::make_notify(msg::NotifyType::no_additional_sas));
        return answer;
    }
    // REKEY_SA names the SA by the SPI the gateway receives with, i.e. our outbound SPI.
    const auto old = rekey->spi.size() == 4
                         ? std::find_if(installed.begin(), installed.end(),
                                        [&](const ChildSaKeys& c) { return c.spi_out == read_u32(rekey->spi); })
                         : installed.end();
    if (rekey->protocol != msg::ProtocolId::esp || old == installed.end()) {
        answer.response.push_back(msg::make_notify(msg::NotifyType::child_sa_not_found, {}, msg::ProtocolId::esp, rekey->spi));
        return answer;
    }
    const auto* sa_payload = msg::find<msg::SaPayload>(request, msg::PayloadType::sa);
    const auto* nonce = msg::find<msg::NoncePayload>(request, msg::PayloadType::nonce);
    const auto* ts_i = msg::find<msg::TsPayload>(request, msg::PayloadType::ts_i);
    const auto* ts_r = msg::find<msg::TsPayload>(request, msg::PayloadType::ts_r);
    const auto* ke = msg::find<msg::KePayload>(request, msg::PayloadType::ke);
    if (!sa_payload || !nonce || !ts_i || !ts_r) {
        answer.response.push_back(msg::make_notify(msg::NotifyType::invalid_syntax));
        return answer;
    }
    auto chosen = choose(sa_payload->proposals, config.esp_proposals, ke);
    if (!chosen) {
        answer.response.push_back(msg::make_notify(msg::NotifyType::no_proposal_chosen));
        return answer;
    }

    ChildSaKeys child;
    child.spi_out = read_u32(chosen->spi);
    std::uint8_t spi[4];
    do {
        random.fill(spi);
        child.spi_in = read_u32(Bytes(spi, spi + 4));
    } while (child.spi_in < 256 || std::any_of(installed.begin(), installed.end(),
                                                [&](const ChildSaKeys& c) { return c.spi_in == child.spi_in; }));
    read_esp_transforms(*chosen, child);
    std::optional<std::uint16_t> dh;
    for (const auto& t : chosen->transforms)
        if (t.type == msg::TransformType::dh) dh = t.id;
    // The gateway initiated this exchange: its TSi is its side, TSr ours.
    child.local_ts = ts_r->selectors;
    child.remote_ts = ts_i->selectors;

    Bytes nonce_r(nonce_size);
    random.fill(nonce_r);
    SecureBytes shared;
    Bytes ke_public;
    if (dh) {
        auto own = crypto::make_key_exchange(crypto::DhGroup(*dh), random);
        auto secret = own->shared_secret(ke->data);
        if (!secret) {
            answer.response.push_back(msg::make_notify(msg::NotifyType::invalid_syntax));
            return answer;
        }
        shared = std::move(*secret);
        ke_public = own->public_value();
    }
    // KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr) with this exchange's nonces (RFC 7296 §2.17); the
    // exchange initiator is the gateway, so its outbound (our inbound) keys come first.
    Bytes seed(shared.begin(), shared.end());
    append(seed, nonce->data);
    append(seed, nonce_r);
    derive_child_keys_from_seed(sa, seed, false, child);

    msg::Proposal accepted = *chosen;
    accepted.spi = spi_bytes(child.spi_in);
    answer.response.push_back({msg::PayloadType::sa, false, msg::SaPayload{{accepted}}});
    answer.response.push_back({msg::PayloadType::nonce, false, msg::NoncePayload{nonce_r}});
    if (dh) answer.response.push_back({msg::PayloadType::ke, false, msg::KePayload{*dh, ke_public}});
    answer.response.push_back({msg::PayloadType::ts_i, false, *ts_i});
    answer.response.push_back({msg::PayloadType::ts_r, false, *ts_r});
    answer.replaced_spi_out = old->spi_out;
    answer.new_child = std::move(child);
    return answer;
}

}  // namespace ikevpn::core
