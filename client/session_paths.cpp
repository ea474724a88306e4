// The connect session's path, MOBIKE and roaming members (class in client/session_impl.hpp): where the
// NAT-T socket is, following netlink changes, the gateway's other addresses and make-before-break probes.
#include "client/session_impl.hpp"

#include "client/gateway_family.hpp"
#include "client/log_describe.hpp"
#include "platform/udp_reconnect.hpp"
#include "platform/udp_socket.hpp"

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <unistd.h>

namespace ikevpn::client::detail {

constexpr auto path_settle_time = std::chrono::milliseconds(300);

core::Path Session::current_path() {
    core::Path path;
    path.remote = {gateway_, nat_t_port};
    try {
        auto [address, port] = platform::local_endpoint(natt_socket_->native_handle());
        path.local = {address, port};
    } catch (const std::exception&) {
    }
    return path;
}

// After links, addresses or routes changed: where does a marked packet to the gateway leave now? If not
// from where the NAT-T socket is, move the socket (same fd: the data path keeps its SAs and sequence
// numbers) and let the core update the SAs at the gateway (MOBIKE).
void Session::check_path(bool settled) {
    if (!ike_ || ike_->closed()) return;
    const auto choice = monitor_->path_for(gateway_, platform::PolicyRouting{}.fwmark);
    if (!choice && move_to_other_family()) return;
    if (!choice) return perform(ike_->on_path(std::nullopt, Clock::now()));
    const core::Path old = current_path();
    const int pin = choice->pinned ? choice->ifindex : 0;
    if (old.local.address != choice->source || pin != pinned_ifindex_) {
        // Make before break: while the old path still has its address on an up link, a new one (a link that
        // just came up) gets a moment to settle — its first packets are often lost to neighbour discovery.
        if (settled && old.local.address != choice->source && !pin && !pinned_ifindex_ &&
            monitor_->address_usable(old.local.address) && start_probe(choice->source))
            return;  // the old path carries the traffic until the gateway confirmed the new one
        if (!settled && old.local.address != choice->source && monitor_->address_usable(old.local.address)) {
            if (!settle_timer_) settle_timer_.emplace(io_);
            if (settle_timer_->expiry() > Clock::now()) return;  // already settling: a burst does not extend it
            settle_timer_->expires_after(path_settle_time);
            settle_timer_->async_wait([this](std::error_code ec) {
                if (!ec) check_path(true);
            });
            return;
        }
        try {
            move_socket(*choice, old);
        } catch (const std::exception& e) {
            events_.detail(std::string("cannot move to ") + choice->source.to_string() + ": " + e.what());
            return perform(ike_->on_path(std::nullopt, Clock::now()));
        }
    }
    perform(ike_->on_path(current_path(), Clock::now()));
    if (ike_ && ike_->info().state != "roaming") first_notice_.reset();  // nothing moved: not a handover
}

// Same fd: the data path keeps its SAs and sequence numbers. A link without carrier keeps its routes, so
// a path around it needs the socket bound to the chosen device (NetlinkMonitor::path_for).
void Session::move_socket(const platform::NetlinkMonitor::PathChoice& choice, const core::Path& old) {
    const int pin = choice.pinned ? choice.ifindex : 0;
    if (pin && pin != pinned_ifindex_)
        events_.detail("the route to the gateway leads into a link without carrier: using " +
                       choice.source.to_string() + " (device " + std::to_string(pin) + ") instead");
    pinned_ifindex_ = pin;
    platform::reconnect_udp(natt_socket_->native_handle(), gateway_, nat_t_port, pin);
    socket_moved(old);
}

// The NAT-T socket is on a new path (or on its first): the listeners follow it, keeping the path it left
// (old_path_listener.hpp), and it stays on the new path's device.
void Session::socket_moved(const std::optional<core::Path>& old) {
    old_path_.listen(current_path(), old, platform::PolicyRouting{}.fwmark);
    hold_on_path_device();
}

// The NAT-T socket stays on the device of the path in use until it is moved. Otherwise, the moment a better
// uplink comes up, the kernel routes the socket's datagrams into it with the old uplink's source address
// (the socket is connected from that address) — for the 300 ms of settling and the round trip that confirms
// the new path. A real network drops those (BCP 38 ingress filtering) or NATs them to an address the
// gateway's answers cannot reach: make before break would lose all of that time
// (tests/interop/test_mobike_source_filter.sh). The next move (reconnect_udp) undoes the binding.
void Session::hold_on_path_device() {
    if (!monitor_ || pinned_ifindex_ || !natt_socket_) return;  // pinned: bound to its device already
    const auto choice = monitor_->path_for(gateway_, platform::PolicyRouting{}.fwmark);
    if (!choice || choice->pinned || choice->source != current_path().local.address) return;  // check_path moves
    try {
        platform::hold_on_device(natt_socket_->native_handle(), choice->ifindex);
        events_.detail("the NAT-T socket is held on device " + std::to_string(choice->ifindex) +
                       " (the path in use) until the next move");
    } catch (const std::exception& e) {
        events_.detail(std::string("cannot keep the socket on its device: ") + e.what());
    }
}

// The core retries a request at another address of the gateway (ADDITIONAL_IP*_ADDRESS): the NAT-T socket
// connects there (same fd, the SAs stay; a device binding stays too), the route lookups follow it, and the
// old address still has a listener for what the gateway sends from it.
void Session::follow_gateway(const IpAddress& address) {
    const core::Path old = current_path();
    try {
        platform::reconnect_udp(natt_socket_->native_handle(), address, nat_t_port, pinned_ifindex_);
        gateway_ = address;
        socket_moved(old);
    } catch (const std::exception& e) {
        events_.detail("cannot reach the gateway at " + address.to_string() + ": " + e.what());
        try {
            platform::reconnect_udp(natt_socket_->native_handle(), gateway_, nat_t_port, pinned_ifindex_);
        } catch (const std::exception&) {
            // no route back either: the next path check (netlink) or retransmission decides
        }
    }
}

// The first attempt keeps the preference order (IPv4 first); an address without a route — the IPv4 first
// choice on an IPv6-only uplink — is skipped. None with a route: the first, whose error the user then sees.
IpAddress Session::first_gateway() {
    for (const auto& address : resolved_) {
        try {
            open_socket(address, nat_t_port);  // a connect() is a route lookup; the socket closes at once
            return address;
        } catch (const std::exception& e) {
            if (resolved_.size() > 1) events_.detail("no route to the gateway at " + address.to_string() + ": " + e.what());
        }
    }
    return resolved_.front();
}

// The family in use has no path at all, the other one may have (an IPv6-only uplink replaced by an IPv4-only
// one). RFC 4555 §3.5 leaves the addresses, and so the family, to the initiator: the dual-stack NAT-T socket
// connects to the gateway's address of the other family (same fd: the SAs and sequence numbers stay), and
// the core moves the SAs there with UPDATE_SA_ADDRESSES, NAT detection included. Candidates: the profile's
// gateway name resolved, then the gateway's ADDITIONAL_IP4/IP6_ADDRESS list.
bool Session::move_to_other_family() {
    if (!ike_->info().mobike) return false;
    const auto fwmark = platform::PolicyRouting{}.fwmark;
    std::optional<platform::NetlinkMonitor::PathChoice> choice;
    const auto has_path = [&](const IpAddress& a) { return (choice = monitor_->path_for(a, fwmark)).has_value(); };
    const auto target = other_family_gateway(gateway_, resolved_, ike_->info().gateway_addresses, has_path);
    if (!target) return false;
    const core::Path old = current_path();
    const int pin = choice->pinned ? choice->ifindex : 0;
    try {
        platform::reconnect_udp(natt_socket_->native_handle(), *target, nat_t_port, pin);
    } catch (const std::exception& e) {
        events_.detail("cannot move to the gateway's address " + target->to_string() + ": " + e.what());
        try {  // back where it was, for when that family returns
            platform::reconnect_udp(natt_socket_->native_handle(), gateway_, nat_t_port, pinned_ifindex_);
        } catch (const std::exception&) {
        }
        return false;
    }
    events_.progress("no path to the gateway at " + gateway_.to_string() + ": moving to its " +
                     (target->is_v4() ? "IPv4" : "IPv6") + " address " + target->to_string());
    pinned_ifindex_ = pin;
    gateway_ = *target;
    socket_moved(old);
    perform(ike_->on_path(current_path(), Clock::now()));
    return true;
}

bool Session::start_probe(const IpAddress& source) {
    if (probe_.active() && probe_.path().local.address == source) return true;  // already under way
    try {
        const core::Path& p = probe_.open(source, {gateway_, nat_t_port}, platform::PolicyRouting{}.fwmark);
        probe_confirmed_.reset();
        events_.detail("a better path from " + core::endpoint_text(p.local) +
                       ": confirming it with the gateway while ESP stays on the current one");
        perform(ike_->on_path(p, Clock::now()));
        return true;
    } catch (const std::exception& e) {
        events_.detail("cannot open a socket on " + source.to_string() + ": " + e.what() + " (moving at once)");
        probe_.close();
        return false;
    }
}

void Session::on_probe_ike(ByteView message, const core::Path& arrived_on) {
    if (!ike_) return;
    if (events_.log().enabled(LogLevel::trace)) events_.trace(describe_datagram(message, false));
    reply_via_probe_ = true;
    perform(ike_->on_datagram(message, Clock::now(), arrived_on));
    reply_via_probe_ = false;
}

// The gateway confirmed the probe's path: the ESP socket moves to that address now (a port of its own),
// and the core confirms that port with a second update; the probe keeps receiving until then.
void Session::adopt_probe(const core::PathChanged& changed) {
    probe_confirmed_ = changed;
    const core::Path old = current_path();
    try {
        platform::reconnect_udp(natt_socket_->native_handle(), gateway_, nat_t_port, pinned_ifindex_);
        socket_moved(old);
    } catch (const std::exception& e) {
        events_.detail(std::string("moving the socket failed: ") + e.what() + " (will retransmit)");
    }
    perform(ike_->on_path(current_path(), Clock::now()));
}

void Session::path_changed(const core::PathChanged& confirmed) {
    // A new path is a new situation for the dead-data-path watch: its next verdict starts over with a rekey.
    // (A move can complete between two of its samples, unseen as "roaming"; a CHILD SA the gateway made just
    // before it processed the move can still carry its old address, and a rekey, not a reconnect, fixes that.)
    liveness_ = EspLiveness(std::chrono::seconds(profile_.data_path_timeout));
    if (probe_.active() && !probe_confirmed_ && confirmed.new_path.local == probe_.path().local)
        return adopt_probe(confirmed);
    core::PathChanged changed = confirmed;
    if (probe_confirmed_) {  // one move for the user: from before the probe to the ESP socket's path
        changed.old_path = probe_confirmed_->old_path;
        changed.handover += probe_confirmed_->handover;
        probe_confirmed_.reset();
    }
    if (probe_.active()) {
        // The gateway may have made a CHILD SA while the probe's path was the IKE SA's: a kernel-libipsec
        // gateway sends its ESP there until it has rekeyed it (old_path_listener.hpp).
        const core::Path probed = probe_.path();
        probe_.close();
        if (probed.local != current_path().local) old_path_.retain(probed, platform::PolicyRouting{}.fwmark);
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(changed.handover).count();
    nlohmann::json event = {{"event", "path_changed"},
                            {"old_local", changed.old_path ? nlohmann::json(core::endpoint_text(changed.old_path->local))
                                                           : nlohmann::json(nullptr)},
                            {"new_local", core::endpoint_text(changed.new_path.local)},
                            {"remote", core::endpoint_text(changed.new_path.remote)},
                            {"nat", changed.nat_local},
                            {"handover_ms", ms}};
    // From the first netlink notification of this move (before any settling wait) to the confirmation.
    if (first_notice_)
        event["since_notice_ms"] =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - *first_notice_).count();
    first_notice_.reset();
    events_.emit(event);
    event.erase("event");
    event["seconds_since_start"] = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started_).count();
    path_history_.push_back(std::move(event));
    if (path_history_.size() > 8) path_history_.pop_front();
    refresh_tun_mtu();  // the outer family or the uplink may have changed
}

// A new IKE SA replaced the old one (core/session_reauth.cpp); its CHILD SA is installed already. With the
// same virtual IPs nothing else changes. Other addresses would need the TUN, routes and DNS redone while
// packets flow with the old source: a clean reconnect (delete, then connect again) is simpler and says so.
void Session::reauthenticated(const core::Reauthenticated& r) {
    const auto vip_text = [](const core::NetworkConfig& n) {
        std::string t = n.virtual_ip ? n.virtual_ip->to_string() : "none";
        if (n.virtual_ip6) t += " and " + n.virtual_ip6->to_string();
        return t;
    };
    events_.emit({{"event", "reauthenticated"}, {"spi_i", r.spi_i}, {"spi_r", r.spi_r},
                  {"initiator", r.gateway_asked ? "gateway" : "client"}, {"virtual_ip_changed", r.virtual_ip_changed},
                  {"virtual_ip", r.network.virtual_ip ? nlohmann::json(r.network.virtual_ip->to_string()) : nullptr},
                  {"virtual_ip6", r.network.virtual_ip6 ? nlohmann::json(r.network.virtual_ip6->to_string()) : nullptr}});
    if (!r.virtual_ip_changed) return;
    reconnect_reason_ = "the gateway assigned a different virtual IP on reauthentication (" + vip_text(r.network) +
                        ", was " + vip_text(network_config_) + ")";
    events_.warning(*reconnect_reason_ + ": reconnecting");
    // After the actions of this event (the old IKE SA's Delete among them) are performed.
    asio::post(io_, [this] {
        if (ike_ && !ike_->closed()) perform(ike_->close(Clock::now()));
    });
}

// Netlink notifications come in bursts (a link going down drops its addresses and routes one message at a
// time). The kernel has changed its tables before it notifies, so the first message is checked at once —
// waiting for the burst to end cost every handover 10 ms — and the burst's end once more (a path that is
// the same again is no news to the core).
asio::awaitable<void> Session::run_path_monitor() {
    monitor_stream_.emplace(io_, ::dup(monitor_->fd()));
    asio::steady_timer settle(io_);
    while (ike_ && !ike_->closed()) {
        std::error_code ec;
        co_await monitor_stream_->async_wait(asio::posix::stream_descriptor::wait_read,
                                             asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        if (!monitor_->drain()) continue;
        if (!first_notice_) first_notice_ = Clock::now();
        check_path();
        settle.expires_after(std::chrono::milliseconds(10));
        co_await settle.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (monitor_->drain()) check_path();
    }
}

}  // namespace ikevpn::client::detail
