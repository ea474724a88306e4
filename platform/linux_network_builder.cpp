#include "platform/linux_network_builder.hpp"

#include "platform/platform_error.hpp"

#include <algorithm>
#include <cerrno>

namespace ikevpn::platform {
namespace {

constexpr std::uint32_t kMainTable = 254;  // RT_TABLE_MAIN

bool already_gone(int error_number) {
    return error_number == ENOENT || error_number == ESRCH || error_number == ENODEV ||
           error_number == EADDRNOTAVAIL;
}

RuleSpec tunnel_rule(IpAddress::Family family, const PolicyRouting& policy) {
    RuleSpec rule;
    rule.family = family;
    rule.priority = policy.priority;
    rule.fwmark = policy.fwmark;
    rule.invert = true;
    rule.table = policy.table;
    return rule;
}

RuleSpec suppress_rule(IpAddress::Family family, const PolicyRouting& policy) {
    RuleSpec rule;
    rule.family = family;
    rule.priority = policy.priority - 1;
    rule.table = kMainTable;
    rule.suppress_prefixlength = 0;
    return rule;
}

}  // namespace

LinuxNetworkBuilder::LinuxNetworkBuilder(PolicyRouting policy) : policy_(policy) {}

LinuxNetworkBuilder::LinuxNetworkBuilder(Netlink netlink, PolicyRouting policy)
    : netlink_(std::move(netlink)), policy_(policy) {}

LinuxNetworkBuilder::~LinuxNetworkBuilder() { teardown(); }

void LinuxNetworkBuilder::set_tun(int ifindex, const std::string& name, std::uint32_t mtu) {
    ifindex_ = ifindex;
    name_ = name;
    mtu_ = mtu;
}

void LinuxNetworkBuilder::add_address(const IpAddress& address, std::uint8_t prefix_len) {
    addresses_.push_back({address, prefix_len});
}

void LinuxNetworkBuilder::add_route(const IpPrefix& destination, std::optional<IpAddress> source) {
    routes_.push_back({destination, source});
}

void LinuxNetworkBuilder::establish() {
    if (established_) throw PlatformError("establish tunnel " + name_ + ": already established", EALREADY);
    if (ifindex_ <= 0) throw PlatformError("establish tunnel: no TUN device set", EINVAL);
    try {
        LinkInfo before = netlink_.link_info(ifindex_);
        netlink_.set_link(ifindex_, true, mtu_ > 0 ? std::optional<std::uint32_t>(mtu_) : std::nullopt);
        done_.push_back(LinkUndo{ifindex_, before.up, before.mtu});
        for (const Address& a : addresses_) {
            netlink_.add_address(ifindex_, a.address, a.prefix_len);
            done_.push_back(AddressUndo{ifindex_, a.address, a.prefix_len});
        }
        for (const Route& r : routes_) {
            RouteSpec route{r.destination, ifindex_, policy_.table, r.source, std::nullopt};
            netlink_.add_route(route);
            done_.push_back(route);
        }
        add_rules_for(IpAddress::Family::v4);
        add_rules_for(IpAddress::Family::v6);
    } catch (...) {
        teardown();
        throw;
    }
    established_ = true;
}

void LinuxNetworkBuilder::add_rules_for(IpAddress::Family family) {
    auto of_family = [family](const Route& r) { return r.destination.address.family() == family; };
    if (std::none_of(routes_.begin(), routes_.end(), of_family)) return;
    bool tunnels_default = std::any_of(routes_.begin(), routes_.end(), [&](const Route& r) {
        return of_family(r) && r.destination.length == 0;
    });
    if (tunnels_default) {
        RuleSpec rule = suppress_rule(family, policy_);
        netlink_.add_rule(rule);
        done_.push_back(rule);
    }
    RuleSpec rule = tunnel_rule(family, policy_);
    netlink_.add_rule(rule);
    done_.push_back(rule);
}

void LinuxNetworkBuilder::teardown() noexcept {
    teardown_errors_.clear();
    while (!done_.empty()) {
        try {
            undo(done_.back());
        } catch (const PlatformError& error) {
            if (!already_gone(error.code())) teardown_errors_.emplace_back(error.what());
        } catch (const std::exception& error) {
            teardown_errors_.emplace_back(error.what());
        }
        done_.pop_back();
    }
    addresses_.clear();
    routes_.clear();
    ifindex_ = 0;
    name_.clear();
    mtu_ = 0;
    established_ = false;
}

void LinuxNetworkBuilder::undo(const Step& step) {
    if (const auto* link = std::get_if<LinkUndo>(&step)) {
        netlink_.set_link(link->ifindex, link->was_up, link->mtu > 0 ? std::optional(link->mtu) : std::nullopt);
    } else if (const auto* address = std::get_if<AddressUndo>(&step)) {
        netlink_.del_address(address->ifindex, address->address, address->prefix_len);
    } else if (const auto* route = std::get_if<RouteSpec>(&step)) {
        netlink_.del_route(*route);
    } else if (const auto* rule = std::get_if<RuleSpec>(&step)) {
        netlink_.del_rule(*rule);
    }
}

std::size_t LinuxNetworkBuilder::cleanup_stale(Netlink& netlink, const PolicyRouting& policy) {
    std::size_t removed = 0;
    auto remove = [&](auto&& action) {
        try {
            action();
            ++removed;
        } catch (const PlatformError& error) {
            if (!already_gone(error.code())) throw;
        }
    };
    for (auto family : {IpAddress::Family::v4, IpAddress::Family::v6}) {
        for (const RuleSpec& rule : netlink.list_rules(family)) {
            bool ours = (rule.priority == policy.priority && rule.table == policy.table) ||
                        (rule.priority == policy.priority - 1 && rule.table == kMainTable &&
                         rule.suppress_prefixlength.has_value());
            if (ours) remove([&] { netlink.del_rule(rule); });
        }
        for (const RouteSpec& route : netlink.list_routes(family, policy.table))
            remove([&] { netlink.del_route(route); });
    }
    return removed;
}

}  // namespace ikevpn::platform
