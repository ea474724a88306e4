// The IKE fragmentation line of `ikevpn status` (docs/status-json.md: ike_fragmentation).
#include "client/status_format.hpp"

#include <doctest/doctest.h>

using ikevpn::client::format_status;
using nlohmann::json;

namespace {

json status_with(const json& fragmentation) {
    json s = json::parse(R"({"state": "connected", "profile": "demo", "gateway": "192.0.2.1",
      "local": null, "remote": null, "nat": {}, "virtual_ip": null, "dns": [], "child_sas": []})");
    if (!fragmentation.is_null()) s["ike_fragmentation"] = fragmentation;
    return s;
}

}  // namespace

TEST_CASE("negotiated fragmentation shows the fragments each way, and drops only when there are some") {
    const std::string text = format_status(status_with(
        {{"negotiated", true}, {"messages_fragmented", 1}, {"fragments_sent", 5}, {"fragments_received", 2},
         {"messages_reassembled", 1}, {"fragments_dropped", 0}}));
    CHECK(text.find("ike fragmentation: yes, 5 fragments sent, 2 received\n") != std::string::npos);
    const std::string dropped = format_status(status_with(
        {{"negotiated", true}, {"fragments_sent", 0}, {"fragments_received", 3}, {"fragments_dropped", 1}}));
    CHECK(dropped.find("ike fragmentation: yes, 0 fragments sent, 3 received, 1 dropped\n") != std::string::npos);
}

TEST_CASE("not negotiated, or an older client without the key: no line") {
    CHECK(format_status(status_with({{"negotiated", false}})).find("fragmentation") == std::string::npos);
    CHECK(format_status(status_with(nullptr)).find("fragmentation") == std::string::npos);
}
