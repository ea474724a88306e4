// RFC 5685 notifications (core/redirect.hpp): the gateway identity both ways, and defensive decoding of
// hand-made REDIRECT data (examples built from the §8 layout; the RFC has no test vectors).
#include "core/redirect.hpp"

#include <doctest/doctest.h>

using namespace ikevpn;
using namespace ikevpn::core;

namespace {

std::vector<msg::Payload> redirect_with(Bytes data) {
    return {msg::make_notify(msg::NotifyType(notify_redirect), std::move(data))};
}

}  // namespace

TEST_CASE("gateway identity: IPv4, IPv6 and FQDN round trip") {
    for (const GatewayIdentity& gw : {GatewayIdentity{*IpAddress::parse("192.0.2.9")},
                                      GatewayIdentity{*IpAddress::parse("2001:db8::9")},
                                      GatewayIdentity{std::string("vpn2.example.com")}}) {
        const Bytes wire = encode_gateway_identity(gw);
        Bytes rest{0xff};
        const auto back = decode_gateway_identity(wire, &rest);
        REQUIRE(back);
        CHECK(*back == gw);
        CHECK(rest.empty());
    }
    CHECK(encode_gateway_identity({*IpAddress::parse("192.0.2.9")}) == Bytes{1, 4, 192, 0, 2, 9});
    CHECK(encode_gateway_identity({std::string("a.example")}) ==
          Bytes{3, 9, 'a', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e'});
}

TEST_CASE("REDIRECT: the nonce data after the identity is kept") {
    Bytes data{1, 4, 192, 0, 2, 9, 0xaa, 0xbb, 0xcc};
    const auto r = read_redirect(redirect_with(data));
    REQUIRE(r.present);
    REQUIRE(r.redirect);
    CHECK(r.redirect->gateway.to_string() == "192.0.2.9");
    CHECK(r.redirect->nonce == Bytes{0xaa, 0xbb, 0xcc});
    const auto made = read_redirect({make_redirect({std::string("vpn2.example.com")}, Bytes{1, 2})});
    REQUIRE(made.redirect);
    CHECK(made.redirect->gateway.to_string() == "vpn2.example.com");
    CHECK(made.redirect->nonce == Bytes{1, 2});
}

TEST_CASE("REDIRECT: malformed data is an error, never a crash") {
    CHECK_FALSE(read_redirect({}).present);
    const Bytes bad[] = {
        {},                                  // no type, no length
        {1},                                 // no length
        {1, 4, 192, 0, 2},                   // shorter than its length
        {1, 3, 192, 0, 2},                   // IPv4 with 3 octets
        {2, 4, 192, 0, 2, 9},                // IPv6 with 4 octets
        {3, 0},                              // empty FQDN
        {3, 3, 'a', ' ', 'b'},               // not a host name
        {3, 4, 'a', '.', '.', 'b'},          // empty label
        {4, 4, 192, 0, 2, 9},                // unknown type
        {0, 0},
    };
    for (const auto& b : bad) {
        const auto r = read_redirect(redirect_with(b));
        CHECK(r.present);
        CHECK_FALSE(r.redirect);
        CHECK_FALSE(r.error.empty());
    }
    // Every truncation and every flipped bit of a good one decodes or fails cleanly.
    const Bytes good{3, 16, 'v', 'p', 'n', '2', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', 1, 2};
    for (std::size_t n = 0; n <= good.size(); ++n) (void)decode_gateway_identity(ByteView(good.data(), n));
    for (std::size_t i = 0; i < good.size() * 8; ++i) {
        Bytes b = good;
        b[i / 8] ^= std::uint8_t(1 << (i % 8));
        (void)read_redirect(redirect_with(b));
    }
    CHECK(decode_gateway_identity(good));
}

TEST_CASE("REDIRECTED_FROM and REDIRECT_SUPPORTED carry what RFC 5685 §4/§9 say") {
    const auto from = make_redirected_from({*IpAddress::parse("192.0.2.1")});
    const auto* n = std::get_if<msg::NotifyPayload>(&from.body);
    REQUIRE(n);
    CHECK(n->type == notify_redirected_from);
    CHECK(n->data == Bytes{1, 4, 192, 0, 2, 1});
    const auto supported = make_redirect_supported();
    const auto* s = std::get_if<msg::NotifyPayload>(&supported.body);
    REQUIRE(s);
    CHECK(s->type == notify_redirect_supported);
    CHECK(s->data.empty());
}

TEST_CASE("more than five redirects in a row are a loop; a tunnel in between starts a new chain") {
    RedirectChain chain;
    CHECK_FALSE(chain.follow("192.0.2.1", "192.0.2.20", false));
    for (int i = 0; i < 4; ++i) CHECK_FALSE(chain.follow("x", i % 2 ? "192.0.2.20" : "192.0.2.1", false));
    const auto loop = chain.follow("x", "192.0.2.1", false);  // the sixth in a row
    REQUIRE(loop);
    CHECK(loop->find("more than 5 times in a row (192.0.2.1 -> 192.0.2.20 -> 192.0.2.1") != std::string::npos);

    RedirectChain fresh;
    for (int i = 0; i < 20; ++i) CHECK_FALSE(fresh.follow("192.0.2.1", "192.0.2.20", true));
}
