// `ikevpn bench-peer`: a manually keyed ESP peer for benchmarks and diagnostics ONLY.
//
// There is no IKE here and therefore no authentication, no key agreement, no rekeying and no replay
// protection across restarts: both ends read the same static keys from a file, exactly like manual keying
// with `ip xfrm state add`. It exists so that the userspace data plane (TUN ↔ ESP engine ↔ UDP) can be
// measured against itself without a gateway in the way. Never use it to protect real traffic.
//
// The config file (JSON, unknown keys are errors that name the key):
//
//   {
//     "tun": { "name": "bench0", "mtu": 1400 },
//     "address": "198.18.1.1/32",          // put on the TUN
//     "routes": ["198.18.1.2/32"],         // through the TUN (policy-routed like `ikevpn connect`)
//     "local_port": 4500,                  // UDP port to bind (0: ephemeral)
//     "peer": "198.18.0.2:4500",           // the other bench-peer; "[2001:db8::2]:4500" for IPv6
//     "spi_in": "0x00001001", "spi_out": "0x00001002",  // or integers; the peer swaps them
//     "esp": "aes128gcm16",                // aes128gcm16, aes256gcm16, chacha20poly1305
//     "key_in": "<hex>", "key_out": "<hex>" // cipher key | 4-byte salt (20, 36 or 36 bytes); peer swaps
//   }
#pragma once
#include "client/profile.hpp"
#include "core/crypto/secure_bytes.hpp"
#include "core/ip_address.hpp"
#include "core/session.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace ikevpn::client {

class EventSink;

// what() is one line: "<label>: key '<key>': <reason>" (or "<label>: <reason>" for whole-file problems).
struct ManualPeerError : std::runtime_error { using std::runtime_error::runtime_error; };

struct ManualPeerConfig {
    TunSettings tun{"bench0", 1400};
    IpAddress address;             // the TUN's own address
    std::uint8_t prefix_len = 32;
    std::vector<IpPrefix> routes;  // may be empty (then only the address's prefix route reaches the TUN)
    std::uint16_t local_port = 4500;
    IpAddress peer;
    std::uint16_t peer_port = 4500;
    std::string esp;               // the transform name as written ("aes128gcm16")
    // SPIs, transform and keys; the traffic selectors are "any" of both families (routing decides what
    // enters the TUN).
    core::ChildSaKeys keys;
};

// Validates a parsed document; `label` prefixes every error (the file name).
ManualPeerConfig parse_manual_peer(const nlohmann::json& document, const std::string& label);
// Reads and validates a config file. Throws ManualPeerError (also for unreadable files and bad JSON).
ManualPeerConfig load_manual_peer(const std::filesystem::path& file);

// Installs the SAs into a DataPath that is not connected to anything: proves that this build's ESP engine
// accepts the transform and keys. Throws ManualPeerError naming key 'esp' (transform) otherwise.
void check_manual_peer(const ManualPeerConfig& config);

// Opens the UDP socket, the TUN, its address and routes, installs the SAs and moves packets until SIGINT
// or SIGTERM; then removes everything it made. Returns the process exit code (0 after a signal).
int run_manual_peer(const ManualPeerConfig& config, EventSink& events);

}  // namespace ikevpn::client
