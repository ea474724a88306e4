// Roaming follow-ups of the connect session (class in client/session_impl.hpp), for moves to another
// address of the gateway (its other family, an ADDITIONAL_IP*_ADDRESS; client/session_paths.cpp):
//   - the kill switch lets IKE/ESP through to every address the SAs may move to, updated atomically
//     (platform/kill_switch.hpp: nftables sets) whenever that list changes — before the move uses it;
//   - the IKE socket (the IKE port, where a reauthentication's IKE_SA_INIT goes) follows the gateway
//     address in use rather than staying at the one first connected to;
//   - with tun.mtu "auto", the TUN MTU (and so the MSS clamp) follows the path: IPv6 outer headers are
//     20 octets longer than IPv4's.
#include "client/session_impl.hpp"

#include "platform/netlink.hpp"
#include "platform/udp_reconnect.hpp"
#include "platform/udp_socket.hpp"

#include <algorithm>

namespace ikevpn::client::detail {

// Every address the SAs may move to: the one in use, the gateway name's addresses, and those the gateway
// announced (ADDITIONAL_IP4/IP6_ADDRESS). Called after every batch of actions; nft runs only on a change.
void Session::sync_kill_switch() {
    if (!host_ || !host_->kill_switch_on()) return;
    std::vector<IpAddress> wanted;
    const auto add = [&](const IpAddress& raw) {
        const IpAddress a = platform::unmapped(raw);
        if (std::find(wanted.begin(), wanted.end(), a) == wanted.end()) wanted.push_back(a);
    };
    add(gateway_);
    for (const auto& a : resolved_) add(a);
    if (ike_)
        for (const auto& a : ike_->info().gateway_addresses) add(a);
    // Sorted: the same addresses in another order (the one in use changed) are no news for nft.
    std::sort(wanted.begin(), wanted.end(),
              [](const IpAddress& a, const IpAddress& b) { return a.to_string() < b.to_string(); });
    if (wanted == kill_switch_gateways_) return;
    try {
        host_->allow_gateways(wanted);
        kill_switch_gateways_ = std::move(wanted);
    } catch (const std::exception& e) {
        // The tunnel stays as it is; only a move to an address not yet allowed would be blocked.
        events_.warning(std::string("kill switch: cannot allow the gateway's other addresses: ") + e.what());
        kill_switch_gateways_ = std::move(wanted);  // no retry storm: the next change tries again
    }
}

// The IKE socket is connected (it accepts datagrams from the gateway only): after a move to another address
// of the gateway it must be connected there before a new IKE SA (a reauthentication) starts on it. With
// MOBIKE it is dual-stack, so either family works; the kernel picks the source as for the NAT-T socket.
// A connected socket also keeps the source address it got when it connected: after a move of ours (wifi gone)
// the IKE_SA_INIT would leave with the old address and its answer go to a link that is down. So it is
// connected again whenever its source is not where the NAT-T socket is now.
void Session::aim_ike_socket() {
    std::error_code ec;
    const auto remote = ike_socket_->remote_endpoint(ec);
    if (!ec) {
        auto a = remote.address();
        if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
        if (a == to_asio(platform::unmapped(gateway_)) && ike_source_current()) return;
    }
    try {
        platform::reconnect_udp(ike_socket_->native_handle(), gateway_, profile_.port, pinned_ifindex_);
        events_.detail("IKE port: now to the gateway at " + gateway_.to_string());
    } catch (const std::exception& e) {
        events_.detail("cannot aim the IKE socket at " + gateway_.to_string() + ": " + e.what() + " (will retransmit)");
    }
}

bool Session::ike_source_current() {
    try {
        const auto ike = platform::local_endpoint(ike_socket_->native_handle()).first;
        const auto natt = platform::local_endpoint(natt_socket_->native_handle()).first;
        return platform::unmapped(ike) == platform::unmapped(natt);
    } catch (const std::exception&) {
        return true;  // nothing to compare with: leave it where it is
    }
}

// After a confirmed move: the MTU "auto" picked at connect was for the old path. The link MTU changes in
// place (no packet in flight is lost); the data path re-reads it for its MSS limits.
void Session::refresh_tun_mtu() {
    if (profile_.tun.mtu != 0 || !data_path_ || !connected_ || tun_mtu_now_ == 0) return;
    const auto ifindex = data_path_->tun_ifindex();
    if (!ifindex) return;
    const std::uint32_t mtu = tun_mtu();
    if (mtu == tun_mtu_now_) return;
    try {
        platform::Netlink netlink;
        netlink.set_link(*ifindex, true, mtu);
    } catch (const std::exception& e) {
        events_.warning("cannot change the TUN MTU to " + std::to_string(mtu) + ": " + e.what());
        return;
    }
    const std::uint32_t old = tun_mtu_now_;
    tun_mtu_now_ = mtu;
    data_path_->refresh_mtu();
    events_.progress("the path changed: TUN MTU " + std::to_string(old) + " → " + std::to_string(mtu));
    events_.emit({{"event", "mtu_changed"}, {"old_mtu", old}, {"tun_mtu", mtu}});
}

}  // namespace ikevpn::client::detail
