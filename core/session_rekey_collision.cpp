// Simultaneous IKE SA rekeys (RFC 7296 §2.8.2): "After the CREATE_CHILD_SA exchanges, three IKE SAs exist
// between A and B: the old IKE SA and two new IKE SAs. The new IKE SA containing the lowest nonce SHOULD
// be deleted by the node that created it, and the other surviving new IKE SA MUST inherit all the CHILD
// SAs." The node that initiated the surviving one deletes the old IKE SA. When only one end notices the
// collision, no redundant IKE SA exists: the other end refuses the late rekey with TEMPORARY_FAILURE (it is
// closing the old IKE SA), or its Delete of the old IKE SA arrives first, and the end that noticed "can
// forget its own rekey attempt". Part of IkeSession (core/session_state.hpp).
//
// While undecided, the gateway's new IKE SA waits in `ike_collision`; messages on it are not answered yet
// (the gateway retransmits them once it is ours). CHILD SAs are untouched throughout: they simply belong
// to whichever IKE SA stays. Should our rekey go unanswered, the gateway's new IKE SA stays rather than the
// tunnel timing out (session.cpp, on_timer).
//
// Not covered: when the gateway's Delete of the old IKE SA overtakes a *successful* answer to our rekey
// (reordering, or that answer lost and the old IKE SA gone before our retransmission), we adopt the
// gateway's IKE SA and forget ours as §2.8.2 says; the IKE SA the gateway created for us is then not
// deleted by us but left to the gateway's liveness checks (it carries no CHILD SA).
#include "core/session_state.hpp"

namespace ikevpn::core {

void IkeSession::State::on_colliding_ike_rekey(Actions& out, std::uint32_t id, const std::vector<msg::Payload>& request) {
    IkeRekeyAnswer answer = answer_ike_rekey(sa, config, request, random);
    respond(out, id, msg::ExchangeType::create_child_sa, answer.response);  // on the old IKE SA
    if (!answer.new_sa) return;
    ike_collision = std::move(*answer.new_sa);
    out.push_back(Progress{"the gateway rekeys the IKE SA while we do (RFC 7296 §2.8.2): the nonces decide which new IKE SA stays"});
}

void IkeSession::State::delete_old_sa(Actions& out, std::uint32_t id, TimePoint now) {
    PendingRequest r;
    r.bytes = old_sa->protect(msg::ExchangeType::informational, false, id, build_ike_delete());
    r.nat_t = true;
    r.message_id = id;
    r.exchange = msg::ExchangeType::informational;
    r.retransmits_left = config.retransmit.retransmits;
    r.on_old_sa = true;
    arm_request(out, std::move(r), now);
}

void IkeSession::State::resolve_ike_collision(Actions& out, IkeRekeyInitiator::Outcome outcome, TimePoint now) {
    if (outcome.result != IkeRekeyInitiator::Result::done) {
        // The gateway finished its rekey before it saw ours (or refused ours for another reason): no
        // redundant IKE SA exists, and its new one is the IKE SA now.
        out.push_back(Progress{outcome.reason + "; the gateway's own rekey of the IKE SA stands"});
        return adopt_peer_ike_sa(out, false, now);
    }
    IkeSa theirs = std::move(*ike_collision);
    ike_collision.reset();
    IkeSa ours = std::move(*outcome.sa);
    const std::uint32_t old_id = next_message_id;
    if (our_sa_is_redundant(ours.nonce_i, ours.nonce_r, theirs.nonce_i, theirs.nonce_r)) {
        // Ours holds the lowest nonce: we delete it; the gateway initiated the survivor and deletes the old one.
        out.push_back(Progress{"IKE SA rekey collision: ours has the lowest nonce and is deleted; the gateway's new IKE SA stays"});
        doomed_sa = std::move(sa);
        doomed_peer = std::move(peer);
        old_sa = std::move(ours);
        old_peer = {};
        sa = std::move(theirs);
    } else {
        // The gateway's holds the lowest nonce: it deletes that one; ours stays and we delete the old one.
        out.push_back(Progress{"IKE SA rekey collision: the gateway's new IKE SA has the lowest nonce and is deleted by it; ours stays"});
        doomed_sa = std::move(theirs);
        doomed_peer = {};
        old_sa = std::move(sa);
        old_peer = std::move(peer);
        sa = std::move(ours);
    }
    const bool ours_stays = sa.original_initiator;
    peer = {};
    next_message_id = 0;  // RFC 7296 §2.18: message IDs of the new IKE SA start at 0 both ways
    schedule_ike_rekey(now);
    out.push_back(IkeRekeyed{hex(sa.spi_i), hex(sa.spi_r), ours_stays});
    out.push_back(Progress{"rekeyed the IKE SA: new SPIs " + hex(sa.spi_i) + " / " + hex(sa.spi_r)});
    // Our redundant IKE SA is new (its first message is 0); the old one continues its own numbering.
    delete_old_sa(out, ours_stays ? old_id : 0, now);
}

void IkeSession::State::adopt_peer_ike_sa(Actions& out, bool old_deleted, TimePoint now) {
    if (old_deleted) {
        old_sa.reset();
    } else {
        old_sa = std::move(sa);  // the gateway deletes it (its Delete is answered by on_old_sa_request)
        old_peer = std::move(peer);
    }
    sa = std::move(*ike_collision);
    ike_collision.reset();
    peer = {};
    next_message_id = 0;
    // Our own attempt is forgotten with the old IKE SA (RFC 7296 §2.8.2).
    ike_rekey.reset();
    pending.reset();
    out.push_back(CancelTimer{});
    schedule_ike_rekey(now);
    out.push_back(IkeRekeyed{hex(sa.spi_i), hex(sa.spi_r), false});
    out.push_back(Progress{"the gateway rekeyed the IKE SA: new SPIs " + hex(sa.spi_i) + " / " + hex(sa.spi_r)});
}

bool IkeSession::State::on_doomed_sa(Actions& out, const msg::Message& m, ByteView raw) {
    if (!doomed_sa || !doomed_sa->matches(m.header) || !doomed_sa->from_peer(m.header)) return false;
    if (m.header.is_response()) return true;  // we send no requests on it
    const std::uint32_t id = m.header.message_id;
    if (id + 1 == doomed_peer.next_id && !doomed_peer.last_response.empty()) {
        out.push_back(SendDatagram{doomed_peer.last_response, true});
        return true;
    }
    if (id != doomed_peer.next_id) return true;
    auto inner = doomed_sa->unprotect(raw, m);
    if (!inner) return true;
    std::vector<msg::Payload> response;
    bool deleted = false;
    if (m.header.exchange == msg::ExchangeType::create_child_sa) {
        // RFC 7296 §2.25.2: an IKE SA being closed is not rekeyed, nor are its CHILD SAs.
        response.push_back(msg::make_notify(msg::NotifyType::temporary_failure));
    } else if (m.header.exchange == msg::ExchangeType::informational) {
        deleted = read_peer_deletes(*inner).ike_sa;
    } else {
        return true;
    }
    doomed_peer.last_response = doomed_sa->protect(m.header.exchange, true, id, response);
    doomed_peer.next_id = id + 1;
    out.push_back(SendDatagram{doomed_peer.last_response, true});
    if (deleted) {
        doomed_sa.reset();
        doomed_peer = {};
        out.push_back(Progress{"the gateway deleted the IKE SA left over from the rekey collision"});
    }
    return true;
}

}  // namespace ikevpn::core
