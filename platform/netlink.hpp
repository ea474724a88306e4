// rtnetlink (NETLINK_ROUTE) spoken directly: links, addresses, routes, policy rules and route lookups.
// Every change is sent with NLM_F_ACK and waits for the kernel's answer to its own sequence number;
// a negative answer becomes PlatformError (with errno in code() and the kernel's extended-ack text, when
// there is one, in what()). Blocking, configuration-time only — never on the packet path.
#pragma once
#include "core/ip_address.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ikevpn::platform {

struct LinkInfo {
    int ifindex = 0;
    std::string name;
    std::uint32_t mtu = 0;
    bool up = false;  // IFF_UP (administratively up)
    // IFF_LOWER_UP: the link below carries packets. A Wi-Fi or cable that lost its carrier stays
    // administratively up, and its routes stay too (flagged linkdown) — only this flag tells.
    bool carrier = false;
    bool loopback = false;  // IFF_LOOPBACK
};

struct AddressInfo {
    int ifindex = 0;
    IpAddress address;
    std::uint8_t prefix_len = 0;
};

struct RouteSpec {
    IpPrefix destination;
    int ifindex = 0;
    std::uint32_t table = 254;  // RT_TABLE_MAIN
    std::optional<IpAddress> source;   // RTA_PREFSRC: the source address the kernel picks for this route
    std::optional<IpAddress> gateway;  // RTA_GATEWAY; none = on-link route through the device
    bool operator==(const RouteSpec&) const = default;
};

struct RuleSpec {
    IpAddress::Family family = IpAddress::Family::v4;
    std::uint32_t priority = 0;
    std::optional<std::uint32_t> fwmark;  // matched with mask 0xffffffff
    bool invert = false;                  // FIB_RULE_INVERT: "not fwmark M"
    std::uint32_t table = 254;
    // FRA_SUPPRESS_PREFIXLEN: ignore lookup results with a prefix length <= this ("suppress_prefixlength 0"
    // skips only default routes).
    std::optional<std::uint8_t> suppress_prefixlength;
    bool operator==(const RuleSpec&) const = default;
};

struct RouteLookup {
    IpAddress source;
    int ifindex = 0;
    std::optional<IpAddress> gateway;
    std::uint32_t metric = 0;  // RTA_PRIORITY of the route found
};

class Netlink {
public:
    Netlink();  // opens and binds the socket; throws PlatformError
    Netlink(Netlink&& other) noexcept;
    Netlink& operator=(Netlink&& other) noexcept;
    Netlink(const Netlink&) = delete;
    Netlink& operator=(const Netlink&) = delete;
    ~Netlink();

    int link_index(const std::string& name);  // RTM_GETLINK by IFLA_IFNAME; throws (ENODEV) if absent
    LinkInfo link_info(int ifindex);
    // Sets IFF_UP on or off and, when given, the MTU.
    void set_link(int ifindex, bool up, std::optional<std::uint32_t> mtu = std::nullopt);

    // `address` is the host address (e.g. the virtual IP), `prefix_len` its on-link prefix (32 for a
    // lone virtual IP). IPv6 addresses are added with IFA_F_NODAD: a tunnel has no neighbours to
    // collide with, and a tentative address could not be used as a source.
    void add_address(int ifindex, const IpAddress& address, std::uint8_t prefix_len);
    void del_address(int ifindex, const IpAddress& address, std::uint8_t prefix_len);
    std::vector<AddressInfo> list_addresses(IpAddress::Family family);  // all interfaces

    void add_route(const RouteSpec& route);  // fails with EEXIST if the same route exists
    void del_route(const RouteSpec& route);
    std::vector<RouteSpec> list_routes(IpAddress::Family family, std::uint32_t table);

    void add_rule(const RuleSpec& rule);  // fails with EEXIST if an identical rule exists
    void del_rule(const RuleSpec& rule);
    std::vector<RuleSpec> list_rules(IpAddress::Family family);

    // Asks the kernel which route, device and source address a packet to `destination` (carrying
    // `mark`, when given) would take — policy rules included. With `oif`, only routes out of that device
    // count (as for a socket bound to it with SO_BINDTOIFINDEX).
    RouteLookup route_get(const IpAddress& destination, std::optional<std::uint32_t> mark = std::nullopt,
                          std::optional<int> oif = std::nullopt);

    // A buffer of the bytes of one netlink message; public only for the implementation's helpers.
    using Message = std::vector<std::uint8_t>;
    using MessageHandler = std::function<void(std::uint16_t type, std::span<const std::uint8_t> payload)>;

private:
    // Sends `request` (its header is completed here) and reads answers until the ack, the error or the end
    // of a dump, handing every other message to `on_message`. Throws PlatformError("<what>: ...").
    void transact(Message& request, const std::string& what, const MessageHandler& on_message = {});
    void close_fd() noexcept;

    int fd_ = -1;
    std::uint32_t sequence_ = 0;
    std::uint32_t port_id_ = 0;
};

// True when the host runs IPv6 at all (the net.ipv6.conf.all.disable_ipv6 sysctl exists and is 0).
bool ipv6_available();

}  // namespace ikevpn::platform
