// When to check that the gateway is still there (RFC 7296 §2.4): "If there has only been outgoing traffic
// on all of the SAs associated with an IKE SA, it is essential to confirm liveness of the other endpoint
// ... an endpoint MAY send an INFORMATIONAL request with no payloads". We check when nothing
// cryptographically protected (an IKE message or an ESP packet) arrived from the gateway for `interval`,
// whatever went out. Pure logic with time passed in: the driver reports what it heard and asks whether a
// check is due; IkeSession::check_liveness() sends it (core/session_liveness.cpp).
#pragma once
#include <chrono>
#include <optional>

namespace ikevpn::core {

class LivenessPolicy {
public:
    using TimePoint = std::chrono::steady_clock::time_point;
    using Duration = std::chrono::steady_clock::duration;

    // A zero interval turns the checks off.
    explicit LivenessPolicy(Duration interval) : interval_(interval) {}

    bool enabled() const { return interval_ > Duration::zero(); }
    Duration interval() const { return interval_; }

    // Something authenticated arrived from the gateway at `at` (earlier reports are ignored).
    void heard(TimePoint at) {
        if (!heard_ || at > last_heard_) last_heard_ = at;
        heard_ = true;
    }
    // True when the gateway was silent for `interval` since it was last heard and since the last check;
    // never before it was heard at all (the tunnel's setup has its own timeout).
    bool due(TimePoint now) const {
        if (!enabled() || !heard_) return false;
        const TimePoint since = checked_ && last_check_ > last_heard_ ? last_check_ : last_heard_;
        return now - since >= interval_;
    }
    // A check was asked for at `now`: the next one is due no sooner than `interval` later, unless the
    // gateway is heard meanwhile and then falls silent again.
    void checked(TimePoint now) {
        last_check_ = now;
        checked_ = true;
    }

    std::optional<TimePoint> last_heard() const { return heard_ ? std::optional<TimePoint>(last_heard_) : std::nullopt; }

private:
    // Plain values with flags rather than optionals: GCC 12 warns falsely (-Wmaybe-uninitialized) about
    // comparing the latter once inlined (as in IkeSession::State::settle).
    Duration interval_;
    TimePoint last_heard_{}, last_check_{};
    bool heard_ = false, checked_ = false;
};

}  // namespace ikevpn::core
