// The task manager of one IKE SA (strongSwan's idea of tasks sequenced by a manager that owns message IDs
// and retransmission): IKE_SA_INIT → IKE_AUTH (auth + config + child) → established → INFORMATIONAL.
// We are the initiator; our requests use a window of one (RFC 7296 §2.3).
#include "core/session_state.hpp"
#include "core/ike_transforms.hpp"

#include <algorithm>

namespace ikevpn::core {

void IkeSession::State::send_request(Actions& out, Bytes bytes, msg::ExchangeType exchange, bool nat_t, TimePoint now,
                                     unsigned retransmits, std::optional<Path> on_path) {
    PendingRequest r;
    r.bytes = std::move(bytes);
    r.nat_t = nat_t;
    r.message_id = next_message_id++;
    r.exchange = exchange;
    r.retransmits_left = retransmits;
    r.path = on_path;
    arm_request(out, std::move(r), now);
}

void IkeSession::State::arm_request(Actions& out, PendingRequest r, TimePoint now) {
    r.timeout = config.retransmit.initial;
    r.first_sent = now;
    r.deadline = now + r.timeout;
    emit_request(out, r);
    out.push_back(ArmTimer{r.deadline});
    pending = std::move(r);
}

void IkeSession::State::finish(Actions& out, Failure reason) {
    phase = Phase::closed;
    pending.reset();
    out.push_back(CancelTimer{});
    out.push_back(Closed{reason.code, std::move(reason.reason)});
}

// A failure after the IKE SA exists: delete it at the gateway first, then close with the reason.
void IkeSession::State::delete_then_close(Actions& out, Failure reason, TimePoint now) {
    close_reason = std::move(reason);
    phase = Phase::deleting;
    queue.clear();
    child_rekey.reset();
    ike_rekey.reset();
    ike_collision.reset();  // the gateway's new IKE SA from a collision goes with the old one
    out.push_back(Progress{"deleting the IKE SA at the gateway"});
    // Two retransmissions only: nobody should wait half a minute for a disconnect.
    send_request(out, sa.protect(msg::ExchangeType::informational, false, next_message_id, build_ike_delete()),
                 msg::ExchangeType::informational, true, now, 2);
}

void IkeSession::State::start_auth(Actions& out, TimePoint now) {
    std::vector<msg::Payload> inner;
    if (config.eap_mschapv2 || config.eap_tls) start_eap_auth(inner);
    else if (auto failure = build_auth(sa, config, inner)) return finish(out, std::move(*failure));
    if (config.initial_contact) inner.push_back(msg::make_notify(msg::NotifyType::initial_contact, {}));
    build_config_request(config, inner);
    child_task.build(inner);
    mobike.build_auth(inner);
    phase = Phase::auth_sent;
    out.push_back(Progress{"authenticating as '" + config.local_id + "' with " +
                           (config.eap_mschapv2 ? "EAP-MSCHAPv2" : config.eap_tls ? "EAP-TLS" : config.private_key ? "a certificate" : "a pre-shared key")});
    send_protected(out, msg::ExchangeType::ike_auth, inner, now, config.retransmit.retransmits);
}

void IkeSession::State::on_init_response(Actions& out, const msg::Message& m, ByteView raw, TimePoint now) {
    if (redirect_in_init(out, m)) return;  // RFC 5685 §4.1 (core/session_redirect.cpp)
    auto result = init.process_response(sa, m, raw);
    if (auto* failure = std::get_if<Failure>(&result)) return finish(out, std::move(*failure));
    pending.reset();
    if (const auto* retry = std::get_if<IkeInitTask::Retry>(&result)) {
        next_message_id = 0;  // the repeated IKE_SA_INIT is message 0 again
        out.push_back(Progress{"IKE_SA_INIT: " + retry->reason + ", retrying"});
        send_request(out, init.build_request(sa), msg::ExchangeType::ike_sa_init, false, now,
                     config.retransmit.retransmits);
        return;
    }
    fragmentation = config.fragmentation && msg::find_notify(m.payloads, msg::NotifyType::fragmentation_supported);
    const auto& t = sa.transforms;
    out.push_back(Progress{"IKE_SA_INIT done: " + encryption_name(t) +
                           ", " + transform_name(msg::TransformType::prf, std::uint16_t(t.prf), {}) + ", " +
                           transform_name(msg::TransformType::dh, std::uint16_t(t.dh), {}) +
                           (sa.nat_remote ? "; the gateway is behind a NAT" : "") +
                           "; switching to UDP port 4500"});
    start_auth(out, now);
}

// With both families requested the gateway may assign only one address; routes of the other family
// would send packets whose source the gateway's narrowed TSi does not cover.
std::vector<IpPrefix> IkeSession::State::without_unaddressed_families(std::vector<IpPrefix> routes, Actions& out) const {
    if (!config.request_virtual_ip) return routes;
    const bool has_v4 = network.virtual_ip.has_value(), has_v6 = network.virtual_ip6.has_value();
    const auto dropped = std::remove_if(routes.begin(), routes.end(), [&](const IpPrefix& r) {
        return r.address.is_v4() ? !has_v4 : !has_v6;
    });
    if (dropped != routes.end())
        out.push_back(Progress{std::string("the gateway assigned no virtual ") + (has_v4 ? "IPv6" : "IPv4") +
                               " address: routing IPv" + (has_v4 ? "4" : "6") + " only"});
    routes.erase(dropped, routes.end());
    return routes;
}

void IkeSession::State::on_auth_response(Actions& out, const std::vector<msg::Payload>& outer, const std::vector<msg::Payload>& inner,
                                         TimePoint now) {
    pending.reset();
    if (redirect_in_auth(out, inner)) return;  // RFC 5685 §6: no CHILD SA in it (core/session_redirect.cpp)
    if (auto broken = msg::check_rules(msg::ExchangeType::ike_auth, true, outer, inner))
        return finish(out, {CloseCode::protocol_error, "malformed IKE_AUTH response: " + *broken});
    if (eap && !eap->awaiting_final()) return on_eap_response(out, inner, now);
    const bool has_auth = msg::find<msg::AuthPayload>(inner, msg::PayloadType::auth) != nullptr;
    auto notified = failure_from_notify(inner, "IKE_AUTH");
    // failure_from_notify's hint names the PSK; with a certificate there is none to check (found against
    // libreswan, tests/interop/test_libreswan_cert.sh).
    if (notified && notified->code == CloseCode::auth_failed && config.private_key)
        notified->reason = "authentication failed: the gateway refused IKE_AUTH with AUTHENTICATION_FAILED (check "
                           "that it trusts our certificate's CA and accepts local_id as its identity)";
    if (notified && !has_auth) return finish(out, eap ? eap->final_refused(std::move(*notified)) : std::move(*notified));
    std::string peer_identity;
    // The gateway considers the IKE SA established once it sent its AUTH: when we reject it, delete the
    // SA there too rather than leave it to the gateway's liveness checks (RFC 7296 §2.21.2).
    if (auto failure = eap ? eap->check_final(sa, inner, peer_identity) : process_auth(sa, config, inner, peer_identity))
        return delete_then_close(out, std::move(*failure), now);
    established_at = now;
    out.push_back(Progress{"gateway authenticated as '" + peer_identity + "'"});
    // RFC 7296 §1.2: the IKE SA can be up while the CHILD SA failed; then we delete the IKE SA.
    if (notified) return delete_then_close(out, std::move(*notified), now);
    if (auto failure = process_config_reply(config, inner, network)) return delete_then_close(out, std::move(*failure), now);
    std::vector<IpPrefix> routes;
    if (auto failure = child_task.process(sa, inner, child, routes)) return delete_then_close(out, std::move(*failure), now);
    network.routes = without_unaddressed_families(std::move(routes), out);
    if (network.routes.empty())
        return delete_then_close(out, {CloseCode::ts_unacceptable, "no remote network of an assigned address family"},
                                 now);
    phase = Phase::established;
    mobike.process_auth(inner);
    newest = path;
    vip_path = path;  // a reauthentication after a move needs INITIAL_CONTACT (core/session_reauth.cpp)
    if (config.mobike && !mobike.negotiated())
        out.push_back(Progress{"the gateway does not support MOBIKE: a change of network will end the tunnel"});
    out.push_back(CancelTimer{});
    installed = {child};
    schedule_child_rekey(now);
    schedule_ike_rekey(now);
    note_auth_lifetime(out, inner, now);  // RFC 4478; core/session_reauth.cpp
    schedule_reauth(now);
    out.push_back(InstallChildSa{child});
    out.push_back(ApplyNetworkConfig{network});
}

void IkeSession::State::on_response(Actions& out, const msg::Message& m, ByteView raw, TimePoint now) {
    // Only the answer to our one outstanding request counts; anything else is a late duplicate.
    if (!pending || m.header.message_id != pending->message_id || m.header.exchange != pending->exchange) return;
    if (phase == Phase::init_sent) return on_init_response(out, m, raw, now);
    auto inner = unprotect(raw, m);
    if (!inner) return;  // forged or corrupted: drop, the retransmission timer keeps running
    if (phase == Phase::auth_sent) return on_auth_response(out, m.payloads, *inner, now);
    if (phase == Phase::deleting) return finish(out, close_reason);
    if (pending->mobike_update) return on_update_response(out, *inner, now);
    const bool liveness = pending->liveness;
    pending.reset();
    out.push_back(CancelTimer{});
    if (liveness) return on_liveness_response(out, now);  // core/session_liveness.cpp
    if (child_rekey && m.header.exchange == msg::ExchangeType::create_child_sa)
        return on_child_rekey_response(out, *inner, now);
    if (ike_rekey && m.header.exchange == msg::ExchangeType::create_child_sa)
        return on_ike_rekey_response(out, *inner, now);
    if (delete_in_flight) finish_child_delete(out);
}

void IkeSession::State::respond(Actions& out, std::uint32_t id, msg::ExchangeType exchange, const std::vector<msg::Payload>& inner) {
    peer.last_response = sa.protect(exchange, true, id, inner);
    peer.next_id = id + 1;
    out.push_back(SendDatagram{peer.last_response, true});
}

void IkeSession::State::on_ike_rekey(Actions& out, std::uint32_t id, const std::vector<msg::Payload>& request, TimePoint now) {
    // While a request of ours is outstanding the IKE SA must stay put: the gateway tries again later
    // (RFC 7296 §2.25.2; for a collision with our own IKE SA rekey this avoids redundant IKE SAs).
    // The exception is a MOBIKE update: it is redone on the new IKE SA (see below), and refusing would
    // hold back the rekey a gateway with userspace ESP starts right after a move.
    const bool update_pending = pending && pending->mobike_update;
    // Crossing our own IKE SA rekey: both complete and the nonces decide (RFC 7296 §2.8.2).
    if (ike_rekey && !ike_collision) return on_colliding_ike_rekey(out, id, request);
    // A liveness check of ours is dropped too: the gateway's request just proved it alive.
    if ((pending && !update_pending && !pending->liveness) || child_rekey || ike_rekey) {
        respond(out, id, msg::ExchangeType::create_child_sa, {msg::make_notify(msg::NotifyType::temporary_failure)});
        return;
    }
    IkeRekeyAnswer answer = answer_ike_rekey(sa, config, request, random);
    respond(out, id, msg::ExchangeType::create_child_sa, answer.response);  // still on the old SA
    if (!answer.new_sa) return;
    // The CHILD SAs move to the new IKE SA; its message IDs start at 0 both ways (RFC 7296 §2.18).
    // A request of ours still waiting on the old SA is abandoned with it.
    old_sa = std::move(sa);
    old_peer = std::move(peer);
    sa = std::move(*answer.new_sa);
    peer = {};
    next_message_id = 0;
    const bool update_abandoned = pending && pending->mobike_update;
    pending.reset();
    out.push_back(CancelTimer{});
    schedule_ike_rekey(now);
    out.push_back(IkeRekeyed{hex(sa.spi_i), hex(sa.spi_r), false});
    out.push_back(Progress{"the gateway rekeyed the IKE SA: new SPIs " + hex(sa.spi_i) + " / " + hex(sa.spi_r)});
    // A path update in flight went with the old IKE SA: the move is still needed, on the new one.
    if (update_abandoned && newest) send_update(out, *newest, now);
}

// The old IKE SA only sees the gateway's Delete of it (and perhaps a liveness check) before it goes.
void IkeSession::State::on_old_sa_request(Actions& out, const msg::Message& m, ByteView raw) {
    const std::uint32_t id = m.header.message_id;
    if (id + 1 == old_peer.next_id && !old_peer.last_response.empty()) {
        out.push_back(SendDatagram{old_peer.last_response, true});
        return;
    }
    if (id != old_peer.next_id) return;
    if (m.header.exchange == msg::ExchangeType::create_child_sa) {
        // RFC 7296 §2.8.2: a rekey of the IKE SA we already rekeyed (and are closing) gets TEMPORARY_FAILURE.
        if (!old_sa->unprotect(raw, m)) return;
        old_peer.last_response = old_sa->protect(m.header.exchange, true, id, {msg::make_notify(msg::NotifyType::temporary_failure)});
        old_peer.next_id = id + 1;
        out.push_back(SendDatagram{old_peer.last_response, true});
        return;
    }
    if (m.header.exchange != msg::ExchangeType::informational) return;
    auto inner = old_sa->unprotect(raw, m);
    if (!inner) return;
    const bool deleted = read_peer_deletes(*inner).ike_sa;
    old_peer.last_response = old_sa->protect(msg::ExchangeType::informational, true, id, {});
    old_peer.next_id = id + 1;
    out.push_back(SendDatagram{old_peer.last_response, true});
    if (deleted) old_sa.reset();
}

void IkeSession::State::on_create_child_sa(Actions& out, std::uint32_t id, const std::vector<msg::Payload>& request, TimePoint now) {
    if (is_ike_rekey(request)) return on_ike_rekey(out, id, request, now);
    // RFC 7296 §2.25.1: a rekey of a pair we are deleting gets TEMPORARY_FAILURE.
    if (rekeys_pair_we_delete(request)) {
        respond(out, id, msg::ExchangeType::create_child_sa, {msg::make_notify(msg::NotifyType::temporary_failure)});
        return;
    }
    ChildRekeyAnswer answer = answer_child_rekey(sa, config, request, installed, random);
    respond(out, id, msg::ExchangeType::create_child_sa, answer.response);
    if (!answer.new_child) return;
    if (child_rekey && child_rekey->old_spi_out() == answer.replaced_spi_out) note_collision(request, answer);
    // Install before the gateway deletes the old pair, so no packet is lost (RFC 7296 §2.8).
    child = *answer.new_child;
    installed.push_back(child);
    schedule_child_rekey(now);
    out.push_back(InstallChildSa{child, true, false, false, true});  // outbound deferred (see InstallChildSa)
    out.push_back(Progress{"the gateway rekeyed the CHILD SA: new SPIs " + spi_text(child.spi_in) + " (in), " + spi_text(child.spi_out) + " (out)"});
}

// The gateway deletes CHILD SAs by the SPIs it receives with (our outbound ones); we answer with our
// inbound SPIs of the same pairs (RFC 7296 §1.4.1).
void IkeSession::State::on_child_deletes(Actions& out, std::uint32_t id, const std::vector<std::uint32_t>& spis_out, TimePoint now) {
    std::vector<std::uint32_t> ours;
    for (auto spi_out : spis_out) {
        auto it = std::find_if(installed.begin(), installed.end(),
                               [&](const ChildSaKeys& c) { return c.spi_out == spi_out; });
        if (it == installed.end()) continue;
        ours.push_back(it->spi_in);
        out.emplace_back(std::in_place_type<RemoveChildSa>, RemoveChildSa{it->spi_in});
        if (child_rekey && child_rekey->old_spi_in() == it->spi_in) rekey_target_deleted = true;
        std::erase(deleting, it->spi_in);
        installed.erase(it);
    }
    if (!installed.empty() && std::none_of(installed.begin(), installed.end(),
                                           [&](const ChildSaKeys& c) { return c.spi_in == child.spi_in; }))
        child = installed.back();
    respond(out, id, msg::ExchangeType::informational,
            ours.empty() ? std::vector<msg::Payload>{} : std::vector<msg::Payload>{build_esp_delete(ours)});
    // An empty tunnel is closed by settle() once no rekey of ours is in flight.
    (void)now;
}

void IkeSession::State::on_peer_request(Actions& out, const msg::Message& m, ByteView raw, TimePoint now) {
    if (!sa.aead_in) return;
    const std::uint32_t id = m.header.message_id;
    if (id + 1 == peer.next_id && !peer.last_response.empty()) {
        out.push_back(SendDatagram{peer.last_response, true});
        return;
    }
    if (id != peer.next_id) return;
    auto inner = unprotect(raw, m);
    if (!inner) return;
    if (m.header.exchange == msg::ExchangeType::create_child_sa) return on_create_child_sa(out, id, *inner, now);
    if (m.header.exchange != msg::ExchangeType::informational) return;
    PeerDelete deletes = read_peer_deletes(*inner);
    if (deletes.ike_sa) {
        respond(out, id, m.header.exchange, {});
        // The gateway's new IKE SA from a collision it did not notice replaces this one (RFC 7296 §2.8.2).
        if (ike_collision) return adopt_peer_ike_sa(out, true, now);
        return finish(out, {CloseCode::gateway_deleted, "the gateway deleted the IKE SA"});
    }
    if (!deletes.esp_spis.empty()) return on_child_deletes(out, id, deletes.esp_spis, now);
    if (redirect_in_informational(out, id, *inner, now)) return;  // RFC 5685 §5
    std::vector<msg::Payload> response;  // liveness check (RFC 7296 §1.4) or a notification
    note_auth_lifetime(out, *inner, now);  // AUTH_LIFETIME in an INFORMATIONAL (RFC 4478 §3)
    mobike.answer_peer_request(*inner, response);
    respond(out, id, m.header.exchange, response);
}

IkeSession::IkeSession(SessionConfig config, crypto::RandomSource& random)
    : s_(std::make_unique<State>(std::move(config), random)) {}
IkeSession::~IkeSession() = default;

Actions IkeSession::start(TimePoint now) {
    Actions out;
    if (s_->phase != Phase::idle) return out;
    s_->phase = Phase::init_sent;
    out.push_back(Progress{"IKE_SA_INIT: offering " + std::to_string(s_->config.ike_proposals.size()) +
                           " IKE proposal(s) to " + s_->config.gateway.to_string() + ":" +
                           std::to_string(s_->config.ike_port)});
    s_->send_request(out, s_->init.build_request(s_->sa), msg::ExchangeType::ike_sa_init, false, now,
                     s_->config.retransmit.retransmits);
    s_->settle(out, now);
    return out;
}

Actions IkeSession::on_datagram(ByteView datagram, TimePoint now) {
    Actions out;
    if (s_->phase == Phase::idle || s_->phase == Phase::closed) return out;
    auto decoded = msg::decode(datagram);
    if (!decoded) return out;  // malformed: dropped (RFC 7296 §2.21.1), retransmission continues
    const auto& m = decoded.value();
    // Reauthentication: the new IKE SA being built, or the old one being deleted (core/session_reauth.cpp).
    if (s_->to_satellite(out, m, datagram, now)) {
        State::complete_reauth(s_, out, now);
        s_->settle(out, now);
        return out;
    }
    if (s_->on_doomed_sa(out, m, datagram)) {  // after an IKE SA rekey collision (core/session_rekey_collision.cpp)
        s_->settle(out, now);
        return out;
    }
    if (s_->old_sa && s_->old_sa->matches(m.header) && s_->old_sa->from_peer(m.header)) {
        if (!m.header.is_response()) s_->on_old_sa_request(out, m, datagram);
        else s_->on_old_sa_response(m, datagram);
        s_->settle(out, now);
        return out;
    }
    // Messages for other IKE SAs, or that we could have sent ourselves, are not ours.
    if (m.header.spi_i != s_->sa.spi_i || !s_->sa.from_peer(m.header)) return out;
    if (msg::is_fragment(m) && !s_->on_fragment(m, datagram, now)) return out;  // RFC 7383: more to come
    if (m.header.is_response()) {
        if (s_->phase != Phase::init_sent && m.header.spi_r != s_->sa.spi_r) return out;
        s_->on_response(out, m, datagram, now);
        s_->follow_gateway_address(out, now);
    } else if (s_->phase == Phase::established || s_->phase == Phase::deleting) {
        if (m.header.spi_r == s_->sa.spi_r) s_->on_peer_request(out, m, datagram, now);
    }
    s_->reassembled.reset();
    if (s_->authenticated_in) s_->last_received = now;  // core/session_liveness.cpp
    s_->authenticated_in = false;
    s_->settle(out, now);
    return out;
}

Actions IkeSession::on_datagram(ByteView datagram, TimePoint now, const Path& arrived_on) {
    s_->arrival = arrived_on;
    Actions out = on_datagram(datagram, now);
    s_->arrival.reset();
    return out;
}

Actions IkeSession::on_path(std::optional<Path> path, TimePoint now) {
    Actions out;
    if (s_->successor) s_->absorb_successor(out, s_->successor->on_path(path, now), now);
    s_->on_path(out, std::move(path), now);
    return out;
}

Actions IkeSession::on_timer(TimePoint now) {
    Actions out;
    s_->satellite_timers(out, now);  // reauthentication (core/session_reauth.cpp)
    if (s_->phase == Phase::established && s_->no_path_since) {
        // Without a path nothing is retransmitted and nothing counts against the budget (core/mobike.hpp).
        if (now < *s_->no_path_since + s_->config.no_path_limit) {
            out.push_back(ArmTimer{*s_->no_path_since + s_->config.no_path_limit});
            return out;
        }
        const auto waited = std::chrono::duration_cast<std::chrono::seconds>(now - *s_->no_path_since).count();
        s_->finish(out, {CloseCode::path_lost, "no usable path to the gateway " + s_->config.gateway.to_string() +
                                                   " for " + std::to_string(waited) + " s"});
        return out;
    }
    auto& p = s_->pending;
    if (p && now >= p->deadline && p->retransmits_left == 0) {
        const auto waited = std::chrono::duration_cast<std::chrono::seconds>(now - p->first_sent).count();
        if (s_->phase == Phase::deleting) {
            s_->finish(out, s_->close_reason);
            return out;
        }
        if (p->liveness) {  // RFC 7296 §2.4: "the peer MUST be considered dead"
            s_->finish(out, s_->liveness_timeout(*p, now));
            return out;
        }
        if (s_->ike_collision) {  // our IKE SA rekey went unanswered, the gateway's stands (RFC 7296 §2.8.2)
            out.push_back(Progress{"no answer to our IKE SA rekey; the gateway's own rekey of it stands"});
            s_->adopt_peer_ike_sa(out, false, now);
            s_->settle(out, now);
            return out;
        }
        s_->finish(out, {CloseCode::timeout, "no answer from the gateway " + s_->config.gateway.to_string() +
                                                 " after " + std::to_string(waited) + " s of retransmissions"});
        return out;
    }
    if (p && now >= p->deadline) {
        --p->retransmits_left;
        p->timeout *= s_->config.retransmit.factor;
        p->deadline = now + p->timeout;
        s_->probe_gateway_addresses(out, *p);  // MOBIKE: perhaps to another address of the gateway
        s_->emit_request(out, *p);
    }
    if (s_->phase == Phase::established) {
        if (s_->child_rekey_at && now >= *s_->child_rekey_at) {
            s_->child_rekey_at.reset();
            s_->request_child_rekey(s_->child.spi_in);
        }
        if (s_->ike_rekey_at && now >= *s_->ike_rekey_at) {
            s_->ike_rekey_at.reset();
            s_->request_ike_rekey();
        }
    }
    s_->settle(out, now);
    return out;
}

Actions IkeSession::close(TimePoint now) {
    Actions out;
    s_->successor.reset();  // a reauthentication under way is abandoned
    switch (s_->phase) {
    case Phase::established:
        s_->delete_then_close(out, {CloseCode::requested, "disconnected on request"}, now);
        break;
    case Phase::deleting:
    case Phase::closed:
        return out;
    default:
        s_->finish(out, {CloseCode::requested, "disconnected on request before the tunnel was up"});
    }
    s_->settle(out, now);
    return out;
}

Actions IkeSession::rekey_child(std::uint32_t spi_in, TimePoint now) {
    Actions out;
    if (s_->phase != Phase::established) return out;
    s_->request_child_rekey(spi_in);
    s_->settle(out, now);
    return out;
}

Actions IkeSession::rekey_ike(TimePoint now) {
    Actions out;
    if (s_->phase != Phase::established) return out;
    s_->request_ike_rekey();
    s_->settle(out, now);
    return out;
}

IkeSaInfo IkeSession::info() const {
    IkeSaInfo i;
    switch (s_->phase) {
    case Phase::established: i.state = s_->roaming() ? "roaming" : "connected"; break;
    case Phase::deleting: i.state = "disconnecting"; break;
    case Phase::closed: i.state = "closed"; break;
    default: i.state = "connecting";
    }
    i.spi_i = hex(s_->sa.spi_i);
    i.spi_r = hex(s_->sa.spi_r);
    if (s_->sa.aead_out) {
        const auto& t = s_->sa.transforms;
        i.encryption = encryption_name(t);
        i.prf = transform_name(msg::TransformType::prf, std::uint16_t(t.prf), {});
        i.dh = transform_name(msg::TransformType::dh, std::uint16_t(t.dh), {});
    }
    i.established_at = s_->established_at;
    i.nat_local = s_->sa.nat_local;
    i.nat_remote = s_->sa.nat_remote;
    i.rekey_at = s_->ike_rekey_at;
    if (s_->child_rekey_at) i.child_rekeys.push_back({s_->child.spi_in, *s_->child_rekey_at});
    i.mobike = s_->mobike.negotiated();
    i.path = s_->path;
    i.gateway_addresses = s_->mobike.gateway_addresses();
    i.fragmentation = s_->fragment_info();
    i.reauth_at = s_->reauth_at;
    i.auth_expires_at = s_->auth_expires_at;
    i.reauthenticating = s_->successor != nullptr;
    i.last_received = s_->last_received;
    i.liveness_checks = s_->liveness_checks;
    i.liveness_failed = s_->liveness_failed;
    return i;
}

bool IkeSession::closed() const { return s_->phase == Phase::closed; }

}  // namespace ikevpn::core
