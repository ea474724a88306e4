// The "dead-path backoff" line of `ikevpn status` (docs/status-json.md: data_path.liveness_backoff).
#include "client/status_format.hpp"

#include <doctest/doctest.h>

using ikevpn::client::format_status;
using nlohmann::json;

namespace {

json status_with(const json& backoff) {
    json s = json::parse(R"({"state": "connected", "profile": "demo", "gateway": "192.0.2.1",
      "local": null, "remote": null, "nat": {}, "virtual_ip": null, "dns": [], "child_sas": [], "ike_sa": {}})");
    s["data_path"] = {{"tun_offload", true}, {"liveness_backoff", backoff}};
    return s;
}

}  // namespace

TEST_CASE("a backoff after dead-data-path re-establishments gets a line") {
    const std::string text = format_status(status_with({{"level", 2}, {"reestablish_after_seconds", 120}}));
    CHECK(text.find("  dead-path backoff: level 2 (a re-establishment needs 2 minutes of silence after a rekey)\n") !=
          std::string::npos);
}

TEST_CASE("no backoff, no backoff key, or a malformed one: no line, no throw") {
    CHECK(format_status(status_with({{"level", 0}, {"reestablish_after_seconds", 30}})).find("backoff") ==
          std::string::npos);
    json none = status_with(nullptr);
    none["data_path"].erase("liveness_backoff");
    CHECK(format_status(none).find("backoff") == std::string::npos);
    CHECK(format_status(status_with({{"level", "two"}})).find("backoff") == std::string::npos);
    CHECK(format_status(status_with(json::array())).find("backoff") == std::string::npos);
}
