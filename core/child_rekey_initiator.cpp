#include "core/child_rekey_initiator.hpp"

#include "core/child_create.hpp"
#include "core/proposal.hpp"

#include <algorithm>

namespace ikevpn::core {
namespace {

constexpr std::size_t nonce_size = 32;

Bytes spi_bytes(std::uint32_t spi) {
    return {std::uint8_t(spi >> 24), std::uint8_t(spi >> 16), std::uint8_t(spi >> 8), std::uint8_t(spi)};
}
std::uint32_t read_u32(const Bytes& b) {
    return std::uint32_t(b[0]) << 24 | std::uint32_t(b[1]) << 16 | std::uint32_t(b[2]) << 8 | b[3];
}

// The DH group of the first proposal that has one: RFC 7296 §1.3.1 sends one KE payload, for the group
// we expect the responder to choose.
std::optional<std::uint16_t> first_group(const std::vector<msg::Proposal>& proposals) {
    for (const auto& p : proposals)
        for (const auto& t : p.transforms)
            if (t.type == msg::TransformType::dh) return t.id;
    return std::nullopt;
}

ChildRekeyInitiator::Outcome fail(ChildRekeyInitiator::Result result, std::string reason) {
    return {result, std::nullopt, std::move(reason)};
}

}  // namespace

ChildRekeyInitiator::ChildRekeyInitiator(const SessionConfig& config, const ChildSaKeys& old,
                                         const std::vector<ChildSaKeys>& installed, crypto::RandomSource& random)
    : old_(old), offered_(config.esp_proposals) {
    // SPIs below 256 are reserved (RFC 4303 §2.1); the new one must differ from every installed pair's.
    do {
        std::uint8_t b[4];
        random.fill(b);
        spi_in_ = read_u32(Bytes(b, b + 4));
    } while (spi_in_ < 256 || std::any_of(installed.begin(), installed.end(),
                                           [&](const ChildSaKeys& c) { return c.spi_in == spi_in_; }));
    std::uint8_t number = 1;
    for (auto& p : offered_) {
        p.number = number++;
        p.protocol = msg::ProtocolId::esp;
        p.spi = spi_bytes(spi_in_);
    }
    nonce_i_.resize(nonce_size);
    random.fill(nonce_i_);
    if (auto group = first_group(offered_)) ke_ = crypto::make_key_exchange(crypto::DhGroup(*group), random);
}

std::vector<msg::Payload> ChildRekeyInitiator::build() const {
    // REKEY_SA: "the SPI the exchange initiator would expect in inbound ESP or AH packets" (RFC 7296
    // §1.3.3) — our inbound SPI of the old pair.
    std::vector<msg::Payload> out{
        msg::make_notify(msg::NotifyType::rekey_sa, {}, msg::ProtocolId::esp, spi_bytes(old_.spi_in)),
        {msg::PayloadType::sa, false, msg::SaPayload{offered_}},
        {msg::PayloadType::nonce, false, msg::NoncePayload{nonce_i_}},
    };
    if (ke_) out.push_back({msg::PayloadType::ke, false, msg::KePayload{std::uint16_t(ke_->group()), ke_->public_value()}});
    // The same traffic selectors as the old pair; we initiate, so TSi is our side.
    out.push_back({msg::PayloadType::ts_i, false, msg::TsPayload{old_.local_ts}});
    out.push_back({msg::PayloadType::ts_r, false, msg::TsPayload{old_.remote_ts}});
    return out;
}

ChildRekeyInitiator::Outcome ChildRekeyInitiator::process(const IkeSa& sa, const std::vector<msg::Payload>& response) {
    if (msg::find_notify(response, msg::NotifyType::temporary_failure))
        return fail(Result::temporary_failure, "the gateway answered the CHILD SA rekey with TEMPORARY_FAILURE");
    if (msg::find_notify(response, msg::NotifyType::child_sa_not_found))
        return fail(Result::not_found, "the gateway no longer knows the CHILD SA we rekeyed (CHILD_SA_NOT_FOUND)");
    if (msg::find_notify(response, msg::NotifyType::no_proposal_chosen))
        return fail(Result::refused, std::string("the gateway refused the CHILD SA rekey with NO_PROPOSAL_CHOSEN") +
                                         (ke_ ? " (the profile's esp proposal asks for PFS: does the gateway's offer that DH group?)"
                                              : " (if the gateway wants PFS, add its DH group to the profile's esp proposal, e.g. aes256gcm16-x25519)"));
    if (auto failure = failure_from_notify(response, "the CHILD SA rekey")) return fail(Result::refused, failure->reason);

    const auto* sa_payload = msg::find<msg::SaPayload>(response, msg::PayloadType::sa);
    const auto* nonce = msg::find<msg::NoncePayload>(response, msg::PayloadType::nonce);
    const auto* ts_i = msg::find<msg::TsPayload>(response, msg::PayloadType::ts_i);
    const auto* ts_r = msg::find<msg::TsPayload>(response, msg::PayloadType::ts_r);
    const auto* ke = msg::find<msg::KePayload>(response, msg::PayloadType::ke);
    if (!sa_payload || !nonce || !ts_i || !ts_r)
        return fail(Result::malformed, "the gateway's CHILD SA rekey answer lacks SA, Nr, TSi or TSr");
    if (sa_payload->proposals.size() != 1)
        return fail(Result::malformed, "the gateway's CHILD SA rekey answer must hold exactly one ESP proposal");
    const auto& accepted = sa_payload->proposals.front();
    if (auto bad = check_accepted(offered_, accepted))
        return fail(Result::malformed, "the gateway chose an ESP proposal we did not offer: " + *bad);
    if (accepted.spi.size() != 4 || read_u32(accepted.spi) < 256)
        return fail(Result::malformed, "the gateway's new ESP SPI is malformed");

    std::optional<std::uint16_t> dh;
    for (const auto& t : accepted.transforms)
        if (t.type == msg::TransformType::dh) dh = t.id;
    SecureBytes shared;
    if (dh) {
        // RFC 7296 §1.3.1: a group other than our KEi's would have been INVALID_KE_PAYLOAD.
        if (!ke_ || !ke || ke->group != *dh || *dh != std::uint16_t(ke_->group()))
            return fail(Result::malformed, "the gateway's PFS key exchange does not match the group we sent");
        auto secret = ke_->shared_secret(ke->data);
        if (!secret) return fail(Result::malformed, "the gateway sent an invalid PFS key exchange value");
        shared = std::move(*secret);
    }

    ChildSaKeys child;
    child.spi_in = spi_in_;
    child.spi_out = read_u32(accepted.spi);
    read_esp_transforms(accepted, child);
    child.local_ts = ts_i->selectors;
    child.remote_ts = ts_r->selectors;
    // KEYMAT = prf+(SK_d, g^ir (new) | Ni | Nr) (RFC 7296 §2.17); we initiated, so our outbound keys come first.
    Bytes seed(shared.begin(), shared.end());
    append(seed, nonce_i_);
    append(seed, nonce->data);
    derive_child_keys_from_seed(sa, seed, true, child);
    nonce_r_ = nonce->data;
    return {Result::done, std::move(child), {}};
}

}  // namespace ikevpn::core
