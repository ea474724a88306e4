#include "core/eap_auth.hpp"

#include "core/certificate_auth.hpp"
#include "core/identity.hpp"
#include "core/ike_auth.hpp"

namespace ikevpn::core {

namespace {

std::string eap_identity(const SessionConfig& config) {
    return config.eap_identity.empty() ? config.local_id : config.eap_identity;
}

// EAP-TLS: our certificate inside TLS; the gateway's TLS certificate passes the same path validation and
// identity rule (remote_id) as its IKE certificate.
eap::EapPeer make_tls_peer(const SessionConfig& config, crypto::RandomSource& random) {
    crypto::TlsClientConfig tls;
    tls.key = config.eap_tls_key;
    tls.chain = config.eap_tls_certs;
    tls.trusted_cas = config.trusted_cas;
    tls.now = config.wall_clock();
    tls.check_identity = [id = make_identity(config.remote_id)](const crypto::Certificate& leaf) {
        return certificate_identity_problem(leaf, id);
    };
    return eap::EapPeer(eap_identity(config),
                        eap::TlsPeer(crypto::make_tls_client(std::move(tls), random), config.eap_tls_fragment_size));
}

// The gateway's TLS certificate fails as its IKE certificate would (CERT_INVALID, ID_MISMATCH).
CloseCode failure_code(crypto::TlsFailureKind kind) {
    switch (kind) {
    case crypto::TlsFailureKind::certificate: return CloseCode::cert_invalid;
    case crypto::TlsFailureKind::identity: return CloseCode::id_mismatch;
    default: return CloseCode::auth_failed;
    }
}

eap::EapPeer make_peer(const SessionConfig& config, crypto::RandomSource& random) {
    if (config.eap_tls) return make_tls_peer(config, random);
    return eap::EapPeer(eap_identity(config), config.eap_password, random);
}

}  // namespace

EapAuthTask::EapAuthTask(const SessionConfig& config, crypto::RandomSource& random)
    : config_(config), peer_(make_peer(config, random)) {}

void EapAuthTask::build_first(std::vector<msg::Payload>& payloads) const {
    payloads.push_back({msg::PayloadType::id_i, false, make_identity(config_.local_id)});
    add_certificate_payloads(config_, payloads);
}

std::optional<Failure> EapAuthTask::check_gateway(const IkeSa& sa, const std::vector<msg::Payload>& inner) {
    if (config_.trusted_cas.empty())
        return Failure{CloseCode::cert_invalid, "EAP needs the gateway to authenticate with a certificate: set 'ca'"};
    if (!msg::find<msg::AuthPayload>(inner, msg::PayloadType::auth))
        return Failure{CloseCode::auth_failed, "authentication failed: the gateway did not authenticate itself before "
                                               "EAP (EAP-only authentication, RFC 5998, is not supported)"};
    // Same checks as certificate authentication: IDr = remote_id, the chain, the AUTH signature.
    if (auto failure = process_auth(sa, config_, inner, peer_identity_)) return failure;
    id_r_ = *msg::find<msg::IdPayload>(inner, msg::PayloadType::id_r);
    return std::nullopt;
}

std::variant<EapAuthTask::Round, Failure> EapAuthTask::process(const IkeSa& sa, const std::vector<msg::Payload>& inner) {
    const auto* eap = msg::find<msg::RawPayload>(inner, msg::PayloadType::eap);
    if (auto notified = failure_from_notify(inner, "IKE_AUTH"); notified && (!eap || !id_r_)) return *notified;
    Round round;
    if (!id_r_) {
        if (auto failure = check_gateway(sa, inner)) return *failure;
        round.progress.push_back("gateway certificate verified for '" + peer_identity_ + "'; starting " +
                                 peer_.method_name());
    }
    if (!eap) return Failure{CloseCode::protocol_error, "IKE_AUTH response without an EAP payload during EAP"};
    eap::PeerStep step = peer_.on_packet(eap->body);
    if (step.failure) return Failure{failure_code(peer_.tls_failure_kind()), std::move(*step.failure)};
    if (step.send) {
        round.request.push_back({msg::PayloadType::eap, false, msg::RawPayload{std::move(*step.send)}});
        return round;
    }
    // EAP-Success: AUTH = prf( prf(MSK, "Key Pad for IKEv2"), RealMessage1 | NonceRData | prf(SK_pi, IDi'))
    // (RFC 7296 §2.16: the MSK takes the place of the shared secret).
    const msg::IdPayload id_i = make_identity(config_.local_id);
    round.request.push_back({msg::PayloadType::auth, false,
                             msg::AuthPayload{msg::AuthMethod::shared_key_mic,
                                              crypto::psk_auth(*sa.prf, *peer_.msk(), sa.init_request, sa.nonce_r,
                                                               sa.keys.sk_pi, id_i.body())}});
    round.progress.push_back(std::string(peer_.method_name()) + " succeeded; sending the final AUTH");
    final_sent_ = true;
    return round;
}

std::optional<Failure> EapAuthTask::check_final(const IkeSa& sa, const std::vector<msg::Payload>& inner,
                                                std::string& peer_identity) const {
    const auto* auth = msg::find<msg::AuthPayload>(inner, msg::PayloadType::auth);
    if (!auth) return Failure{CloseCode::protocol_error, "final IKE_AUTH response without AUTH"};
    peer_identity = peer_identity_;
    const Bytes expected = crypto::psk_auth(*sa.prf, *peer_.msk(), sa.init_response, sa.nonce_i, sa.keys.sk_pr, id_r_->body());
    if (auth->method != msg::AuthMethod::shared_key_mic || !crypto::equal_constant_time(expected, auth->data))
        return Failure{CloseCode::auth_failed, "authentication failed: the gateway's final AUTH does not match the " +
                                                   std::string(peer_.method_name()) + " key (MSK)"};
    return std::nullopt;
}

Failure EapAuthTask::final_refused(Failure notified) const {
    if (notified.code != CloseCode::auth_failed) return notified;
    return {CloseCode::auth_failed, "authentication failed: the gateway refused our final AUTH after " +
                                        std::string(peer_.method_name()) + " succeeded (AUTHENTICATION_FAILED)"};
}

}  // namespace ikevpn::core
