#include "core/ike_init.hpp"

#include "core/certificate_auth.hpp"
#include "core/ike_natd.hpp"
#include "core/ike_transforms.hpp"
#include "core/message/rules.hpp"
#include "core/proposal.hpp"
#include "core/redirect.hpp"

#include <algorithm>

namespace ikevpn::core {
namespace {

constexpr std::size_t nonce_size = 32;  // RFC 7296 §2.10: at least half the PRF key size, >= 16
constexpr unsigned max_retries = 3;     // COOKIE and INVALID_KE_PAYLOAD round trips before giving up

std::optional<std::uint16_t> first_transform(const msg::Proposal& p, msg::TransformType type) {
    for (const auto& t : p.transforms)
        if (t.type == type) return t.id;
    return std::nullopt;
}

bool offers_group(const std::vector<msg::Proposal>& offered, std::uint16_t group) {
    for (const auto& p : offered)
        for (const auto& t : p.transforms)
            if (t.type == msg::TransformType::dh && t.id == group) return true;
    return false;
}

}  // namespace

IkeInitTask::IkeInitTask(const SessionConfig& config, crypto::RandomSource& random)
    : config_(config), random_(random), offered_(config.ike_proposals) {
    std::uint8_t number = 1;
    for (auto& p : offered_) {
        p.number = number++;
        p.protocol = msg::ProtocolId::ike;
        p.spi.clear();
    }
}

Bytes IkeInitTask::build_request(IkeSa& sa) {
    if (!started_) {
        started_ = true;
        random_.fill(sa.spi_i);
        sa.nonce_i.resize(nonce_size);
        random_.fill(sa.nonce_i);
        auto group = first_transform(offered_.front(), msg::TransformType::dh);
        ke_ = crypto::make_key_exchange(crypto::DhGroup(group.value_or(31)), random_);
    }
    std::vector<msg::Payload> payloads;
    // RFC 7296 §2.6: the returned cookie must be the first payload of the repeated request.
    if (!cookie_.empty()) payloads.push_back(msg::make_notify(msg::NotifyType::cookie, cookie_));
    payloads.push_back({msg::PayloadType::sa, false, msg::SaPayload{offered_}});
    payloads.push_back({msg::PayloadType::ke, false, msg::KePayload{std::uint16_t(ke_->group()), ke_->public_value()}});
    payloads.push_back({msg::PayloadType::nonce, false, msg::NoncePayload{sa.nonce_i}});
    add_nat_detection(payloads, sa.spi_i, config_.gateway, config_.ike_port, random_);
    if (uses_signatures(config_)) payloads.push_back(build_signature_hash_algorithms());
    // RFC 7383 §2.3: announced in IKE_SA_INIT; fragments are used only when both ends announce it.
    if (config_.fragmentation) payloads.push_back(msg::make_notify(msg::NotifyType::fragmentation_supported));
    // RFC 5685 §4: we follow redirects; after one, REDIRECTED_FROM names the gateway that sent us.
    payloads.push_back(config_.redirected_from ? make_redirected_from(*config_.redirected_from) : make_redirect_supported());

    msg::Message m;
    m.header = sa.header(msg::ExchangeType::ike_sa_init, false, 0);
    m.header.spi_r = {};
    m.payloads = std::move(payloads);
    sa.init_request = msg::encode(m);
    return sa.init_request;
}

IkeInitTask::Result IkeInitTask::process_response(IkeSa& sa, const msg::Message& response, ByteView raw) {
    const auto& payloads = response.payloads;
    if (const auto* cookie = msg::find_notify(payloads, msg::NotifyType::cookie)) {
        if (++retries_ > max_retries || cookie->data.empty() || cookie->data.size() > 64)
            return Failure{CloseCode::protocol_error, "the gateway keeps asking for a COOKIE"};
        cookie_ = cookie->data;
        return Retry{"the gateway asked for a COOKIE (RFC 7296 §2.6)"};
    }
    if (const auto* invalid_ke = msg::find_notify(payloads, msg::NotifyType::invalid_ke_payload)) {
        // RFC 7296 §1.3: the data is the 2-octet group the responder wants; use it only if we offered it.
        if (invalid_ke->data.size() != 2)
            return Failure{CloseCode::protocol_error, "malformed INVALID_KE_PAYLOAD from the gateway"};
        const std::uint16_t group = std::uint16_t(invalid_ke->data[0] << 8 | invalid_ke->data[1]);
        if (!offers_group(offered_, group) || ++retries_ > max_retries)
            return Failure{CloseCode::no_proposal_chosen,
                           "the gateway wants DH group " + transform_name(msg::TransformType::dh, group, {}) +
                               ", which the profile's IKE proposals do not offer"};
        ke_ = crypto::make_key_exchange(crypto::DhGroup(group), random_);
        return Retry{"INVALID_KE_PAYLOAD: the gateway wants DH group " + transform_name(msg::TransformType::dh, group, {})};
    }
    if (auto failure = failure_from_notify(payloads, "IKE_SA_INIT")) return *failure;
    if (auto broken = msg::check_rules(msg::ExchangeType::ike_sa_init, true, payloads, {}))
        return Failure{CloseCode::protocol_error, "malformed IKE_SA_INIT response: " + *broken};
    if (response.header.spi_r == msg::Spi8{})
        return Failure{CloseCode::protocol_error, "IKE_SA_INIT response without a responder SPI"};

    sa.spi_r = response.header.spi_r;
    sa.init_response.assign(raw.begin(), raw.end());
    sa.nonce_r = msg::find<msg::NoncePayload>(payloads, msg::PayloadType::nonce)->data;
    process_nat_detection(sa, payloads, config_.gateway, config_.ike_port);
    sa.peer_hash_algorithms = read_signature_hash_algorithms(payloads);
    return derive_keys(sa, response);
}

IkeInitTask::Result IkeInitTask::derive_keys(IkeSa& sa, const msg::Message& response) {
    const auto* sa_payload = msg::find<msg::SaPayload>(response.payloads, msg::PayloadType::sa);
    // The codec drops proposals it cannot understand (RFC 7296 §3.3.6), so zero is possible here.
    if (sa_payload->proposals.size() != 1)
        return Failure{CloseCode::protocol_error, "the gateway's answer must hold exactly one usable IKE proposal, it holds " +
                                                   std::to_string(sa_payload->proposals.size())};
    const auto& accepted = sa_payload->proposals.front();
    if (auto bad = check_accepted(offered_, accepted))
        return Failure{CloseCode::protocol_error, "the gateway chose an IKE proposal we did not offer: " + *bad};

    set_transforms(sa.transforms, accepted);
    const auto* ke = msg::find<msg::KePayload>(response.payloads, msg::PayloadType::ke);
    if (sa.transforms.dh != ke_->group() || ke->group != std::uint16_t(ke_->group()))
        return Failure{CloseCode::protocol_error, "the gateway's KE payload does not use the DH group we sent"};
    auto shared = ke_->shared_secret(ke->data);
    if (!shared) return Failure{CloseCode::protocol_error, "the gateway sent an invalid public key exchange value"};

    sa.prf = crypto::make_prf(sa.transforms.prf);
    // SKEYSEED = prf(Ni | Nr, g^ir); {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
    //   = prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr)   (RFC 7296 §2.14)
    sa.keys = crypto::derive_ike_keys(*sa.prf, sa.nonce_i, sa.nonce_r, *shared, sa.spi_i, sa.spi_r,
                                      encr_key_size(sa.transforms), integ_key_size(sa.transforms));
    install_sk_ciphers(sa, true);
    ke_.reset();  // the private DH value is no longer needed
    return Done{};
}

}  // namespace ikevpn::core
