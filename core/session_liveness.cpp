// Liveness checks this side starts (RFC 7296 §2.4): "an endpoint MAY send an INFORMATIONAL request with
// no payloads ... If it has not received any cryptographically protected IKE message in response after the
// retransmissions, the peer MUST be considered dead" — the IKE SA and its CHILD SAs are closed. The check
// is an ordinary request of ours: window of one (§2.3), the retransmission schedule of every request, the
// next message ID. When to ask is the driver's choice (core/liveness_policy.hpp). Part of IkeSession
// (core/session_state.hpp).
//
// A gateway that rebooted answers a protected request with nothing, or with an unprotected INVALID_IKE_SPI
// notification (§2.21.4). Anyone on the path can forge the latter, so it is not taken as proof of anything:
// like every unprotected message where a protected answer is due, it is dropped (State::on_response), and
// the check runs out its retransmissions either way.
#include "core/session_state.hpp"

#include <chrono>
#include <utility>

namespace ikevpn::core {

Actions IkeSession::check_liveness(TimePoint now) {
    Actions out;
    if (s_->phase != Phase::established) return out;
    s_->request_liveness(out, now);
    s_->settle(out, now);
    return out;
}

void IkeSession::State::request_liveness(Actions& out, TimePoint now) {
    // One check at a time. A MOBIKE update (or the quiet wait for a path) and a reauthentication have
    // retransmissions of their own that notice a dead gateway; a second request would not fit the window.
    if (roaming() || successor || liveness_asked || (pending && pending->liveness)) return;
    if (!pending) return start_liveness_check(out, now);
    liveness_asked = now;  // behind the request in flight, like rekey_ike()
    queue.push_back({TaskKind::liveness, 0});
}

void IkeSession::State::start_liveness_check(Actions& out, TimePoint now) {
    if (const auto asked = std::exchange(liveness_asked, std::nullopt)) {
        // Queued: an authenticated answer to the request ahead of it already showed the gateway alive.
        if (last_received && *last_received >= *asked) return;
    }
    ++liveness_checks;
    send_request(out, sa.protect(msg::ExchangeType::informational, false, next_message_id, {}),
                 msg::ExchangeType::informational, true, now, config.retransmit.retransmits);
    pending->liveness = true;
}

void IkeSession::State::on_liveness_response(Actions& out, TimePoint now) {
    // The path changed while the check was in flight: on_path() sent it again from the new path
    // (RFC 4555 §3.5) and left the move to follow its answer, as it does for an update in flight.
    if (restart_update && newest && mobike.negotiated()) {
        restart_update = false;
        send_update(out, *newest, now);
    }
}

Failure IkeSession::State::liveness_timeout(const PendingRequest& p, TimePoint now) {
    liveness_failed = true;
    const auto waited = std::chrono::duration_cast<std::chrono::seconds>(now - p.first_sent).count();
    return {CloseCode::timeout, "the gateway " + config.gateway.to_string() +
                                    " stopped answering liveness checks (no answer to " +
                                    std::to_string(config.retransmit.retransmits) + " retransmissions over " +
                                    std::to_string(waited) + " s)"};
}

}  // namespace ikevpn::core
