// The I/O-free IKEv2 initiator (STYLE.md: boringtun's protocol core with injected time). The driver in
// client/ feeds it events — start, a datagram, a timer expiry, a close request — each with the current
// time, and performs the actions it returns. Nothing here touches a socket, a clock or a thread.
#pragma once
#include "core/bytes.hpp"
#include "core/crypto/public_key.hpp"
#include "core/crypto/secure_bytes.hpp"
#include "core/ip_address.hpp"
#include "core/message/message.hpp"
#include "core/redirect.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace ikevpn::crypto { class RandomSource; }

namespace ikevpn::core {

using TimePoint = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;

// RFC 7296 §2.1 leaves the schedule to the implementation; this one gives up after ~31 s.
struct RetransmitPolicy {
    Duration initial = std::chrono::seconds(1);
    unsigned factor = 2;
    unsigned retransmits = 4;  // after the first transmission
};

// Rekeys we start ourselves (RFC 7296 §2.8 leaves lifetimes to local policy). Zero = never.
struct RekeyPolicy {
    Duration ike_lifetime{};    // rekey the IKE SA this long after it was created
    Duration child_lifetime{};  // rekey each CHILD SA this long after it was created
    Duration jitter{};          // rekey up to this much earlier, at random, so both ends rarely collide
    Duration retry = std::chrono::seconds(10);  // after TEMPORARY_FAILURE (RFC 7296 §2.25), plus jitter
    // Reauthenticate (RFC 7296 §2.8.3: a new IKE SA, make-before-break) this long after IKE_AUTH; zero =
    // only when the gateway asks with AUTH_LIFETIME (RFC 4478). core/session_reauth.cpp.
    Duration reauth_lifetime{};
};

struct SessionConfig {
    std::string local_id;   // typed automatically (core/identity.hpp): IP, RFC822, FQDN, DN or keyid:
    std::string remote_id;  // the gateway must present exactly this identity
    SecureBytes psk;
    // Certificate authentication (core/ike_auth.cpp, core/certificate_auth.cpp). With `private_key` we
    // sign AUTH and send `local_certs` (ours first, then intermediates); without, we use `psk`. With
    // `trusted_cas` the gateway must authenticate with a certificate chaining to one of them (and we send
    // CERTREQ); without, with the PSK. Either side may use either method (RFC 7296 §2.15).
    crypto::PrivateKeyPtr private_key;
    std::vector<crypto::CertificatePtr> local_certs;
    std::vector<crypto::CertificatePtr> trusted_cas;
    bool rsa_pss = false;  // RSA keys sign with RSASSA-PSS (RFC 7427) instead of PKCS#1 v1.5
    // EAP (RFC 7296 §2.16, core/eap_auth.hpp): with eap_mschapv2 we send no AUTH of our own; the gateway
    // authenticates with a certificate (trusted_cas required), then EAP-MSCHAPv2 runs with eap_identity
    // (empty: local_id) and eap_password, and the MSK keys both final AUTHs.
    bool eap_mschapv2 = false;
    std::string eap_identity;
    SecureBytes eap_password;
    // EAP-TLS (RFC 5216, core/eap/eap_tls.hpp): as with eap_mschapv2 the gateway authenticates with its
    // certificate first; then we prove ourselves inside TLS with eap_tls_key and eap_tls_certs (ours first,
    // then intermediates), never with an IKE AUTH signature. TLS records go in EAP-TLS fragments of at
    // most eap_tls_fragment_size bytes.
    bool eap_tls = false;
    crypto::PrivateKeyPtr eap_tls_key;
    std::vector<crypto::CertificatePtr> eap_tls_certs;
    std::size_t eap_tls_fragment_size = 1000;
    // Wall-clock time for certificate validity periods; tests inject their own.
    std::function<std::chrono::system_clock::time_point()> wall_clock = [] { return std::chrono::system_clock::now(); };
    std::vector<msg::Proposal> ike_proposals;
    std::vector<msg::Proposal> esp_proposals;
    std::vector<IpPrefix> remote_networks;  // TSr we ask for; their families decide which virtual IPs we request
    bool request_virtual_ip = true;
    IpAddress gateway;                      // for NAT_DETECTION_DESTINATION_IP
    std::uint16_t ike_port = 500;
    RetransmitPolicy retransmit;
    RekeyPolicy rekey;
    // MOBIKE (RFC 4555): offered in IKE_AUTH; with it a path change moves the SAs instead of ending them.
    bool mobike = false;
    // How long the tunnel waits, silently, for any path to the gateway before it gives up (core/mobike.hpp).
    Duration no_path_limit = std::chrono::seconds(120);
    // MOBIKE: whether the driver has a route to one of the gateway's other addresses (ADDITIONAL_IP*_ADDRESS),
    // asked before a request is retried there (core/mobike.hpp); empty: every address counts as reachable.
    std::function<bool(const IpAddress&)> reachable;
    // IKE fragmentation (RFC 7383, core/ike_fragment.hpp): FRAGMENTATION_SUPPORTED is offered in
    // IKE_SA_INIT; when the gateway announces it too, an IKE_AUTH request larger than one IP datagram of
    // `fragment_size` octets (IP and UDP headers included) is sent as fragments. The gateway's fragments
    // are reassembled either way once it was negotiated.
    bool fragmentation = true;
    std::size_t fragment_size = 1280;
    // Reauthentication: the virtual IPs the current IKE SA has, asked for again in the CP request so the
    // gateway can hand out the same ones (RFC 7296 §3.15.1 lets a request carry a value).
    std::optional<IpAddress> requested_virtual_ip, requested_virtual_ip6;
    // INITIAL_CONTACT (RFC 7296 §2.4) in the first IKE_AUTH request: "this IKE SA is now the only one".
    // Set only for a reauthentication after a MOBIKE move (core/session_reauth.cpp explains why).
    bool initial_contact = false;
    // Whether a reauthentication after a move may send it: not when these credentials are in use on another
    // device at the same time (RFC 7296 §2.4: it MUST NOT be sent by an entity that may be replicated).
    bool reauth_initial_contact = true;
    // RFC 5685: after a redirect, the gateway that sent us here (REDIRECTED_FROM in IKE_SA_INIT instead of
    // REDIRECT_SUPPORTED). core/session_redirect.cpp.
    std::optional<GatewayIdentity> redirected_from;
};

// Reasons a session ends; the strings (error_code_name) are the `code` of the `error` event.
enum class CloseCode {
    requested, auth_failed, no_proposal_chosen, timeout, ts_unacceptable, internal_address_failure,
    failed_cp_required, protocol_error, gateway_deleted,
    cert_invalid,  // the gateway's certificate is missing, malformed, untrusted, expired or unfit for signing
    id_mismatch,   // the gateway's IDr is not remote_id, or its certificate does not hold that identity
    path_lost,  // no usable path to the gateway (long enough), or it moved and MOBIKE is not available
    reauth_failed,  // the gateway's AUTH_LIFETIME ran out before a reauthentication succeeded
    redirected,     // the gateway sent us to another one (RFC 5685); a Redirected action came before
};
const char* error_code_name(CloseCode code);

// One end of a UDP path; port 0 = whatever the socket has.
struct Endpoint {
    IpAddress address;
    std::uint16_t port = 0;
    bool operator==(const Endpoint&) const = default;
};
// The outer addresses IKE and ESP use: ours and the gateway's.
struct Path {
    Endpoint local, remote;
    bool operator==(const Path&) const = default;
};

struct SendDatagram {
    Bytes message;
    bool nat_t = false;  // send to the gateway's port 4500 with the non-ESP marker (RFC 3948 §2.2)
    // MOBIKE: the path this datagram must leave on (none = the current one). The driver moves its socket
    // when the path differs from where it is.
    std::optional<Path> path = std::nullopt;
};
// The session's one timer (retransmission or the next rekey, whichever is earliest); replaces any earlier one.
struct ArmTimer { TimePoint at; };
struct CancelTimer {};
struct Progress { std::string line; };  // human progress ("IKE_SA_INIT done: ...")
struct ChildSaKeys {
    std::uint32_t spi_in = 0, spi_out = 0;  // spi_in: ours (the gateway sends with it)
    std::uint16_t encr_id = 20, key_bits = 256;  // IANA ENCR ID: 20 AES-GCM-16, 28 ChaCha20-Poly1305, 12 AES-CBC
    std::uint16_t integ_id = 0;              // IANA INTEG ID (12/13/14: HMAC-SHA2-256/384/512); 0 for AEAD
    bool esn = false;                        // extended sequence numbers (RFC 4303 §2.2.1)
    SecureBytes key_in, key_out;             // AEAD: cipher key | 4-byte salt; CBC: the AES key
    SecureBytes integ_key_in, integ_key_out; // empty for AEAD
    std::vector<msg::TrafficSelector> local_ts, remote_ts;
};
struct InstallChildSa {
    ChildSaKeys child;
    bool rekey = false;  // replaces an installed pair, deleted shortly after
    bool by_us = false;  // for a rekey: we started it (else the gateway did)
    // A rekey collision's redundant pair (RFC 7296 §2.8.1), deleted at once: it receives until then, but
    // never sends (our traffic stays on the surviving pair).
    bool redundant = false;
    // A rekey the gateway started (we answered it): the new pair receives at once, but our traffic stays
    // on the pair it replaces until the gateway shows it holds the new one — its first ESP packet on it,
    // or its Delete of the old pair (RemoveChildSa) — or a safety limit passes (client/data_path_deferred.cpp).
    // Our answer may be late or lost, and until it arrives the gateway cannot decrypt the new pair (§2.8).
    bool outbound_deferred = false;
};
struct NetworkConfig {
    std::optional<IpAddress> virtual_ip;   // IPv4 only
    std::optional<IpAddress> virtual_ip6;  // IPv6, requested when remote_networks hold an IPv6 prefix
    std::vector<IpAddress> dns;            // both families, in the gateway's order
    std::vector<std::string> dns_domains;  // split DNS (INTERNAL_DNS_DOMAIN, RFC 8598), lower case, no final dot
    std::vector<IpPrefix> routes;  // from the narrowed TSr
};
struct ApplyNetworkConfig { NetworkConfig config; };
struct RemoveChildSa { std::uint32_t spi_in = 0; };
struct Closed { CloseCode code = CloseCode::requested; std::string reason; };
struct IkeRekeyed {  // the IKE SA was rekeyed (new SPIs, hex)
    std::string spi_i, spi_r;
    bool by_us = false;  // we started it (else the gateway did)
};
// MOBIKE moved the IKE SA and every CHILD SA to `new_path` (the gateway confirmed UPDATE_SA_ADDRESSES).
// handover: from the first path event of this move to the confirmation.
struct PathChanged {
    std::optional<Path> old_path;
    Path new_path;
    Duration handover{};
    bool nat_local = false;  // a NAT between us and the gateway on the new path (from its NAT_DETECTION_*)
};

// A new IKE SA (and CHILD SA) replaced the current one after a reauthentication (core/session_reauth.cpp);
// its CHILD SA was installed just before (InstallChildSa), the old IKE SA is being deleted.
struct Reauthenticated {
    std::string spi_i, spi_r;  // of the new IKE SA, hex
    bool gateway_asked = false;  // AUTH_LIFETIME (else the profile's rekey.reauth_seconds)
    // The gateway assigned other virtual IPs than before: the tunnel's addresses no longer fit.
    bool virtual_ip_changed = false;
    NetworkConfig network;  // what the new IKE SA assigned
};

// The gateway redirects us (RFC 5685): connect to `gateway` from scratch (with REDIRECTED_FROM). Followed by
// Closed{redirected} once this session is done (at once, or after deleting an established IKE SA).
struct Redirected {
    GatewayIdentity gateway;
    std::string during;  // "IKE_SA_INIT", "IKE_AUTH" or "INFORMATIONAL" (an established IKE SA)
};

using Action = std::variant<SendDatagram, ArmTimer, CancelTimer, Progress, InstallChildSa,
                            ApplyNetworkConfig, RemoveChildSa, Closed, IkeRekeyed, PathChanged, Reauthenticated,
                            Redirected>;
using Actions = std::vector<Action>;

// What `ikevpn status` shows about the IKE SA.
struct IkeSaInfo {
    std::string state;  // "connecting", "connected", "roaming", "disconnecting", "closed"
    std::string spi_i, spi_r;  // hex
    std::string encryption, prf, dh;
    std::optional<TimePoint> established_at;
    bool nat_local = false, nat_remote = false;
    std::optional<TimePoint> rekey_at;  // when we rekey the IKE SA (lifetime), if scheduled
    struct ChildRekey { std::uint32_t spi_in = 0; TimePoint at{}; };
    std::vector<ChildRekey> child_rekeys;  // scheduled CHILD SA rekeys, by our inbound SPI
    // MOBIKE: negotiated; the path the SAs use; the gateway's other addresses (ADDITIONAL_IP*_ADDRESS).
    bool mobike = false;
    std::optional<Path> path;
    std::vector<IpAddress> gateway_addresses;
    // IKE fragmentation (RFC 7383): negotiated, what we sent as fragments, what we received.
    struct Fragmentation {
        bool negotiated = false;
        std::uint64_t messages_fragmented = 0, fragments_sent = 0;  // fragments_sent counts retransmissions
        std::uint64_t fragments_received = 0, messages_reassembled = 0, fragments_dropped = 0;
    };
    Fragmentation fragmentation;
    // Reauthentication: when the next one starts, and when the gateway's AUTH_LIFETIME ends (if it sent one).
    std::optional<TimePoint> reauth_at, auth_expires_at;
    bool reauthenticating = false;  // a new IKE SA is being built beside this one
    // Liveness checks (RFC 7296 §2.4, check_liveness()): the gateway's last authenticated IKE message, the
    // checks sent, and whether the session closed because one went unanswered.
    std::optional<TimePoint> last_received;
    std::uint64_t liveness_checks = 0;
    bool liveness_failed = false;
};

class IkeSession {
public:
    IkeSession(SessionConfig config, crypto::RandomSource& random);
    ~IkeSession();
    IkeSession(const IkeSession&) = delete;
    IkeSession& operator=(const IkeSession&) = delete;

    Actions start(TimePoint now);
    // An IKE message from the gateway (marker already stripped).
    Actions on_datagram(ByteView message, TimePoint now);
    // The same, with the path it arrived on (our address and port, the gateway's).
    Actions on_datagram(ByteView message, TimePoint now, const Path& arrived_on);
    // The path to the gateway now: where the driver's socket sends from and to after a change of links,
    // addresses or routes; nullopt when no route reaches the gateway. Before the tunnel is up it is only
    // recorded; afterwards a change starts a MOBIKE update (RFC 4555 §3.5) — see core/mobike.hpp.
    Actions on_path(std::optional<Path> path, TimePoint now);
    Actions on_timer(TimePoint now);
    // Disconnect: an established SA is deleted with INFORMATIONAL (RFC 7296 §1.4.1), then Closed.
    Actions close(TimePoint now);
    // Rekey the CHILD SA whose inbound SPI is `spi_in` now (e.g. the data plane's sequence-number soft
    // limit or byte lifetime was reached). Queued behind an outstanding request (window size 1); ignored
    // for a pair that is not the current one or is already being replaced.
    Actions rekey_child(std::uint32_t spi_in, TimePoint now);
    // Rekey the IKE SA now (RFC 7296 §1.3.2); queued like rekey_child().
    Actions rekey_ike(TimePoint now);
    // Is the gateway still there (RFC 7296 §2.4)? An empty INFORMATIONAL request, queued like rekey_ike()
    // behind an outstanding request and dropped there if the gateway's answer to that one arrives first;
    // ignored while a check is under way, during a MOBIKE update or a wait for a path, a reauthentication,
    // and before the tunnel is up. Unanswered after all retransmissions: Closed{timeout}. When to call it
    // is core/liveness_policy.hpp's business. core/session_liveness.cpp.
    Actions check_liveness(TimePoint now);

    IkeSaInfo info() const;
    bool closed() const;

private:
    struct State;
    std::unique_ptr<State> s_;
};

}  // namespace ikevpn::core
