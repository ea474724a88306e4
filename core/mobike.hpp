// MOBIKE (RFC 4555) as the initiator, a task that adds MOBIKE_SUPPORTED to IKE_AUTH and owns the payloads
// of the INFORMATIONAL exchanges that move the SAs to a new path. session.cpp sequences the exchanges (one
// request in flight, retransmission); this file only builds and reads payloads and keeps MOBIKE's state.
//
// Path changes, as session.cpp drives them:
//   - the driver reports the path its socket now uses (IkeSession::on_path); a different one starts an
//     UPDATE_SA_ADDRESSES request from it (RFC 4555 §3.5) with NAT_DETECTION_* and COOKIE2 (§5.2);
//   - an update is retransmitted first after 250 ms (a fresh path often loses its first packet), then on the
//     usual doubling schedule with two more tries, so it gives up after about as long as other requests;
//   - only one update is in flight (window of one). A newer path while it is in flight retransmits the same
//     request at once from the newest path (the gateway takes the addresses from the IP header, §3.5) and,
//     once answered, a fresh update confirms the newest path with NAT detection of its own;
//   - no path at all: nothing is sent and no retransmission is counted; the session waits quietly for
//     SessionConfig::no_path_limit (default 120 s, long enough for a train tunnel or a Wi-Fi re-association,
//     short enough that a gateway long past its DPD timeout is not pretended to) and then ends with
//     PATH_LOST. Any path within that time resumes the update with a full retransmission budget.
//   - an echoed COOKIE2 that does not match is discarded and the update started again with a new cookie,
//     three times at most (then PROTOCOL_ERROR: someone is answering for the gateway);
//   - UNACCEPTABLE_ADDRESSES or UNEXPECTED_NAT_DETECTED (the gateway refuses this path, §3.5/§4.2.4)
//     is treated as "no usable path": the session waits for the next path change, within no_path_limit.
//   - the gateway's address in use stops answering a request (rekey, the dead-data-path watch's rekey):
//     from its second retransmission on, the same request goes to the gateway's other addresses
//     (ADDITIONAL_IP*_ADDRESS, same family, with a route) in turn; the one that answers gets an
//     UPDATE_SA_ADDRESSES (core/session_probe.cpp);
//   - the initiator's own ESP: the data plane sends on the new path as soon as the socket moved, before
//     the answer to UPDATE_SA_ADDRESSES. RFC 4555 §3.5 has the responder update its IPsec SAs when the
//     request arrives and asks nothing of the initiator's sending; inbound ESP is found by SPI, so early
//     ESP costs nothing and saves a round trip (the old path is usually gone anyway).
// ikevpn never sends NO_NATS_ALLOWED: its data plane is ESP in UDP, which crosses NATs by design.
#pragma once
#include "core/crypto/crypto.hpp"
#include "core/ike_sa.hpp"
#include "core/session.hpp"

#include <optional>
#include <vector>

namespace ikevpn::core {

// First retransmission of UPDATE_SA_ADDRESSES (then doubling, like every request; session.cpp).
constexpr Duration update_first_retransmit = std::chrono::milliseconds(250);

class MobikeTask {
public:
    MobikeTask(const SessionConfig& config, crypto::RandomSource& random) : config_(config), random_(random) {}

    // IKE_AUTH: MOBIKE_SUPPORTED out (§3.1) when the profile asks for it; the gateway's MOBIKE_SUPPORTED and
    // ADDITIONAL_* addresses in.
    void build_auth(std::vector<msg::Payload>& payloads) const;
    void process_auth(const std::vector<msg::Payload>& payloads);
    bool negotiated() const { return negotiated_; }

    // The gateway's own INFORMATIONAL requests: address lists (§3.6) are kept, and a COOKIE2 is echoed in
    // `response` (§3.8: it may check that we are reachable).
    void answer_peer_request(const std::vector<msg::Payload>& request, std::vector<msg::Payload>& response);
    // The gateway's other addresses (ADDITIONAL_IP4/IP6_ADDRESS), emptied by NO_ADDITIONAL_ADDRESSES.
    const std::vector<IpAddress>& gateway_addresses() const { return gateway_addresses_; }

    // The encrypted payloads of an UPDATE_SA_ADDRESSES request for `path`, with a fresh COOKIE2.
    std::vector<msg::Payload> build_update(const IkeSa& sa, const Path& path);

    enum class Outcome { moved, cookie_mismatch, refused, failed };
    struct UpdateResult {
        Outcome outcome = Outcome::failed;
        bool nat_local = false;   // the gateway saw our packet from another address or port
        bool nat_remote = false;  // the gateway's source hash does not match the address we sent to
        std::string reason;       // for refused / failed
    };
    // The gateway's answer to the last build_update(); `arrived_on` is where the answer came in.
    UpdateResult process_update_response(const IkeSa& sa, const std::vector<msg::Payload>& payloads,
                                         const Path& arrived_on);

private:
    void read_addresses(const std::vector<msg::Payload>& payloads);

    const SessionConfig& config_;
    crypto::RandomSource& random_;
    bool negotiated_ = false;
    std::vector<IpAddress> gateway_addresses_;
    Bytes cookie2_;
};

// "192.0.2.1:4500", "[2001:db8::1]:4500"
std::string endpoint_text(const Endpoint& e);

}  // namespace ikevpn::core
