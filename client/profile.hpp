// The connection profile: a JSON file (DESIGN.md, "The profile") turned into checked values. Every error
// is one line naming the file and the key, because the user fixes profiles by hand.
#pragma once
#include "core/crypto/secure_bytes.hpp"
#include "core/ip_address.hpp"
#include "core/message/message.hpp"

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ikevpn::client {

// what() is one line: "<file name>: key '<key>': <reason>" (or "<file name>: line L column C: ...").
struct ProfileError : std::runtime_error { using std::runtime_error::runtime_error; };

enum class AuthMethod : std::uint8_t { psk };
enum class Encapsulation : std::uint8_t { udp };

struct TunSettings {
    std::string name = "ikevpn0";  // 1..15 chars of [A-Za-z0-9_.-], at most one "%d" (kernel picks N)
    int mtu = 1400;                // 576..9000
};

struct Profile {
    std::filesystem::path path;  // the profile file itself; relative paths inside are relative to it
    std::string name;            // default: the file's stem; also names the control socket
    std::string gateway;         // hostname or IP literal
    std::uint16_t port = 500;
    std::string local_id;        // required (PSK authentication needs an identity to send)
    std::string remote_id;       // default: the gateway string, as strongSwan does
    AuthMethod auth = AuthMethod::psk;
    SecureBytes psk;             // from "auth.psk_file" (one trailing newline stripped) or "auth.psk"
    std::vector<std::string> ike{"aes256gcm16-prfsha384-x25519", "aes128gcm16-prfsha256-ecp256"};
    std::vector<msg::Proposal> ike_proposals;  // parsed from `ike`, numbered 1..n (RFC 7296 §3.3.1)
    std::vector<std::string> esp{"aes256gcm16", "aes128gcm16"};
    std::vector<msg::Proposal> esp_proposals;  // parsed from `esp`, numbered 1..n
    bool virtual_ip = true;      // only true is supported yet
    std::vector<IpPrefix> routes;  // default 0.0.0.0/0
    bool dns = false;            // only false is supported yet (servers are still requested and shown)
    bool mobike = false;         // MOBIKE (RFC 4555): follow network changes instead of losing the tunnel
    Encapsulation encap = Encapsulation::udp;
    // "nat_keepalive": seconds between NAT-T keepalives (RFC 3948 §2.3, §4) on an otherwise idle UDP 4500
    // path, 0..3600; 0 disables them. 20 s stays below the shortest UDP mapping timeouts seen in NATs.
    int nat_keepalive = 20;
    TunSettings tun;
};

// Reads and validates a profile. Unknown keys, wrong types, bad values and unsupported features throw
// ProfileError; non-fatal findings (e.g. a secrets file readable by others) are appended to `warnings`.
Profile load_profile(const std::filesystem::path& file, std::vector<std::string>& warnings);

// True for a usable profile name (it becomes a file name under /run/ikevpn): 1..64 chars of
// [A-Za-z0-9_.-], not starting with '.'.
bool is_valid_profile_name(std::string_view name);

}  // namespace ikevpn::client
