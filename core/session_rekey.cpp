// The rekeys this side starts (RFC 7296 §1.3.2, §1.3.3, §2.8) — lifetimes with jitter, a queue with a
// window of one, collisions (§2.8.1) — and the Deletes of the SAs they replace. Part of IkeSession
// (core/session_state.hpp).
#include "core/session_state.hpp"

#include <algorithm>

namespace ikevpn::core {

Duration IkeSession::State::random_up_to(Duration limit) {
    if (limit <= Duration::zero()) return Duration::zero();
    std::uint8_t b[8];
    random.fill(b);
    std::uint64_t v = 0;
    for (auto x : b) v = v << 8 | x;
    return Duration(Duration::rep(v % (std::uint64_t(limit.count()) + 1)));
}

void IkeSession::State::schedule_child_rekey(TimePoint now) {
    child_rekey_at.reset();
    if (config.rekey.child_lifetime > Duration::zero())
        child_rekey_at = now + config.rekey.child_lifetime - random_up_to(config.rekey.jitter);
}

void IkeSession::State::schedule_ike_rekey(TimePoint now) {
    ike_rekey_at.reset();
    if (config.rekey.ike_lifetime > Duration::zero())
        ike_rekey_at = now + config.rekey.ike_lifetime - random_up_to(config.rekey.jitter);
}

bool IkeSession::State::queued(TaskKind kind, std::uint32_t spi_in) const {
    return std::any_of(queue.begin(), queue.end(), [&](const Task& t) { return t.kind == kind && t.spi_in == spi_in; });
}

void IkeSession::State::request_child_rekey(std::uint32_t spi_in) {
    if (spi_in != child.spi_in || (child_rekey && child_rekey->old_spi_in() == spi_in) ||
        queued(TaskKind::child_rekey, spi_in) || std::find(deleting.begin(), deleting.end(), spi_in) != deleting.end())
        return;
    queue.push_back({TaskKind::child_rekey, spi_in});
}

void IkeSession::State::request_ike_rekey() {
    if (!ike_rekey && !queued(TaskKind::ike_rekey, 0)) queue.push_back({TaskKind::ike_rekey, 0});
}

void IkeSession::State::retire(std::uint32_t spi_in) {
    if (std::find(deleting.begin(), deleting.end(), spi_in) != deleting.end()) return;
    deleting.push_back(spi_in);
    queue.push_front({TaskKind::child_delete, spi_in});  // before other rekeys: finish make-before-break
}

bool IkeSession::State::rekeys_pair_we_delete(const std::vector<msg::Payload>& request) const {
    const auto* rekey = msg::find_notify(request, msg::NotifyType::rekey_sa);
    if (!rekey || rekey->spi.size() != 4) return false;
    const std::uint32_t spi_out = std::uint32_t(rekey->spi[0]) << 24 | std::uint32_t(rekey->spi[1]) << 16 |
                                  std::uint32_t(rekey->spi[2]) << 8 | rekey->spi[3];
    return std::any_of(installed.begin(), installed.end(), [&](const ChildSaKeys& c) {
        return c.spi_out == spi_out && std::find(deleting.begin(), deleting.end(), c.spi_in) != deleting.end();
    });
}

void IkeSession::State::note_collision(const std::vector<msg::Payload>& request, const ChildRekeyAnswer& answer) {
    const auto* ni = msg::find<msg::NoncePayload>(request, msg::PayloadType::nonce);
    const auto* nr = msg::find<msg::NoncePayload>(answer.response, msg::PayloadType::nonce);
    if (ni && nr) collision = PeerRekey{ni->data, nr->data, answer.new_child->spi_in};
}

// Starts queued requests while the window is free (one outstanding request at a time).
void IkeSession::State::start_next(Actions& out, TimePoint now) {
    while (!pending && !queue.empty()) {
        const Task task = queue.front();
        queue.pop_front();
        if (task.kind == TaskKind::child_rekey) start_child_rekey(out, task.spi_in, now);
        else if (task.kind == TaskKind::ike_rekey) start_ike_rekey(out, now);
        else if (task.kind == TaskKind::liveness) start_liveness_check(out, now);  // session_liveness.cpp
        else start_child_delete(out, task.spi_in, now);
    }
}

void IkeSession::State::start_child_rekey(Actions& out, std::uint32_t spi_in, TimePoint now) {
    // Only the current pair: one the gateway replaced meanwhile is deleted, not rekeyed.
    if (spi_in != child.spi_in) return;
    child_rekey.emplace(config, child, installed, random);
    collision.reset();
    rekey_target_deleted = false;
    out.push_back(Progress{"rekeying the CHILD SA " + spi_text(child.spi_in) + (child_rekey->pfs() ? " with PFS" : "")});
    send_request(out, sa.protect(msg::ExchangeType::create_child_sa, false, next_message_id, child_rekey->build()),
                 msg::ExchangeType::create_child_sa, true, now, config.retransmit.retransmits);
}

void IkeSession::State::start_ike_rekey(Actions& out, TimePoint now) {
    // A leftover of an earlier collision the gateway never deleted (strongSwan drops its own new IKE SA
    // when our Delete of the old one reaches it first) is forgotten by now.
    doomed_sa.reset();
    ike_rekey.emplace(sa, config, random);
    out.push_back(Progress{"rekeying the IKE SA " + hex(sa.spi_i) + " / " + hex(sa.spi_r)});
    send_request(out, sa.protect(msg::ExchangeType::create_child_sa, false, next_message_id, ike_rekey->build()),
                 msg::ExchangeType::create_child_sa, true, now, config.retransmit.retransmits);
}

void IkeSession::State::start_child_delete(Actions& out, std::uint32_t spi_in, TimePoint now) {
    if (std::none_of(installed.begin(), installed.end(), [&](const ChildSaKeys& c) { return c.spi_in == spi_in; })) {
        std::erase(deleting, spi_in);  // the gateway deleted it meanwhile
        return;
    }
    delete_in_flight = spi_in;
    send_request(out, sa.protect(msg::ExchangeType::informational, false, next_message_id, {build_esp_delete({spi_in})}),
                 msg::ExchangeType::informational, true, now, config.retransmit.retransmits);
}

void IkeSession::State::finish_child_delete(Actions& out) {
    const std::uint32_t spi_in = *delete_in_flight;
    delete_in_flight.reset();
    std::erase(deleting, spi_in);
    const auto it = std::find_if(installed.begin(), installed.end(), [&](const ChildSaKeys& c) { return c.spi_in == spi_in; });
    if (it == installed.end()) return;
    installed.erase(it);
    out.push_back(RemoveChildSa{spi_in});
    if (child.spi_in == spi_in && !installed.empty()) child = installed.back();
}

void IkeSession::State::on_child_rekey_response(Actions& out, const std::vector<msg::Payload>& inner, TimePoint now) {
    ChildRekeyInitiator task = std::move(*child_rekey);
    child_rekey.reset();
    auto outcome = task.process(sa, inner);
    using R = ChildRekeyInitiator::Result;
    if (outcome.result != R::done && collision) {
        // RFC 7296 §2.8.1: the gateway finished its rekey of this pair before it saw ours (TEMPORARY_FAILURE
        // while it deletes the old pair, CHILD_SA_NOT_FOUND once it is gone): its new pair stands, with the
        // lifetime it got; no retry of ours.
        out.push_back(Progress{outcome.reason + "; the gateway's own rekey of this CHILD SA stands"});
        collision.reset();
        return;
    }
    if (outcome.result == R::temporary_failure) {
        child_rekey_at = retry_at(now);
        out.push_back(Progress{outcome.reason + ": trying again later"});
        return;
    }
    if (outcome.result != R::done) {
        // The old pair keeps working; the gateway's own lifetime (or our next attempt, after a longer
        // pause than for TEMPORARY_FAILURE) replaces it.
        if (outcome.result != R::not_found) child_rekey_at = retry_at(now) + 9 * config.rekey.retry;
        out.push_back(Progress{outcome.reason + "; keeping the current CHILD SA"});
        return;
    }
    ChildSaKeys fresh = std::move(*outcome.child);
    installed.push_back(fresh);
    if (rekey_target_deleted) {
        // RFC 7296 §2.25.1: the gateway closed the pair meanwhile; its replacement goes as well. After a
        // collision this is the gateway's verdict that its new pair won (§2.8.1: the initiator of the
        // survivor deletes the old pair). Until our Delete arrives the gateway may still send on ours.
        out.push_back(InstallChildSa{fresh, true, true, true});
        out.push_back(Progress{"the gateway deleted the CHILD SA we were rekeying: deleting its replacement"});
        retire(fresh.spi_in);
        collision.reset();
        return;
    }
    if (collision && our_sa_is_redundant(task.nonce_i(), task.nonce_r(), collision->nonce_i, collision->nonce_r)) {
        // RFC 7296 §2.8.1: the gateway may still send on it until our Delete arrives, so it receives; it
        // never carries our traffic, which stays on the gateway's new pair.
        out.push_back(InstallChildSa{fresh, true, true, true});
        out.push_back(Progress{"the gateway rekeyed the same CHILD SA: ours (" + spi_text(fresh.spi_in) +
                               ") has the lowest nonce and is deleted"});
        retire(fresh.spi_in);  // the gateway deletes the old pair
        collision.reset();
        return;
    }
    out.push_back(InstallChildSa{fresh, true, true});
    out.push_back(Progress{"rekeyed the CHILD SA: new SPIs " + spi_text(fresh.spi_in) + " (in), " + spi_text(fresh.spi_out) + " (out)"});
    if (collision) out.push_back(Progress{"the gateway rekeyed the same CHILD SA: it deletes its redundant one"});
    child = fresh;
    schedule_child_rekey(now);
    retire(task.old_spi_in());
    collision.reset();
}

void IkeSession::State::on_ike_rekey_response(Actions& out, const std::vector<msg::Payload>& inner, TimePoint now) {
    IkeRekeyInitiator task = std::move(*ike_rekey);
    ike_rekey.reset();
    auto outcome = task.process(sa, inner);
    if (ike_collision) return resolve_ike_collision(out, std::move(outcome), now);  // RFC 7296 §2.8.2
    if (outcome.result != IkeRekeyInitiator::Result::done) {
        ike_rekey_at = retry_at(now);
        out.push_back(Progress{outcome.reason + "; keeping the current IKE SA, trying again later"});
        return;
    }
    // The CHILD SAs move to the new IKE SA, whose message IDs start at 0 (RFC 7296 §2.18); the old one
    // is deleted with its own keys and next message ID.
    const std::uint32_t old_id = next_message_id;
    old_sa = std::move(sa);
    old_peer = std::move(peer);
    sa = std::move(*outcome.sa);
    peer = {};
    next_message_id = 0;
    schedule_ike_rekey(now);
    out.push_back(IkeRekeyed{hex(sa.spi_i), hex(sa.spi_r), true});
    out.push_back(Progress{"rekeyed the IKE SA: new SPIs " + hex(sa.spi_i) + " / " + hex(sa.spi_r)});
    PendingRequest r;
    r.bytes = old_sa->protect(msg::ExchangeType::informational, false, old_id, build_ike_delete());
    r.nat_t = true;
    r.message_id = old_id;
    r.exchange = msg::ExchangeType::informational;
    r.retransmits_left = config.retransmit.retransmits;
    r.on_old_sa = true;
    arm_request(out, std::move(r), now);
}

void IkeSession::State::on_old_sa_response(const msg::Message& m, ByteView raw) {
    if (!pending || !pending->on_old_sa || m.header.message_id != pending->message_id) return;
    if (!old_sa->unprotect(raw, m)) return;
    pending.reset();
    old_sa.reset();
}

std::optional<TimePoint> IkeSession::State::next_deadline() const {
    std::optional<TimePoint> at;
    auto consider = [&](const std::optional<TimePoint>& t) {
        if (t && (!at || *t < *at)) at = t;
    };
    if (phase == Phase::closed) return std::nullopt;
    if (pending) consider(pending->deadline);
    if (phase == Phase::established) {
        consider(child_rekey_at);
        consider(ike_rekey_at);
    }
    consider(reauth_deadline());  // core/session_reauth.cpp
    return at;
}

// After every event: start what the window allows, close a tunnel without CHILD SAs, and end with the
// timer action for the earliest deadline.
void IkeSession::State::settle(Actions& out, TimePoint now) {
    if (phase == Phase::established) {
        if (installed.empty() && !pending && !child_rekey)
            delete_then_close(out, {CloseCode::gateway_deleted, "the gateway deleted the tunnel (CHILD SA)"}, now);
        else
            start_next(out, now);
    }
    // The driver's timer after `out` is its last timer action (ArmTimer replaces, CancelTimer clears);
    // one more is added only when that is not the earliest deadline.
    // (Plain values rather than optionals: GCC 12 warns falsely about comparing the latter here.)
    bool driver_set = armed.has_value();
    TimePoint driver_at = armed.value_or(TimePoint{});
    for (const auto& a : out) {
        if (const auto* arm = std::get_if<ArmTimer>(&a)) {
            driver_set = true;
            driver_at = arm->at;
        } else if (std::holds_alternative<CancelTimer>(a)) {
            driver_set = false;
        }
    }
    armed = next_deadline();
    if (armed.has_value() == driver_set && (!driver_set || *armed == driver_at)) return;
    if (armed) out.push_back(ArmTimer{*armed});
    else out.push_back(CancelTimer{});
}

}  // namespace ikevpn::core
