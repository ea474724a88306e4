#include "client/manual_peer.hpp"

#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <string>

using ikevpn::IpAddress;
using ikevpn::client::load_manual_peer;
using ikevpn::client::ManualPeerConfig;
using ikevpn::client::ManualPeerError;
using ikevpn::client::parse_manual_peer;
using ikevpn::test::TempDir;
using nlohmann::json;

namespace {

const std::string key20 = "000102030405060708090a0b0c0d0e0f10111213";  // 16-byte key | 4-byte salt
const std::string key36 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223";

json base() {
    return {
        {"tun", {{"name", "bench0"}, {"mtu", 1400}}},
        {"address", "198.18.1.1/32"},
        {"routes", {"198.18.1.2/32"}},
        {"local_port", 4500},
        {"peer", "198.18.0.2:4501"},
        {"spi_in", "0x00001001"},
        {"spi_out", 4098},
        {"esp", "aes128gcm16"},
        {"key_in", key20},
        {"key_out", "ffeeddccbbaa99887766554433221100fffefdfc"},
    };
}

// The error message of parsing `document`, or "" when it parsed.
std::string error_of(const json& document) {
    try {
        parse_manual_peer(document, "peer.json");
    } catch (const ManualPeerError& e) {
        return e.what();
    }
    return "";
}

json with(const std::string& key, const json& value) {
    json j = base();
    j[key] = value;
    return j;
}

json without(const std::string& key) {
    json j = base();
    j.erase(key);
    return j;
}

}  // namespace

TEST_CASE("a complete config parses into SA parameters") {
    const ManualPeerConfig c = parse_manual_peer(base(), "peer.json");
    CHECK(c.tun.name == "bench0");
    CHECK(c.tun.mtu == 1400);
    CHECK(c.address.to_string() == "198.18.1.1");
    CHECK(c.prefix_len == 32);
    REQUIRE(c.routes.size() == 1);
    CHECK(c.routes[0].to_string() == "198.18.1.2/32");
    CHECK(c.local_port == 4500);
    CHECK(c.peer.to_string() == "198.18.0.2");
    CHECK(c.peer_port == 4501);
    CHECK(c.keys.spi_in == 0x1001);
    CHECK(c.keys.spi_out == 4098);
    CHECK(c.keys.encr_id == 20);
    CHECK(c.keys.key_bits == 128);
    REQUIRE(c.keys.key_in.size() == 20);
    CHECK(c.keys.key_in[0] == 0x00);
    CHECK(c.keys.key_in[19] == 0x13);
    REQUIRE(c.keys.key_out.size() == 20);
    CHECK(c.keys.key_out[0] == 0xff);
    CHECK(c.keys.key_out[19] == 0xfc);
    // "any" selectors of both families: routing alone decides what enters the TUN.
    REQUIRE(c.keys.local_ts.size() == 2);
    CHECK(c.keys.local_ts[0].start_address == ikevpn::Bytes(4, 0x00));
    CHECK(c.keys.local_ts[0].end_address == ikevpn::Bytes(4, 0xff));
    CHECK(c.keys.remote_ts[1].end_address == ikevpn::Bytes(16, 0xff));
}

TEST_CASE("transform names map to IKEv2 transform IDs and key sizes") {
    json j = with("esp", "aes256gcm16");
    j["key_in"] = key36;
    j["key_out"] = key36;
    auto c = parse_manual_peer(j, "peer.json");
    CHECK(c.keys.encr_id == 20);
    CHECK(c.keys.key_bits == 256);
    CHECK(c.keys.key_in.size() == 36);

    j["esp"] = "chacha20poly1305";  // RFC 7634 §2: 32-byte key | 4-byte salt, transform ID 28
    c = parse_manual_peer(j, "peer.json");
    CHECK(c.keys.encr_id == 28);
    CHECK(c.keys.key_bits == 256);
    CHECK(c.esp == "chacha20poly1305");
}

TEST_CASE("optional keys have defaults; an interface address may keep host bits; IPv6 peers") {
    json j = base();
    j.erase("tun");
    j.erase("routes");
    j.erase("local_port");
    j["address"] = "198.18.1.1/24";
    j["peer"] = "[2001:db8::2]:4500";
    const auto c = parse_manual_peer(j, "peer.json");
    CHECK(c.tun.name == "bench0");
    CHECK(c.tun.mtu == 1400);
    CHECK(c.routes.empty());
    CHECK(c.local_port == 4500);
    CHECK(c.prefix_len == 24);
    CHECK(c.address.to_string() == "198.18.1.1");
    CHECK(c.peer == *IpAddress::parse("2001:db8::2"));
    CHECK(c.peer_port == 4500);
}

TEST_CASE("every error names the file and the key") {
    CHECK(error_of(with("colour", "blue")) == "peer.json: key 'colour': unknown key");
    CHECK(error_of(without("address")) == "peer.json: key 'address': is required");
    CHECK(error_of(without("peer")) == "peer.json: key 'peer': is required");
    CHECK(error_of(without("key_out")) == "peer.json: key 'key_out': is required");
    CHECK(error_of(json::array()) == "peer.json: the config must be a JSON object");

    CHECK(error_of(with("tun", {{"name", "bench0"}, {"speed", 1}})) == "peer.json: key 'tun.speed': unknown key");
    CHECK(error_of(with("tun", {{"name", "a-name-that-is-too-long"}})).find("key 'tun.name'") != std::string::npos);
    CHECK(error_of(with("tun", {{"mtu", 100}})).find("key 'tun.mtu': must be between 576 and 9000") !=
          std::string::npos);
    CHECK(error_of(with("tun", "bench0")).find("key 'tun'") != std::string::npos);

    CHECK(error_of(with("address", "198.18.1.1/33")).find("key 'address': '198.18.1.1/33' has a bad prefix") !=
          std::string::npos);
    CHECK(error_of(with("address", "bench")).find("key 'address'") != std::string::npos);
    CHECK(error_of(with("routes", {"198.18.1.2/24"})).find("key 'routes[0]'") != std::string::npos);
    CHECK(error_of(with("routes", {"2001:db8::/32"})).find("key 'routes': route 2001:db8::/32 is not") !=
          std::string::npos);
    CHECK(error_of(with("routes", "198.18.1.0/24")).find("key 'routes': must be an array") != std::string::npos);
    CHECK(error_of(with("local_port", 70000)).find("key 'local_port': must be between 0 and 65535") !=
          std::string::npos);
    CHECK(error_of(with("local_port", -1)).find("key 'local_port'") != std::string::npos);

    CHECK(error_of(with("peer", "198.18.0.2")).find("key 'peer'") != std::string::npos);
    CHECK(error_of(with("peer", "198.18.0.2:0")).find("key 'peer': '0' is not a port") != std::string::npos);
    CHECK(error_of(with("peer", "2001:db8::2:4500")).find("key 'peer'") != std::string::npos);
    CHECK(error_of(with("peer", "[2001:db8::2]")).find("key 'peer'") != std::string::npos);
    CHECK(error_of(with("peer", "gw.example.com:4500")).find("key 'peer': 'gw.example.com' is not an IP") !=
          std::string::npos);
}

TEST_CASE("SPIs: numbers or strings, never the reserved 0..255 (RFC 4303 §2.1)") {
    CHECK(error_of(with("spi_in", 255)).find("key 'spi_in': must be between 256") != std::string::npos);
    CHECK(error_of(with("spi_out", "0x0")).find("key 'spi_out'") != std::string::npos);
    CHECK(error_of(with("spi_out", "0x100000000")).find("key 'spi_out'") != std::string::npos);
    CHECK(error_of(with("spi_in", 4294967296LL)).find("key 'spi_in'") != std::string::npos);
    CHECK(error_of(with("spi_in", "12ab")).find("key 'spi_in': '12ab' is not a number") != std::string::npos);
    CHECK(error_of(with("spi_in", true)).find("key 'spi_in'") != std::string::npos);
    CHECK(parse_manual_peer(with("spi_in", "0xFFFFFFFF"), "p").keys.spi_in == 0xffffffffU);
    CHECK(parse_manual_peer(with("spi_in", "4097"), "p").keys.spi_in == 4097U);
}

TEST_CASE("transform and key errors name the key and never echo the key") {
    CHECK(error_of(with("esp", "aes128cbc")).find("key 'esp': unknown ESP transform 'aes128cbc'") !=
          std::string::npos);
    const std::string short_key = error_of(with("key_in", "00112233"));
    CHECK(short_key.find("key 'key_in': must be 20 bytes") != std::string::npos);
    CHECK(short_key.find("00112233") == std::string::npos);
    // The key size follows the transform: a 20-byte key does not fit AES-256.
    CHECK(error_of(with("esp", "aes256gcm16")).find("key 'key_in': must be 36 bytes") != std::string::npos);
    std::string bad = key20;
    bad[7] = 'g';
    const std::string not_hex = error_of(with("key_out", bad));
    CHECK(not_hex == "peer.json: key 'key_out': contains a non-hex character");
    CHECK(error_of(with("key_out", 7)).find("key 'key_out': must be a hex string") != std::string::npos);
}

TEST_CASE("load_manual_peer reads a file and reports syntax errors with the file name") {
    TempDir dir;
    const auto good = dir.write("a.json", base().dump());
    CHECK(load_manual_peer(good).keys.spi_in == 0x1001);
    const auto broken = dir.write("b.json", "{\"address\": ");
    try {
        load_manual_peer(broken);
        FAIL("a truncated file must not load");
    } catch (const ManualPeerError& e) {
        CHECK(std::string(e.what()).find(broken.string() + ": JSON syntax error") == 0);
    }
    CHECK_THROWS_AS(load_manual_peer(dir.path() / "missing.json"), ManualPeerError);
}

TEST_CASE("check_manual_peer: the ESP engine accepts the SA parameters of a parsed config") {
    const auto c = parse_manual_peer(base(), "peer.json");
    CHECK_NOTHROW(ikevpn::client::check_manual_peer(c));
    // An SPI the engine must refuse (0 is reserved, RFC 4303 §2.1) is reported, not installed.
    auto bad = c;
    bad.keys.spi_in = 0;
    CHECK_THROWS_AS(ikevpn::client::check_manual_peer(bad), ManualPeerError);
}
