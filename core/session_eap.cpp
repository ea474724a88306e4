// IKE_AUTH with EAP (RFC 7296 §2.16; the payload work is in core/eap_auth.cpp): the rounds between the
// first IKE_AUTH request and the final AUTH. The final response is handled by on_auth_response like any
// other IKE_AUTH response.
#include "core/session_state.hpp"

namespace ikevpn::core {

void IkeSession::State::start_eap_auth(std::vector<msg::Payload>& inner) {
    eap.emplace(config, random);
    eap->build_first(inner);
}

void IkeSession::State::on_eap_response(Actions& out, const std::vector<msg::Payload>& inner, TimePoint now) {
    auto next = eap->process(sa, inner);
    // The gateway's IKE SA is not established before the final AUTH: nothing to delete there.
    if (auto* failure = std::get_if<Failure>(&next)) return finish(out, std::move(*failure));
    auto& round = std::get<EapAuthTask::Round>(next);
    for (auto& line : round.progress) out.push_back(Progress{std::move(line)});
    send_request(out, sa.protect(msg::ExchangeType::ike_auth, false, next_message_id, round.request),
                 msg::ExchangeType::ike_auth, true, now, config.retransmit.retransmits);
}

}  // namespace ikevpn::core
