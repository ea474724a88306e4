#include "client/esp_liveness.hpp"

namespace ikevpn::client {

EspLiveness::Verdict EspLiveness::observe(const Sample& sample, Clock::time_point now) {
    if (!enabled() || sample.spi_in == 0) return Verdict::fine;
    if (sample.spi_in != spi_in_) {
        // A new pair (rekey, ours or the gateway's): its counters start at zero. The escalation stays —
        // only inbound traffic shows that the path works again.
        spi_in_ = sample.spi_in;
        packets_in_ = packets_out_ = 0;
        if (silent_since_) silent_since_ = last_sample_.value_or(now), escalated_ = false;
    }
    // Packets counted now left after the previous sample: the silence is measured from there.
    const Clock::time_point previous = last_sample_.value_or(now);
    last_sample_ = now;
    const bool received = sample.packets_in > packets_in_;
    const std::uint64_t sent = sample.packets_out > packets_out_ ? sample.packets_out - packets_out_ : 0;
    packets_in_ = sample.packets_in;
    packets_out_ = sample.packets_out;
    if (received) {
        silent_since_.reset();
        sent_while_silent_ = 0;
        rekeyed_ = escalated_ = false;
        return Verdict::fine;
    }
    if (sent == 0 && !silent_since_) return Verdict::fine;  // idle: nothing expected back
    if (!silent_since_) silent_since_ = previous;
    sent_while_silent_ += sent;
    if (escalated_ || now - *silent_since_ < (rekeyed_ ? after_rekey_ : timeout_)) return Verdict::fine;
    escalated_ = true;
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now - *silent_since_).count();
    why_ = "no ESP from the gateway for " + std::to_string(seconds) + " s while " +
           std::to_string(sent_while_silent_) + " packets went out";
    if (!rekeyed_) {
        rekeyed_ = true;
        why_ += ": rekeying the CHILD SA (new SPIs)";
        return Verdict::rekey;
    }
    why_ += ", also after a CHILD SA rekey: re-establishing the tunnel";
    return Verdict::reestablish;
}

}  // namespace ikevpn::client
