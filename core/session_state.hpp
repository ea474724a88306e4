// Private to core/session*.cpp: the state of one IkeSession (the task manager of one IKE SA) and the
// helpers its parts share. session.cpp holds IKE_SA_INIT/IKE_AUTH, the gateway's requests and the public
// API; session_rekey.cpp the rekeys we start and the Deletes that follow them; session_mobike.cpp the
// MOBIKE path changes. Not part of the core's interface.
#pragma once
#include "core/session.hpp"

#include "core/child_create.hpp"
#include "core/child_rekey.hpp"
#include "core/child_rekey_initiator.hpp"
#include "core/eap_auth.hpp"
#include "core/ike_auth.hpp"
#include "core/ike_config.hpp"
#include "core/ike_delete.hpp"
#include "core/ike_fragment.hpp"
#include "core/ike_init.hpp"
#include "core/ike_rekey.hpp"
#include "core/ike_rekey_initiator.hpp"
#include "core/ike_sa.hpp"
#include "core/mobike.hpp"
#include "core/message/rules.hpp"
#include "core/rekey_collision.hpp"

#include <algorithm>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace ikevpn::core {

enum class Phase { idle, init_sent, auth_sent, established, deleting, closed };

inline std::string spi_text(std::uint32_t spi) {
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
    std::vector<Bytes> fragments;  // RFC 7383: sent (and retransmitted) instead of `bytes` when not empty
    bool liveness = false;  // an empty INFORMATIONAL of ours (RFC 7296 §2.4; session_liveness.cpp)
};

// Requests of our own after IKE_AUTH, one at a time (window size 1, RFC 7296 §2.3).
enum class TaskKind { child_rekey, ike_rekey, child_delete, liveness };
struct Task {
    TaskKind kind = TaskKind::child_rekey;
    std::uint32_t spi_in = 0;  // the pair to rekey or delete
};

// The gateway's requests are answered at most once; a retransmitted request gets the cached response
// (RFC 7296 §2.1).
struct PeerRequests {
    std::uint32_t next_id = 0;
    Bytes last_response;
};

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
    // RFC 7296 §2.8.2 (core/session_rekey_collision.cpp): the gateway's IKE SA rekey crossed ours. Its new
    // IKE SA waits here until the answer to ours decides which new IKE SA stays.
    std::optional<IkeSa> ike_collision;
    // After a collision: an IKE SA the gateway deletes (its redundant new one, or the old one when its new
    // one won). We only answer its requests until its Delete.
    std::optional<IkeSa> doomed_sa;
    PeerRequests doomed_peer;
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
    // IKE fragmentation (core/ike_fragment.hpp, session_fragment.cpp).
    bool fragmentation = false;  // both ends announced FRAGMENTATION_SUPPORTED (RFC 7383 §2.3)
    // One message at a time in each direction: the answers to our requests, and the gateway's requests.
    FragmentReassembler response_fragments, request_fragments;
    std::optional<std::vector<msg::Payload>> reassembled;  // inner payloads of the datagram being handled
    std::uint64_t messages_fragmented = 0, fragments_sent = 0;
    std::optional<EapAuthTask> eap;  // IKE_AUTH with EAP (session_eap.cpp)
    // Reauthentication (core/session_reauth.cpp): a whole second IkeSession builds the new IKE SA
    // (`successor`); once it is up the two swap their State, and the old one (`predecessor`) deletes its IKE
    // SA. Both run on this session's events and timer.
    std::unique_ptr<IkeSession> successor, predecessor;
    std::optional<TimePoint> reauth_at, auth_expires_at;
    bool reauth_gateway_asked = false;  // the reauthentication under way answers AUTH_LIFETIME
    std::string reauth_failure;         // why the last attempt failed
    std::optional<ChildSaKeys> successor_child;     // the successor is up: its CHILD SA
    std::optional<NetworkConfig> successor_network;  // and its addresses
    std::optional<Path> vip_path;  // the path when the gateway assigned our virtual IPs (IKE_AUTH done)
    // Liveness checks of ours (RFC 7296 §2.4, core/session_liveness.cpp): when the last authenticated
    // message of the gateway's arrived; `authenticated_in` marks the datagram being handled as one.
    std::optional<TimePoint> last_received;
    bool authenticated_in = false;
    std::optional<TimePoint> liveness_asked;  // a check waits in the queue since then
    std::uint64_t liveness_checks = 0;        // sent (retransmissions not counted)
    bool liveness_failed = false;             // closed because a check went unanswered

    void send_request(Actions& out, Bytes bytes, msg::ExchangeType exchange, bool nat_t, TimePoint now,
                      unsigned retransmits, std::optional<Path> on_path = std::nullopt);

    void arm_request(Actions& out, PendingRequest r, TimePoint now);

    // ---- IKE fragmentation (session_fragment.cpp) ----

    // send_request() for a protected request: as SKF fragments when negotiated and too large.
    void send_protected(Actions& out, msg::ExchangeType exchange, const std::vector<msg::Payload>& inner,
                        TimePoint now, unsigned retransmits);
    // The datagrams of a request: the message, or all its fragments (also on every retransmission).
    void emit_request(Actions& out, const PendingRequest& r);
    // A fragment of the gateway's: true when it completed a message (its payloads are in `reassembled`)
    // or is the first fragment of a request we already answered (the cached response goes out again).
    bool on_fragment(const msg::Message& m, ByteView raw, TimePoint now);
    // The decrypted payloads of the message being handled: reassembled ones, or the SK payload's.
    std::optional<std::vector<msg::Payload>> unprotect(ByteView raw, const msg::Message& m);
    IkeSaInfo::Fragmentation fragment_info() const;

    void finish(Actions& out, Failure reason);

    // A failure after the IKE SA exists: delete it at the gateway first, then close with the reason.
    void delete_then_close(Actions& out, Failure reason, TimePoint now);

    void start_auth(Actions& out, TimePoint now);

    void on_init_response(Actions& out, const msg::Message& m, ByteView raw, TimePoint now);

    // With both families requested the gateway may assign only one address; routes of the other family
    // would send packets whose source the gateway's narrowed TSi does not cover.
    std::vector<IpPrefix> without_unaddressed_families(std::vector<IpPrefix> routes, Actions& out) const;

    void on_auth_response(Actions& out, const std::vector<msg::Payload>& outer, const std::vector<msg::Payload>& inner,
                          TimePoint now);

    void on_response(Actions& out, const msg::Message& m, ByteView raw, TimePoint now);

    // session_eap.cpp: the first IKE_AUTH request without AUTH, and the EAP rounds up to the final AUTH.
    void start_eap_auth(std::vector<msg::Payload>& inner);
    void on_eap_response(Actions& out, const std::vector<msg::Payload>& inner, TimePoint now);

    // ---- rekeys we start, and the Deletes that follow them ----

    Duration random_up_to(Duration limit);
    void schedule_child_rekey(TimePoint now);
    void schedule_ike_rekey(TimePoint now);
    TimePoint retry_at(TimePoint now) { return now + config.rekey.retry + random_up_to(config.rekey.retry); }

    bool queued(TaskKind kind, std::uint32_t spi_in) const;
    void request_child_rekey(std::uint32_t spi_in);
    void request_ike_rekey();
    void retire(std::uint32_t spi_in);

    bool rekeys_pair_we_delete(const std::vector<msg::Payload>& request) const;
    void note_collision(const std::vector<msg::Payload>& request, const ChildRekeyAnswer& answer);

    // Starts queued requests while the window is free (one outstanding request at a time).
    void start_next(Actions& out, TimePoint now);
    void start_child_rekey(Actions& out, std::uint32_t spi_in, TimePoint now);
    void start_ike_rekey(Actions& out, TimePoint now);
    void start_child_delete(Actions& out, std::uint32_t spi_in, TimePoint now);
    void finish_child_delete(Actions& out);

    void on_child_rekey_response(Actions& out, const std::vector<msg::Payload>& inner, TimePoint now);

    void on_ike_rekey_response(Actions& out, const std::vector<msg::Payload>& inner, TimePoint now);
    void on_old_sa_response(const msg::Message& m, ByteView raw);

    // ---- IKE SA rekey collisions (RFC 7296 §2.8.2; core/session_rekey_collision.cpp) ----

    // The gateway's IKE SA rekey while ours is in flight: answered, its new IKE SA kept aside.
    void on_colliding_ike_rekey(Actions& out, std::uint32_t id, const std::vector<msg::Payload>& request);
    // The answer to our rekey after a collision: the lowest nonce decides which new IKE SA stays.
    void resolve_ike_collision(Actions& out, IkeRekeyInitiator::Outcome outcome, TimePoint now);
    // The gateway did not see the collision (it refused ours, or deleted the old IKE SA): its new one stays.
    void adopt_peer_ike_sa(Actions& out, bool old_deleted, TimePoint now);
    // Sends our Delete of `old_sa` (message `id` on it) and waits for its answer.
    void delete_old_sa(Actions& out, std::uint32_t id, TimePoint now);
    // A message on `doomed_sa`; true when `m` was one.
    bool on_doomed_sa(Actions& out, const msg::Message& m, ByteView raw);

    std::optional<TimePoint> next_deadline() const;

    // After every event: start what the window allows, close a tunnel without CHILD SAs, and end with the
    // timer action for the earliest deadline.
    void settle(Actions& out, TimePoint now);

    void respond(Actions& out, std::uint32_t id, msg::ExchangeType exchange, const std::vector<msg::Payload>& inner);

    void on_ike_rekey(Actions& out, std::uint32_t id, const std::vector<msg::Payload>& request, TimePoint now);

    // The old IKE SA only sees the gateway's Delete of it (and perhaps a liveness check) before it goes.
    void on_old_sa_request(Actions& out, const msg::Message& m, ByteView raw);

    void on_create_child_sa(Actions& out, std::uint32_t id, const std::vector<msg::Payload>& request, TimePoint now);

    // The gateway deletes CHILD SAs by the SPIs it receives with (our outbound ones); we answer with our
    // inbound SPIs of the same pairs (RFC 7296 §1.4.1).
    void on_child_deletes(Actions& out, std::uint32_t id, const std::vector<std::uint32_t>& spis_out, TimePoint now);

    void on_peer_request(Actions& out, const msg::Message& m, ByteView raw, TimePoint now);

    // --- MOBIKE path changes (core/mobike.hpp has the rules) ---

    bool roaming() const;

    void send_update(Actions& out, const Path& p, TimePoint now);

    // A new path often drops its first packets (neighbour discovery, a link still coming up): the update
    // is retried sooner than other requests, with two more tries so the whole schedule stays as long.
    void restart_update_schedule(TimePoint now);

    // No route to the gateway: stay quiet, count nothing, give up only after no_path_limit.
    void wait_for_path(Actions& out, TimePoint now, const std::string& why);

    void on_path(Actions& out, std::optional<Path> p, TimePoint now);

    void on_update_response(Actions& out, const std::vector<msg::Payload>& inner, TimePoint now);
    void rekey_after_gateway_move(Actions& out);  // core/session_mobike.cpp

    // The gateway's address in use stops answering: retransmissions try its other addresses
    // (core/session_probe.cpp), and the SAs follow the one that answers.
    std::vector<IpAddress> probe_candidates() const;
    void probe_gateway_addresses(Actions& out, PendingRequest& p);
    void follow_gateway_address(Actions& out, TimePoint now);
    // --- reauthentication (core/session_reauth.cpp) ---

    // AUTH_LIFETIME in the IKE_AUTH response or a gateway's INFORMATIONAL: reauthenticate before it ends.
    void note_auth_lifetime(Actions& out, const std::vector<msg::Payload>& inner, TimePoint now);
    // Once established: the profile's reauth_lifetime, if set and AUTH_LIFETIME did not decide already.
    void schedule_reauth(TimePoint now);
    void start_reauth(Actions& out, TimePoint now);
    bool moved_since_vip() const;  // our local address or port differs from where the virtual IP came
    void reauth_failed(Actions& out, std::string why, TimePoint now);
    // Messages for the successor's or predecessor's IKE SA go there; true when `m` was one of those.
    bool to_satellite(Actions& out, const msg::Message& m, ByteView raw, TimePoint now);
    // Timer expiry: the satellites' own deadlines, the start of a reauthentication, AUTH_LIFETIME's end.
    void satellite_timers(Actions& out, TimePoint now);
    // The satellites' actions, translated: datagrams and progress go out, timers become ours.
    void absorb_successor(Actions& out, Actions in, TimePoint now);
    void absorb_predecessor(Actions& out, Actions in);
    // The successor is up: it becomes this session's State and the old one deletes its IKE SA.
    std::optional<TimePoint> reauth_deadline() const;
    // --- redirects (RFC 5685; core/session_redirect.cpp): true when the message was a redirect ---
    bool redirect_in_init(Actions& out, const msg::Message& m);
    bool redirect_in_auth(Actions& out, const std::vector<msg::Payload>& inner);
    bool redirect_in_informational(Actions& out, std::uint32_t id, const std::vector<msg::Payload>& inner, TimePoint now);

    static void complete_reauth(std::unique_ptr<State>& self, Actions& out, TimePoint now);

    // --- liveness checks (core/session_liveness.cpp) ---
    void request_liveness(Actions& out, TimePoint now);
    void start_liveness_check(Actions& out, TimePoint now);
    void on_liveness_response(Actions& out, TimePoint now);
    // The reason a check whose retransmissions all went unanswered gives for closing.
    Failure liveness_timeout(const PendingRequest& p, TimePoint now);
};

}  // namespace ikevpn::core
