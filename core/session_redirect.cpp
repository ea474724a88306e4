// Redirects (RFC 5685) as they reach one IKE SA: in the IKE_SA_INIT response (§4.1), in the IKE_AUTH
// response once the gateway is authenticated (§6), and in a gateway's INFORMATIONAL on an established SA
// (§5). Each ends this session with Redirected + Closed{redirected}; the driver (client/session.cpp)
// starts over at the new gateway with REDIRECTED_FROM and counts the redirects in a row. Part of
// IkeSession (core/session_state.hpp).
//
// An established SA is deleted before the new one is built (break before make): the driver's sockets are
// connected to one gateway, and a second IKE SA to another gateway would need a second set. The profile's
// remote_id still decides who the new gateway must prove to be.
#include "core/ike_auth.hpp"
#include "core/redirect.hpp"
#include "core/session_state.hpp"

namespace ikevpn::core {

bool IkeSession::State::redirect_in_init(Actions& out, const msg::Message& m) {
    const RedirectNotify r = read_redirect(m.payloads);
    if (!r.present) return false;
    // Unauthenticated: anyone on the path could send it. RFC 5685 §4.1: the Nonce Data must be our Ni,
    // which an off-path attacker cannot know; anything else is dropped and the retransmissions go on.
    if (!r.redirect || r.redirect->nonce != sa.nonce_i) {
        out.push_back(Progress{"ignoring a REDIRECT in IKE_SA_INIT: " +
                               (r.redirect ? std::string("its nonce is not ours") : r.error)});
        return true;
    }
    pending.reset();
    const std::string to = r.redirect->gateway.to_string();
    out.push_back(Redirected{r.redirect->gateway, "IKE_SA_INIT"});
    finish(out, {CloseCode::redirected, "the gateway " + config.gateway.to_string() + " redirected us to " + to +
                                            " (IKE_SA_INIT)"});
    return true;
}

bool IkeSession::State::redirect_in_auth(Actions& out, const std::vector<msg::Payload>& inner) {
    const RedirectNotify r = read_redirect(inner);
    if (!r.present) return false;
    if (!r.redirect) {
        finish(out, {CloseCode::protocol_error, "IKE_AUTH: " + r.error});
        return true;
    }
    // Only a gateway that proved to be remote_id may send us elsewhere (RFC 5685 §6, §10).
    std::string peer_identity;
    if (auto failure = process_auth(sa, config, inner, peer_identity)) {
        finish(out, std::move(*failure));
        return true;
    }
    const std::string to = r.redirect->gateway.to_string();
    out.push_back(Progress{"gateway authenticated as '" + peer_identity + "'; it redirects us to " + to});
    out.push_back(Redirected{r.redirect->gateway, "IKE_AUTH"});
    // No CHILD SA exists; the gateway keeps no state for this IKE SA worth a Delete (RFC 5685 §6).
    finish(out, {CloseCode::redirected, "the gateway " + config.gateway.to_string() + " redirected us to " + to +
                                            " (IKE_AUTH)"});
    return true;
}

bool IkeSession::State::redirect_in_informational(Actions& out, std::uint32_t id, const std::vector<msg::Payload>& inner,
                                                  TimePoint now) {
    const RedirectNotify r = read_redirect(inner);
    if (!r.present) return false;
    respond(out, id, msg::ExchangeType::informational, {});  // RFC 5685 §5: acknowledged with an empty response
    if (!r.redirect) {
        out.push_back(Progress{"ignoring the gateway's " + r.error});
        return true;
    }
    const std::string to = r.redirect->gateway.to_string();
    out.push_back(Progress{"the gateway redirects us to " + to + ": deleting this IKE SA, then connecting there"});
    out.push_back(Redirected{r.redirect->gateway, "INFORMATIONAL"});
    successor.reset();  // a reauthentication with this gateway is moot
    delete_then_close(out, {CloseCode::redirected, "the gateway " + config.gateway.to_string() + " redirected us to " + to}, now);
    return true;
}

}  // namespace ikevpn::core
