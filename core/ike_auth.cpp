#include "core/ike_auth.hpp"

#include "core/certificate_auth.hpp"
#include "core/identity.hpp"

namespace ikevpn::core {

namespace {

std::optional<Failure> check_psk_auth(const IkeSa& sa, const SessionConfig& config, const msg::IdPayload& id_r,
                                      const msg::AuthPayload& auth) {
    if (auth.method != msg::AuthMethod::shared_key_mic)
        return Failure{CloseCode::auth_failed, "authentication failed: the gateway used AUTH method " +
                                                   std::to_string(int(auth.method)) +
                                                   ", not a pre-shared key (set 'ca' to accept its certificate)"};
    // The responder signs RealMessage2 | NonceIData | prf(SK_pr, IDr').
    Bytes expected_auth = crypto::psk_auth(*sa.prf, config.psk, sa.init_response, sa.nonce_i, sa.keys.sk_pr, id_r.body());
    if (!crypto::equal_constant_time(expected_auth, auth.data))
        return Failure{CloseCode::auth_failed,
                       "authentication failed: the gateway's AUTH does not match our PSK (wrong PSK?)"};
    return std::nullopt;
}

std::optional<Failure> check_signature_auth(const IkeSa& sa, const SessionConfig& config,
                                            const std::vector<msg::Payload>& payloads, const msg::IdPayload& id_r,
                                            const msg::AuthPayload& auth) {
    if (auth.method == msg::AuthMethod::shared_key_mic)
        return Failure{CloseCode::auth_failed, "authentication failed: the gateway used a pre-shared key, but the "
                                               "profile's 'ca' requires a certificate"};
    crypto::CertificatePtr cert;
    if (auto failure = check_gateway_certificate(config, payloads, id_r, cert)) return failure;
    const Bytes octets = crypto::signed_octets(*sa.prf, sa.init_response, sa.nonce_i, sa.keys.sk_pr, id_r.body());
    if (auto reason = crypto::verify_auth(*cert, std::uint8_t(auth.method), auth.data, octets))
        return Failure{CloseCode::auth_failed, "authentication failed: the gateway's AUTH signature is not valid: " + *reason};
    return std::nullopt;
}

}  // namespace

std::optional<Failure> build_auth(const IkeSa& sa, const SessionConfig& config, std::vector<msg::Payload>& payloads) {
    msg::IdPayload id_i = make_identity(config.local_id);
    msg::AuthPayload auth;
    if (config.private_key) {
        // The initiator signs RealMessage1 | NonceRData | prf(SK_pi, IDi')  (RFC 7296 §2.15).
        const Bytes octets = crypto::signed_octets(*sa.prf, sa.init_request, sa.nonce_r, sa.keys.sk_pi, id_i.body());
        std::string error;
        auto signature = crypto::sign_auth(*config.private_key, octets, sa.peer_hash_algorithms, config.rsa_pss, error);
        if (!signature) return Failure{CloseCode::auth_failed, "cannot authenticate with our key: " + error};
        auth = {msg::AuthMethod(signature->method), std::move(signature->data)};
    } else {
        // AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), RealMessage1 | NonceRData | prf(SK_pi, IDi'))
        auth = {msg::AuthMethod::shared_key_mic,
                crypto::psk_auth(*sa.prf, config.psk, sa.init_request, sa.nonce_r, sa.keys.sk_pi, id_i.body())};
    }
    payloads.push_back({msg::PayloadType::id_i, false, std::move(id_i)});
    add_certificate_payloads(config, payloads);
    payloads.push_back({msg::PayloadType::auth, false, std::move(auth)});
    return std::nullopt;
}

std::optional<Failure> process_auth(const IkeSa& sa, const SessionConfig& config,
                                    const std::vector<msg::Payload>& payloads, std::string& peer_identity) {
    const auto* id_r = msg::find<msg::IdPayload>(payloads, msg::PayloadType::id_r);
    const auto* auth = msg::find<msg::AuthPayload>(payloads, msg::PayloadType::auth);
    if (!id_r || !auth) return Failure{CloseCode::protocol_error, "IKE_AUTH response without IDr or AUTH"};
    peer_identity = identity_to_string(*id_r);
    if (!identity_equal(*id_r, make_identity(config.remote_id)))
        return Failure{CloseCode::id_mismatch, "authentication failed: the gateway identifies as '" + peer_identity +
                                                   "', but the profile's remote_id is '" + config.remote_id + "'"};
    if (config.trusted_cas.empty()) return check_psk_auth(sa, config, *id_r, *auth);
    return check_signature_auth(sa, config, payloads, *id_r, *auth);
}

}  // namespace ikevpn::core
