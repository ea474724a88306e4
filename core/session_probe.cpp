// MOBIKE path probing towards the gateway's other addresses (RFC 4555 §3.5: "the initiator ... decides
// what addresses are used"; §3.6: the peer's ADDITIONAL_IP4/IP6_ADDRESS list is its alternatives). Part of
// IkeSession (core/session_state.hpp).
//
// When the gateway's address in use stops answering while a local path exists, the request in flight —
// unchanged, with its message ID, as RFC 7296 §2.1 requires of a retransmission — is retried at the
// gateway's other addresses in turn, from the second retransmission on: the first one may simply have been
// lost, and the whole retransmission budget (and so the time before TIMEOUT) stays as it was. Addresses of
// the other family (the socket has one) and those the driver has no route to (SessionConfig::reachable) are
// skipped. Whichever address answers, the SAs follow with an UPDATE_SA_ADDRESSES to it (NAT detection and
// COOKIE2 as for any move), so the gateway moves its side too.
#include "core/session_state.hpp"

namespace ikevpn::core {

std::vector<IpAddress> IkeSession::State::probe_candidates() const {
    std::vector<IpAddress> candidates{path->remote.address};
    for (const auto& a : mobike.gateway_addresses()) {
        if (a.family() != path->remote.address.family()) continue;
        if (std::find(candidates.begin(), candidates.end(), a) != candidates.end()) continue;
        if (config.reachable && !config.reachable(a)) continue;
        candidates.push_back(a);
    }
    return candidates;
}

void IkeSession::State::probe_gateway_addresses(Actions& out, PendingRequest& p) {
    if (phase != Phase::established || p.mobike_update || p.on_old_sa || !mobike.negotiated() || !path ||
        no_path_since)
        return;
    const unsigned retransmission = config.retransmit.retransmits - p.retransmits_left;  // 1 = the first
    if (retransmission < 2) return;
    const auto candidates = probe_candidates();
    if (candidates.size() < 2) return;
    const IpAddress& target = candidates[(retransmission - 1) % candidates.size()];
    const Path current = p.path.value_or(*path);
    if (current.remote.address == target) return;
    p.path = Path{current.local, {target, path->remote.port}};
    if (target == path->remote.address) return;  // back to the address in use, in turn
    // The handover is timed from the request that went unanswered.
    if (!roam_started) roam_started = p.first_sent, roam_from = path;
    out.push_back(Progress{"the gateway does not answer at " + path->remote.address.to_string() +
                           ": trying its address " + target.to_string()});
}

void IkeSession::State::follow_gateway_address(Actions& out, TimePoint now) {
    if (phase != Phase::established || pending || !arrival || !path || !mobike.negotiated()) return;
    if (arrival->remote.address == path->remote.address) return;
    if (!roam_started) roam_started = now, roam_from = path;
    out.push_back(Progress{"the gateway answered at " + arrival->remote.address.to_string() +
                           ": moving the SAs there (UPDATE_SA_ADDRESSES)"});
    newest = arrival;
    send_update(out, *arrival, now);
}

}  // namespace ikevpn::core
