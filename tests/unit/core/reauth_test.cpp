// AUTH_LIFETIME (RFC 4478 §3) parsing and the reauthentication schedule (core/reauth.hpp), and the CP
// request of a reauthentication asking for the virtual IPs the tunnel has (core/ike_config.cpp).
#include "core/ike_config.hpp"
#include "core/reauth.hpp"

#include <doctest/doctest.h>

using namespace ikevpn;
using namespace ikevpn::core;
using std::chrono::seconds;

namespace {

std::vector<msg::Payload> with_notify(Bytes data, Bytes spi = {}) {
    return {msg::make_notify(msg::NotifyType::auth_lifetime, std::move(data), msg::ProtocolId::none, std::move(spi))};
}

}  // namespace

TEST_CASE("AUTH_LIFETIME: four octets, big-endian") {
    const auto l = read_auth_lifetime(with_notify({0x00, 0x01, 0x51, 0x80}));
    CHECK(l.present);
    REQUIRE(l.seconds);
    CHECK(*l.seconds == 86400);
    const auto again = read_auth_lifetime({make_auth_lifetime(3600)});
    REQUIRE(again.seconds);
    CHECK(*again.seconds == 3600);
}

TEST_CASE("AUTH_LIFETIME: absent, or malformed data, gives no lifetime") {
    CHECK_FALSE(read_auth_lifetime({}).present);
    CHECK_FALSE(read_auth_lifetime({msg::make_notify(msg::NotifyType::initial_contact)}).present);
    for (const Bytes& bad : {Bytes{}, Bytes{1, 2, 3}, Bytes{0, 0, 0, 10, 0}}) {
        const auto l = read_auth_lifetime(with_notify(bad));
        CHECK(l.present);
        CHECK_FALSE(l.seconds);
    }
    // An SPI does not belong to this notification (protocol ID 0, SPI size 0).
    CHECK_FALSE(read_auth_lifetime(with_notify({0, 0, 0, 10}, {1, 2, 3, 4})).seconds);
}

TEST_CASE("AUTH_LIFETIME: encoded as a 4-octet notification") {
    const auto p = make_auth_lifetime(0x01020304);
    const auto* n = std::get_if<msg::NotifyPayload>(&p.body);
    REQUIRE(n);
    CHECK(n->type == std::uint16_t(msg::NotifyType::auth_lifetime));
    CHECK(n->data == Bytes{1, 2, 3, 4});
    CHECK(n->spi.empty());
}

TEST_CASE("reauthentication starts a margin before the lifetime ends, jittered within it") {
    CHECK(reauth_margin(seconds(3600)) == seconds(300));   // a tenth, at most 5 min
    CHECK(reauth_margin(seconds(100)) == seconds(10));
    CHECK(reauth_margin(seconds(10)) == seconds(2));       // at least 2 s
    CHECK(reauth_margin(seconds(3)) == std::chrono::milliseconds(1500));  // never more than half
    CHECK(reauth_margin(seconds(0)) == seconds(0));
    CHECK(reauth_delay(seconds(100), 0.0) == seconds(90));
    CHECK(reauth_delay(seconds(100), 1.0) == seconds(80));
    CHECK(reauth_delay(seconds(100), 0.5) == seconds(85));
    CHECK(reauth_delay(seconds(0), 0.5) == seconds(0));
    for (int life : {1, 2, 5, 20, 86400}) {
        const auto d = reauth_delay(seconds(life), 1.0);
        CHECK(d >= Duration::zero());
        CHECK(d < seconds(life));
    }
}

TEST_CASE("a failed reauthentication retries sooner when the lifetime is running out") {
    CHECK(reauth_retry_delay(seconds(10), std::nullopt) == seconds(10));
    CHECK(reauth_retry_delay(seconds(10), seconds(100)) == seconds(10));
    CHECK(reauth_retry_delay(seconds(10), seconds(20)) == seconds(5));
    CHECK(reauth_retry_delay(seconds(10), seconds(2)) == seconds(1));
    CHECK(reauth_retry_delay(seconds(10), seconds(-5)) == seconds(1));
}

TEST_CASE("a reauthentication's CP request asks for the virtual IPs it has (RFC 7296 §3.15.1)") {
    SessionConfig c;
    c.remote_networks = {*IpPrefix::parse("0.0.0.0/0"), *IpPrefix::parse("::/0")};
    auto values = [&] {
        std::vector<msg::Payload> payloads;
        build_config_request(c, payloads);
        const auto* cp = msg::find<msg::CpPayload>(payloads, msg::PayloadType::cp);
        std::pair<Bytes, Bytes> v;
        for (const auto& a : cp->attributes) {
            if (a.type == std::uint16_t(msg::CfgAttr::internal_ip4_address)) v.first = a.value;
            if (a.type == std::uint16_t(msg::CfgAttr::internal_ip6_address)) v.second = a.value;
        }
        return v;
    };
    CHECK(values().first.empty());  // the first connect lets the gateway choose
    CHECK(values().second.empty());
    c.requested_virtual_ip = IpAddress::parse("203.0.113.7");
    c.requested_virtual_ip6 = IpAddress::parse("2001:db8::7");
    const auto [v4, v6] = values();
    CHECK(v4 == Bytes{203, 0, 113, 7});
    REQUIRE(v6.size() == 17);  // address and prefix length
    CHECK(v6[0] == 0x20);
    CHECK(v6[15] == 7);
    CHECK(v6[16] == 128);
}
