// `ikevpn import FILE.sswan`: turns a strongSwan VPN profile (the JSON ".sswan" format of the strongSwan
// Android app, documented at docs.strongswan.org "VPN Profile Import for the Android VPN Client") into an
// ikevpn profile (DESIGN.md "The profile").
//
// Mapping: remote.addr → gateway, remote.port → port, remote.id → remote_id, local.id → local_id,
// local.eap_id → auth.username (and local_id when local.id is absent), remote.cert → <name>-ca.pem + "ca",
// ike-proposal/esp-proposal → ike/esp (one proposal each, checked with our parser), split-tunneling.subnets
// → routes, mtu → tun.mtu, nat-keepalive → nat_keepalive. type: ikev2-eap → eap-mschapv2, ikev2-cert →
// pubkey, ikev2-eap-tls → eap-tls, ikev2-psk (not an Android type; NetworkManager-style) → psk with a
// psk_file to fill in. ikev2-cert-eap and ikev2-byod-eap (two authentication rounds, EAP-TNC) cannot be
// expressed and are refused. Keys that cannot be mapped are listed in a warning, never silently dropped.
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ikevpn::client {

// what() is one line naming the .sswan file and key, or the file that would be overwritten.
struct ImportError : std::runtime_error { using std::runtime_error::runtime_error; };

struct SswanProfile {
    std::string name;                   // the ikevpn profile name (file <name>.json)
    nlohmann::json profile;             // the ikevpn profile document
    std::optional<std::string> ca_pem;  // remote.cert as PEM, written to <name>-ca.pem
    std::vector<std::string> warnings;  // keys ignored or not supported
    std::vector<std::string> next_steps;  // what the user must still provide (key files, PSK file...)
};

// The mapping alone (no files). `label` names the source in messages; `name` overrides the profile name
// derived from the .sswan "name" (characters outside A-Z a-z 0-9 _ . - become '-').
SswanProfile map_sswan(const nlohmann::json& sswan, const std::string& label, const std::optional<std::string>& name);

struct ImportResult {
    SswanProfile mapped;
    std::vector<std::filesystem::path> written;  // the profile first
};

// Reads `sswan_file`, maps it and writes <dir>/<name>.json (mode 0600) and <dir>/<name>-ca.pem if the
// .sswan carries a certificate. Creates `dir` (mode 0700) if missing. Refuses to overwrite any file.
ImportResult import_sswan(const std::filesystem::path& sswan_file, const std::filesystem::path& dir,
                          const std::optional<std::string>& name);

// `ikevpn import --json` (docs/cli-json.md): {"ok": true, "name", "profile" (the written profile file),
// "written": [...], "warnings": [...], "next_steps": [...]}.
nlohmann::json import_result_json(const ImportResult& result);

}  // namespace ikevpn::client
