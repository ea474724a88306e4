#include "platform/netlink_monitor.hpp"

#include "platform/netlink.hpp"
#include "platform/netlink_message.hpp"
#include "platform/platform_error.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace ikevpn::platform {
namespace {

using nl::Span;

// Bursts (an interface going down drops dozens of routes at once) must fit; an overflow is still handled.
constexpr int kMonitorBufferBytes = 1 << 20;
constexpr std::uint32_t kUnusableSource = IFA_F_TENTATIVE | IFA_F_DEPRECATED | IFA_F_DADFAILED;

IpAddress::Family family_of(int af) { return af == AF_INET6 ? IpAddress::Family::v6 : IpAddress::Family::v4; }

struct AddressState {
    std::uint32_t flags = 0;  // IFA_F_*
    int ifindex = 0;
};

// Flags and interface of `address` (RTM_GETADDR dump on a socket of its own, so the monitor's
// notification stream is not mixed with the dump); nullopt when the address is not configured.
std::optional<AddressState> address_state(const IpAddress& address) {
    const int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) throw_errno("open netlink socket for an address dump");
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    nl::MessageBuilder request(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP);
    ifaddrmsg header{};
    header.ifa_family = static_cast<unsigned char>(nl::address_family(address.family()));
    request.put_header(header);
    auto& bytes = request.bytes();
    nlmsghdr h;
    std::memcpy(&h, bytes.data(), sizeof h);
    h.nlmsg_len = static_cast<std::uint32_t>(bytes.size());
    h.nlmsg_seq = 1;
    std::memcpy(bytes.data(), &h, sizeof h);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
        throw_errno("send netlink address dump");
    std::optional<AddressState> found;
    std::vector<std::uint8_t> buffer(32 * 1024);
    for (bool done = false; !done;) {
        const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
        if (n < 0) throw_errno("read netlink address dump");
        const bool ok = nl::for_each_message(Span(buffer.data(), std::size_t(n)), [&](const nlmsghdr& m, Span payload) {
            if (m.nlmsg_type == NLMSG_DONE || m.nlmsg_type == NLMSG_ERROR) done = true;
            if (m.nlmsg_type != RTM_NEWADDR) return;
            auto info = nl::read_header<ifaddrmsg>(payload);
            if (!info || family_of(info->ifa_family) != address.family()) return;
            std::uint32_t flags = info->ifa_flags;
            std::optional<IpAddress> local, peer;
            nl::for_each_attr(nl::attributes_after(payload, sizeof(ifaddrmsg)), [&](std::uint16_t type, Span value) {
                if (type == IFA_LOCAL) local = nl::attr_address(value, address.family());
                if (type == IFA_ADDRESS) peer = nl::attr_address(value, address.family());
                if (type == IFA_FLAGS) flags = nl::attr_u32(value).value_or(flags);
            });
            if (local.value_or(peer.value_or(IpAddress{})) == address && !found)
                found = AddressState{flags, int(info->ifa_index)};
        });
        if (!ok || n == 0) break;
    }
    return found;
}

}  // namespace

NetlinkMonitor::NetlinkMonitor() {
    fd_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    if (fd_ < 0) throw_errno("open netlink monitor socket");
    // SO_RCVBUFFORCE needs CAP_NET_ADMIN, which connect has; the plain option is the fallback.
    if (::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &kMonitorBufferBytes, sizeof kMonitorBufferBytes) != 0)
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &kMonitorBufferBytes, sizeof kMonitorBufferBytes);
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    local.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
        const int error = errno;
        ::close(fd_);
        throw PlatformError("subscribe to netlink link, address and route notifications", error);
    }
}

NetlinkMonitor::~NetlinkMonitor() {
    if (fd_ >= 0) ::close(fd_);
}

bool NetlinkMonitor::ignored_interface(int ifindex) const {
    return std::find(ignored_ifindexes_.begin(), ignored_ifindexes_.end(), ifindex) != ignored_ifindexes_.end();
}

bool NetlinkMonitor::is_relevant(std::uint16_t type, const std::uint8_t* data, std::size_t length) const {
    const Span payload(data, length);
    switch (type) {
    case RTM_NEWLINK:
    case RTM_DELLINK: {
        auto info = nl::read_header<ifinfomsg>(payload);
        return info && !ignored_interface(info->ifi_index);
    }
    case RTM_NEWADDR:
    case RTM_DELADDR: {
        auto info = nl::read_header<ifaddrmsg>(payload);
        if (!info || ignored_interface(int(info->ifa_index))) return false;
        std::uint32_t flags = info->ifa_flags;
        nl::for_each_attr(nl::attributes_after(payload, sizeof(ifaddrmsg)), [&](std::uint16_t kind, Span value) {
            if (kind == IFA_FLAGS) flags = nl::attr_u32(value).value_or(flags);
        });
        // A new IPv6 address is announced again once DAD is over; until then it cannot be a source.
        return !(type == RTM_NEWADDR && (flags & IFA_F_TENTATIVE));
    }
    case RTM_NEWROUTE:
    case RTM_DELROUTE: {
        auto info = nl::read_header<rtmsg>(payload);
        if (!info) return false;
        std::uint32_t table = info->rtm_table;
        int oif = 0;
        nl::for_each_attr(nl::attributes_after(payload, sizeof(rtmsg)), [&](std::uint16_t kind, Span value) {
            if (kind == RTA_TABLE) table = nl::attr_u32(value).value_or(table);
            if (kind == RTA_OIF) oif = int(nl::attr_u32(value).value_or(0));
        });
        if (std::find(ignored_tables_.begin(), ignored_tables_.end(), table) != ignored_tables_.end()) return false;
        return !ignored_interface(oif);
    }
    default:
        return false;
    }
}

bool NetlinkMonitor::drain() {
    std::array<std::uint8_t, 64 * 1024> buffer;
    bool changed = false;
    for (;;) {
        const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == ENOBUFS) {  // notifications were lost: assume the worst
                changed = true;
                continue;
            }
            break;  // EAGAIN: drained
        }
        if (n == 0) break;
        nl::for_each_message(Span(buffer.data(), std::size_t(n)), [&](const nlmsghdr& m, Span payload) {
            ++notifications_;
            if (is_relevant(m.nlmsg_type, payload.data(), payload.size())) {
                ++relevant_;
                changed = true;
            }
        });
    }
    return changed;
}

std::optional<IpAddress> NetlinkMonitor::source_for(const IpAddress& gateway, std::optional<std::uint32_t> mark) const {
    auto choice = path_for(gateway, mark);
    return choice ? std::optional<IpAddress>(choice->source) : std::nullopt;
}

// A source the route lookup offers may still be useless: an IPv6 address tentative, deprecated or failed DAD.
bool NetlinkMonitor::usable_source(const IpAddress& source) const {
    if (source.is_v4()) return true;
    auto state = address_state(source);
    return state && !(state->flags & kUnusableSource);
}

std::optional<NetlinkMonitor::PathChoice> NetlinkMonitor::path_for(const IpAddress& gateway,
                                                                   std::optional<std::uint32_t> mark) const {
    try {
        Netlink netlink;
        RouteLookup lookup;
        try {
            lookup = netlink.route_get(gateway, mark);
        } catch (const PlatformError&) {
            return std::nullopt;  // ENETUNREACH, EHOSTUNREACH, no source: no path
        }
        if (ignored_interface(lookup.ifindex)) return std::nullopt;
        if (netlink.link_info(lookup.ifindex).carrier)
            return usable_source(lookup.source) ? std::optional(PathChoice{lookup.source, lookup.ifindex, false})
                                                : std::nullopt;
        return path_avoiding(netlink, gateway, mark, lookup.ifindex);
    } catch (const PlatformError&) {
        return std::nullopt;
    }
}

// The kernel routes into `dead` (no carrier): the best route to the gateway out of any other device that
// is up, has carrier and an address of the gateway's family.
std::optional<NetlinkMonitor::PathChoice> NetlinkMonitor::path_avoiding(Netlink& netlink, const IpAddress& gateway,
                                                                        std::optional<std::uint32_t> mark,
                                                                        int dead) const {
    std::vector<int> candidates;
    for (const auto& a : netlink.list_addresses(gateway.family()))
        if (a.ifindex != dead && !ignored_interface(a.ifindex) &&
            std::find(candidates.begin(), candidates.end(), a.ifindex) == candidates.end())
            candidates.push_back(a.ifindex);
    std::optional<PathChoice> best;
    std::uint32_t best_metric = 0;
    for (int ifindex : candidates) {
        try {
            const LinkInfo link = netlink.link_info(ifindex);
            if (!link.up || !link.carrier || link.loopback) continue;
            const RouteLookup r = netlink.route_get(gateway, mark, ifindex);
            const auto& b = r.source.bytes();  // fe80::/10 reaches no gateway beyond the link
            if (!r.source.is_v4() && b[0] == 0xfe && (b[1] & 0xc0) == 0x80) continue;
            if (r.ifindex != ifindex || !usable_source(r.source)) continue;
            if (!best || r.metric < best_metric) best = PathChoice{r.source, ifindex, true}, best_metric = r.metric;
        } catch (const PlatformError&) {
            // no route out of this device
        }
    }
    return best;
}

bool NetlinkMonitor::address_usable(const IpAddress& address) const {
    try {
        auto state = address_state(address);
        if (!state || (state->flags & kUnusableSource)) return false;
        Netlink netlink;
        const LinkInfo link = netlink.link_info(state->ifindex);
        return link.up && link.carrier;
    } catch (const PlatformError&) {
        return false;
    }
}

}  // namespace ikevpn::platform
