#include "client/log_describe.hpp"

#include <doctest/doctest.h>

using namespace ikevpn;
using client::describe_action;
using client::describe_datagram;

TEST_CASE("describe_datagram: hostile or truncated input is described, never trusted") {
    const Bytes empty;
    CHECK(describe_datagram(empty, false).rfind("received 0 bytes that do not decode as IKEv2 (", 0) == 0);
    Bytes garbage(27, 0xff);  // one byte short of an IKE header
    CHECK(describe_datagram(garbage, true).rfind("sent 27 bytes that do not decode as IKEv2 (", 0) == 0);
    Bytes lying(28, 0);
    lying[17] = 0x20;  // version 2.0
    lying[24] = 0xff;  // declared length far beyond the datagram
    CHECK(describe_datagram(lying, false).find("do not decode") != std::string::npos);
}

TEST_CASE("describe_action: a CHILD SA shows SPIs, algorithms and selectors, never its keys") {
    core::InstallChildSa install;
    install.child.spi_in = 0xc0ffee01;
    install.child.spi_out = 0x0badf00d;
    install.child.encr_id = 12;
    install.child.key_bits = 128;
    install.child.integ_id = 12;
    install.child.key_in = SecureBytes(16, 0xa5);
    install.child.key_out = SecureBytes(16, 0x5a);
    install.child.integ_key_in = SecureBytes(32, 0x3c);
    install.child.integ_key_out = SecureBytes(32, 0xc3);
    msg::TrafficSelector ts;
    ts.start_address = {198, 51, 100, 0};
    ts.end_address = {198, 51, 100, 255};
    install.child.remote_ts = {ts};
    const auto line = describe_action(install);
    CHECK(line == "install CHILD SA: spi_in c0ffee01 spi_out 0badf00d, ENCR 12/128, INTEG 12, local none, "
                  "remote 198.51.100.0-198.51.100.255 (keys not shown)");
    for (const char* hex : {"a5a5a5a5", "5a5a5a5a", "3c3c3c3c", "c3c3c3c3"}) CHECK(line.find(hex) == std::string::npos);

    CHECK(describe_action(core::RemoveChildSa{0x1234}) == "remove CHILD SA spi_in 00001234");
    CHECK(describe_action(core::Closed{core::CloseCode::timeout, "no answer"}) == "closed: TIMEOUT (no answer)");
    CHECK(describe_action(core::Progress{"shown elsewhere"}).empty());
    CHECK(describe_action(core::SendDatagram{}).empty());
}
