// Data-path liveness (issue 5; libreswan#1645-style dead data path): IKE still answers, we keep sending
// ESP, but nothing comes back — a middlebox that drops one direction of ESP, a gateway whose kernel state
// lost the SA while its IKE daemon keeps the IKE SA. Neither IKE retransmissions nor the gateway's liveness
// checks notice, so the tunnel would stay dead. The watch is pure logic on the data plane's counters of
// the current CHILD SA pair, with time passed in (session.cpp samples it once a second):
//   - "silent" starts with the first outbound packet after the last inbound one (at the sample before it
//     was counted); inbound traffic ends it;
//   - silent for `timeout`: rekey the CHILD SA (new SPIs and keys — a rule or a state tied to the old SPI
//     no longer applies, and the exchange itself proves that IKE answers; if it does not, the IKE
//     retransmission timeout ends the session as it would anyway);
//   - still silent `timeout` after the rekey (on the new pair): re-establish the IKE SA from scratch.
// Inbound traffic on the new pair clears the escalation. Traffic that flows only outwards (a one-way UDP
// stream with no answer at all) looks the same as a dead path: the wait after the rekey grows with each
// re-establishment that did not help (set_reestablish_after(), client/liveness_backoff.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace ikevpn::client {

class EspLiveness {
public:
    using Clock = std::chrono::steady_clock;
    enum class Verdict { fine, rekey, reestablish };
    struct Sample {
        std::uint32_t spi_in = 0;  // the current pair, by our inbound SPI (0: none installed)
        std::uint64_t packets_in = 0, packets_out = 0;
    };

    explicit EspLiveness(std::chrono::seconds timeout) : timeout_(timeout), after_rekey_(timeout) {}
    // How long the pair made by the rekey must stay silent before the verdict is `reestablish` (default:
    // the timeout); takes effect at the next observation.
    void set_reestablish_after(std::chrono::seconds wait) { after_rekey_ = wait; }

    // One observation of the current pair's counters. A verdict other than `fine` is given once; `why()`
    // then says what was seen, for the log.
    Verdict observe(const Sample& sample, Clock::time_point now);
    const std::string& why() const { return why_; }
    bool enabled() const { return timeout_.count() > 0; }

private:
    std::chrono::seconds timeout_, after_rekey_;
    std::uint32_t spi_in_ = 0;
    std::uint64_t packets_in_ = 0, packets_out_ = 0;
    std::uint64_t sent_while_silent_ = 0;
    std::optional<Clock::time_point> silent_since_, last_sample_;
    bool rekeyed_ = false;  // the rekey was tried: next time, re-establish
    bool escalated_ = false;  // a verdict was given for this silence
    std::string why_;
};

}  // namespace ikevpn::client
