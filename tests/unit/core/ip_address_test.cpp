#include "core/ip_address.hpp"

#include <doctest/doctest.h>

using ikevpn::IpAddress;
using ikevpn::IpPrefix;

TEST_CASE("IPv4 parse and print") {
    auto a = IpAddress::parse("198.51.100.7");
    REQUIRE(a);
    CHECK(a->is_v4());
    CHECK(a->to_string() == "198.51.100.7");
    for (auto bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", "a.b.c.d", "1..2.3"})
        CHECK_MESSAGE(!IpAddress::parse(bad), bad);
}

TEST_CASE("IPv6 parse and RFC 5952 print") {
    CHECK(IpAddress::parse("2001:db8::1")->to_string() == "2001:db8::1");
    CHECK(IpAddress::parse("2001:0db8:0:0:0:0:0:1")->to_string() == "2001:db8::1");
    CHECK(IpAddress::parse("::")->to_string() == "::");
    CHECK(IpAddress::parse("::ffff:192.0.2.1")->bytes()[15] == 1);
    CHECK(IpAddress::parse("2001:db8:0:1:1:1:1:1")->to_string() == "2001:db8:0:1:1:1:1:1");
    CHECK(IpAddress::parse("2001:0:0:1:0:0:0:1")->to_string() == "2001:0:0:1::1");
    for (auto bad : {":::", "1::2::3", "12345::", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "g::1"})
        CHECK_MESSAGE(!IpAddress::parse(bad), bad);
}

TEST_CASE("prefixes") {
    auto p = IpPrefix::parse("198.51.100.0/24");
    REQUIRE(p);
    CHECK(p->last().to_string() == "198.51.100.255");
    CHECK(p->contains(*IpAddress::parse("198.51.100.9")));
    CHECK_FALSE(p->contains(*IpAddress::parse("198.51.101.9")));
    CHECK(IpPrefix::parse("0.0.0.0/0")->last().to_string() == "255.255.255.255");
    CHECK(IpPrefix::parse("203.0.113.5")->length == 32);
    CHECK_FALSE(IpPrefix::parse("198.51.100.1/24"));  // host bits set
    CHECK_FALSE(IpPrefix::parse("198.51.100.0/33"));
    CHECK_FALSE(IpPrefix::parse("198.51.100.0/"));
    CHECK(IpPrefix::parse("2001:db8::/32")->to_string() == "2001:db8::/32");
}

TEST_CASE("ranges become the smallest prefix set") {
    auto r = ikevpn::range_to_prefixes(*IpAddress::parse("0.0.0.0"), *IpAddress::parse("255.255.255.255"));
    REQUIRE(r.size() == 1);
    CHECK(r[0].to_string() == "0.0.0.0/0");
    r = ikevpn::range_to_prefixes(*IpAddress::parse("203.0.113.1"), *IpAddress::parse("203.0.113.1"));
    REQUIRE(r.size() == 1);
    CHECK(r[0].to_string() == "203.0.113.1/32");
    r = ikevpn::range_to_prefixes(*IpAddress::parse("10.0.0.1"), *IpAddress::parse("10.0.0.6"));
    REQUIRE(r.size() == 4);  // .1/32 .2/31 .4/31 .6/32
    CHECK(r[0].to_string() == "10.0.0.1/32");
    CHECK(r[1].to_string() == "10.0.0.2/31");
    CHECK(r[2].to_string() == "10.0.0.4/31");
    CHECK(r[3].to_string() == "10.0.0.6/32");
    CHECK(ikevpn::range_to_prefixes(*IpAddress::parse("10.0.0.6"), *IpAddress::parse("10.0.0.1")).empty());
}
