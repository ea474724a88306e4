// `ikevpn status` without --json: the status object (docs/status-json.md) as a short readable summary in the
// shape of `wg show`.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace ikevpn::client {

// Never throws: missing or mistyped keys are shown as "?" or left out, since the object comes from another
// process.
std::string format_status(const nlohmann::json& status);

// "512 B", "3.40 KiB", "1.21 MiB", ... (binary units, two decimals, as `wg show` prints them).
std::string format_bytes(std::uint64_t bytes);
// "0 seconds", "1 minute, 5 seconds", "2 days, 3 hours, 1 second" (zero units left out).
std::string format_duration(std::uint64_t seconds);

}  // namespace ikevpn::client
