// NetworkBuilder for Linux, with policy routing so that tunnel routes never cut off the path to the
// gateway (the scheme wg-quick made familiar):
//
//   - the client's UDP sockets carry firewall mark M (open_udp_socket(..., policy.fwmark, ...));
//   - every tunnel route goes into a dedicated table T, never into "main";
//   - rule P:    "not fwmark M lookup T"  — unmarked traffic consults the tunnel table first;
//   - rule P-1:  "lookup main suppress_prefixlength 0" — added only when a default route (prefix length 0)
//     of that family is tunneled: the main table still wins with anything more specific than its default
//     route, so LAN routes keep working.
//
// Marked packets (IKE and ESP to the gateway) skip rule P and follow the normal routes. Each step
// establish() performs is recorded; teardown() (also run by the destructor) undoes them in reverse order,
// treating objects that are already gone (ENOENT, ESRCH, ENODEV, EADDRNOTAVAIL) as undone.
//
// Known limit: with strict reverse-path filtering (rp_filter=1) on the uplink, unmarked replies from the
// gateway fail the reverse lookup (it finds table T); loose mode (2, Debian's default via systemd) or 0
// is fine. wg-quick works around this with src_valid_mark and a conntrack mark; we do not touch sysctls.
#pragma once
#include "platform/netlink.hpp"
#include "platform/network_builder.hpp"

#include <string>
#include <variant>
#include <vector>

namespace ikevpn::platform {

struct PolicyRouting {
    // 51880 = 0xcaa8 ("IKE" near WireGuard's 51820): one number for mark and table, as wg-quick does.
    static constexpr std::uint32_t kDefaultMark = 51880;
    std::uint32_t fwmark = kDefaultMark;
    std::uint32_t table = kDefaultMark;
    // Priority of "not fwmark M lookup T"; the suppress rule gets priority - 1. Both sit below main (32766)
    // so that they are consulted before it, and are fixed so that cleanup_stale() can find them.
    std::uint32_t priority = 31880;
};

class LinuxNetworkBuilder final : public NetworkBuilder {
public:
    explicit LinuxNetworkBuilder(PolicyRouting policy = {});  // opens its own rtnetlink socket
    LinuxNetworkBuilder(Netlink netlink, PolicyRouting policy);
    LinuxNetworkBuilder(const LinuxNetworkBuilder&) = delete;
    LinuxNetworkBuilder& operator=(const LinuxNetworkBuilder&) = delete;
    ~LinuxNetworkBuilder() override;  // teardown()

    void set_tun(int ifindex, const std::string& name, std::uint32_t mtu) override;
    void add_address(const IpAddress& address, std::uint8_t prefix_len) override;
    void add_route(const IpPrefix& destination, std::optional<IpAddress> source) override;
    // Order: link up + MTU, addresses, routes into table T, then the rules (suppress rule first), so that
    // traffic is steered into T only once T is complete. Throws PlatformError after undoing partial work.
    void establish() override;
    void teardown() noexcept override;

    bool established() const { return established_; }
    const PolicyRouting& policy() const { return policy_; }
    // Failures during the last teardown() other than "already gone" (empty when all went well).
    const std::vector<std::string>& teardown_errors() const { return teardown_errors_; }

    // After a crash: deletes our two rules (both families, identified by priority and table) and every
    // route left in table T. Returns how many objects it removed. Throws PlatformError.
    static std::size_t cleanup_stale(Netlink& netlink, const PolicyRouting& policy = {});

private:
    struct LinkUndo {  // restores the link's previous state
        int ifindex;
        bool was_up;
        std::uint32_t mtu;
    };
    struct AddressUndo {
        int ifindex;
        IpAddress address;
        std::uint8_t prefix_len;
    };
    using Step = std::variant<LinkUndo, AddressUndo, RouteSpec, RuleSpec>;
    struct Address {
        IpAddress address;
        std::uint8_t prefix_len;
    };
    struct Route {
        IpPrefix destination;
        std::optional<IpAddress> source;
    };

    void add_rules_for(IpAddress::Family family);
    void undo(const Step& step);

    Netlink netlink_;
    PolicyRouting policy_;
    int ifindex_ = 0;
    std::string name_;
    std::uint32_t mtu_ = 0;
    std::vector<Address> addresses_;
    std::vector<Route> routes_;
    std::vector<Step> done_;
    std::vector<std::string> teardown_errors_;
    bool established_ = false;
};

}  // namespace ikevpn::platform
