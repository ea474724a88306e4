#include "core/ike_auth.hpp"

#include "core/identity.hpp"

namespace ikevpn::core {

void build_auth(const IkeSa& sa, const SessionConfig& config, std::vector<msg::Payload>& payloads) {
    msg::IdPayload id_i = make_identity(config.local_id);
    // AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), RealMessage1 | NonceRData | prf(SK_pi, IDi'))
    Bytes auth = crypto::psk_auth(*sa.prf, config.psk, sa.init_request, sa.nonce_r, sa.keys.sk_pi, id_i.body());
    payloads.push_back({msg::PayloadType::id_i, false, std::move(id_i)});
    payloads.push_back({msg::PayloadType::auth, false, msg::AuthPayload{msg::AuthMethod::shared_key_mic, std::move(auth)}});
}

std::optional<Failure> process_auth(const IkeSa& sa, const SessionConfig& config,
                                    const std::vector<msg::Payload>& payloads, std::string& peer_identity) {
    const auto* id_r = msg::find<msg::IdPayload>(payloads, msg::PayloadType::id_r);
    const auto* auth = msg::find<msg::AuthPayload>(payloads, msg::PayloadType::auth);
    if (!id_r || !auth) return Failure{CloseCode::protocol_error, "IKE_AUTH response without IDr or AUTH"};
    peer_identity = identity_to_string(*id_r);
    const msg::IdPayload expected = make_identity(config.remote_id);
    if (id_r->id_type != expected.id_type || id_r->data != expected.data)
        return Failure{CloseCode::auth_failed, "authentication failed: the gateway identifies as '" + peer_identity +
                                                   "', but the profile's remote_id is '" + config.remote_id + "'"};
    if (auth->method != msg::AuthMethod::shared_key_mic)
        return Failure{CloseCode::auth_failed, "authentication failed: the gateway used AUTH method " +
                                                   std::to_string(int(auth->method)) + ", not a pre-shared key"};
    // The responder signs RealMessage2 | NonceIData | prf(SK_pr, IDr').
    Bytes expected_auth = crypto::psk_auth(*sa.prf, config.psk, sa.init_response, sa.nonce_i, sa.keys.sk_pr, id_r->body());
    if (!crypto::equal_constant_time(expected_auth, auth->data))
        return Failure{CloseCode::auth_failed,
                       "authentication failed: the gateway's AUTH does not match our PSK (wrong PSK?)"};
    return std::nullopt;
}

}  // namespace ikevpn::core
