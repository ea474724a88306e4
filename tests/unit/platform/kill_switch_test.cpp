#include "platform/kill_switch.hpp"

#include "platform/command.hpp"
#include "private_netns.hpp"

#include <doctest/doctest.h>

using namespace ikevpn;
using namespace ikevpn::platform;

namespace {
bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("table name: ikevpn_ + the profile name with non-identifier characters replaced") {
    CHECK(kill_switch_table_name("work") == "ikevpn_work");
    CHECK(kill_switch_table_name("my-vpn.2") == "ikevpn_my_vpn_2");
}

TEST_CASE("ruleset: drop policy with exceptions for loopback, the TUN and IKE/ESP to an IPv4 gateway") {
    KillSwitchConfig c{"ikevpn_demo", "ikevpn0", *IpAddress::parse("192.0.2.1"), {500, 4500}, false, {}};
    const std::string r = kill_switch_ruleset(c);
    // Atomic replacement: create (no-op if present), delete, create with the rules — in one script.
    CHECK(r.rfind("table inet ikevpn_demo {}\ndelete table inet ikevpn_demo\ntable inet ikevpn_demo {\n", 0) == 0);
    CHECK(contains(r, "type filter hook output priority filter; policy drop;"));
    CHECK(contains(r, "oifname \"lo\" accept"));
    CHECK(contains(r, "oifname \"ikevpn0\" accept"));
    CHECK(contains(r, "set gateways4 {\n\t\ttype ipv4_addr\n\t\telements = { 192.0.2.1 }\n\t}"));
    CHECK(contains(r, "ip daddr @gateways4 udp dport { 500, 4500 } counter accept"));
    CHECK(contains(r, "udp sport 68 udp dport 67 accept"));
    CHECK(contains(r, "counter drop"));
    CHECK_FALSE(contains(r, "allow_lan"));
    CHECK_FALSE(contains(r, "192.168.0.0/16"));
}

TEST_CASE("ruleset: IPv6 gateway, one port, '%d' TUN names, allow_lan") {
    KillSwitchConfig c{"ikevpn_x", "vpn%d", *IpAddress::parse("2001:db8:1::1"), {4500}, true, {}};
    const std::string r = kill_switch_ruleset(c);
    CHECK(contains(r, "set gateways6 {\n\t\ttype ipv6_addr\n\t\telements = { 2001:db8:1::1 }\n\t}"));
    CHECK(contains(r, "ip6 daddr @gateways6 udp dport 4500 counter accept"));
    CHECK(contains(r, "oifname \"vpn*\" accept"));
    CHECK(contains(r, "ip daddr { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16, 224.0.0.0/4, "
                      "255.255.255.255 } accept"));
    CHECK(contains(r, "ip6 daddr { fc00::/7, fe80::/10, ff00::/8 } accept"));
}

TEST_CASE("install, replace and remove the table with nft (private netns, root)") {
    IKEVPN_REQUIRE_NETNS();
    if (!command_exists("nft")) {
        MESSAGE("skipped: nft not installed");
        return;
    }
    KillSwitchConfig c{"ikevpn_unit", "ikevpn0", *IpAddress::parse("192.0.2.1"), {500, 4500}, false, {}};
    KillSwitch ks(c);
    ks.install();
    CHECK(ks.installed());
    auto listed = run_command({"nft", "list", "table", "inet", "ikevpn_unit"});
    REQUIRE(listed.ok());
    CHECK(contains(listed.output, "policy drop"));
    CHECK(contains(listed.output, "192.0.2.1"));
    KillSwitch again(c);  // a stale table is replaced, not doubled
    again.install();
    listed = run_command({"nft", "list", "table", "inet", "ikevpn_unit"});
    std::size_t chains = 0;
    for (std::size_t at = 0; (at = listed.output.find("chain output", at)) != std::string::npos; ++at) ++chains;
    CHECK(chains == 1);
    CHECK(ks.remove().empty());
    CHECK_FALSE(run_command({"nft", "list", "table", "inet", "ikevpn_unit"}).ok());
    CHECK(again.remove().empty());  // already gone: fine
    CHECK_FALSE(KillSwitch::remove_table("ikevpn_unit"));
}
