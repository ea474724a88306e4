#include "client/status_format.hpp"

#include <doctest/doctest.h>

using ikevpn::client::format_bytes;
using ikevpn::client::format_duration;
using ikevpn::client::format_status;
using nlohmann::json;

namespace {

// The example object of docs/status-json.md.
const json sample = json::parse(R"({
  "state": "connected", "profile": "demo", "gateway": "192.0.2.1",
  "local": "192.0.2.2:40000", "remote": "192.0.2.1:4500", "nat": {"local": true, "remote": false},
  "virtual_ip": "203.0.113.1", "dns": ["198.51.100.53", "198.51.100.54"],
  "ike_sa": {"spi_i": "0123456789abcdef", "spi_r": "fedcba9876543210", "encryption": "AES_GCM_16_256",
             "prf": "PRF_HMAC_SHA2_384", "dh": "CURVE_25519", "established_seconds": 65},
  "child_sas": [{"spi_in": "c0ffee01", "spi_out": "0badf00d", "esp": "AES_GCM_16_256",
                 "local_ts": ["203.0.113.1/32"], "remote_ts": ["198.51.100.0/24", "10.0.0.0/8"],
                 "bytes_in": 1268777, "bytes_out": 3482, "packets_in": 1034, "packets_out": 41,
                 "drops": {"replay": 3, "icv": 0, "bad_padding": 0, "ts_mismatch": 1, "malformed": 0}}]
})");

}  // namespace

TEST_CASE("byte counts in binary units") {
    CHECK(format_bytes(0) == "0 B");
    CHECK(format_bytes(1023) == "1023 B");
    CHECK(format_bytes(1024) == "1.00 KiB");
    CHECK(format_bytes(3482) == "3.40 KiB");
    CHECK(format_bytes(1268777) == "1.21 MiB");
    CHECK(format_bytes(5ULL << 30) == "5.00 GiB");
    CHECK(format_bytes(UINT64_MAX) == "16384.00 PiB");
}

TEST_CASE("durations leave out zero units") {
    CHECK(format_duration(0) == "0 seconds");
    CHECK(format_duration(1) == "1 second");
    CHECK(format_duration(65) == "1 minute, 5 seconds");
    CHECK(format_duration(3600) == "1 hour");
    CHECK(format_duration(2 * 86400 + 3 * 3600 + 1) == "2 days, 3 hours, 1 second");
}

TEST_CASE("a connected status renders like wg show") {
    const std::string expected =
        "connection: demo\n"
        "  state: connected\n"
        "  gateway: 192.0.2.1\n"
        "  local: 192.0.2.2:40000 (behind NAT)\n"
        "  remote: 192.0.2.1:4500\n"
        "  virtual ip: 203.0.113.1\n"
        "  dns offered: 198.51.100.53, 198.51.100.54 (not applied)\n"
        "\n"
        "ike sa: 0123456789abcdef (initiator), fedcba9876543210 (responder)\n"
        "  algorithms: AES_GCM_16_256, PRF_HMAC_SHA2_384, CURVE_25519\n"
        "  established: 1 minute, 5 seconds ago\n"
        "\n"
        "child sa: c0ffee01 (in), 0badf00d (out)\n"
        "  esp: AES_GCM_16_256\n"
        "  traffic selectors: 203.0.113.1/32 === 198.51.100.0/24, 10.0.0.0/8\n"
        "  transfer: 1.21 MiB received, 3.40 KiB sent\n"
        "  packets: 1034 received, 41 sent\n"
        "  drops: 3 replay, 1 ts_mismatch\n";
    CHECK(format_status(sample) == expected);
}

TEST_CASE("a connecting status without SAs, and no drops line when all are zero") {
    const json connecting = {{"state", "connecting"}, {"profile", "demo"}, {"gateway", "192.0.2.1"},
                             {"local", nullptr}, {"remote", nullptr}, {"virtual_ip", nullptr},
                             {"dns", json::array()}, {"ike_sa", nullptr}, {"child_sas", json::array()}};
    CHECK(format_status(connecting) ==
          "connection: demo\n  state: connecting\n  gateway: 192.0.2.1\n  virtual ip: none\n  dns offered: none\n");
    const json negotiating = {{"spi_i", "8d69be3506696c03"}, {"spi_r", "0000000000000000"}, {"encryption", ""}};
    CHECK(format_status({{"ike_sa", negotiating}}).find("  algorithms: not negotiated yet\n") != std::string::npos);
    json quiet = sample;
    quiet["child_sas"][0]["drops"] = {{"replay", 0}, {"icv", 0}};
    CHECK(format_status(quiet).find("drops") == std::string::npos);
}

TEST_CASE("unexpected shapes never throw") {
    CHECK_NOTHROW(format_status(json::array({1, 2})));
    CHECK_NOTHROW(format_status(json("text")));
    const json odd = {{"state", 5}, {"ike_sa", {{"established_seconds", -4}}}, {"child_sas", {1, "x", nullptr}},
                      {"dns", "not a list"}, {"nat", 3}};
    const auto text = format_status(odd);
    CHECK(text.find("state: 5") != std::string::npos);
    CHECK(text.find("established") == std::string::npos);
}

TEST_CASE("an IPv6 virtual address gets its own line") {
    auto dual = sample;
    dual["virtual_ip6"] = "2001:db8:3::1";
    const std::string text = format_status(dual);
    CHECK(text.find("  virtual ip: 203.0.113.1\n  virtual ipv6: 2001:db8:3::1\n") != std::string::npos);
    CHECK(format_status(sample).find("virtual ipv6") == std::string::npos);
}
