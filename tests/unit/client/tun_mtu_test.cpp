// tun.mtu "auto" after a move between address families (issue 5, roaming follow-ups): the TUN MTU is the
// largest inner packet that fits the path once wrapped in ESP (RFC 4303 §2: SPI 4 + sequence 4 + IV,
// payload + padding + 2 trailer octets aligned, ICV), UDP (8, RFC 3948) and an outer IPv4 (20) or IPv6
// (40, RFC 8200) header. Values worked out by hand for AES-GCM-16 (IV 8, ICV 16, alignment 4).
#include "client/data_path.hpp"
#include "dataplane/engine.hpp"

#include "../dataplane/dp_test_util.hpp"

#include <doctest/doctest.h>

using namespace ikevpn;
using namespace ikevpn::client;

namespace {

struct Gcm {
    dataplane::Engine engine;
    const dataplane::EspSa* sa = nullptr;
    Gcm() {
        const auto any4 = dataplane::TrafficSelector::any_v4();
        REQUIRE(engine.sas().install(dataplane::test::suite_params(dataplane::test::all_suites[0], 0x1001, dataplane::Direction::outbound, 7,
                                                        {any4}, {any4})) == dataplane::InstallResult::ok);
        sa = engine.sas().find(0x1001, dataplane::Direction::outbound);
        REQUIRE(sa);
    }
};

}  // namespace

TEST_CASE("tun_mtu_for_path: IPv4 and IPv6 outer headers over a 1500-octet path") {
    Gcm gcm;
    INFO(dataplane::test::all_suites[0].name);
    // IPv4: 1500 - 20 - 8 = 1472 for ESP; - 8 (SPI, seq) - 8 (IV) - 16 (ICV) = 1440 = payload + pad + 2.
    CHECK(tun_mtu_for_path(1500, false, *gcm.sa) == 1438u);
    // IPv6: 1500 - 40 - 8 = 1452; - 32 = 1420 → 1418: 20 octets less.
    CHECK(tun_mtu_for_path(1500, true, *gcm.sa) == 1418u);
    // A move IPv6 → IPv4 and back: the MTU follows the outer family, in both directions.
    CHECK(*tun_mtu_for_path(1500, false, *gcm.sa) - *tun_mtu_for_path(1500, true, *gcm.sa) == 20u);
}

TEST_CASE("tun_mtu_for_path: small paths") {
    Gcm gcm;
    CHECK(tun_mtu_for_path(1280, true, *gcm.sa) == 1198u);  // 1280 - 48 - 32 = 1200 → 1198
    CHECK(tun_mtu_for_path(48, true, *gcm.sa) == std::nullopt);  // not even the outer headers
    CHECK(tun_mtu_for_path(60, false, *gcm.sa) == std::nullopt);  // 32 octets of ESP room: no payload fits
}
