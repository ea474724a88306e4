#include "platform/netlink.hpp"

#include "platform/netlink_message.hpp"
#include "platform/platform_error.hpp"

#include <cerrno>
#include <fstream>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <utility>

namespace ikevpn::platform {
namespace {

using nl::MessageBuilder;
using nl::Span;

// Dump answers are batched by the kernel into datagrams of at most 32 KiB when the reader's buffer allows.
constexpr std::size_t kReceiveBufferBytes = 32 * 1024;
constexpr int kReplyTimeoutSeconds = 5;
constexpr std::uint16_t kRequestAck = NLM_F_REQUEST | NLM_F_ACK;
constexpr std::uint16_t kRequestCreate = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
constexpr std::uint16_t kRequestDump = NLM_F_REQUEST | NLM_F_DUMP;

IpAddress::Family family_of(int af) { return af == AF_INET6 ? IpAddress::Family::v6 : IpAddress::Family::v4; }
std::uint8_t full_length(IpAddress::Family family) { return family == IpAddress::Family::v4 ? 32 : 128; }

std::string device_text(int ifindex) {
    char name[IF_NAMESIZE] = {};
    if (ifindex > 0 && ::if_indextoname(static_cast<unsigned>(ifindex), name) != nullptr)
        return std::string("dev ") + name;
    return "ifindex " + std::to_string(ifindex);
}

std::string describe(const RouteSpec& route) {
    std::string text = route.destination.to_string();
    if (route.gateway) text += " via " + route.gateway->to_string();
    text += " " + device_text(route.ifindex) + " table " + std::to_string(route.table);
    if (route.source) text += " src " + route.source->to_string();
    return text;
}

std::string describe(const RuleSpec& rule) {
    std::string text = rule.family == IpAddress::Family::v4 ? "ipv4" : "ipv6";
    text += " priority " + std::to_string(rule.priority);
    if (rule.invert) text += " not";
    if (rule.fwmark) text += " fwmark " + std::to_string(*rule.fwmark);
    text += " lookup " + std::to_string(rule.table);
    if (rule.suppress_prefixlength)
        text += " suppress_prefixlength " + std::to_string(*rule.suppress_prefixlength);
    return text;
}

// Extended-ack text (NLMSGERR_ATTR_MSG) of an NLMSG_ERROR payload, when the kernel sent one.
std::string extended_ack_message(const nlmsghdr& header, Span payload) {
    if (!(header.nlmsg_flags & NLM_F_ACK_TLVS)) return {};
    auto error = nl::read_header<nlmsgerr>(payload);
    if (!error) return {};
    // Without NLM_F_CAPPED the whole request is echoed before the TLVs.
    std::size_t offset = sizeof(nlmsgerr);
    if (!(header.nlmsg_flags & NLM_F_CAPPED)) offset = sizeof(int) + NLMSG_ALIGN(error->msg.nlmsg_len);
    if (offset >= payload.size()) return {};
    std::string message;
    nl::for_each_attr(payload.subspan(offset), [&](std::uint16_t type, Span value) {
        if (type != NLMSGERR_ATTR_MSG || value.empty()) return;
        message.assign(reinterpret_cast<const char*>(value.data()), value.size());
        message.resize(std::char_traits<char>::length(message.c_str()));
    });
    return message;
}

MessageBuilder route_message(std::uint16_t type, std::uint16_t flags, const RouteSpec& route) {
    IpAddress::Family family = route.destination.address.family();
    MessageBuilder message(type, flags);
    rtmsg header{};
    header.rtm_family = static_cast<unsigned char>(nl::address_family(family));
    header.rtm_dst_len = route.destination.length;
    header.rtm_table = static_cast<unsigned char>(route.table < 256 ? route.table : RT_TABLE_UNSPEC);
    if (type == RTM_NEWROUTE) {
        header.rtm_protocol = RTPROT_STATIC;
        // An IPv4 route straight through the device is on-link; one via a gateway is universe scope.
        header.rtm_scope = (family == IpAddress::Family::v4 && !route.gateway) ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
        header.rtm_type = RTN_UNICAST;
    } else {
        header.rtm_scope = RT_SCOPE_NOWHERE;  // delete: match any scope
    }
    message.put_header(header);
    if (route.destination.length > 0) message.put_address(RTA_DST, route.destination.address);
    message.put_u32(RTA_TABLE, route.table);
    if (route.ifindex > 0) message.put_u32(RTA_OIF, static_cast<std::uint32_t>(route.ifindex));
    if (route.source) message.put_address(RTA_PREFSRC, *route.source);
    if (route.gateway) message.put_address(RTA_GATEWAY, *route.gateway);
    return message;
}

MessageBuilder rule_message(std::uint16_t type, std::uint16_t flags, const RuleSpec& rule) {
    MessageBuilder message(type, flags);
    fib_rule_hdr header{};
    header.family = static_cast<std::uint8_t>(nl::address_family(rule.family));
    header.table = static_cast<std::uint8_t>(rule.table < 256 ? rule.table : RT_TABLE_UNSPEC);
    header.action = FR_ACT_TO_TBL;
    header.flags = rule.invert ? FIB_RULE_INVERT : 0;
    message.put_header(header);
    message.put_u32(FRA_PRIORITY, rule.priority);
    message.put_u32(FRA_TABLE, rule.table);
    if (rule.fwmark) {
        message.put_u32(FRA_FWMARK, *rule.fwmark);
        message.put_u32(FRA_FWMASK, 0xffffffffu);
    }
    if (rule.suppress_prefixlength) message.put_u32(FRA_SUPPRESS_PREFIXLEN, *rule.suppress_prefixlength);
    return message;
}

MessageBuilder address_message(std::uint16_t type, std::uint16_t flags, int ifindex, const IpAddress& address,
                               std::uint8_t prefix_len) {
    MessageBuilder message(type, flags);
    ifaddrmsg header{};
    header.ifa_family = static_cast<std::uint8_t>(nl::address_family(address.family()));
    header.ifa_prefixlen = prefix_len;
    header.ifa_scope = RT_SCOPE_UNIVERSE;
    header.ifa_index = static_cast<std::uint32_t>(ifindex);
    message.put_header(header);
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS the peer on point-to-point links — the same
    // value makes it an ordinary (non-peer) address.
    message.put_address(IFA_LOCAL, address);
    message.put_address(IFA_ADDRESS, address);
    if (!address.is_v4() && type == RTM_NEWADDR) message.put_u32(IFA_FLAGS, IFA_F_NODAD);
    return message;
}

std::optional<LinkInfo> parse_link(Span payload) {
    auto header = nl::read_header<ifinfomsg>(payload);
    if (!header) return std::nullopt;
    LinkInfo link;
    link.ifindex = header->ifi_index;
    link.up = (header->ifi_flags & IFF_UP) != 0;
    constexpr unsigned iff_lower_up = 1u << 16;  // IFF_LOWER_UP (linux/if.h, which clashes with net/if.h)
    link.carrier = (header->ifi_flags & iff_lower_up) != 0;
    link.loopback = (header->ifi_flags & IFF_LOOPBACK) != 0;
    nl::for_each_attr(nl::attributes_after(payload, sizeof(ifinfomsg)), [&](std::uint16_t type, Span value) {
        if (type == IFLA_MTU) link.mtu = nl::attr_u32(value).value_or(0);
        if (type == IFLA_IFNAME && !value.empty()) {
            const char* text = reinterpret_cast<const char*>(value.data());
            link.name.assign(text, ::strnlen(text, value.size()));
        }
    });
    return link;
}

}  // namespace

Netlink::Netlink() {
    fd_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd_ < 0) throw_errno("open rtnetlink socket");
    // Best effort: readable kernel error texts, and errors without an echo of our request.
    int one = 1;
    ::setsockopt(fd_, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    ::setsockopt(fd_, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    // The kernel always answers, but a bounded wait turns a surprise into an error instead of a hang.
    timeval timeout{kReplyTimeoutSeconds, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    socklen_t length = sizeof local;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &length) < 0) {
        int saved = errno;
        close_fd();
        throw PlatformError("bind rtnetlink socket", saved);
    }
    port_id_ = local.nl_pid;
}

Netlink::Netlink(Netlink&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), sequence_(other.sequence_), port_id_(other.port_id_) {}

Netlink& Netlink::operator=(Netlink&& other) noexcept {
    if (this != &other) {
        close_fd();
        fd_ = std::exchange(other.fd_, -1);
        sequence_ = other.sequence_;
        port_id_ = other.port_id_;
    }
    return *this;
}

Netlink::~Netlink() { close_fd(); }

void Netlink::close_fd() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

void Netlink::transact(Message& request, const std::string& what, const MessageHandler& on_message) {
    if (fd_ < 0) throw PlatformError(what, EBADF);
    const std::uint32_t sequence = ++sequence_;
    nlmsghdr header;
    std::memcpy(&header, request.data(), sizeof header);
    header.nlmsg_len = static_cast<std::uint32_t>(request.size());
    header.nlmsg_seq = sequence;
    std::memcpy(request.data(), &header, sizeof header);

    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    auto* to = reinterpret_cast<sockaddr*>(&kernel);
    while (::sendto(fd_, request.data(), request.size(), 0, to, sizeof kernel) < 0) {
        if (errno != EINTR) throw_errno(what + " (send)");
    }

    std::vector<std::uint8_t> buffer(kReceiveBufferBytes);
    bool finished = false;
    while (!finished) {
        ssize_t received = ::recv(fd_, buffer.data(), buffer.size(), MSG_TRUNC);
        if (received < 0) {
            if (errno == EINTR) continue;
            throw_errno(what + " (receive)");
        }
        if (static_cast<std::size_t>(received) > buffer.size())
            throw PlatformError(what + " (answer larger than the receive buffer)", EMSGSIZE);
        int error = 0;
        std::string detail;
        Span datagram(buffer.data(), static_cast<std::size_t>(received));
        bool well_formed = nl::for_each_message(datagram, [&](const nlmsghdr& reply, Span payload) {
            // Leftovers of an earlier, abandoned request carry an older sequence number.
            if (reply.nlmsg_seq != sequence || finished) return;
            if (reply.nlmsg_type == NLMSG_ERROR) {
                auto answer = nl::read_header<nlmsgerr>(payload);
                error = answer ? -answer->error : EBADMSG;
                if (error != 0) detail = extended_ack_message(reply, payload);
                finished = true;
            } else if (reply.nlmsg_type == NLMSG_DONE) {
                auto status = nl::read_header<int>(payload);
                error = status ? -*status : 0;
                finished = true;
            } else if (reply.nlmsg_type >= NLMSG_MIN_TYPE && on_message) {
                on_message(reply.nlmsg_type, payload);
            }
        });
        if (!well_formed) throw PlatformError(what + " (malformed netlink answer)", EBADMSG);
        if (error != 0) throw PlatformError(what, error, detail);
    }
}

int Netlink::link_index(const std::string& name) {
    MessageBuilder message(RTM_GETLINK, kRequestAck);
    ifinfomsg header{};
    header.ifi_family = AF_UNSPEC;
    message.put_header(header);
    message.put_string(IFLA_IFNAME, name);
    std::optional<LinkInfo> found;
    transact(message.bytes(), "find link " + name, [&](std::uint16_t type, Span payload) {
        if (type == RTM_NEWLINK) found = parse_link(payload);
    });
    if (!found || found->ifindex <= 0) throw PlatformError("find link " + name, ENODEV);
    return found->ifindex;
}

LinkInfo Netlink::link_info(int ifindex) {
    MessageBuilder message(RTM_GETLINK, kRequestAck);
    ifinfomsg header{};
    header.ifi_family = AF_UNSPEC;
    header.ifi_index = ifindex;
    message.put_header(header);
    std::optional<LinkInfo> found;
    const std::string what = "get link " + std::to_string(ifindex);
    transact(message.bytes(), what, [&](std::uint16_t type, Span payload) {
        if (type == RTM_NEWLINK) found = parse_link(payload);
    });
    if (!found) throw PlatformError(what, ENODEV);
    return *found;
}

void Netlink::set_link(int ifindex, bool up, std::optional<std::uint32_t> mtu) {
    MessageBuilder message(RTM_NEWLINK, kRequestAck);
    ifinfomsg header{};
    header.ifi_family = AF_UNSPEC;
    header.ifi_index = ifindex;
    header.ifi_flags = up ? IFF_UP : 0;
    header.ifi_change = IFF_UP;
    message.put_header(header);
    if (mtu) message.put_u32(IFLA_MTU, *mtu);
    std::string what = "set link " + device_text(ifindex) + (up ? " up" : " down");
    if (mtu) what += " mtu " + std::to_string(*mtu);
    transact(message.bytes(), what);
}

void Netlink::add_address(int ifindex, const IpAddress& address, std::uint8_t prefix_len) {
    auto message = address_message(RTM_NEWADDR, kRequestCreate, ifindex, address, prefix_len);
    transact(message.bytes(), "add address " + address.to_string() + "/" + std::to_string(prefix_len) + " " +
                                  device_text(ifindex));
}

void Netlink::del_address(int ifindex, const IpAddress& address, std::uint8_t prefix_len) {
    auto message = address_message(RTM_DELADDR, kRequestAck, ifindex, address, prefix_len);
    transact(message.bytes(), "delete address " + address.to_string() + "/" + std::to_string(prefix_len) + " " +
                                  device_text(ifindex));
}

std::vector<AddressInfo> Netlink::list_addresses(IpAddress::Family family) {
    MessageBuilder message(RTM_GETADDR, kRequestDump);
    ifaddrmsg header{};
    header.ifa_family = static_cast<std::uint8_t>(nl::address_family(family));
    message.put_header(header);
    std::vector<AddressInfo> addresses;
    transact(message.bytes(), "list addresses", [&](std::uint16_t type, Span payload) {
        auto info = nl::read_header<ifaddrmsg>(payload);
        if (type != RTM_NEWADDR || !info || info->ifa_family != header.ifa_family) return;
        std::optional<IpAddress> local, address;
        nl::for_each_attr(nl::attributes_after(payload, sizeof(ifaddrmsg)), [&](std::uint16_t kind, Span value) {
            if (kind == IFA_LOCAL) local = nl::attr_address(value, family);
            if (kind == IFA_ADDRESS) address = nl::attr_address(value, family);
        });
        if (!local) local = address;
        if (local) addresses.push_back({static_cast<int>(info->ifa_index), *local, info->ifa_prefixlen});
    });
    return addresses;
}

void Netlink::add_route(const RouteSpec& route) {
    auto message = route_message(RTM_NEWROUTE, kRequestCreate, route);
    transact(message.bytes(), "add route " + describe(route));
}

void Netlink::del_route(const RouteSpec& route) {
    auto message = route_message(RTM_DELROUTE, kRequestAck, route);
    transact(message.bytes(), "delete route " + describe(route));
}

std::vector<RouteSpec> Netlink::list_routes(IpAddress::Family family, std::uint32_t table) {
    MessageBuilder message(RTM_GETROUTE, kRequestDump);
    rtmsg header{};
    header.rtm_family = static_cast<unsigned char>(nl::address_family(family));
    message.put_header(header);
    std::vector<RouteSpec> routes;
    transact(message.bytes(), "list routes of table " + std::to_string(table), [&](std::uint16_t type, Span payload) {
        auto info = nl::read_header<rtmsg>(payload);
        if (type != RTM_NEWROUTE || !info || info->rtm_family != header.rtm_family || info->rtm_type != RTN_UNICAST)
            return;
        RouteSpec route;
        route.table = info->rtm_table;
        std::optional<IpAddress> destination;
        nl::for_each_attr(nl::attributes_after(payload, sizeof(rtmsg)), [&](std::uint16_t kind, Span value) {
            if (kind == RTA_TABLE) route.table = nl::attr_u32(value).value_or(route.table);
            if (kind == RTA_DST) destination = nl::attr_address(value, family);
            if (kind == RTA_OIF) route.ifindex = static_cast<int>(nl::attr_u32(value).value_or(0));
            if (kind == RTA_PREFSRC) route.source = nl::attr_address(value, family);
            if (kind == RTA_GATEWAY) route.gateway = nl::attr_address(value, family);
        });
        if (route.table != table) return;
        route.destination.address = destination.value_or(family == IpAddress::Family::v4
                                                              ? IpAddress::v4({})
                                                              : IpAddress::v6({}));
        route.destination.length = info->rtm_dst_len;
        routes.push_back(route);
    });
    return routes;
}

void Netlink::add_rule(const RuleSpec& rule) {
    auto message = rule_message(RTM_NEWRULE, kRequestCreate, rule);
    transact(message.bytes(), "add rule " + describe(rule));
}

void Netlink::del_rule(const RuleSpec& rule) {
    auto message = rule_message(RTM_DELRULE, kRequestAck, rule);
    transact(message.bytes(), "delete rule " + describe(rule));
}

std::vector<RuleSpec> Netlink::list_rules(IpAddress::Family family) {
    MessageBuilder message(RTM_GETRULE, kRequestDump);
    fib_rule_hdr header{};
    header.family = static_cast<std::uint8_t>(nl::address_family(family));
    message.put_header(header);
    std::vector<RuleSpec> rules;
    transact(message.bytes(), "list rules", [&](std::uint16_t type, Span payload) {
        auto info = nl::read_header<fib_rule_hdr>(payload);
        if (type != RTM_NEWRULE || !info || info->family != header.family) return;
        RuleSpec rule;
        rule.family = family;
        rule.table = info->table;
        rule.invert = (info->flags & FIB_RULE_INVERT) != 0;
        nl::for_each_attr(nl::attributes_after(payload, sizeof(fib_rule_hdr)), [&](std::uint16_t kind, Span value) {
            auto number = nl::attr_u32(value);
            if (!number) return;
            if (kind == FRA_PRIORITY) rule.priority = *number;  // absent for priority 0
            if (kind == FRA_TABLE) rule.table = *number;
            if (kind == FRA_FWMARK) rule.fwmark = *number;
            if (kind == FRA_SUPPRESS_PREFIXLEN && *number <= 128)
                rule.suppress_prefixlength = static_cast<std::uint8_t>(*number);
        });
        rules.push_back(rule);
    });
    return rules;
}

RouteLookup Netlink::route_get(const IpAddress& destination, std::optional<std::uint32_t> mark,
                               std::optional<int> oif) {
    IpAddress::Family family = destination.family();
    MessageBuilder message(RTM_GETROUTE, kRequestAck);
    rtmsg header{};
    header.rtm_family = static_cast<unsigned char>(nl::address_family(family));
    header.rtm_dst_len = full_length(family);
    message.put_header(header);
    message.put_address(RTA_DST, destination);
    if (mark) message.put_u32(RTA_MARK, *mark);
    if (oif) message.put_u32(RTA_OIF, std::uint32_t(*oif));
    std::string what = "look up route to " + destination.to_string();
    if (mark) what += " mark " + std::to_string(*mark);
    if (oif) what += " oif " + std::to_string(*oif);

    std::optional<IpAddress> source;
    RouteLookup lookup;
    transact(message.bytes(), what, [&](std::uint16_t type, Span payload) {
        auto info = nl::read_header<rtmsg>(payload);
        if (type != RTM_NEWROUTE || !info || family_of(info->rtm_family) != family) return;
        nl::for_each_attr(nl::attributes_after(payload, sizeof(rtmsg)), [&](std::uint16_t kind, Span value) {
            if (kind == RTA_PREFSRC) source = nl::attr_address(value, family);
            if (kind == RTA_OIF) lookup.ifindex = static_cast<int>(nl::attr_u32(value).value_or(0));
            if (kind == RTA_GATEWAY) lookup.gateway = nl::attr_address(value, family);
            if (kind == RTA_PRIORITY) lookup.metric = nl::attr_u32(value).value_or(0);
        });
    });
    // Without a source address the route is useless to us: we must bind our sockets to one.
    if (!source) throw PlatformError(what + " (no source address)", EADDRNOTAVAIL);
    lookup.source = *source;
    return lookup;
}

bool ipv6_available() {
    std::ifstream sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6");
    int disabled = 1;
    return sysctl >> disabled && disabled == 0;
}

}  // namespace ikevpn::platform
