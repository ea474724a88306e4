// The scripted gateway's side of EAP-MSCHAPv2 in IKE_AUTH (RFC 7296 §2.16): certificate AUTH + EAP
// Identity, the MS-CHAPv2 Challenge, Success/Failure, EAP-Success/Failure, then the MSK-keyed final AUTHs.
// The MS-CHAPv2 primitives come from core/crypto/mschapv2 (checked against RFC 2759 / RFC 3079 vectors).
#include "test_responder.hpp"

#include "core/crypto/mschapv2.hpp"
#include "core/eap/eap_message.hpp"
#include "core/identity.hpp"

#include <stdexcept>

namespace ikevpn::test {

namespace {

namespace eap = core::eap;
const Bytes server_challenge(16, 0x5a);

msg::Payload eap_payload(eap::Packet packet) {
    return {msg::PayloadType::eap, false, msg::RawPayload{eap::encode(packet)}};
}

eap::Packet mschapv2_request(std::uint8_t id, eap::MsOpCode op, const Bytes& body) {
    Bytes data{std::uint8_t(op), id, std::uint8_t((4 + body.size()) >> 8), std::uint8_t(4 + body.size())};
    append(data, body);
    return {eap::Code::request, id, std::uint8_t(eap::Type::mschapv2), data};
}

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

}  // namespace

Bytes TestResponder::handle_eap_auth(std::uint32_t id, const std::vector<msg::Payload>& inner) {
    ++eap_rounds;
    auto reply = [&](std::vector<msg::Payload> out) { return protect(msg::ExchangeType::ike_auth, true, id, out); };
    if (const auto* id_i = msg::find<msg::IdPayload>(inner, msg::PayloadType::id_i)) {
        // The first request: our certificate AUTH, then EAP-Identity.
        eap_first_request_ = inner;
        eap_first_had_auth = msg::find<msg::AuthPayload>(inner, msg::PayloadType::auth) != nullptr;
        eap_id_i_body_ = id_i->body();
        msg::IdPayload id_r = core::make_identity(options_.identity);
        std::vector<msg::Payload> out{{msg::PayloadType::id_r, false, id_r},
                                      {msg::PayloadType::auth, false, msg::AuthPayload{}}};
        add_own_auth(id_r, out);
        if (options_.eap_skip_auth)
            std::erase_if(out, [](const msg::Payload& p) { return p.type != msg::PayloadType::id_r; });
        out.push_back(eap_payload({eap::Code::request, 1, std::uint8_t(eap::Type::identity), {}}));
        return reply(std::move(out));
    }
    if (msg::find<msg::AuthPayload>(inner, msg::PayloadType::auth)) return reply(eap_final_auth(inner));
    const auto* raw = msg::find<msg::RawPayload>(inner, msg::PayloadType::eap);
    std::string error;
    auto packet = raw ? eap::decode(raw->body, error) : std::nullopt;
    if (!packet || packet->code != eap::Code::response) throw std::runtime_error("test gateway: bad EAP " + error);
    if (packet->type == std::uint8_t(eap::Type::identity)) eap_identity_seen.assign(packet->data.begin(), packet->data.end());
    if (options_.eap_method) {
        Bytes next = packet->type == std::uint8_t(eap::Type::identity) ? options_.eap_method->start()
                                                                        : options_.eap_method->on_response(raw->body);
        if (!next.empty() && next[0] == std::uint8_t(eap::Code::success)) eap_msk_ = options_.eap_method->msk();
        return reply({{msg::PayloadType::eap, false, msg::RawPayload{std::move(next)}}});
    }
    if (packet->type == std::uint8_t(eap::Type::identity)) {
        Bytes body{16};
        append(body, server_challenge);
        append(body, text("gw"));
        return reply({eap_payload(mschapv2_request(2, eap::MsOpCode::challenge, body))});
    }
    const Bytes& d = packet->data;
    if (d.empty()) throw std::runtime_error("test gateway: empty MS-CHAPv2 response");
    if (d[0] == std::uint8_t(eap::MsOpCode::success)) return reply({eap_payload({eap::Code::success, 4, 0, {}})});
    if (d[0] == std::uint8_t(eap::MsOpCode::failure)) return reply({eap_payload({eap::Code::failure, 4, 0, {}})});
    // The Response: PeerChallenge at 5, NT-Response at 29, the name from 54.
    if (d.size() < 54) throw std::runtime_error("test gateway: short MS-CHAPv2 response");
    eap_peer_challenge_.assign(d.begin() + 5, d.begin() + 21);
    eap_nt_response_.assign(d.begin() + 29, d.begin() + 53);
    const std::string name(d.begin() + 54, d.end());
    const SecureBytes password(options_.eap_password->begin(), options_.eap_password->end());
    const SecureBytes hash = *crypto::mschapv2::nt_password_hash(password);
    if (crypto::mschapv2::nt_response(server_challenge, eap_peer_challenge_, name, hash) != eap_nt_response_)
        return reply({eap_payload(mschapv2_request(3, eap::MsOpCode::failure,
                                                   text("E=691 R=0 C=00000000000000000000000000000000 V=3 M=denied")))});
    std::string success = crypto::mschapv2::authenticator_response(hash, eap_nt_response_, eap_peer_challenge_,
                                                                   server_challenge, name);
    if (options_.eap_wrong_authenticator) success[2] = success[2] == '0' ? '1' : '0';
    eap_msk_ = crypto::mschapv2::msk(hash, eap_nt_response_);
    return reply({eap_payload(mschapv2_request(3, eap::MsOpCode::success, text(success + " M=welcome")))});
}

std::vector<msg::Payload> TestResponder::eap_final_auth(const std::vector<msg::Payload>& inner) {
    const auto* auth = msg::find<msg::AuthPayload>(inner, msg::PayloadType::auth);
    if (!eap_msk_) throw std::runtime_error("test gateway: final AUTH before EAP succeeded");
    const Bytes expected = crypto::psk_auth(*prf_, *eap_msk_, init_request_, nonce_r_, keys.sk_pi, eap_id_i_body_);
    auth_seen_ok = crypto::equal_constant_time(expected, auth->data);
    if (!auth_seen_ok || options_.eap_refuse_final) return {msg::make_notify(msg::NotifyType::authentication_failed)};
    const msg::IdPayload id_r = core::make_identity(options_.identity);
    Bytes own = crypto::psk_auth(*prf_, *eap_msk_, init_response_, nonce_i_, keys.sk_pr, id_r.body());
    if (options_.eap_corrupt_final_auth) own[0] ^= 1;
    std::vector<msg::Payload> out{{msg::PayloadType::auth, false, msg::AuthPayload{msg::AuthMethod::shared_key_mic, own}}};
    add_child_payloads(eap_first_request_, out);
    return out;
}

}  // namespace ikevpn::test
