// The connect session's class (client/session.cpp runs it; client/session_paths.cpp holds its path,
// MOBIKE and roaming members). Private to the client: only run_connect() (client/session.hpp) is public.
#pragma once
#include "client/asio_address.hpp"
#include "client/session.hpp"

#include "client/control_socket.hpp"
#include "client/data_path.hpp"
#include "client/esp_liveness.hpp"
#include "client/gateway_liveness.hpp"
#include "client/host_integration.hpp"
#include "client/liveness_backoff.hpp"
#include "client/old_path_listener.hpp"
#include "client/path_probe.hpp"
#include "core/crypto/crypto.hpp"
#include "core/mobike.hpp"
#include "core/session.hpp"
#include "platform/linux_network_builder.hpp"
#include "platform/netlink_monitor.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <deque>

namespace ikevpn::client::detail {

using Clock = std::chrono::steady_clock;
inline constexpr std::uint16_t nat_t_port = 4500;

class Session {
public:
    Session(const Profile& profile, const ConnectOptions& options, EventSink& events)
        : profile_(profile), options_(options), events_(events), random_(crypto::make_system_random()),
          timer_(io_), signals_(io_, SIGINT, SIGTERM, SIGHUP) {}  // SIGHUP: the terminal closed

    int run();
    // The tunnel ended because the network changed and the gateway has no MOBIKE: connect again.
    bool reestablish() const { return reestablish_; }
    // RFC 5685: the gateway sent us elsewhere (core/session_redirect.cpp); run_connect() goes there.
    const std::optional<core::Redirected>& redirect() const { return redirect_; }
    void set_redirected_from(core::GatewayIdentity from) { redirected_from_ = std::move(from); }
    const IpAddress& gateway() const { return gateway_; }
    bool was_connected() const { return connected_; }
    // Re-establishing with the kill switch on: its table stays (HostIntegration::hand_over) and blocks DNS,
    // so the next session connects to the addresses this one resolved instead of resolving again.
    const std::vector<IpAddress>& resolved() const { return resolved_; }
    void carry_resolved(std::vector<IpAddress> addresses) { carried_resolved_ = std::move(addresses); }
    // The dead-data-path backoff outlives a re-establishment (client/liveness_backoff.hpp).
    const LivenessBackoff& liveness_backoff() const { return liveness_backoff_; }
    void carry_liveness_backoff(const LivenessBackoff& backoff) { liveness_backoff_ = backoff; }

private:
    std::vector<IpAddress> resolve_gateway();  // every A and AAAA record, in connect order
    IpAddress first_gateway();  // the first resolved address with a route (client/gateway_family.hpp)
    // dual_stack (the NAT-T socket with MOBIKE): an IPv6 socket that also reaches IPv4 (v4-mapped).
    asio::ip::udp::socket open_socket(const IpAddress& gateway, std::uint16_t port, bool dual_stack = false);
    core::SessionConfig session_config(const IpAddress& gateway) const;
    nlohmann::json status() const;
    void perform(core::Actions actions);
    void receive(ByteView message);  // an IKE message from the gateway, traced, to the negotiator
    void perform_one(core::Action& action);
    void apply_network(const core::NetworkConfig& config);
    std::uint32_t tun_mtu();
    void local_failure(std::string_view code, const std::string& message);
    void finish(const core::Closed& closed);
    asio::awaitable<void> run_ike_receiver();
    asio::awaitable<void> run_keepalives();
    asio::awaitable<void> run_rekey_monitor();
    // MOBIKE: the path of the NAT-T socket; a netlink change → move the socket → tell the core.
    core::Path current_path();
    void check_path(bool settled = false);
    void path_changed(const core::PathChanged& changed);
    void reauthenticated(const core::Reauthenticated& r);
    asio::awaitable<void> run_path_monitor();

    const Profile& profile_;
    const ConnectOptions& options_;
    EventSink& events_;
    asio::io_context io_;
    std::unique_ptr<crypto::RandomSource> random_;
    asio::steady_timer timer_;
    asio::steady_timer rekey_poll_{io_};
    asio::signal_set signals_;
    std::optional<asio::ip::udp::socket> ike_socket_, natt_socket_;
    std::unique_ptr<core::IkeSession> ike_;
    std::unique_ptr<DataPath> data_path_;
    std::unique_ptr<platform::LinuxNetworkBuilder> network_;
    std::unique_ptr<ControlServer> control_;
    std::unique_ptr<HostIntegration> host_;  // state file, kill switch, DNS
    core::NetworkConfig network_config_;
    IpAddress gateway_;
    Clock::time_point started_ = Clock::now();
    int exit_code_ = 1;
    bool connected_ = false;
    std::optional<std::pair<std::string, std::string>> local_error_;  // code, message
    std::unique_ptr<platform::NetlinkMonitor> monitor_;
    std::optional<asio::posix::stream_descriptor> monitor_stream_;
    OldPathListener old_path_{io_, [this](ByteView message, const core::Path& arrived_on) {
        if (ike_) perform(ike_->on_datagram(message, Clock::now(), arrived_on));
    }};
    std::deque<nlohmann::json> path_history_;  // the last switches, newest last
    bool reestablish_ = false;
    std::optional<std::string> reconnect_reason_;  // a reauthentication changed the virtual IP: start over
    std::optional<core::Redirected> redirect_;
    std::optional<core::GatewayIdentity> redirected_from_;
    bool stop_requested_ = false;  // disconnect or signal: a redirect or reconnect under way is not followed
    std::optional<asio::steady_timer> settle_timer_;  // a better path appeared: let its link settle first
    int pinned_ifindex_ = 0;  // the NAT-T socket's device binding (NetlinkMonitor::path_for), 0 = none
    std::optional<Clock::time_point> first_notice_;  // the netlink notification that began this move
    void move_socket(const platform::NetlinkMonitor::PathChoice& choice, const core::Path& old);
    void socket_moved(const std::optional<core::Path>& old);
    void hold_on_path_device();
    // Dead data path (client/esp_liveness.hpp): sampled by run_rekey_monitor once a second.
    EspLiveness liveness_{std::chrono::seconds(profile_.data_path_timeout)};
    std::optional<std::string> dead_data_path_;  // why the tunnel is being re-established
    LivenessBackoff liveness_backoff_{std::chrono::seconds(profile_.data_path_timeout)};
    void check_data_path();
    // Liveness checks of the gateway (RFC 7296 §2.4), also sampled by run_rekey_monitor.
    GatewayLiveness dpd_{std::chrono::seconds(profile_.dpd_seconds)};
    void follow_gateway(const IpAddress& address);
    // No path in the family in use: MOBIKE to the gateway's other-family address (client/gateway_family.hpp).
    bool move_to_other_family();
    std::vector<IpAddress> resolved_;  // the profile's gateway, all its addresses
    // Make before break for a better path (client/path_probe.hpp).
    PathProbe probe_{io_, [this](ByteView message, const core::Path& arrived_on) { on_probe_ike(message, arrived_on); },
                     [this](ByteView datagram) { if (data_path_) data_path_->receive_elsewhere(datagram); }};
    bool reply_via_probe_ = false;  // answering a request that came in on the probe
    std::optional<core::PathChanged> probe_confirmed_;  // the gateway confirmed the probe's path
    bool start_probe(const IpAddress& source);
    void on_probe_ike(ByteView message, const core::Path& arrived_on);
    void adopt_probe(const core::PathChanged& changed);
    // Roaming follow-ups (client/session_roaming.cpp): the kill switch lets IKE/ESP through to every gateway
    // address the SAs may move to; the IKE socket (port 500, a reauthentication's IKE_SA_INIT) follows the
    // gateway address in use; with tun.mtu "auto" the TUN MTU follows the path after a move.
    std::vector<IpAddress> carried_resolved_;  // from the session before a re-establish (empty: resolve)
    std::vector<IpAddress> kill_switch_gateways_;  // what the kill switch allows now
    std::uint32_t tun_mtu_now_ = 0;                // the TUN's MTU as we set it (0 before the tunnel is up)
    void sync_kill_switch();
    void aim_ike_socket();
    bool ike_source_current();  // the IKE socket's source address is the NAT-T socket's (session_roaming.cpp)
    void refresh_tun_mtu();
};

}  // namespace ikevpn::client::detail
