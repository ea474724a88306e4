// The kill switch's gateway sets (issue 5, roaming follow-ups): IKE/ESP may leave for every address of the
// gateway the SAs may move to, and that list is replaced atomically while the table stays in place.
#include "platform/kill_switch.hpp"

#include "platform/command.hpp"
#include "private_netns.hpp"

#include <doctest/doctest.h>

using namespace ikevpn;
using namespace ikevpn::platform;

namespace {
bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
IpAddress ip(const char* text) { return *IpAddress::parse(text); }
}  // namespace

TEST_CASE("ruleset: every gateway address, both families, in the sets from the start") {
    KillSwitchConfig c{"ikevpn_demo", "ikevpn0", ip("192.0.2.1"), {500, 4500}, false,
                       {ip("2001:db8:1::1"), ip("198.51.100.7"), ip("192.0.2.1"), ip("::ffff:203.0.113.9")}};
    const std::string r = kill_switch_ruleset(c);
    CHECK(contains(r, "elements = { 192.0.2.1, 198.51.100.7, 203.0.113.9 }"));  // duplicates once, mapped as IPv4
    CHECK(contains(r, "elements = { 2001:db8:1::1 }"));
    CHECK(contains(r, "ip daddr @gateways4 udp dport { 500, 4500 } counter accept"));
    CHECK(contains(r, "ip6 daddr @gateways6 udp dport { 500, 4500 } counter accept"));
}

TEST_CASE("ruleset: a family without gateway addresses has an empty set (nothing of it may leave)") {
    KillSwitchConfig c{"ikevpn_demo", "ikevpn0", ip("192.0.2.1"), {4500}, false, {}};
    const std::string r = kill_switch_ruleset(c);
    CHECK(contains(r, "set gateways6 {\n\t\ttype ipv6_addr\n\t}"));
}

TEST_CASE("gateway update: flush and add in one script, per family") {
    const std::string u = kill_switch_gateway_update("ikevpn_demo", {ip("192.0.2.1"), ip("2001:db8:1::1"), ip("192.0.2.1")});
    CHECK(u == "flush set inet ikevpn_demo gateways4\n"
               "flush set inet ikevpn_demo gateways6\n"
               "add element inet ikevpn_demo gateways4 { 192.0.2.1 }\n"
               "add element inet ikevpn_demo gateways6 { 2001:db8:1::1 }\n");
    CHECK(kill_switch_gateway_update("t", {}) == "flush set inet t gateways4\nflush set inet t gateways6\n");
}

TEST_CASE("allow_gateways replaces the set elements in the installed table (private netns, root)") {
    IKEVPN_REQUIRE_NETNS();
    if (!command_exists("nft")) {
        MESSAGE("skipped: nft not installed");
        return;
    }
    KillSwitch ks({"ikevpn_unit_gw", "ikevpn0", ip("192.0.2.1"), {500, 4500}, false, {}});
    ks.install();
    auto listed = run_command({"nft", "list", "set", "inet", "ikevpn_unit_gw", "gateways4"});
    REQUIRE(listed.ok());
    CHECK(contains(listed.output, "192.0.2.1"));
    ks.allow_gateways({ip("192.0.2.1"), ip("198.51.100.7"), ip("2001:db8:1::1")});
    listed = run_command({"nft", "list", "table", "inet", "ikevpn_unit_gw"});
    REQUIRE(listed.ok());
    CHECK(contains(listed.output, "198.51.100.7"));
    CHECK(contains(listed.output, "2001:db8:1::1"));
    ks.allow_gateways({ip("2001:db8:1::1")});  // the IPv4 addresses are gone again
    listed = run_command({"nft", "list", "table", "inet", "ikevpn_unit_gw"});
    CHECK_FALSE(contains(listed.output, "192.0.2.1"));
    CHECK_FALSE(contains(listed.output, "198.51.100.7"));
    CHECK(contains(listed.output, "2001:db8:1::1"));
    CHECK(contains(listed.output, "policy drop"));
    CHECK(ks.remove().empty());
    CHECK_FALSE(run_command({"nft", "list", "table", "inet", "ikevpn_unit_gw"}).ok());
    // After the table is gone an update fails with a message instead of creating anything.
    KillSwitch gone({"ikevpn_unit_gw", "ikevpn0", ip("192.0.2.1"), {4500}, false, {}});
    CHECK_THROWS(gone.allow_gateways({ip("192.0.2.1")}));
    CHECK_FALSE(run_command({"nft", "list", "table", "inet", "ikevpn_unit_gw"}).ok());
}
