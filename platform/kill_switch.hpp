// The kill switch: one nftables table of our own, `inet ikevpn_<profile>`, whose output chain drops every
// packet the client would send anywhere but
//   - loopback and the tunnel device,
//   - UDP to the gateway on the IKE port and 4500 (IKE and ESP in UDP, RFC 3948) — to every address of the
//     gateway the SAs may move to (MOBIKE: the gateway name's other addresses, its ADDITIONAL_IP*_ADDRESS
//     list), kept in two nftables sets (gateways4, gateways6) that allow_gateways() replaces in one
//     transaction, so the rules themselves never change while the tunnel is up,
//   - link housekeeping that carries no user data: DHCPv4/DHCPv6 to servers, ICMPv6 router and neighbour
//     discovery (without them the uplink itself, and so the tunnel, would die),
//   - with allow_lan: the private and link-local ranges (RFC 1918, 169.254/16, multicast, broadcast,
//     fc00::/7, fe80::/10, ff00::/8) — "the local LAN" as VPN clients commonly define it.
// The chain's policy is drop and covers IPv4 and IPv6 alike (family inet), so IPv6 can only leave through
// the tunnel — and only when the tunnel carries IPv6 routes. The table is installed before the first IKE
// packet and replaced atomically (one `nft -f` transaction) if a stale one exists. Not covered: traffic
// this host forwards for others (containers, VMs) — the forward hook is left alone.
#pragma once
#include "core/ip_address.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace ikevpn::platform {

struct KillSwitchConfig {
    std::string table;                  // kill_switch_table_name(profile)
    std::string tun_name;               // the TUN device; "%d" in it becomes an nft wildcard
    IpAddress gateway;
    std::vector<std::uint16_t> gateway_ports;  // UDP destination ports allowed to the gateway
    bool allow_lan = false;
    std::vector<IpAddress> other_gateways;  // more addresses of the same gateway (MOBIKE), either family
};

// "ikevpn_" + the profile name with every character nft would not take in an identifier replaced by '_'.
std::string kill_switch_table_name(const std::string& profile_name);

// The nft script that (re)creates the table atomically: create-if-missing, delete, create with rules.
std::string kill_switch_ruleset(const KillSwitchConfig& config);

// The nft script that replaces the elements of the gateway sets with `gateways` (one transaction: the
// addresses that stay are never missing). Duplicates and IPv4-mapped IPv6 addresses are normalised.
std::string kill_switch_gateway_update(const std::string& table, const std::vector<IpAddress>& gateways);

// Installs and removes the table with `nft`. remove() is idempotent; the destructor does not remove the
// table on purpose: a crashed client must fail closed until the next connect or disconnect cleans up.
class KillSwitch {
public:
    explicit KillSwitch(KillSwitchConfig config) : config_(std::move(config)) {}
    void install();  // throws PlatformError with nft's first error line
    // Empty string on success or when the table was not there; otherwise nft's error line.
    std::string remove();
    // Lets IKE/ESP through to exactly `gateways` from now on (the ports stay). Throws PlatformError with
    // nft's first error line; the sets are then unchanged.
    void allow_gateways(const std::vector<IpAddress>& gateways);
    bool installed() const { return installed_; }
    const KillSwitchConfig& config() const { return config_; }

    // Deletes table `table` if it exists. Returns true when it existed and was removed; throws PlatformError
    // with nft's message when deleting failed.
    static bool remove_table(const std::string& table);

private:
    KillSwitchConfig config_;
    bool installed_ = false;
};

}  // namespace ikevpn::platform
