// The "gateway heard" line of `ikevpn status` (docs/status-json.md: ike_sa.last_received_seconds_ago,
// ike_sa.dpd_seconds, ike_sa.dpd_checks).
#include "client/status_format.hpp"

#include <doctest/doctest.h>

using ikevpn::client::format_status;
using nlohmann::json;

namespace {

json status_with(const json& ike_extra) {
    json s = json::parse(R"({"state": "connected", "profile": "demo", "gateway": "192.0.2.1",
      "local": null, "remote": null, "nat": {}, "virtual_ip": null, "dns": [], "child_sas": [],
      "ike_sa": {"spi_i": "0102030405060708", "spi_r": "1112131415161718", "encryption": "AES_GCM_16_256",
                 "prf": "PRF_HMAC_SHA2_384", "dh": "CURVE_25519"}})");
    s["ike_sa"].merge_patch(ike_extra);
    return s;
}

}  // namespace

TEST_CASE("when the gateway was last heard, with the liveness check policy") {
    const std::string text = format_status(
        status_with({{"last_received_seconds_ago", 4}, {"dpd_seconds", 30}, {"dpd_checks", 2}}));
    CHECK(text.find("gateway heard: 4 seconds ago (checked after 30 seconds of silence, 2 sent)\n") != std::string::npos);
    const std::string off = format_status(status_with({{"last_received_seconds_ago", 0}, {"dpd_seconds", 0}}));
    CHECK(off.find("gateway heard: 0 seconds ago (liveness checks off)\n") != std::string::npos);
}

TEST_CASE("not heard yet (null), or an older client without the keys: no line") {
    CHECK(format_status(status_with({{"last_received_seconds_ago", nullptr}, {"dpd_seconds", 30}}))
              .find("gateway heard") == std::string::npos);
    CHECK(format_status(status_with(json::object())).find("gateway heard") == std::string::npos);
}
