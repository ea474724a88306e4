#include "client/host_integration.hpp"

#include <doctest/doctest.h>

using namespace ikevpn;
using ikevpn::client::dns_settings_for;

namespace {
IpAddress ip(const char* text) { return *IpAddress::parse(text); }
IpPrefix net(const char* text) { return *IpPrefix::parse(text); }
}  // namespace

TEST_CASE("DNS servers of a family without a virtual address are not applied (they would leak)") {
    core::NetworkConfig c;
    c.virtual_ip = ip("203.0.113.7");
    c.dns = {ip("2001:db8:2::53"), ip("198.51.100.53")};
    c.routes = {net("198.51.100.0/24")};
    auto s = dns_settings_for(c);
    REQUIRE(s.servers.size() == 1);
    CHECK(s.servers[0] == ip("198.51.100.53"));
    CHECK_FALSE(s.full_tunnel);
    c.virtual_ip6 = ip("2001:db8:3::2");
    s = dns_settings_for(c);
    REQUIRE(s.servers.size() == 2);
    CHECK(s.servers[0] == ip("2001:db8:2::53"));  // the gateway's order is kept
}

TEST_CASE("a default route of either family makes a full tunnel") {
    core::NetworkConfig c;
    c.virtual_ip = ip("203.0.113.7");
    c.routes = {net("198.51.100.0/24"), net("0.0.0.0/0")};
    CHECK(dns_settings_for(c).full_tunnel);
    c.routes = {net("::/0")};
    CHECK(dns_settings_for(c).full_tunnel);
}
