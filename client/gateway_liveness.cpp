#include "client/gateway_liveness.hpp"

#include "client/events.hpp"

namespace ikevpn::client {

bool GatewayLiveness::observe(std::uint64_t esp_packets_in, std::optional<Clock::time_point> ike_received,
                              Clock::time_point now) {
    if (ike_received) policy_.heard(*ike_received);
    // Any change: a pair removed after a rekey lowers the sum, but that rekey was IKE traffic anyway.
    if (esp_packets_in_ && *esp_packets_in_ != esp_packets_in) policy_.heard(now);
    esp_packets_in_ = esp_packets_in;
    if (!policy_.due(now)) return false;
    policy_.checked(now);
    return true;
}

core::Actions GatewayLiveness::poll(core::IkeSession& ike, std::uint64_t esp_packets_in, EventSink& events,
                                    Clock::time_point now) {
    if (!observe(esp_packets_in, ike.info().last_received, now)) return {};
    events.detail("nothing from the gateway for " + std::to_string(silent_seconds(now).value_or(0)) +
                  " s: checking that it is still there (empty INFORMATIONAL request)");
    return ike.check_liveness(now);
}

std::optional<std::int64_t> GatewayLiveness::silent_seconds(Clock::time_point now) const {
    const auto last = policy_.last_heard();
    if (!last) return std::nullopt;
    return std::chrono::duration_cast<std::chrono::seconds>(now - *last).count();
}

void GatewayLiveness::add_status(nlohmann::json& ike_sa, const core::IkeSaInfo& info, Clock::time_point now) const {
    ike_sa["dpd_seconds"] = interval_.count();
    ike_sa["dpd_checks"] = info.liveness_checks;
    // The negotiator's own time too: an IKE message since the last sample (e.g. IKE_AUTH's answer) counts.
    auto silent = silent_seconds(now);
    if (info.last_received) {
        const auto ike = std::chrono::duration_cast<std::chrono::seconds>(now - *info.last_received).count();
        if (!silent || ike < *silent) silent = ike;
    }
    ike_sa["last_received_seconds_ago"] = silent ? nlohmann::json(*silent) : nlohmann::json(nullptr);
}

nlohmann::json GatewayLiveness::dead_event(const std::string& reason, Clock::time_point now) const {
    const auto silent = silent_seconds(now);
    return {{"event", "gateway_dead"}, {"reason", reason}, {"dpd_seconds", interval_.count()},
            {"silent_seconds", silent ? nlohmann::json(*silent) : nlohmann::json(nullptr)}};
}

}  // namespace ikevpn::client
