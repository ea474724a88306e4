// Split DNS in the configuration payload (RFC 8598): the request asks for INTERNAL_DNS_DOMAIN, the reply's
// domains are validated and kept.
#include "core/ike_config.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace ikevpn;
using namespace ikevpn::core;

namespace {

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

SessionConfig v4_config() {
    SessionConfig c;
    c.remote_networks = {*IpPrefix::parse("0.0.0.0/0")};
    return c;
}

}  // namespace

TEST_CASE("the CFG_REQUEST asks for split-DNS domains with an empty INTERNAL_DNS_DOMAIN (RFC 8598 §4)") {
    std::vector<msg::Payload> payloads;
    build_config_request(v4_config(), payloads);
    const auto* cp = msg::find<msg::CpPayload>(payloads, msg::PayloadType::cp);
    REQUIRE(cp);
    bool asked = false;
    for (const auto& a : cp->attributes)
        if (a.type == std::uint16_t(msg::CfgAttr::internal_dns_domain)) asked = a.value.empty();
    CHECK(asked);
}

TEST_CASE("INTERNAL_DNS_DOMAIN values: presentation format, lower-cased, malformed ones refused") {
    CHECK(split_dns_domain(text("corp.example")) == "corp.example");
    CHECK(split_dns_domain(text("Corp.Example.")) == "corp.example");
    CHECK(split_dns_domain(text("_ldap.dc-1.corp.example")) == "_ldap.dc-1.corp.example");
    CHECK_FALSE(split_dns_domain(text("")));
    CHECK_FALSE(split_dns_domain(text(".")));              // the root
    CHECK_FALSE(split_dns_domain(text("corp..example")));  // an empty label
    CHECK_FALSE(split_dns_domain(text(".corp.example")));
    CHECK_FALSE(split_dns_domain(text("corp example")));
    CHECK_FALSE(split_dns_domain(Bytes{'c', 0, 'x'}));
    CHECK_FALSE(split_dns_domain(text(std::string(64, 'a') + ".example")));  // a label over 63
    CHECK(split_dns_domain(text(std::string(63, 'a') + ".example")));
    std::string long_name;
    while (long_name.size() < 254) long_name += "abcdefg.";
    CHECK_FALSE(split_dns_domain(text(long_name.substr(0, 254))));  // over 253
}

TEST_CASE("the reply's domains are kept in order, once each; bad ones are skipped") {
    std::vector<msg::Payload> payloads;
    msg::CpPayload cp;
    cp.cfg_type = msg::CfgType::reply;
    cp.attributes.push_back({std::uint16_t(msg::CfgAttr::internal_ip4_address), {203, 0, 113, 1}});
    cp.attributes.push_back({std::uint16_t(msg::CfgAttr::internal_dns_domain), text("corp.example")});
    cp.attributes.push_back({std::uint16_t(msg::CfgAttr::internal_dns_domain), text("bad domain")});
    cp.attributes.push_back({std::uint16_t(msg::CfgAttr::internal_dns_domain), text("LAB.example")});
    cp.attributes.push_back({std::uint16_t(msg::CfgAttr::internal_dns_domain), text("corp.example.")});
    payloads.push_back({msg::PayloadType::cp, false, cp});
    NetworkConfig network;
    CHECK_FALSE(process_config_reply(v4_config(), payloads, network));
    CHECK(network.dns_domains == std::vector<std::string>{"corp.example", "lab.example"});
}
