#include "platform/network_builder.hpp"
#include "platform/platform_error.hpp"

#include <cerrno>
#include <doctest/doctest.h>

using namespace ikevpn;
using namespace ikevpn::platform;

TEST_CASE("the recording builder logs each call as text and can fail establish on request") {
    RecordingNetworkBuilder recorder;
    NetworkBuilder& builder = recorder;
    builder.set_tun(7, "ikevpn0", 1400);
    builder.add_address(IpAddress::parse("10.0.0.2").value(), 32);
    builder.add_route(IpPrefix::parse("0.0.0.0/0").value(), IpAddress::parse("10.0.0.2"));
    builder.add_route(IpPrefix::parse("2001:db8::/32").value(), std::nullopt);
    builder.establish();
    CHECK(recorder.established());
    builder.teardown();
    CHECK_FALSE(recorder.established());
    CHECK(recorder.calls() == std::vector<std::string>{"set_tun 7 ikevpn0 mtu 1400", "add_address 10.0.0.2/32",
                                                        "add_route 0.0.0.0/0 src 10.0.0.2",
                                                        "add_route 2001:db8::/32", "establish", "teardown"});

    recorder.fail_next_establish(EEXIST);
    try {
        builder.establish();
        FAIL("establish should have failed");
    } catch (const PlatformError& error) {
        CHECK(error.code() == EEXIST);
    }
    CHECK_FALSE(recorder.established());
    builder.establish();  // the failure was for one call only
    CHECK(recorder.established());
}
