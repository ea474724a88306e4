// The task manager of one IKE SA (strongSwan's idea of tasks sequenced by a manager that owns message IDs
// and retransmission): IKE_SA_INIT → IKE_AUTH (auth + config + child) → established → INFORMATIONAL.
// We are the initiator; our requests use a window of one (RFC 7296 §2.3).
#include "core/session.hpp"

#include "core/child_create.hpp"
#include "core/child_rekey.hpp"
#include "core/child_rekey_initiator.hpp"
#include "core/ike_auth.hpp"
#include "core/ike_config.hpp"
#include "core/ike_delete.hpp"
#include "core/ike_init.hpp"
#include "core/ike_rekey.hpp"
#include "core/ike_rekey_initiator.hpp"
#include "core/ike_sa.hpp"
#include "core/mobike.hpp"
#include "core/message/rules.hpp"

#include <algorithm>
#include <deque>

namespace ikevpn::core {
namespace {

enum class Phase { idle, init_sent, auth_sent, established, deleting, closed };

std::string spi_text(std::uint32_t spi) {
    const std::uint8_t b[4] = {std::uint8_t(spi >> 24), std::uint8_t(spi >> 16), std::uint8_t(spi >> 8), std::uint8_t(spi)};
    return hex(ByteView(b, 4));
}

struct PendingRequest {
    Bytes bytes;
    bool nat_t = false;
    std::uint32_t message_id = 0;
    msg::ExchangeType exchange = msg::ExchangeType::ike_sa_init;
    unsigned retransmits_left = 0;
    Duration timeout{};
    TimePoint deadline{};
    TimePoint first_sent{};
    bool on_old_sa = false;  // our Delete of the IKE SA we rekeyed: sent with its keys and message IDs
    std::optional<Path> path;    // MOBIKE: where the request (and its retransmissions) leaves
    bool mobike_update = false;  // an UPDATE_SA_ADDRESSES request
};

// Requests of our own after IKE_AUTH, one at a time (window size 1, RFC 7296 §2.3).
enum class TaskKind { child_rekey, ike_rekey, child_delete };
struct Task {
    TaskKind kind = TaskKind::child_rekey;
    std::uint32_t spi_in = 0;  // the pair to rekey or delete
};

// RFC 7296 §2.8.1: "the SA created with the lowest of the four nonces used in the two exchanges SHOULD be
// closed by the endpoint that created it". True when that is the SA of our exchange (ours_i, ours_r).
bool our_sa_is_redundant(const Bytes& ours_i, const Bytes& ours_r, const Bytes& theirs_i, const Bytes& theirs_r) {
    const Bytes& ours = std::min(ours_i, ours_r);
    const Bytes& theirs = std::min(theirs_i, theirs_r);
    return ours < theirs;
}

// The gateway's requests are answered at most once; a retransmitted request gets the cached response
// (RFC 7296 §2.1).
struct PeerRequests {
    std::uint32_t next_id = 0;
    Bytes last_response;
};

}  // namespace

struct IkeSession::State {
    State(SessionConfig c, crypto::RandomSource& r) : config(std::move(c)), random(r), init(config, random),
                                                      child_task(config, random), mobike(config, random) {}
    SessionConfig config;
    crypto::RandomSource& random;
    Phase phase = Phase::idle;
    IkeSa sa;
    IkeInitTask init;
    ChildCreateTask child_task;
    std::optional<PendingRequest> pending;
    std::uint32_t next_message_id = 0;
    PeerRequests peer;
    // After the gateway rekeyed the IKE SA, the old one lives on until the gateway deletes it.
    std::optional<IkeSa> old_sa;
    PeerRequests old_peer;
    ChildSaKeys child;                 // the current pair
    std::vector<ChildSaKeys> installed;  // every pair in the data plane (more than one during a rekey)
    NetworkConfig network;
    std::optional<TimePoint> established_at;
    Failure close_reason{CloseCode::requested, "disconnected on request"};
    // Rekeys we start (child_rekey_initiator.hpp, ike_rekey_initiator.hpp) and Deletes of replaced pairs.
    std::deque<Task> queue;
    std::optional<ChildRekeyInitiator> child_rekey;  // in flight
    std::optional<IkeRekeyInitiator> ike_rekey;      // in flight
    std::vector<std::uint32_t> deleting;             // inbound SPIs of pairs we delete (queued or in flight)
    std::optional<std::uint32_t> delete_in_flight;
    std::optional<TimePoint> child_rekey_at, ike_rekey_at;  // lifetimes (SessionConfig::rekey)
    // The gateway rekeyed the pair we are rekeying (§2.8.1): the nonces of its exchange and its new pair.
    struct PeerRekey { Bytes nonce_i, nonce_r; std::uint32_t spi_in = 0; };
    std::optional<PeerRekey> collision;
    bool rekey_target_deleted = false;  // the gateway deleted the pair we are rekeying (§2.25.1)
    std::optional<TimePoint> armed;     // what the driver's timer is set to
    // MOBIKE (core/mobike.hpp): the path the SAs use, the newest one the driver reported, the path the
    // in-flight update's NAT detection was built for, and the waiting for a path.
    MobikeTask mobike;
    std::optional<Path> path, newest, update_built_for, refused_path;
    std::optional<Path> arrival;  // where the datagram being handled came in, when the driver said so
    bool restart_update = false;
    unsigned cookie_failures = 0;
    std::optional<TimePoint> roam_started, no_path_since;
    std::optional<Path> roam_from;  // the path before the move in progress

    void send_request(Actions& out, Bytes bytes, msg::ExchangeType exchange, bool nat_t, TimePoint now,
                      unsigned retransmits, std::optional<Path> on_path = std::nullopt) {
        PendingRequest r;
        r.bytes = std::move(bytes);
        r.nat_t = nat_t;
        r.message_id = next_message_id++;
        r.exchange = exchange;
        r.retransmits_left = retransmits;
        r.path = on_path;
        arm_request(out, std::move(r), now);
    }

    void arm_request(Actions& out, PendingRequest r, TimePoint now) {
        r.timeout = config.retransmit.initial;
        r.first_sent = now;
        r.deadline = now + r.timeout;
        out.push_back(SendDatagram{r.bytes, r.nat_t, r.path});
        out.push_back(ArmTimer{r.deadline});
        pending = std::move(r);
    }

    void finish(Actions& out, Failure reason) {
        phase = Phase::closed;
        pending.reset();
        out.push_back(CancelTimer{});
        out.push_back(Closed{reason.code, std::move(reason.reason)});
    }

    // A failure after the IKE SA exists: delete it at the gateway first, then close with the reason.
    void delete_then_close(Actions& out, Failure reason, TimePoint now) {
        close_reason = std::move(reason);
        phase = Phase::deleting;
        queue.clear();
        child_rekey.reset();
        ike_rekey.reset();
        out.push_back(Progress{"deleting the IKE SA at the gateway"});
        // Two retransmissions only: nobody should wait half a minute for a disconnect.
        send_request(out, sa.protect(msg::ExchangeType::informational, false, next_message_id, build_ike_delete()),
                     msg::ExchangeType::informational, true, now, 2);
    }

    void start_auth(Actions& out, TimePoint now) {
        std::vector<msg::Payload> inner;
        if (auto failure = build_auth(sa, config, inner)) return finish(out, std::move(*failure));
        build_config_request(config, inner);
        child_task.build(inner);
        mobike.build_auth(inner);
        phase = Phase::auth_sent;
        out.push_back(Progress{"authenticating as '" + config.local_id + "' with " +
                               (config.private_key ? "a certificate" : "a pre-shared key")});
        send_request(out, sa.protect(msg::ExchangeType::ike_auth, false, next_message_id, inner),
                     msg::ExchangeType::ike_auth, true, now, config.retransmit.retransmits);
    }

    void on_init_response(Actions& out, const msg::Message& m, ByteView raw, TimePoint now) {
        auto result = init.process_response(sa, m, raw);
        if (auto* failure = std::get_if<Failure>(&result)) return finish(out, std::move(*failure));
        pending.reset();
        if (std::holds_alternative<IkeInitTask::Retry>(result)) {
            next_message_id = 0;  // the repeated IKE_SA_INIT is message 0 again
            out.push_back(Progress{"IKE_SA_INIT: the gateway asked for another try, retrying"});
            send_request(out, init.build_request(sa), msg::ExchangeType::ike_sa_init, false, now,
                         config.retransmit.retransmits);
            return;
        }
        const auto& t = sa.transforms;
        out.push_back(Progress{"IKE_SA_INIT done: " + transform_name(msg::TransformType::encr, std::uint16_t(t.encr), t.key_bits) +
                               ", " + transform_name(msg::TransformType::prf, std::uint16_t(t.prf), {}) + ", " +
                               transform_name(msg::TransformType::dh, std::uint16_t(t.dh), {}) +
                               (sa.nat_remote ? "; the gateway is behind a NAT" : "") +
                               "; switching to UDP port 4500"});
        start_auth(out, now);
    }

    // With both families requested the gateway may assign only one address; routes of the other family
    // would send packets whose source the gateway's narrowed TSi does not cover.
    std::vector<IpPrefix> without_unaddressed_families(std::vector<IpPrefix> routes, Actions& out) const {
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

    void on_auth_response(Actions& out, const std::vector<msg::Payload>& outer, const std::vector<msg::Payload>& inner,
                          TimePoint now) {
        pending.reset();
        if (auto broken = msg::check_rules(msg::ExchangeType::ike_auth, true, outer, inner))
            return finish(out, {CloseCode::protocol_error, "malformed IKE_AUTH response: " + *broken});
        const bool has_auth = msg::find<msg::AuthPayload>(inner, msg::PayloadType::auth) != nullptr;
        auto notified = failure_from_notify(inner, "IKE_AUTH");
        if (notified && !has_auth) return finish(out, std::move(*notified));
        std::string peer_identity;
        // The gateway considers the IKE SA established once it sent its AUTH: when we reject it, delete the
        // SA there too rather than leave it to the gateway's liveness checks (RFC 7296 §2.21.2).
        if (auto failure = process_auth(sa, config, inner, peer_identity))
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
        if (config.mobike && !mobike.negotiated())
            out.push_back(Progress{"the gateway does not support MOBIKE: a change of network will end the tunnel"});
        out.push_back(CancelTimer{});
        installed = {child};
        schedule_child_rekey(now);
        schedule_ike_rekey(now);
        out.push_back(InstallChildSa{child});
        out.push_back(ApplyNetworkConfig{network});
    }

    void on_response(Actions& out, const msg::Message& m, ByteView raw, TimePoint now) {
        // Only the answer to our one outstanding request counts; anything else is a late duplicate.
        if (!pending || m.header.message_id != pending->message_id || m.header.exchange != pending->exchange) return;
        if (phase == Phase::init_sent) return on_init_response(out, m, raw, now);
        auto inner = sa.unprotect(raw, m);
        if (!inner) return;  // forged or corrupted: drop, the retransmission timer keeps running
        if (phase == Phase::auth_sent) return on_auth_response(out, m.payloads, *inner, now);
        if (phase == Phase::deleting) return finish(out, close_reason);
        if (pending->mobike_update) return on_update_response(out, *inner, now);
        pending.reset();
        out.push_back(CancelTimer{});
        if (child_rekey && m.header.exchange == msg::ExchangeType::create_child_sa)
            return on_child_rekey_response(out, *inner, now);
        if (ike_rekey && m.header.exchange == msg::ExchangeType::create_child_sa)
            return on_ike_rekey_response(out, *inner, now);
        if (delete_in_flight) finish_child_delete(out);
    }

    // ---- rekeys we start, and the Deletes that follow them ----

    Duration random_up_to(Duration limit) {
        if (limit <= Duration::zero()) return Duration::zero();
        std::uint8_t b[8];
        random.fill(b);
        std::uint64_t v = 0;
        for (auto x : b) v = v << 8 | x;
        return Duration(Duration::rep(v % (std::uint64_t(limit.count()) + 1)));
    }
    void schedule_child_rekey(TimePoint now) {
        child_rekey_at.reset();
        if (config.rekey.child_lifetime > Duration::zero())
            child_rekey_at = now + config.rekey.child_lifetime - random_up_to(config.rekey.jitter);
    }
    void schedule_ike_rekey(TimePoint now) {
        ike_rekey_at.reset();
        if (config.rekey.ike_lifetime > Duration::zero())
            ike_rekey_at = now + config.rekey.ike_lifetime - random_up_to(config.rekey.jitter);
    }
    TimePoint retry_at(TimePoint now) { return now + config.rekey.retry + random_up_to(config.rekey.retry); }

    bool queued(TaskKind kind, std::uint32_t spi_in) const {
        return std::any_of(queue.begin(), queue.end(), [&](const Task& t) { return t.kind == kind && t.spi_in == spi_in; });
    }
    void request_child_rekey(std::uint32_t spi_in) {
        if (spi_in != child.spi_in || (child_rekey && child_rekey->old_spi_in() == spi_in) ||
            queued(TaskKind::child_rekey, spi_in) || std::find(deleting.begin(), deleting.end(), spi_in) != deleting.end())
            return;
        queue.push_back({TaskKind::child_rekey, spi_in});
    }
    void request_ike_rekey() {
        if (!ike_rekey && !queued(TaskKind::ike_rekey, 0)) queue.push_back({TaskKind::ike_rekey, 0});
    }
    void retire(std::uint32_t spi_in) {
        if (std::find(deleting.begin(), deleting.end(), spi_in) != deleting.end()) return;
        deleting.push_back(spi_in);
        queue.push_front({TaskKind::child_delete, spi_in});  // before other rekeys: finish make-before-break
    }

    bool rekeys_pair_we_delete(const std::vector<msg::Payload>& request) const {
        const auto* rekey = msg::find_notify(request, msg::NotifyType::rekey_sa);
        if (!rekey || rekey->spi.size() != 4) return false;
        const std::uint32_t spi_out = std::uint32_t(rekey->spi[0]) << 24 | std::uint32_t(rekey->spi[1]) << 16 |
                                      std::uint32_t(rekey->spi[2]) << 8 | rekey->spi[3];
        return std::any_of(installed.begin(), installed.end(), [&](const ChildSaKeys& c) {
            return c.spi_out == spi_out && std::find(deleting.begin(), deleting.end(), c.spi_in) != deleting.end();
        });
    }
    void note_collision(const std::vector<msg::Payload>& request, const ChildRekeyAnswer& answer) {
        const auto* ni = msg::find<msg::NoncePayload>(request, msg::PayloadType::nonce);
        const auto* nr = msg::find<msg::NoncePayload>(answer.response, msg::PayloadType::nonce);
        if (ni && nr) collision = PeerRekey{ni->data, nr->data, answer.new_child->spi_in};
    }

    // Starts queued requests while the window is free (one outstanding request at a time).
    void start_next(Actions& out, TimePoint now) {
        while (!pending && !queue.empty()) {
            const Task task = queue.front();
            queue.pop_front();
            if (task.kind == TaskKind::child_rekey) start_child_rekey(out, task.spi_in, now);
            else if (task.kind == TaskKind::ike_rekey) start_ike_rekey(out, now);
            else start_child_delete(out, task.spi_in, now);
        }
    }
    void start_child_rekey(Actions& out, std::uint32_t spi_in, TimePoint now) {
        // Only the current pair: one the gateway replaced meanwhile is deleted, not rekeyed.
        if (spi_in != child.spi_in) return;
        child_rekey.emplace(config, child, installed, random);
        collision.reset();
        rekey_target_deleted = false;
        out.push_back(Progress{"rekeying the CHILD SA " + spi_text(child.spi_in) + (child_rekey->pfs() ? " with PFS" : "")});
        send_request(out, sa.protect(msg::ExchangeType::create_child_sa, false, next_message_id, child_rekey->build()),
                     msg::ExchangeType::create_child_sa, true, now, config.retransmit.retransmits);
    }
    void start_ike_rekey(Actions& out, TimePoint now) {
        ike_rekey.emplace(sa, config, random);
        out.push_back(Progress{"rekeying the IKE SA " + hex(sa.spi_i) + " / " + hex(sa.spi_r)});
        send_request(out, sa.protect(msg::ExchangeType::create_child_sa, false, next_message_id, ike_rekey->build()),
                     msg::ExchangeType::create_child_sa, true, now, config.retransmit.retransmits);
    }
    void start_child_delete(Actions& out, std::uint32_t spi_in, TimePoint now) {
        if (std::none_of(installed.begin(), installed.end(), [&](const ChildSaKeys& c) { return c.spi_in == spi_in; })) {
            std::erase(deleting, spi_in);  // the gateway deleted it meanwhile
            return;
        }
        delete_in_flight = spi_in;
        send_request(out, sa.protect(msg::ExchangeType::informational, false, next_message_id, {build_esp_delete({spi_in})}),
                     msg::ExchangeType::informational, true, now, config.retransmit.retransmits);
    }
    void finish_child_delete(Actions& out) {
        const std::uint32_t spi_in = *delete_in_flight;
        delete_in_flight.reset();
        std::erase(deleting, spi_in);
        const auto it = std::find_if(installed.begin(), installed.end(), [&](const ChildSaKeys& c) { return c.spi_in == spi_in; });
        if (it == installed.end()) return;
        installed.erase(it);
        out.push_back(RemoveChildSa{spi_in});
        if (child.spi_in == spi_in && !installed.empty()) child = installed.back();
    }

    void on_child_rekey_response(Actions& out, const std::vector<msg::Payload>& inner, TimePoint now) {
        ChildRekeyInitiator task = std::move(*child_rekey);
        child_rekey.reset();
        auto outcome = task.process(sa, inner);
        using R = ChildRekeyInitiator::Result;
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
            // RFC 7296 §2.25.1: the gateway closed the pair meanwhile; its replacement goes as well.
            out.push_back(Progress{"the gateway deleted the CHILD SA we were rekeying: deleting its replacement"});
            retire(fresh.spi_in);
            return;
        }
        out.push_back(InstallChildSa{fresh, true, true});
        out.push_back(Progress{"rekeyed the CHILD SA: new SPIs " + spi_text(fresh.spi_in) + " (in), " + spi_text(fresh.spi_out) + " (out)"});
        if (collision && our_sa_is_redundant(task.nonce_i(), task.nonce_r(), collision->nonce_i, collision->nonce_r)) {
            out.push_back(Progress{"the gateway rekeyed the same CHILD SA: ours has the lowest nonce and is deleted"});
            retire(fresh.spi_in);  // the gateway deletes the old pair
        } else {
            if (collision) out.push_back(Progress{"the gateway rekeyed the same CHILD SA: it deletes its redundant one"});
            child = fresh;
            schedule_child_rekey(now);
            retire(task.old_spi_in());
        }
        collision.reset();
    }

    void on_ike_rekey_response(Actions& out, const std::vector<msg::Payload>& inner, TimePoint now) {
        IkeRekeyInitiator task = std::move(*ike_rekey);
        ike_rekey.reset();
        auto outcome = task.process(sa, inner);
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
    void on_old_sa_response(const msg::Message& m, ByteView raw) {
        if (!pending || !pending->on_old_sa || m.header.message_id != pending->message_id) return;
        if (!old_sa->unprotect(raw, m)) return;
        pending.reset();
        old_sa.reset();
    }

    std::optional<TimePoint> next_deadline() const {
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
        return at;
    }

    // After every event: start what the window allows, close a tunnel without CHILD SAs, and end with the
    // timer action for the earliest deadline.
    void settle(Actions& out, TimePoint now) {
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


    void respond(Actions& out, std::uint32_t id, msg::ExchangeType exchange, const std::vector<msg::Payload>& inner) {
        peer.last_response = sa.protect(exchange, true, id, inner);
        peer.next_id = id + 1;
        out.push_back(SendDatagram{peer.last_response, true});
    }

    void on_ike_rekey(Actions& out, std::uint32_t id, const std::vector<msg::Payload>& request, TimePoint now) {
        // While a request of ours is outstanding the IKE SA must stay put: the gateway tries again later
        // (RFC 7296 §2.25.2; for a collision with our own IKE SA rekey this avoids redundant IKE SAs).
        // The exception is a MOBIKE update: it is redone on the new IKE SA (see below), and refusing would
        // hold back the rekey a gateway with userspace ESP starts right after a move.
        const bool update_pending = pending && pending->mobike_update;
        if ((pending && !update_pending) || child_rekey || ike_rekey) {
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
    void on_old_sa_request(Actions& out, const msg::Message& m, ByteView raw) {
        const std::uint32_t id = m.header.message_id;
        if (id + 1 == old_peer.next_id && !old_peer.last_response.empty()) {
            out.push_back(SendDatagram{old_peer.last_response, true});
            return;
        }
        if (id != old_peer.next_id || m.header.exchange != msg::ExchangeType::informational) return;
        auto inner = old_sa->unprotect(raw, m);
        if (!inner) return;
        const bool deleted = read_peer_deletes(*inner).ike_sa;
        old_peer.last_response = old_sa->protect(msg::ExchangeType::informational, true, id, {});
        old_peer.next_id = id + 1;
        out.push_back(SendDatagram{old_peer.last_response, true});
        if (deleted) old_sa.reset();
    }

    void on_create_child_sa(Actions& out, std::uint32_t id, const std::vector<msg::Payload>& request, TimePoint now) {
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
        out.push_back(InstallChildSa{child, true, false});
        out.push_back(Progress{"the gateway rekeyed the CHILD SA: new SPIs " + spi_text(child.spi_in) + " (in), " + spi_text(child.spi_out) + " (out)"});
    }

    // The gateway deletes CHILD SAs by the SPIs it receives with (our outbound ones); we answer with our
    // inbound SPIs of the same pairs (RFC 7296 §1.4.1).
    void on_child_deletes(Actions& out, std::uint32_t id, const std::vector<std::uint32_t>& spis_out, TimePoint now) {
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

    void on_peer_request(Actions& out, const msg::Message& m, ByteView raw, TimePoint now) {
        if (!sa.aead_in) return;
        const std::uint32_t id = m.header.message_id;
        if (id + 1 == peer.next_id && !peer.last_response.empty()) {
            out.push_back(SendDatagram{peer.last_response, true});
            return;
        }
        if (id != peer.next_id) return;
        auto inner = sa.unprotect(raw, m);
        if (!inner) return;
        if (m.header.exchange == msg::ExchangeType::create_child_sa) return on_create_child_sa(out, id, *inner, now);
        if (m.header.exchange != msg::ExchangeType::informational) return;
        PeerDelete deletes = read_peer_deletes(*inner);
        if (deletes.ike_sa) {
            respond(out, id, m.header.exchange, {});
            return finish(out, {CloseCode::gateway_deleted, "the gateway deleted the IKE SA"});
        }
        if (!deletes.esp_spis.empty()) return on_child_deletes(out, id, deletes.esp_spis, now);
        std::vector<msg::Payload> response;  // liveness check (RFC 7296 §1.4) or a notification
        mobike.answer_peer_request(*inner, response);
        respond(out, id, m.header.exchange, response);
    }

    // --- MOBIKE path changes (core/mobike.hpp has the rules) ---

    bool roaming() const {
        return phase == Phase::established && (no_path_since || (pending && pending->mobike_update));
    }

    void send_update(Actions& out, const Path& p, TimePoint now) {
        update_built_for = p;
        send_request(out, sa.protect(msg::ExchangeType::informational, false, next_message_id, mobike.build_update(sa, p)),
                     msg::ExchangeType::informational, true, now, config.retransmit.retransmits, p);
        pending->mobike_update = true;
        restart_update_schedule(now);
        out.back() = ArmTimer{pending->deadline};
    }

    // A new path often drops its first packets (neighbour discovery, a link still coming up): the update
    // is retried sooner than other requests, with two more tries so the whole schedule stays as long.
    void restart_update_schedule(TimePoint now) {
        pending->retransmits_left = config.retransmit.retransmits + 2;
        pending->timeout = std::min<Duration>(config.retransmit.initial, update_first_retransmit);
        pending->first_sent = now;
        pending->deadline = now + pending->timeout;
    }

    // No route to the gateway: stay quiet, count nothing, give up only after no_path_limit.
    void wait_for_path(Actions& out, TimePoint now, const std::string& why) {
        if (!no_path_since) {
            no_path_since = now;
            if (!roam_started) roam_started = now, roam_from = path;
            const auto limit = std::chrono::duration_cast<std::chrono::seconds>(config.no_path_limit).count();
            out.push_back(Progress{why + ": waiting up to " + std::to_string(limit) + " s for a path"});
        }
        out.push_back(ArmTimer{*no_path_since + config.no_path_limit});
    }

    void on_path(Actions& out, std::optional<Path> p, TimePoint now) {
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

    void on_update_response(Actions& out, const std::vector<msg::Payload>& inner, TimePoint now) {
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
        roam_started.reset();
    }
};

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
    if (s_->old_sa && s_->old_sa->matches(m.header) && s_->old_sa->from_peer(m.header)) {
        if (!m.header.is_response()) s_->on_old_sa_request(out, m, datagram);
        else s_->on_old_sa_response(m, datagram);
        s_->settle(out, now);
        return out;
    }
    // Messages for other IKE SAs, or that we could have sent ourselves, are not ours.
    if (m.header.spi_i != s_->sa.spi_i || !s_->sa.from_peer(m.header)) return out;
    if (m.header.is_response()) {
        if (s_->phase != Phase::init_sent && m.header.spi_r != s_->sa.spi_r) return out;
        s_->on_response(out, m, datagram, now);
    } else if (s_->phase == Phase::established || s_->phase == Phase::deleting) {
        if (m.header.spi_r == s_->sa.spi_r) s_->on_peer_request(out, m, datagram, now);
    }
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
    s_->on_path(out, std::move(path), now);
    return out;
}

Actions IkeSession::on_timer(TimePoint now) {
    Actions out;
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
        s_->finish(out, {CloseCode::timeout, "no answer from the gateway " + s_->config.gateway.to_string() +
                                                 " after " + std::to_string(waited) + " s of retransmissions"});
        return out;
    }
    if (p && now >= p->deadline) {
        --p->retransmits_left;
        p->timeout *= s_->config.retransmit.factor;
        p->deadline = now + p->timeout;
        out.push_back(SendDatagram{p->bytes, p->nat_t, p->path});
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
        i.encryption = transform_name(msg::TransformType::encr, std::uint16_t(t.encr), t.key_bits);
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
    return i;
}

bool IkeSession::closed() const { return s_->phase == Phase::closed; }

}  // namespace ikevpn::core
