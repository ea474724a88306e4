#include "core/ike_rekey.hpp"

#include "core/ike_transforms.hpp"
#include "core/proposal.hpp"

#include <algorithm>

namespace ikevpn::core {
namespace {

constexpr std::size_t nonce_size = 32;

// The first IKE proposal of the gateway whose every transform type we can match from the profile's IKE
// proposals, with the DH group of its KE payload.
std::optional<msg::Proposal> choose(const std::vector<msg::Proposal>& theirs, const std::vector<msg::Proposal>& ours,
                                    const msg::KePayload& ke) {
    auto chosen = select_proposal(theirs, msg::ProtocolId::ike, 8, [&](const msg::Transform& t) {
        return offers_transform(ours, t) && (t.type != msg::TransformType::dh || t.id == ke.group);
    });
    if (!chosen) return std::nullopt;
    auto has = [&](msg::TransformType type) {
        return std::any_of(chosen->transforms.begin(), chosen->transforms.end(),
                           [type](const msg::Transform& t) { return t.type == type; });
    };
    if (!has(msg::TransformType::encr) || !has(msg::TransformType::prf) || !has(msg::TransformType::dh)) return std::nullopt;
    // A combined-mode cipher takes no integrity transform, a CBC cipher needs one (RFC 7296 §3.3).
    const auto encr = std::find_if(chosen->transforms.begin(), chosen->transforms.end(),
                                   [](const msg::Transform& t) { return t.type == msg::TransformType::encr; });
    if (crypto::is_combined_mode(crypto::EncrId(encr->id)) == has(msg::TransformType::integ)) return std::nullopt;
    return chosen;
}

msg::Payload error(msg::NotifyType type) { return msg::make_notify(type); }

}  // namespace

bool is_ike_rekey(const std::vector<msg::Payload>& request) {
    const auto* sa = msg::find<msg::SaPayload>(request, msg::PayloadType::sa);
    return sa && !sa->proposals.empty() && sa->proposals.front().protocol == msg::ProtocolId::ike;
}

void derive_rekeyed_ike_keys(const IkeSa& old, const SecureBytes& shared, bool we_initiated, IkeSa& sa) {
    // SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) with the old PRF (RFC 7296 §2.18), then the usual
    // {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr).
    Bytes seed(shared.begin(), shared.end());
    append(seed, sa.nonce_i);
    append(seed, sa.nonce_r);
    const SecureBytes skeyseed = old.prf->compute(old.keys.sk_d, seed);
    sa.prf = crypto::make_prf(sa.transforms.prf);
    Bytes stream = sa.nonce_i;
    append(stream, sa.nonce_r);
    append(stream, sa.spi_i);
    append(stream, sa.spi_r);
    const std::size_t prf_size = sa.prf->output_size();
    const std::size_t encr_size = encr_key_size(sa.transforms);
    const std::size_t integ_size = integ_key_size(sa.transforms);
    SecureBytes keymat = crypto::prf_plus(*sa.prf, skeyseed, stream, 3 * prf_size + 2 * integ_size + 2 * encr_size);
    auto take = [&, at = std::size_t(0)](std::size_t n) mutable {
        SecureBytes out(keymat.begin() + std::ptrdiff_t(at), keymat.begin() + std::ptrdiff_t(at + n));
        at += n;
        return out;
    };
    sa.keys.sk_d = take(prf_size);
    sa.keys.sk_ai = take(integ_size);  // empty for an AEAD
    sa.keys.sk_ar = take(integ_size);
    sa.keys.sk_ei = take(encr_size);
    sa.keys.sk_er = take(encr_size);
    sa.keys.sk_pi = take(prf_size);
    sa.keys.sk_pr = take(prf_size);
    // The initiator of the new IKE SA sends with SK_ei.
    install_sk_ciphers(sa, we_initiated);
}

IkeRekeyAnswer answer_ike_rekey(const IkeSa& old, const SessionConfig& config,
                                const std::vector<msg::Payload>& request, crypto::RandomSource& random) {
    IkeRekeyAnswer answer;
    const auto* sa_payload = msg::find<msg::SaPayload>(request, msg::PayloadType::sa);
    const auto* nonce = msg::find<msg::NoncePayload>(request, msg::PayloadType::nonce);
    const auto* ke = msg::find<msg::KePayload>(request, msg::PayloadType::ke);
    if (!sa_payload || !nonce || !ke) {
        answer.response.push_back(error(msg::NotifyType::invalid_syntax));
        return answer;
    }
    auto chosen = choose(sa_payload->proposals, config.ike_proposals, *ke);
    if (!chosen) {
        answer.response.push_back(error(msg::NotifyType::no_proposal_chosen));
        return answer;
    }
    IkeSa sa;
    sa.original_initiator = false;  // the gateway initiated the new IKE SA
    sa.nat_local = old.nat_local;
    sa.nat_remote = old.nat_remote;
    std::copy(chosen->spi.begin(), chosen->spi.end(), sa.spi_i.begin());
    do random.fill(sa.spi_r);
    while (sa.spi_r == msg::Spi8{} || sa.spi_r == old.spi_r);
    sa.nonce_i = nonce->data;
    sa.nonce_r.resize(nonce_size);
    random.fill(sa.nonce_r);
    set_transforms(sa.transforms, *chosen);
    auto own = crypto::make_key_exchange(sa.transforms.dh, random);
    auto shared = own->shared_secret(ke->data);
    if (!shared) {
        answer.response.push_back(error(msg::NotifyType::invalid_syntax));
        return answer;
    }
    derive_rekeyed_ike_keys(old, *shared, false, sa);

    msg::Proposal accepted = *chosen;
    accepted.spi.assign(sa.spi_r.begin(), sa.spi_r.end());
    answer.response.push_back({msg::PayloadType::sa, false, msg::SaPayload{{accepted}}});
    answer.response.push_back({msg::PayloadType::nonce, false, msg::NoncePayload{sa.nonce_r}});
    answer.response.push_back({msg::PayloadType::ke, false, msg::KePayload{std::uint16_t(sa.transforms.dh), own->public_value()}});
    answer.new_sa = std::move(sa);
    return answer;
}

}  // namespace ikevpn::core
