// How the client configures the host for a tunnel — the "builder" idea of OpenVPN 3 core (not its code):
// the session describes the tunnel (device, addresses, routes), then establish()es it, and teardown()
// takes back exactly what establish() did. client/ sees only this interface, so its tests use
// RecordingNetworkBuilder and need neither root nor netlink.
#pragma once
#include "core/ip_address.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ikevpn::platform {

class NetworkBuilder {
public:
    virtual ~NetworkBuilder() = default;

    // Describing the tunnel: nothing touches the system before establish().
    virtual void set_tun(int ifindex, const std::string& name, std::uint32_t mtu) = 0;
    virtual void add_address(const IpAddress& address, std::uint8_t prefix_len) = 0;
    // Traffic to `destination` goes into the tunnel; `source` (optional) is the preferred source address,
    // normally the virtual IP.
    virtual void add_route(const IpPrefix& destination, std::optional<IpAddress> source) = 0;

    // Applies the description. On failure it undoes its partial work and throws PlatformError.
    virtual void establish() = 0;
    // Undoes everything establish() did, in reverse order, and forgets the description so that the builder
    // can describe and establish a new tunnel. Never throws; calling it twice is harmless.
    virtual void teardown() noexcept = 0;
};

// A fake for tests of client/: records every call as one line of text, e.g. "set_tun 7 ikevpn0 mtu 1400",
// "add_address 10.0.0.2/32", "add_route 0.0.0.0/0 src 10.0.0.2", "establish", "teardown".
class RecordingNetworkBuilder : public NetworkBuilder {
public:
    void set_tun(int ifindex, const std::string& name, std::uint32_t mtu) override;
    void add_address(const IpAddress& address, std::uint8_t prefix_len) override;
    void add_route(const IpPrefix& destination, std::optional<IpAddress> source) override;
    void establish() override;  // recorded, then throws if fail_next_establish() was called
    void teardown() noexcept override;

    // The next establish() throws PlatformError with this errno (e.g. EEXIST) instead of succeeding.
    void fail_next_establish(int error_number) { fail_with_ = error_number; }
    const std::vector<std::string>& calls() const { return calls_; }
    bool established() const { return established_; }

private:
    std::vector<std::string> calls_;
    bool established_ = false;
    int fail_with_ = 0;
};

}  // namespace ikevpn::platform
