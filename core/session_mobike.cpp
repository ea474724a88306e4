// MOBIKE path changes of the IKE SA (RFC 4555; the rules are in core/mobike.hpp). Part of IkeSession
// (core/session_state.hpp).
#include "core/session_state.hpp"

#include <algorithm>

namespace ikevpn::core {

bool IkeSession::State::roaming() const {
    return phase == Phase::established && (no_path_since || (pending && pending->mobike_update));
}

void IkeSession::State::send_update(Actions& out, const Path& p, TimePoint now) {
    update_built_for = p;
    send_request(out, sa.protect(msg::ExchangeType::informational, false, next_message_id, mobike.build_update(sa, p)),
                 msg::ExchangeType::informational, true, now, config.retransmit.retransmits, p);
    pending->mobike_update = true;
    restart_update_schedule(now);
    out.back() = ArmTimer{pending->deadline};
}

// A new path often drops its first packets (neighbour discovery, a link still coming up): the update
// is retried sooner than other requests, with two more tries so the whole schedule stays as long.
void IkeSession::State::restart_update_schedule(TimePoint now) {
    pending->retransmits_left = config.retransmit.retransmits + 2;
    pending->timeout = std::min<Duration>(config.retransmit.initial, update_first_retransmit);
    pending->first_sent = now;
    pending->deadline = now + pending->timeout;
}

// No route to the gateway: stay quiet, count nothing, give up only after no_path_limit.
void IkeSession::State::wait_for_path(Actions& out, TimePoint now, const std::string& why) {
    if (!no_path_since) {
        no_path_since = now;
        if (!roam_started) roam_started = now, roam_from = path;
        const auto limit = std::chrono::duration_cast<std::chrono::seconds>(config.no_path_limit).count();
        out.push_back(Progress{why + ": waiting up to " + std::to_string(limit) + " s for a path"});
    }
    out.push_back(ArmTimer{*no_path_since + config.no_path_limit});
}

void IkeSession::State::on_path(Actions& out, std::optional<Path> p, TimePoint now) {
    if (phase == Phase::idle || phase == Phase::init_sent || phase == Phase::auth_sent) {
        if (p) path = p;  // where the tunnel starts from
        return;
    }
    if (phase != Phase::established) return;
    if (!p) {
        newest.reset();
        return wait_for_path(out, now, "no path to the gateway " + config.gateway.to_string());
    }
    if (*p == refused_path || (!no_path_since && p == newest)) return;  // nothing new
    newest = p;
    const bool was_waiting = no_path_since.has_value();
    no_path_since.reset();
    if (was_waiting) roam_started = now;  // the handover is timed from when a path is usable again
    if (!mobike.negotiated()) {
        if (p == path) return;
        const std::string from = path ? endpoint_text(path->local) : std::string("?");
        return delete_then_close(out, {CloseCode::path_lost, "the local address changed from " + from + " to " +
                                                                 endpoint_text(p->local) +
                                                                 " and the gateway does not support MOBIKE"},
                                 now);
    }
    if (!roam_started) roam_started = now, roam_from = path;
    if (pending) {
        // RFC 4555 §3.5: the gateway takes the new addresses from the IP header, so the request in flight
        // goes out again at once from the newest path; its answer is followed by a fresh update.
        restart_update = true;
        pending->path = p;
        restart_update_schedule(now);
        out.push_back(SendDatagram{pending->bytes, pending->nat_t, p});
        out.push_back(ArmTimer{pending->deadline});
        return;
    }
    if (p == path && !was_waiting) return;
    send_update(out, *p, now);
}

void IkeSession::State::on_update_response(Actions& out, const std::vector<msg::Payload>& inner, TimePoint now) {
    const Path sent_on = pending->path.value_or(*update_built_for);
    pending.reset();
    out.push_back(CancelTimer{});
    const Path arrived = arrival.value_or(sent_on);
    const auto r = mobike.process_update_response(sa, inner, arrived);
    switch (r.outcome) {
    case MobikeTask::Outcome::cookie_mismatch:
        if (++cookie_failures >= 3)
            return finish(out, {CloseCode::protocol_error, "the gateway's answers to UPDATE_SA_ADDRESSES failed the "
                                                           "COOKIE2 return routability check 3 times"});
        out.push_back(Progress{"the answer to UPDATE_SA_ADDRESSES echoed a wrong COOKIE2: ignored, asking again"});
        return send_update(out, newest.value_or(sent_on), now);
    case MobikeTask::Outcome::refused:
        refused_path = sent_on;
        return wait_for_path(out, now, r.reason);
    case MobikeTask::Outcome::failed:
        return delete_then_close(out, {CloseCode::protocol_error, r.reason}, now);
    case MobikeTask::Outcome::moved:
        break;
    }
    cookie_failures = 0;
    refused_path.reset();
    path = arrived;
    sa.nat_remote = r.nat_remote;
    if (restart_update && newest && newest != update_built_for) {
        restart_update = false;
        return send_update(out, *newest, now);  // confirm the newest path with its own NAT detection
    }
    restart_update = false;
    out.push_back(PathChanged{roam_from, arrived, now - roam_started.value_or(now), r.nat_local});
    out.push_back(Progress{"MOBIKE: the SAs moved to " + endpoint_text(arrived.local) + " -> " +
                           endpoint_text(arrived.remote) + (r.nat_local ? " (behind a NAT)" : "")});
    if (roam_from && roam_from->remote.address != arrived.remote.address) rekey_after_gateway_move(out);
    roam_started.reset();
}

// The gateway's own address changed (another of its addresses, or the other family). A gateway that cannot
// move an SA to another local address (strongSwan with kernel-libipsec) rekeys its CHILD SA after the
// update instead — but only once its own requests are done, and one of them may be stuck retransmitting to
// the address we left (seen in test_mobike_gateway_addresses: 9 s of silence, until the dead-data-path
// watch rekeyed). Our rekey makes a pair on the new addresses at once, make-before-break; a rekey of the
// gateway's crossing it is a collision (RFC 7296 §2.8.1) that the rekey code already resolves.
void IkeSession::State::rekey_after_gateway_move(Actions& out) {
    if (installed.empty()) return;
    out.push_back(Progress{"the gateway's address changed: rekeying the CHILD SA so that its SAs use the new one"});
    request_child_rekey(child.spi_in);
}

}  // namespace ikevpn::core
