#include "platform/kill_switch.hpp"

#include "platform/command.hpp"
#include "platform/platform_error.hpp"
#include "platform/udp_socket.hpp"

#include <algorithm>
#include <cerrno>

namespace ikevpn::platform {
namespace {

// nft quotes interface names in double quotes; our TUN names are [A-Za-z0-9_.-] plus "%d" (profile.cpp).
std::string tun_pattern(const std::string& name) {
    auto pos = name.find("%d");
    if (pos == std::string::npos) return name;
    return name.substr(0, pos) + "*";  // the kernel picks the number: match any suffix
}

std::string port_set(const std::vector<std::uint16_t>& ports) {
    std::string text;
    for (auto p : ports) text += (text.empty() ? "" : ", ") + std::to_string(p);
    return ports.size() == 1 ? text : "{ " + text + " }";
}

// Each family's addresses once, in a stable order; an IPv4-mapped IPv6 address is the IPv4 one.
std::vector<IpAddress> family_members(const std::vector<IpAddress>& all, bool v4) {
    std::vector<IpAddress> out;
    for (const auto& raw : all) {
        const IpAddress a = unmapped(raw);
        if (a.is_v4() != v4) continue;
        if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
    }
    return out;
}

std::string element_list(const std::vector<IpAddress>& addresses) {
    std::string text;
    for (const auto& a : addresses) text += (text.empty() ? "" : ", ") + a.to_string();
    return "{ " + text + " }";
}

std::vector<IpAddress> all_gateways(const KillSwitchConfig& c) {
    std::vector<IpAddress> all{c.gateway};
    all.insert(all.end(), c.other_gateways.begin(), c.other_gateways.end());
    return all;
}

}  // namespace

std::string kill_switch_table_name(const std::string& profile_name) {
    std::string name = "ikevpn_";
    for (char c : profile_name) {
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        name += keep ? c : '_';
    }
    return name;
}

std::string kill_switch_ruleset(const KillSwitchConfig& c) {
    const auto v4 = family_members(all_gateways(c), true), v6 = family_members(all_gateways(c), false);
    std::string r;
    // Creating an empty table first makes the delete valid whether or not a stale table exists; the whole
    // script is one transaction, so there is never a moment without the rules.
    r += "table inet " + c.table + " {}\n";
    r += "delete table inet " + c.table + "\n";
    r += "table inet " + c.table + " {\n";
    // Named sets, so that a move to another address of the gateway only changes elements (allow_gateways).
    r += "\tset gateways4 {\n\t\ttype ipv4_addr\n";
    if (!v4.empty()) r += "\t\telements = " + element_list(v4) + "\n";
    r += "\t}\n";
    r += "\tset gateways6 {\n\t\ttype ipv6_addr\n";
    if (!v6.empty()) r += "\t\telements = " + element_list(v6) + "\n";
    r += "\t}\n";
    r += "\tchain output {\n";
    r += "\t\ttype filter hook output priority filter; policy drop;\n";
    r += "\t\toifname \"lo\" accept\n";
    r += "\t\toifname \"" + tun_pattern(c.tun_name) + "\" accept\n";
    r += "\t\tip daddr @gateways4 udp dport " + port_set(c.gateway_ports) +
         " counter accept comment \"IKE and ESP to the gateway\"\n";
    r += "\t\tip6 daddr @gateways6 udp dport " + port_set(c.gateway_ports) +
         " counter accept comment \"IKE and ESP to the gateway\"\n";
    r += "\t\tudp sport 68 udp dport 67 accept comment \"DHCPv4\"\n";
    r += "\t\tudp sport 546 udp dport 547 accept comment \"DHCPv6\"\n";
    r += "\t\ticmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } accept\n";
    if (c.allow_lan) {
        r += "\t\tip daddr { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16, 224.0.0.0/4, "
             "255.255.255.255 } accept comment \"allow_lan\"\n";
        r += "\t\tip6 daddr { fc00::/7, fe80::/10, ff00::/8 } accept comment \"allow_lan\"\n";
    }
    r += "\t\tcounter drop comment \"ikevpn kill switch\"\n";
    r += "\t}\n";
    r += "}\n";
    return r;
}

std::string kill_switch_gateway_update(const std::string& table, const std::vector<IpAddress>& gateways) {
    std::string r;
    for (const char* set : {"gateways4", "gateways6"}) r += "flush set inet " + table + " " + set + "\n";
    const auto v4 = family_members(gateways, true), v6 = family_members(gateways, false);
    if (!v4.empty()) r += "add element inet " + table + " gateways4 " + element_list(v4) + "\n";
    if (!v6.empty()) r += "add element inet " + table + " gateways6 " + element_list(v6) + "\n";
    return r;
}

void KillSwitch::allow_gateways(const std::vector<IpAddress>& gateways) {
    CommandResult result = run_command({"nft", "-f", "-"}, kill_switch_gateway_update(config_.table, gateways));
    if (!result.ok())
        throw PlatformError("update the gateway addresses of nftables table inet " + config_.table,
                            result.exit_status == 127 ? ENOENT : EINVAL, result.first_line());
    if (gateways.empty()) return;
    config_.gateway = gateways.front();
    config_.other_gateways.assign(gateways.begin() + 1, gateways.end());
}

void KillSwitch::install() {
    CommandResult result = run_command({"nft", "-f", "-"}, kill_switch_ruleset(config_));
    if (!result.ok())
        throw PlatformError("install nftables table inet " + config_.table,
                            result.exit_status == 127 ? ENOENT : EINVAL, result.first_line());
    installed_ = true;
}

std::string KillSwitch::remove() {
    if (!installed_) return {};
    try {
        remove_table(config_.table);
        installed_ = false;
        return {};
    } catch (const PlatformError& e) {
        return e.what();
    }
}

bool KillSwitch::remove_table(const std::string& table) {
    if (!run_command({"nft", "list", "table", "inet", table}).ok()) return false;
    CommandResult result = run_command({"nft", "delete", "table", "inet", table});
    if (!result.ok())
        throw PlatformError("delete nftables table inet " + table, EINVAL, result.first_line());
    return true;
}

}  // namespace ikevpn::platform
