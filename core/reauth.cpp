#include "core/reauth.hpp"

#include <algorithm>

namespace ikevpn::core {

AuthLifetime read_auth_lifetime(const std::vector<msg::Payload>& payloads) {
    AuthLifetime out;
    const auto* n = msg::find_notify(payloads, msg::NotifyType::auth_lifetime);
    if (!n) return out;
    out.present = true;
    // RFC 4478 §3: protocol ID 0, SPI size 0, exactly four octets of lifetime, big-endian.
    if (n->data.size() != 4 || !n->spi.empty()) return out;
    out.seconds = std::uint32_t(n->data[0]) << 24 | std::uint32_t(n->data[1]) << 16 | std::uint32_t(n->data[2]) << 8 |
                  n->data[3];
    return out;
}

msg::Payload make_auth_lifetime(std::uint32_t seconds) {
    return msg::make_notify(msg::NotifyType::auth_lifetime,
                            Bytes{std::uint8_t(seconds >> 24), std::uint8_t(seconds >> 16), std::uint8_t(seconds >> 8),
                                  std::uint8_t(seconds)});
}

Duration reauth_margin(Duration lifetime) {
    using std::chrono::seconds;
    if (lifetime <= Duration::zero()) return Duration::zero();
    Duration margin = std::clamp<Duration>(lifetime / 10, seconds(2), seconds(300));
    return std::min(margin, lifetime / 2);
}

Duration reauth_delay(Duration lifetime, double jitter_fraction) {
    if (lifetime <= Duration::zero()) return Duration::zero();
    const Duration margin = reauth_margin(lifetime);
    const double f = std::clamp(jitter_fraction, 0.0, 1.0);
    // Both parts together stay within the lifetime: margin ≤ lifetime / 2, so 2 · margin ≤ lifetime.
    const auto jitter = Duration(Duration::rep(double(margin.count()) * f));
    return lifetime - margin - jitter;
}

Duration reauth_retry_delay(Duration retry, std::optional<Duration> left) {
    using std::chrono::seconds;
    Duration d = retry;
    if (left) d = std::min(d, *left / 4);
    return std::max<Duration>(d, seconds(1));
}

}  // namespace ikevpn::core
