#include "platform/network_builder.hpp"
#include "platform/platform_error.hpp"

namespace ikevpn::platform {

void RecordingNetworkBuilder::set_tun(int ifindex, const std::string& name, std::uint32_t mtu) {
    calls_.push_back("set_tun " + std::to_string(ifindex) + " " + name + " mtu " + std::to_string(mtu));
}

void RecordingNetworkBuilder::add_address(const IpAddress& address, std::uint8_t prefix_len) {
    calls_.push_back("add_address " + address.to_string() + "/" + std::to_string(prefix_len));
}

void RecordingNetworkBuilder::add_route(const IpPrefix& destination, std::optional<IpAddress> source) {
    std::string call = "add_route " + destination.to_string();
    if (source) call += " src " + source->to_string();
    calls_.push_back(call);
}

void RecordingNetworkBuilder::establish() {
    calls_.push_back("establish");
    if (fail_with_ != 0) {
        int error_number = fail_with_;
        fail_with_ = 0;
        throw PlatformError("establish (injected failure)", error_number);
    }
    established_ = true;
}

void RecordingNetworkBuilder::teardown() noexcept {
    try {
        calls_.push_back("teardown");
    } catch (...) {  // out of memory while recording: nothing sensible left to do in a fake
    }
    established_ = false;
}

}  // namespace ikevpn::platform
