// The MOBIKE part of `ikevpn status` (docs/status-json.md: mobike, gateway_addresses, path_history).
#include "client/status_format.hpp"

#include <doctest/doctest.h>

using ikevpn::client::format_status;
using nlohmann::json;

TEST_CASE("status shows roaming, MOBIKE and the path switches, oldest first") {
    const json s = json::parse(R"({
      "state": "roaming", "profile": "demo", "gateway": "192.0.2.1",
      "local": "203.0.113.20:40002", "remote": "192.0.2.1:4500", "nat": {"local": true, "remote": false},
      "virtual_ip": "203.0.113.1", "dns": [], "mobike": true, "gateway_addresses": ["192.0.2.2"],
      "path_history": [
        {"old_local": "192.0.2.10:40001", "new_local": "203.0.113.20:40002", "remote": "192.0.2.1:4500",
         "nat": true, "handover_ms": 42, "seconds_since_start": 10},
        {"old_local": "203.0.113.20:40002", "new_local": "192.0.2.11:40003", "remote": "192.0.2.1:4500",
         "nat": false, "handover_ms": 7, "seconds_since_start": 30}],
      "ike_sa": {"spi_i": "0123456789abcdef", "spi_r": "fedcba9876543210"}, "child_sas": []
    })");
    const std::string text = format_status(s);
    CHECK(text.find("state: roaming") != std::string::npos);
    CHECK(text.find("mobike: yes") != std::string::npos);
    const auto first = text.find("path switch: 192.0.2.10:40001 -> 203.0.113.20:40002 in 42 ms (behind NAT)");
    const auto second = text.find("path switch: 203.0.113.20:40002 -> 192.0.2.11:40003 in 7 ms\n");
    CHECK(first != std::string::npos);
    CHECK(second != std::string::npos);
    CHECK(first < second);
}

TEST_CASE("a status without MOBIKE keys (an older client) prints no MOBIKE lines") {
    const json s = json::parse(R"({"state": "connected", "profile": "demo", "gateway": "192.0.2.1",
      "local": null, "remote": null, "nat": {}, "virtual_ip": null, "dns": [], "child_sas": []})");
    CHECK(format_status(s).find("mobike") == std::string::npos);
}
