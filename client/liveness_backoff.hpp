// Backoff for dead-data-path re-establishments (issue 5; client/esp_liveness.hpp decides when a path looks
// dead). A one-way stream — a syslog or metrics sender over UDP, an upload without feedback — keeps ESP
// going out while nothing comes back, which the watch cannot tell from a dead path: without a backoff the
// client rekeyed and re-established a healthy tunnel every 2 × data_path_timeout, forever.
//
// Why no active probe (an ICMP echo through the tunnel that would make the gateway send ESP back): nothing
// in IKE makes the gateway send ESP, and the only candidate targets are guesses. The configuration payload
// gives DNS servers at best (INTERNAL_IP4_SERVER is not in RFC 7296); they may lie outside the negotiated
// traffic selectors, be on the public Internet behind the gateway's NAT, or drop ICMP — and then a missing
// answer proves nothing, while an echo request from the client's virtual IP is traffic the user never
// sent. A probe could only ever clear a suspicion, never confirm one, so it would not make the verdict
// honest; backing off does bound the cost of a wrong verdict.
//
// The rule: each dead-data-path re-establishment that is followed by no inbound ESP at all doubles the
// silence the watch waits after its CHILD SA rekey before the next re-establishment — timeout, 2×, 4×, 8×,
// but never past 10 minutes (nor below the timeout itself). The rekey step keeps the plain timeout: it is
// cheap, make-before-break (no packet lost), and it is what fixes the common dead path (state tied to the
// old SPI); only the step that interrupts traffic backs off. Inbound ESP on the current pair resets the
// backoff. The state lives in run_connect() across sessions, since a re-establishment is a new Session.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>

namespace ikevpn::client {

class LivenessBackoff {
public:
    static constexpr unsigned max_factor = 8;
    static constexpr std::chrono::seconds max_wait{600};

    explicit LivenessBackoff(std::chrono::seconds timeout) : timeout_(timeout) {}

    // How long the current pair must stay silent after the rekey before the tunnel is re-established.
    std::chrono::seconds reestablish_after() const;
    // A dead-data-path re-establishment starts: the next one waits twice as long (up to the cap).
    void reestablishing();
    // Inbound ESP on the current pair. True when that ended a backoff (level was above 0).
    bool heard();
    // Consecutive dead-data-path re-establishments without inbound ESP in between.
    unsigned level() const { return level_; }
    // {"level": N, "reestablish_after_seconds": S}: status `data_path.liveness_backoff`, event data_path_dead.
    nlohmann::json status() const;

private:
    std::chrono::seconds timeout_;
    unsigned level_ = 0;
};

}  // namespace ikevpn::client
