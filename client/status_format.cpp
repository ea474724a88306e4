#include "client/status_format.hpp"

#include <array>
#include <cstdio>
#include <optional>
#include <utility>
#include <vector>

namespace ikevpn::client {

using nlohmann::json;

namespace {

const json& field(const json& object, const char* key) {
    static const json null_value;
    if (!object.is_object()) return null_value;
    const auto it = object.find(key);
    return it == object.end() ? null_value : *it;
}

std::string text(const json& object, const char* key, const char* fallback = "?") {
    const auto& v = field(object, key);
    if (v.is_string() && !v.get_ref<const std::string&>().empty()) return v.get<std::string>();
    if (v.is_number() || v.is_boolean()) return v.dump();
    return fallback;
}

std::optional<std::uint64_t> count(const json& object, const char* key) {
    const auto& v = field(object, key);
    if (v.is_number_unsigned()) return v.get<std::uint64_t>();
    if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.get<std::int64_t>());
    return std::nullopt;
}

std::string join(const json& list, const char* separator = ", ") {
    std::string out;
    if (!list.is_array()) return out;
    for (const auto& item : list) {
        if (!out.empty()) out += separator;
        out += item.is_string() ? item.get<std::string>() : item.dump();
    }
    return out;
}

void line(std::string& out, const std::string& label, const std::string& value) {
    out += "  " + label + ": " + value + "\n";
}

// MOBIKE: whether it is on, and the last path switches ("192.0.2.10:40001 -> 192.0.2.20:40002 in 42 ms").
void format_mobike(std::string& out, const json& s) {
    if (!field(s, "mobike").is_boolean()) return;
    line(out, "mobike", field(s, "mobike") == true ? "yes" : "no");
    const auto& history = field(s, "path_history");
    if (!history.is_array()) return;
    for (const auto& h : history) {
        std::string ms = "?";
        if (const auto n = count(h, "handover_ms")) ms = std::to_string(*n);
        line(out, "path switch", text(h, "old_local", "?") + " -> " + text(h, "new_local") + " in " + ms + " ms" +
                                     (field(h, "nat") == true ? " (behind NAT)" : ""));
    }
}

// IKE fragmentation (RFC 7383): shown once negotiated, with what went out and came in as fragments.
void format_fragmentation(std::string& out, const json& s) {
    const auto& f = field(s, "ike_fragmentation");
    if (field(f, "negotiated") != true) return;
    std::string value = "yes, " + std::to_string(count(f, "fragments_sent").value_or(0)) + " fragments sent, " +
                        std::to_string(count(f, "fragments_received").value_or(0)) + " received";
    if (const auto dropped = count(f, "fragments_dropped"); dropped && *dropped) value += ", " + std::to_string(*dropped) + " dropped";
    line(out, "ike fragmentation", value);
}

// The dead-data-path backoff (client/liveness_backoff.hpp), only while there is one: one-way traffic or a
// path that stays dead makes the client wait longer before re-establishing again.
void format_liveness_backoff(std::string& out, const json& s) {
    const auto& backoff = field(field(s, "data_path"), "liveness_backoff");
    const auto level = count(backoff, "level");
    if (!level || *level == 0) return;
    line(out, "dead-path backoff", "level " + std::to_string(*level) + " (a re-establishment needs " +
                                       format_duration(count(backoff, "reestablish_after_seconds").value_or(0)) +
                                       " of silence after a rekey)");
}

void format_connection(std::string& out, const json& s) {
    out += "connection: " + text(s, "profile") + "\n";
    line(out, "state", text(s, "state"));
    line(out, "gateway", text(s, "gateway"));
    const auto& nat = field(s, "nat");
    const auto behind = [&](const char* side) { return field(nat, side) == true ? " (behind NAT)" : ""; };
    if (!field(s, "local").is_null()) line(out, "local", text(s, "local") + behind("local"));
    if (!field(s, "remote").is_null()) line(out, "remote", text(s, "remote") + behind("remote"));
    line(out, "virtual ip", text(s, "virtual_ip", "none"));
    if (field(s, "virtual_ip6").is_string()) line(out, "virtual ipv6", text(s, "virtual_ip6"));
    const auto dns = join(field(s, "dns"));
    line(out, "dns offered", dns.empty() ? "none" : dns + " (not applied)");
    format_mobike(out, s);
    format_fragmentation(out, s);
}

void format_ike_sa(std::string& out, const json& ike) {
    if (!ike.is_object()) return;
    out += "\nike sa: " + text(ike, "spi_i") + " (initiator), " + text(ike, "spi_r") + " (responder)\n";
    // Before IKE_SA_INIT's answer nothing is negotiated yet: say so rather than print "?, ?, ?".
    if (text(ike, "encryption", "").empty()) {
        line(out, "algorithms", "not negotiated yet");
    } else {
        line(out, "algorithms", text(ike, "encryption") + ", " + text(ike, "prf") + ", " + text(ike, "dh"));
    }
    if (const auto age = count(ike, "established_seconds")) line(out, "established", format_duration(*age) + " ago");
    if (const auto rekey = count(ike, "rekey_seconds")) line(out, "rekey in", format_duration(*rekey));
    // Liveness checks (client/gateway_liveness.hpp): when the gateway was last heard, and the policy.
    if (const auto heard = count(ike, "last_received_seconds_ago")) {
        const auto dpd = count(ike, "dpd_seconds").value_or(0);
        line(out, "gateway heard", format_duration(*heard) + " ago" +
                                       (dpd == 0 ? std::string(" (liveness checks off)")
                                                 : " (checked after " + format_duration(dpd) + " of silence, " +
                                                       std::to_string(count(ike, "dpd_checks").value_or(0)) + " sent)"));
    }
}

void format_child_sa(std::string& out, const json& child) {
    out += "\nchild sa: " + text(child, "spi_in") + " (in), " + text(child, "spi_out") + " (out)\n";
    line(out, "esp", text(child, "esp"));
    line(out, "traffic selectors", join(field(child, "local_ts")) + " === " + join(field(child, "remote_ts")));
    line(out, "transfer", format_bytes(count(child, "bytes_in").value_or(0)) + " received, " +
                              format_bytes(count(child, "bytes_out").value_or(0)) + " sent");
    line(out, "packets", std::to_string(count(child, "packets_in").value_or(0)) + " received, " +
                             std::to_string(count(child, "packets_out").value_or(0)) + " sent");
    std::string drops;
    const auto& counters = field(child, "drops");
    if (counters.is_object()) {
        for (const auto& [reason, value] : counters.items()) {
            const auto n = count(counters, reason.c_str());
            if (!n || *n == 0) continue;
            drops += (drops.empty() ? "" : ", ") + std::to_string(*n) + " " + reason;
        }
    }
    if (!drops.empty()) line(out, "drops", drops);
    if (const auto rekey = count(child, "rekey_seconds")) line(out, "rekey in", format_duration(*rekey));
}

}  // namespace

std::string format_bytes(std::uint64_t bytes) {
    static constexpr std::array<const char*, 5> units{"KiB", "MiB", "GiB", "TiB", "PiB"};
    if (bytes < 1024) return std::to_string(bytes) + " B";
    double value = static_cast<double>(bytes) / 1024.0;
    std::size_t unit = 0;
    while (value >= 1024.0 && unit + 1 < units.size()) {
        value /= 1024.0;
        ++unit;
    }
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.2f %s", value, units[unit]);
    return buffer;
}

std::string format_duration(std::uint64_t seconds) {
    static constexpr std::array<std::pair<std::uint64_t, const char*>, 4> units{
        {{86400, "day"}, {3600, "hour"}, {60, "minute"}, {1, "second"}}};
    std::string out;
    for (const auto& [size, name] : units) {
        const auto n = seconds / size;
        seconds %= size;
        if (n == 0) continue;
        out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + name + (n == 1 ? "" : "s");
    }
    return out.empty() ? "0 seconds" : out;
}

std::string format_status(const json& status) {
    std::string out;
    format_connection(out, status);
    format_liveness_backoff(out, status);
    format_ike_sa(out, field(status, "ike_sa"));
    const auto& children = field(status, "child_sas");
    if (children.is_array()) {
        for (const auto& child : children) format_child_sa(out, child);
    }
    return out;
}

}  // namespace ikevpn::client
