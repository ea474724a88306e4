#include "client/gateway_family.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace ikevpn;
using ikevpn::client::connect_order;
using ikevpn::client::other_family_gateway;

namespace {

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

std::vector<IpAddress> ips(std::initializer_list<const char*> texts) {
    std::vector<IpAddress> out;
    for (const char* t : texts) out.push_back(ip(t));
    return out;
}

}  // namespace

TEST_CASE("connect order: IPv4 first as before, then IPv6, each address once, resolver order kept within a family") {
    CHECK(connect_order(ips({"2001:db8::1", "192.0.2.1", "2001:db8::2", "192.0.2.7", "192.0.2.1"})) ==
          ips({"192.0.2.1", "192.0.2.7", "2001:db8::1", "2001:db8::2"}));
    CHECK(connect_order(ips({"2001:db8::1"})) == ips({"2001:db8::1"}));
    CHECK(connect_order({}).empty());
}

TEST_CASE("other family: the first resolved address of the other family with a path") {
    const auto resolved = ips({"192.0.2.1", "2001:db8::1", "2001:db8::2"});
    auto only = [](const char* text) { return [a = ip(text)](const IpAddress& x) { return x == a; }; };
    CHECK(other_family_gateway(ip("192.0.2.1"), resolved, {}, [](const IpAddress&) { return true; }) ==
          ip("2001:db8::1"));
    CHECK(other_family_gateway(ip("192.0.2.1"), resolved, {}, only("2001:db8::2")) == ip("2001:db8::2"));
    CHECK(other_family_gateway(ip("2001:db8::1"), resolved, {}, [](const IpAddress&) { return true; }) ==
          ip("192.0.2.1"));
}

TEST_CASE("other family: never the same family, announced addresses after the resolved ones, none → nullopt") {
    const auto resolved = ips({"2001:db8::1"});
    const auto announced = ips({"2001:db8::9", "198.51.100.1", "192.0.2.5"});
    auto all = [](const IpAddress&) { return true; };
    CHECK(other_family_gateway(ip("2001:db8::1"), resolved, announced, all) == ip("198.51.100.1"));
    auto not_first = [](const IpAddress& a) { return a.to_string() != "198.51.100.1"; };
    CHECK(other_family_gateway(ip("2001:db8::1"), resolved, announced, not_first) == ip("192.0.2.5"));
    CHECK_FALSE(other_family_gateway(ip("2001:db8::1"), resolved, ips({"2001:db8::9"}), all).has_value());
    CHECK_FALSE(other_family_gateway(ip("2001:db8::1"), resolved, announced, [](const IpAddress&) { return false; })
                    .has_value());
    // An IPv4 gateway with only IPv4 addresses resolved and announced has nowhere else to go.
    CHECK_FALSE(other_family_gateway(ip("192.0.2.1"), ips({"192.0.2.1"}), ips({"192.0.2.5"}), all).has_value());
}
