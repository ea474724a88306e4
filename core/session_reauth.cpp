// Reauthentication, make-before-break (RFC 7296 §2.8.3; RFC 4478). Part of IkeSession
// (core/session_state.hpp).
//
// Why a second IkeSession rather than new fields in this one: a reauthentication is a complete new IKE SA —
// IKE_SA_INIT, IKE_AUTH with CP and a CHILD SA, its own message IDs, retransmissions, cookies, INVALID_KE
// retries and failures — which is exactly what an IkeSession already does. So the current State owns a
// `successor` IkeSession and feeds it the datagrams of its IKE SA (told apart by SPIi) and its timer. When
// the successor is up, its CHILD SA is installed beside the old pairs, the two States swap places (the
// driver keeps one IkeSession object and one timer), and the old State, now the `predecessor`, deletes its
// IKE SA; the gateway deletes the CHILD SAs with it, and we remove the old pairs once it confirmed. The
// driver never sees two sessions: it gets InstallChildSa, Reauthenticated, and later RemoveChildSa.
//
// RFC 7296 §2.8.3: "reauthentication [...] is done by creating a new IKE SA from scratch (using
// IKE_SA_INIT/IKE_AUTH exchanges, without any REKEY_SA Notify payloads), creating new Child SAs within the
// new IKE SA [...], and finally deleting the old IKE SA". The CP request asks for the virtual IPs we have.
//
// INITIAL_CONTACT is not sent (it makes the gateway drop the old IKE SA and its CHILD SAs at once) — except
// after a MOBIKE move. A gateway's address pool may tie a lease to the client's address and port: strongSwan
// (mem_pool.c) hands an address that is still in use by an IKE SA to another IKE SA of the same identity only
// when that one comes from the address and port the lease was first given to; after a move the new IKE SA
// comes from elsewhere, and without INITIAL_CONTACT it got another address (every connection in the tunnel
// lost). With it, the gateway drops the old IKE SA while it authenticates the new one, before it assigns
// addresses: the lease is free again and comes back to us. The price is a moment (one round trip) in which
// the gateway has only the new CHILD SA and we have not installed it yet; TCP retransmits across it.
// strongSwan looks for the IKE SAs to drop among those registered under the new one's address family, as
// first established (MOBIKE does not change that): after a move from IPv6 to IPv4 (or back) it drops nothing
// and assigns another address, and the client reconnects cleanly (client/session_paths.cpp).
#include "core/reauth.hpp"
#include "core/session_state.hpp"

namespace ikevpn::core {

namespace {

std::int64_t whole_seconds(Duration d) { return std::chrono::duration_cast<std::chrono::seconds>(d).count(); }

}  // namespace

void IkeSession::State::note_auth_lifetime(Actions& out, const std::vector<msg::Payload>& inner, TimePoint now) {
    const AuthLifetime lifetime = read_auth_lifetime(inner);
    if (!lifetime.present) return;
    if (!lifetime.seconds) {
        out.push_back(Progress{"ignoring a malformed AUTH_LIFETIME notification (its lifetime is not 4 octets)"});
        return;
    }
    const Duration life = std::chrono::seconds(*lifetime.seconds);
    std::uint8_t b = 0;
    random.fill(std::span<std::uint8_t>(&b, 1));
    const Duration delay = reauth_delay(life, double(b) / 255.0);
    auth_expires_at = now + life;
    reauth_at = now + delay;
    reauth_gateway_asked = true;
    out.push_back(Progress{"the gateway asks for reauthentication within " + std::to_string(*lifetime.seconds) +
                           " s (AUTH_LIFETIME): reauthenticating in " + std::to_string(whole_seconds(delay)) + " s"});
}

void IkeSession::State::schedule_reauth(TimePoint now) {
    const Duration life = config.rekey.reauth_lifetime;
    if (reauth_at || life <= Duration::zero()) return;
    reauth_at = now + life - random_up_to(life / 10);
    reauth_gateway_asked = false;
}

void IkeSession::State::start_reauth(Actions& out, TimePoint now) {
    reauth_at.reset();
    if (successor || phase != Phase::established) return;
    if (predecessor) {  // the IKE SA the last reauthentication replaced is still being deleted
        reauth_at = now + std::chrono::seconds(1);
        return;
    }
    SessionConfig c = config;
    c.requested_virtual_ip = network.virtual_ip;
    c.requested_virtual_ip6 = network.virtual_ip6;
    // After a MOBIKE move the gateway's address in use may be another than the one we connected to (its
    // other family, an ADDITIONAL_IP*_ADDRESS): the new IKE SA starts where the current one is now.
    if (path && path->remote.address != config.gateway) c.gateway = path->remote.address;
    c.initial_contact = moved_since_vip() && config.reauth_initial_contact;
    successor = std::make_unique<IkeSession>(std::move(c), random);
    successor_child.reset();
    successor_network.reset();
    out.push_back(Progress{"reauthenticating: a new IKE SA beside the current one" +
                           std::string(reauth_gateway_asked ? " (the gateway's AUTH_LIFETIME)" : " (rekey.reauth_seconds)")});
    if (moved_since_vip())
        out.push_back(Progress{config.reauth_initial_contact
                                   ? "the tunnel moved since the gateway assigned our virtual IP: INITIAL_CONTACT "
                                     "lets the gateway replace the old IKE SA at once, so the address can come back"
                                   : "the tunnel moved since the gateway assigned our virtual IP, and "
                                     "rekey.reauth_initial_contact is false: the gateway may assign another one"});
    absorb_successor(out, successor->on_path(path, now), now);
    if (successor) absorb_successor(out, successor->start(now), now);
}

// Only the local address and port the virtual IP was assigned at matter, not the moves in between. The
// port counts as well (strongSwan's lease remembers both), so a move back to the same address from a new
// socket port is a move too; only the very endpoint the lease was given to is none.
bool IkeSession::State::moved_since_vip() const {
    if (!config.request_virtual_ip || (!network.virtual_ip && !network.virtual_ip6)) return false;
    return path && vip_path && path->local != vip_path->local;
}

void IkeSession::State::reauth_failed(Actions& out, std::string why, TimePoint now) {
    reauth_failure = std::move(why);
    std::optional<Duration> left;
    if (auth_expires_at) left = *auth_expires_at - now;
    const Duration wait = reauth_retry_delay(config.rekey.retry, left);
    reauth_at = now + wait;
    out.push_back(Progress{"reauthentication failed: " + reauth_failure + "; the current IKE SA stays, trying again in " +
                           std::to_string(whole_seconds(wait)) + " s"});
}

bool IkeSession::State::to_satellite(Actions& out, const msg::Message& m, ByteView raw, TimePoint now) {
    auto deliver = [&](IkeSession& s) { return arrival ? s.on_datagram(raw, now, *arrival) : s.on_datagram(raw, now); };
    if (successor && m.header.spi_i == successor->s_->sa.spi_i) {
        absorb_successor(out, deliver(*successor), now);
        return true;
    }
    if (predecessor) {
        const State& p = *predecessor->s_;
        if (m.header.spi_i == p.sa.spi_i || (p.old_sa && m.header.spi_i == p.old_sa->spi_i)) {
            absorb_predecessor(out, deliver(*predecessor));
            return true;
        }
    }
    return false;
}

std::optional<TimePoint> IkeSession::State::reauth_deadline() const {
    std::optional<TimePoint> at;
    auto consider = [&](const std::optional<TimePoint>& t) {
        if (t && (!at || *t < *at)) at = t;
    };
    if (successor) consider(successor->s_->armed);
    if (predecessor) consider(predecessor->s_->armed);
    if (phase == Phase::established) {
        consider(reauth_at);
        consider(auth_expires_at);
    }
    return at;
}

void IkeSession::State::satellite_timers(Actions& out, TimePoint now) {
    if (successor && successor->s_->armed && now >= *successor->s_->armed)
        absorb_successor(out, successor->on_timer(now), now);
    if (predecessor && predecessor->s_->armed && now >= *predecessor->s_->armed)
        absorb_predecessor(out, predecessor->on_timer(now));
    if (phase != Phase::established) return;
    if (auth_expires_at && now >= *auth_expires_at) {
        // RFC 4478 §3: past the lifetime the gateway may delete the IKE SA at any moment.
        auth_expires_at.reset();
        reauth_at.reset();
        successor.reset();
        std::string why = "the gateway's authentication lifetime (AUTH_LIFETIME) ended before a reauthentication succeeded";
        if (!reauth_failure.empty()) why += " (last attempt: " + reauth_failure + ")";
        return delete_then_close(out, {CloseCode::reauth_failed, why}, now);
    }
    if (reauth_at && now >= *reauth_at) start_reauth(out, now);
}

void IkeSession::State::absorb_successor(Actions& out, Actions in, TimePoint now) {
    std::optional<Closed> closed;
    for (auto& a : in) {
        if (auto* send = std::get_if<SendDatagram>(&a)) out.push_back(std::move(*send));
        else if (auto* p = std::get_if<Progress>(&a)) out.push_back(Progress{"reauthentication: " + p->line});
        else if (auto* install = std::get_if<InstallChildSa>(&a)) successor_child = install->child;
        else if (auto* apply = std::get_if<ApplyNetworkConfig>(&a)) successor_network = apply->config;
        else if (auto* c = std::get_if<Closed>(&a)) closed = std::move(*c);
        // Its timer is read from its State (reauth_deadline()); nothing else happens before it is up.
    }
    if (!closed) return;
    successor.reset();
    successor_child.reset();
    successor_network.reset();
    reauth_failed(out, closed->reason, now);
}

void IkeSession::State::absorb_predecessor(Actions& out, Actions in) {
    bool closed = false;
    for (auto& a : in) {
        if (auto* send = std::get_if<SendDatagram>(&a)) out.push_back(std::move(*send));
        else if (auto* p = std::get_if<Progress>(&a)) out.push_back(Progress{"old IKE SA: " + p->line});
        else if (std::holds_alternative<RemoveChildSa>(a) || std::holds_alternative<InstallChildSa>(a))
            out.push_back(std::move(a));  // the gateway still rekeys or deletes old pairs
        else if (std::holds_alternative<Closed>(a)) closed = true;
    }
    if (!closed) return;
    // The gateway deleted the old CHILD SAs with the IKE SA (RFC 7296 §1.4.1): only now do they go here,
    // so packets it sent on them before the switch are still decrypted.
    for (const auto& c : predecessor->s_->installed) out.push_back(RemoveChildSa{c.spi_in});
    out.push_back(Progress{"the old IKE SA " + hex(predecessor->s_->sa.spi_i) + " / " + hex(predecessor->s_->sa.spi_r) +
                           " is deleted"});
    predecessor.reset();
}

void IkeSession::State::complete_reauth(std::unique_ptr<State>& self, Actions& out, TimePoint now) {
    State& cur = *self;
    if (!cur.successor || !cur.successor_child || !cur.successor_network) return;
    const auto driver_armed = cur.armed;  // the driver has one timer, whichever State is current
    const bool asked = cur.reauth_gateway_asked;
    const NetworkConfig before = cur.network;
    const ChildSaKeys child = *cur.successor_child;
    // Swap: the successor's State becomes ours, the old State lives on in the successor's shell.
    std::unique_ptr<IkeSession> shell = std::move(cur.successor);
    std::unique_ptr<State> fresh = std::move(shell->s_);
    shell->s_ = std::move(self);
    self = std::move(fresh);
    State& n = *self;
    State& old = *shell->s_;
    old.successor_child.reset();
    old.successor_network.reset();
    old.reauth_at.reset();
    old.auth_expires_at.reset();
    n.armed = driver_armed;
    // Make before break: the new pair is installed (and carries our traffic) before the old IKE SA goes.
    out.push_back(InstallChildSa{child, false, true});
    const bool changed = n.network.virtual_ip != before.virtual_ip || n.network.virtual_ip6 != before.virtual_ip6;
    out.push_back(Reauthenticated{hex(n.sa.spi_i), hex(n.sa.spi_r), asked, changed, n.network});
    out.push_back(Progress{"reauthenticated: new IKE SA " + hex(n.sa.spi_i) + " / " + hex(n.sa.spi_r) + ", CHILD SA " +
                           spi_text(child.spi_in) + " (in), " + spi_text(child.spi_out) + " (out); deleting the old IKE SA"});
    Actions deleting;
    old.delete_then_close(deleting, {CloseCode::requested, "replaced by the reauthenticated IKE SA"}, now);
    old.settle(deleting, now);
    n.predecessor = std::move(shell);
    n.absorb_predecessor(out, std::move(deleting));
}

}  // namespace ikevpn::core
