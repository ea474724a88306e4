#include "core/ike_rekey_initiator.hpp"

#include "core/ike_rekey.hpp"
#include "core/ike_transforms.hpp"
#include "core/proposal.hpp"

namespace ikevpn::core {
namespace {

constexpr std::size_t nonce_size = 32;

IkeRekeyInitiator::Outcome fail(IkeRekeyInitiator::Result result, std::string reason) {
    return {result, std::nullopt, std::move(reason)};
}

}  // namespace

IkeRekeyInitiator::IkeRekeyInitiator(const IkeSa& old, const SessionConfig& config, crypto::RandomSource& random)
    : offered_(config.ike_proposals) {
    do random.fill(spi_i_);
    while (spi_i_ == msg::Spi8{} || spi_i_ == old.spi_i || spi_i_ == old.spi_r);
    std::uint8_t number = 1;
    for (auto& p : offered_) {
        p.number = number++;
        p.protocol = msg::ProtocolId::ike;
        p.spi.assign(spi_i_.begin(), spi_i_.end());  // RFC 7296 §3.3.1: the new SA's SPI in the proposal
    }
    nonce_i_.resize(nonce_size);
    random.fill(nonce_i_);
    ke_ = crypto::make_key_exchange(old.transforms.dh, random);
}

std::vector<msg::Payload> IkeRekeyInitiator::build() const {
    return {{msg::PayloadType::sa, false, msg::SaPayload{offered_}},
            {msg::PayloadType::nonce, false, msg::NoncePayload{nonce_i_}},
            {msg::PayloadType::ke, false, msg::KePayload{std::uint16_t(ke_->group()), ke_->public_value()}}};
}

IkeRekeyInitiator::Outcome IkeRekeyInitiator::process(const IkeSa& old, const std::vector<msg::Payload>& response) {
    if (msg::find_notify(response, msg::NotifyType::temporary_failure))
        return fail(Result::temporary_failure, "the gateway answered the IKE SA rekey with TEMPORARY_FAILURE");
    if (auto failure = failure_from_notify(response, "the IKE SA rekey")) return fail(Result::refused, failure->reason);
    const auto* sa_payload = msg::find<msg::SaPayload>(response, msg::PayloadType::sa);
    const auto* nonce = msg::find<msg::NoncePayload>(response, msg::PayloadType::nonce);
    const auto* ke = msg::find<msg::KePayload>(response, msg::PayloadType::ke);
    if (!sa_payload || !nonce || !ke)
        return fail(Result::malformed, "the gateway's IKE SA rekey answer lacks SA, Nr or KEr");
    if (sa_payload->proposals.size() != 1)
        return fail(Result::malformed, "the gateway's IKE SA rekey answer must hold exactly one IKE proposal");
    const auto& accepted = sa_payload->proposals.front();
    if (auto bad = check_accepted(offered_, accepted))
        return fail(Result::malformed, "the gateway chose an IKE proposal we did not offer: " + *bad);
    if (accepted.spi.size() != 8) return fail(Result::malformed, "the gateway's new IKE SPI is malformed");

    IkeSa sa;
    sa.original_initiator = true;  // we initiated the new IKE SA
    sa.nat_local = old.nat_local;
    sa.nat_remote = old.nat_remote;
    sa.spi_i = spi_i_;
    std::copy(accepted.spi.begin(), accepted.spi.end(), sa.spi_r.begin());
    if (sa.spi_r == msg::Spi8{}) return fail(Result::malformed, "the gateway's new IKE SPI is zero");
    sa.nonce_i = nonce_i_;
    sa.nonce_r = nonce->data;
    set_transforms(sa.transforms, accepted);
    if (sa.transforms.dh != ke_->group() || ke->group != std::uint16_t(ke_->group()))
        return fail(Result::malformed, "the gateway's KE payload does not use the DH group we sent");
    auto shared = ke_->shared_secret(ke->data);
    if (!shared) return fail(Result::malformed, "the gateway sent an invalid key exchange value");
    derive_rekeyed_ike_keys(old, *shared, true, sa);
    nonce_r_ = nonce->data;
    return {Result::done, std::move(sa), {}};
}

}  // namespace ikevpn::core
