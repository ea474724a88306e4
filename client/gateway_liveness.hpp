// Is the gateway still there? (RFC 7296 §2.4; issue 3.) Once a second the session hands this watch what
// arrived from the gateway — the data plane's count of authenticated inbound ESP packets (a change is a
// sign of life; no per-packet work) and the negotiator's time of its last authenticated IKE message — and
// when nothing arrived for the profile's "dpd_seconds", asks core::IkeSession::check_liveness() for an
// empty INFORMATIONAL request. If its retransmissions go unanswered the negotiator closes with
// CloseCode::timeout and the session ends the way every gateway timeout does (exit status 1, `error`
// TIMEOUT), after a `gateway_dead` event. The decision is core/liveness_policy.hpp's.
#pragma once
#include "core/liveness_policy.hpp"
#include "core/session.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace ikevpn::client {

class EventSink;

class GatewayLiveness {
public:
    using Clock = std::chrono::steady_clock;

    explicit GatewayLiveness(std::chrono::seconds interval) : policy_(interval), interval_(interval) {}

    // One sample: the inbound ESP packet count (all pairs) and the last authenticated IKE message. True
    // when a check is due now; it is then noted as asked for.
    bool observe(std::uint64_t esp_packets_in, std::optional<Clock::time_point> ike_received, Clock::time_point now);
    // observe(), and the check itself when due: the negotiator's actions, for the session to perform.
    core::Actions poll(core::IkeSession& ike, std::uint64_t esp_packets_in, EventSink& events, Clock::time_point now);

    // Seconds since anything authenticated arrived from the gateway (as of the last sample).
    std::optional<std::int64_t> silent_seconds(Clock::time_point now) const;
    // `ike_sa.dpd_seconds`, `ike_sa.last_received_seconds_ago`, `ike_sa.dpd_checks` (docs/status-json.md).
    void add_status(nlohmann::json& ike_sa, const core::IkeSaInfo& info, Clock::time_point now) const;
    // The `gateway_dead` event, for a session the negotiator closed because a check went unanswered.
    nlohmann::json dead_event(const std::string& reason, Clock::time_point now) const;

private:
    core::LivenessPolicy policy_;
    std::chrono::seconds interval_;
    std::optional<std::uint64_t> esp_packets_in_;
};

}  // namespace ikevpn::client
