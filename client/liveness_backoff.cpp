#include "client/liveness_backoff.hpp"

#include <algorithm>

namespace ikevpn::client {

std::chrono::seconds LivenessBackoff::reestablish_after() const {
    // 2^level, but the factor stops at max_factor: the level keeps counting for the status only.
    unsigned factor = 1;
    for (unsigned i = 0; i < level_ && factor < max_factor; ++i) factor *= 2;
    const std::chrono::seconds cap = std::max(timeout_, max_wait);
    return std::min(timeout_ * factor, cap);
}

void LivenessBackoff::reestablishing() {
    if (level_ < 1000) ++level_;  // a bound for the counter; the wait stopped growing long before
}

bool LivenessBackoff::heard() {
    const bool was = level_ > 0;
    level_ = 0;
    return was;
}

nlohmann::json LivenessBackoff::status() const {
    return {{"level", level_}, {"reestablish_after_seconds", reestablish_after().count()}};
}

}  // namespace ikevpn::client
