// Profile identities to ID payloads (RFC 7296 §3.5) and back: FQDN, RFC822, IPv4/IPv6, DN, KEY_ID.
#include "core/identity.hpp"
#include "tests/unit/core/crypto/hex.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

using namespace ikevpn;
using ikevpn::crypto::test::hex;
using ikevpn::crypto::test::to_hex;

TEST_CASE("identity types follow the profile's text") {
    std::string error;
    struct Case { const char* text; msg::IdType type; const char* back; };
    const Case cases[] = {
        {"vpn.example.com", msg::IdType::fqdn, "vpn.example.com"},
        {"alice@example.com", msg::IdType::rfc822_addr, "alice@example.com"},
        {"192.0.2.1", msg::IdType::ipv4_addr, "192.0.2.1"},
        {"2001:db8::1", msg::IdType::ipv6_addr, "2001:db8::1"},
        {"C=CH, O=Example, CN=vpn.example.com", msg::IdType::der_asn1_dn, "C=CH, O=Example, CN=vpn.example.com"},
        {"keyid:#0123abcd", msg::IdType::key_id, "keyid:#0123abcd"},
        {"keyid:0x0123ABCD", msg::IdType::key_id, "keyid:#0123abcd"},
        {"keyid:gw", msg::IdType::key_id, "keyid:#6777"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.text);
        const auto id = core::parse_identity(c.text, error);
        REQUIRE_MESSAGE(id, error);
        CHECK(id->id_type == c.type);
        CHECK(core::identity_to_string(*id) == c.back);
    }
}

TEST_CASE("a DN becomes DER in the order written; DNs compare by attribute, not by bytes") {
    const auto id = core::make_identity("C=CH, CN=gw");
    // SEQUENCE { SET { SEQUENCE { OID 2.5.4.6, PrintableString "CH" } }, SET { SEQUENCE { OID 2.5.4.3, "gw" } } }
    // (RFC 5280 §4.1.2.4 Name); Botan picks PrintableString for these values.
    CHECK(to_hex(id.data) == to_hex(hex("30 1a 31 0b 30 09 06 03 55 04 06 13 02 43 48 31 0b 30 09 06 03 55 04 03 13 02 67 77")));
    CHECK(core::identity_equal(id, core::make_identity("c=ch,cn=GW")));
    CHECK_FALSE(core::identity_equal(id, core::make_identity("C=CH, CN=gw2")));
    CHECK_FALSE(core::identity_equal(core::make_identity("gw.example.com"), core::make_identity("GW.example.com")));
}

TEST_CASE("malformed identities are one-line errors") {
    std::string error;
    CHECK_FALSE(core::parse_identity("CN=x, Foo=y", error));
    CHECK(error == "unknown distinguished name attribute 'Foo' (known: C, ST, L, O, OU, CN, SN, E, DC)");
    CHECK_FALSE(core::parse_identity("CN=x,,O=y", error));
    CHECK(error == "'' is not an attribute=value pair of a distinguished name");
    CHECK_FALSE(core::parse_identity("keyid:#12x4", error));
    CHECK(error == "key id '#12x4' is not an even number of hex digits");
    CHECK_FALSE(core::parse_identity("keyid:", error));
    CHECK_FALSE(core::parse_identity("", error));
    CHECK_THROWS_AS(core::make_identity("keyid:#1"), std::invalid_argument);
    msg::IdPayload odd;
    odd.id_type = msg::IdType::der_asn1_dn;
    odd.data = {0x30, 0x05};
    CHECK(core::identity_to_string(odd) == "(malformed DN)");
}
