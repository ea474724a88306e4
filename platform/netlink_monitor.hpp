// The interface monitor for MOBIKE: rtnetlink notifications of links, IPv4/IPv6 addresses and routes
// (RTNLGRP_LINK, RTNLGRP_IPV4/IPV6_IFADDR, RTNLGRP_IPV4/IPV6_ROUTE) reduced to one question — "may the
// path to the gateway have changed?" — and the answer to the next one: "which source address reaches the
// gateway now?".
//
// Noise is filtered before it can start an update: the TUN device's own links, addresses and routes,
// routes in the tunnel's table (policy routing, platform/linux_network_builder.hpp) and in the kernel's
// local table, and IPv6 addresses still tentative (DAD). The lookup asks the kernel for the route of a
// packet carrying the IKE/ESP socket's firewall mark, so the tunnel's own rules never capture it, and it
// refuses a source that is an IPv6 address tentative, deprecated or failed DAD (a deprecated address is
// kept only by connections that already use it; RFC 4862 §5.5.4). A lookup that leads into the TUN is
// no path either.
//
// Plain fds, no Asio: client/ waits for readability of fd() and calls drain().
#pragma once
#include "core/ip_address.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace ikevpn::platform {

class Netlink;

class NetlinkMonitor {
public:
    NetlinkMonitor();  // opens and subscribes a non-blocking socket; throws PlatformError
    NetlinkMonitor(const NetlinkMonitor&) = delete;
    NetlinkMonitor& operator=(const NetlinkMonitor&) = delete;
    ~NetlinkMonitor();

    int fd() const { return fd_; }
    void ignore_interface(int ifindex) { ignored_ifindexes_.push_back(ifindex); }
    void ignore_table(std::uint32_t table) { ignored_tables_.push_back(table); }

    // Reads every pending notification without blocking; true if any of them may change the path (a lost
    // notification — receive buffer overflow — counts as one).
    bool drain();

    // The source address a datagram to `gateway` with firewall mark `mark` leaves from now; nullopt when
    // there is no usable one. Blocking netlink round trips, a few per path change.
    std::optional<IpAddress> source_for(const IpAddress& gateway, std::optional<std::uint32_t> mark) const;

    // The same, with the device. A link that lost its carrier (cable out, Wi-Fi gone, the peer of a veth
    // down) stays administratively up and keeps its routes (flagged linkdown), so the kernel still routes
    // into it: then the best route out of another device with carrier is chosen instead (lowest metric),
    // `pinned` — the socket must be bound to that device (platform/udp_reconnect.hpp) for the kernel to
    // use it.
    struct PathChoice {
        IpAddress source;
        int ifindex = 0;
        bool pinned = false;
    };
    std::optional<PathChoice> path_for(const IpAddress& gateway, std::optional<std::uint32_t> mark) const;

    // Whether `address` is still configured, usable as a source (not tentative, deprecated or failed DAD)
    // and on an interface that is up and has carrier — i.e. the path from it may still work.
    bool address_usable(const IpAddress& address) const;

    // Counters for tests and logs.
    std::uint64_t notifications() const { return notifications_; }
    std::uint64_t relevant() const { return relevant_; }

private:
    bool is_relevant(std::uint16_t type, const std::uint8_t* payload, std::size_t length) const;
    bool ignored_interface(int ifindex) const;
    bool usable_source(const IpAddress& source) const;
    std::optional<PathChoice> path_avoiding(Netlink& netlink, const IpAddress& gateway,
                                            std::optional<std::uint32_t> mark, int dead) const;

    int fd_ = -1;
    std::vector<int> ignored_ifindexes_;
    std::vector<std::uint32_t> ignored_tables_{255};  // RT_TABLE_LOCAL: follows the address events anyway
    std::uint64_t notifications_ = 0, relevant_ = 0;
};

}  // namespace ikevpn::platform
