// The connection profile: a JSON file (DESIGN.md, "The profile") turned into checked values. Every error
// is one line naming the file and the key, because the user fixes profiles by hand.
#pragma once
#include "core/crypto/public_key.hpp"
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

enum class AuthMethod : std::uint8_t { psk, pubkey, eap_mschapv2, eap_tls };
enum class Encapsulation : std::uint8_t { udp };

struct TunSettings {
    std::string name = "ikevpn0";  // 1..15 chars of [A-Za-z0-9_.-], at most one "%d" (kernel picks N)
    int mtu = 0;  // 576..9000, or 0 for "auto": the path MTU minus the negotiated transform's exact overhead
    // TSO/GRO offloads between the kernel and the data plane (IFF_VNET_HDR, client/tun_offload.hpp): TCP
    // moves through the TUN device in super-packets of up to 64 KiB. Off only to measure or to debug.
    bool offload = true;
};

// "rekey": lifetimes after which the client rekeys its SAs itself (RFC 7296 §2.8), 0 = never. The gateway
// may rekey earlier on its own; that is answered either way. Defaults as strongSwan's: IKE 4 h, CHILD 1 h.
struct RekeySettings {
    int ike_seconds = 14400;        // "ike_seconds": 0 or 10..604800
    int child_seconds = 3600;       // "child_seconds": 0 or 10..604800
    std::uint64_t child_bytes = 0;  // "child_bytes": 0 or >= 1048576: rekey once the pair carried this much
    // "jitter_seconds": rekey up to this much earlier, at random, so that client and gateway rarely rekey
    // at the same moment; less than every non-zero lifetime. Default: a tenth of the shortest lifetime.
    int jitter_seconds = 360;
    // "reauth_seconds": 0 (only when the gateway asks, AUTH_LIFETIME) or 10..604800: build a new IKE SA
    // (full IKE_SA_INIT + IKE_AUTH, make-before-break) this long after the last one, up to a tenth earlier.
    int reauth_seconds = 0;
    // "reauth_initial_contact": after a MOBIKE move, the reauthentication's IKE_AUTH carries INITIAL_CONTACT
    // so the gateway can give the virtual IP back (core/session_reauth.cpp). false when the same credentials
    // are in use on another device at the same time: the gateway would drop that device's IKE SAs too.
    bool reauth_initial_contact = true;
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
    // auth.method "pubkey": "auth.key" (PEM private key), "auth.cert" (PEM: our certificate first, any
    // further blocks are intermediates) and optional "auth.intermediates" (more PEM files); "auth.rsa_pss"
    // signs with RSASSA-PSS instead of PKCS#1 v1.5 when the key is RSA and the gateway speaks RFC 7427.
    // auth.method "eap-tls" uses the same keys (cert, key, intermediates) for the TLS client certificate,
    // plus "auth.eap_identity" (default local_id).
    crypto::PrivateKeyPtr private_key;
    std::vector<crypto::CertificatePtr> local_certs;
    bool rsa_pss = false;
    // auth.method "eap-mschapv2": "auth.eap_identity" (or its alias "auth.username"; default local_id) and
    // "auth.password_file". Without a file the password stays empty here and `ikevpn connect` asks for it
    // on the terminal (client/password_prompt.hpp).
    std::string eap_identity;
    SecureBytes eap_password;
    bool eap_password_from_file = false;
    // "ca": PEM files of the CAs the gateway's certificate must chain to. The rule for the gateway's side:
    // with "ca" it must authenticate with a certificate (whatever our auth.method), without it with the PSK.
    std::vector<crypto::CertificatePtr> ca;
    std::vector<std::string> ike{"aes256gcm16-prfsha384-x25519", "aes128gcm16-prfsha256-ecp256"};
    std::vector<msg::Proposal> ike_proposals;  // parsed from `ike`, numbered 1..n (RFC 7296 §3.3.1)
    std::vector<std::string> esp{"aes256gcm16", "aes128gcm16"};
    std::vector<msg::Proposal> esp_proposals;  // parsed from `esp`, numbered 1..n
    // "allow_weak_algorithms": names of deprecated algorithms (RFC 8247) the proposals may use, from
    // core::weak_algorithm_names(): "3des", "sha1", "md5", "modp1024". Default none; not for ESP ciphers.
    std::vector<std::string> allow_weak_algorithms;
    bool virtual_ip = true;      // only true is supported yet
    std::vector<IpPrefix> routes;  // default 0.0.0.0/0
    bool dns = false;            // apply the gateway's DNS servers to the host (platform/dns_config.hpp)
    bool mobike = false;         // MOBIKE (RFC 4555): follow network changes instead of losing the tunnel
    // "fragmentation": IKE fragmentation (RFC 7383) offered to the gateway; "fragment_size": the largest IP
    // datagram (headers included) an IKE fragment may need, 576..9000 (core/ike_fragment.hpp explains 1280).
    bool fragmentation = true;
    int fragment_size = 1280;
    Encapsulation encap = Encapsulation::udp;
    // "nat_keepalive": seconds between NAT-T keepalives (RFC 3948 §2.3, §4) on an otherwise idle UDP 4500
    // path, 0..3600; 0 disables them. 20 s stays below the shortest UDP mapping timeouts seen in NATs.
    int nat_keepalive = 20;
    // "replay_window": inbound anti-replay window in packets (RFC 4303 §3.4.3), 64..65536, rounded up to
    // a multiple of 64. Larger windows tolerate more reordering on the path (e.g. multipath, parallel
    // encryption at the gateway) at 1 bit of memory per packet.
    int replay_window = 1024;
    // "data_path_timeout": seconds of sending ESP without receiving any (while IKE still answers) after which
    // the CHILD SA is rekeyed, and as long again after that the tunnel re-established
    // (client/esp_liveness.hpp), 0..3600; 0 disables the watch.
    int data_path_timeout = 30;
    // "dpd_seconds": seconds without anything authenticated from the gateway (IKE or ESP) after which an
    // empty INFORMATIONAL request checks that it is still there (RFC 7296 §2.4, client/gateway_liveness.hpp),
    // 0..3600; 0 disables the checks. Unanswered after its retransmissions (~31 s): the tunnel ends (TIMEOUT).
    int dpd_seconds = 30;
    // "control_group": a group whose members may use the control socket (status, disconnect) besides
    // root; empty: root only (socket mode 0600).
    std::string control_group;
    TunSettings tun;
    // "kill_switch": true or {"allow_lan": bool}: nftables drop everything but the tunnel and IKE/ESP to the
    // gateway (platform/kill_switch.hpp) from before the first IKE packet until disconnect.
    bool kill_switch = false;
    bool kill_switch_allow_lan = false;
    RekeySettings rekey;
};

// Reads and validates a profile. Unknown keys, wrong types, bad values and unsupported features throw
// ProfileError; non-fatal findings (e.g. a secrets file readable by others) are appended to `warnings`.
Profile load_profile(const std::filesystem::path& file, std::vector<std::string>& warnings);

// True for a usable profile name (it becomes a file name under /run/ikevpn): 1..64 chars of
// [A-Za-z0-9_.-], not starting with '.'.
bool is_valid_profile_name(std::string_view name);

}  // namespace ikevpn::client
