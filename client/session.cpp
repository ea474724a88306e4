// The connect session: one io_context runs the negotiator's driver, the control socket and (for now) the
// packet path. core::IkeSession decides; this file only performs its actions and feeds it events.
#include "client/asio_address.hpp"
#include "client/session.hpp"

#include "client/control_socket.hpp"
#include "client/data_path.hpp"
#include "client/esp_liveness.hpp"
#include "client/host_integration.hpp"
#include "client/log_describe.hpp"
#include "client/old_path_listener.hpp"
#include "client/path_probe.hpp"
#include "client/route_policy.hpp"
#include "core/crypto/crypto.hpp"
#include "core/mobike.hpp"
#include "core/session.hpp"
#include "platform/linux_network_builder.hpp"
#include "platform/netlink.hpp"
#include "platform/netlink_monitor.hpp"
#include "platform/udp_reconnect.hpp"
#include "platform/platform_error.hpp"
#include "platform/tun_device.hpp"
#include "platform/udp_socket.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/ip/udp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <deque>
#include <unistd.h>

namespace ikevpn::client {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int socket_buffer_bytes = 4 << 20;
constexpr std::uint16_t nat_t_port = 4500;
constexpr auto path_settle_time = std::chrono::milliseconds(300);

// "192.0.2.1:4500", "[2001:db8::1]:4500" (docs/status-json.md)
std::string endpoint_text(const std::string& address, bool v6, std::uint16_t port) {
    return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}
std::string endpoint_text(const asio::ip::udp::endpoint& e) {
    return endpoint_text(e.address().to_string(), e.address().is_v6(), e.port());
}

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

private:
    IpAddress resolve_gateway();
    asio::ip::udp::socket open_socket(const IpAddress& gateway, std::uint16_t port);
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
    // Dead data path (client/esp_liveness.hpp): sampled by run_rekey_monitor once a second.
    EspLiveness liveness_{std::chrono::seconds(profile_.data_path_timeout)};
    std::optional<std::string> dead_data_path_;  // why the tunnel is being re-established
    void check_data_path();
    void follow_gateway(const IpAddress& address);
    // Make before break for a better path (client/path_probe.hpp).
    PathProbe probe_{io_, [this](ByteView message, const core::Path& arrived_on) { on_probe_ike(message, arrived_on); },
                     [this](ByteView datagram) { if (data_path_) data_path_->receive_elsewhere(datagram); }};
    bool reply_via_probe_ = false;  // answering a request that came in on the probe
    std::optional<core::PathChanged> probe_confirmed_;  // the gateway confirmed the probe's path
    bool start_probe(const IpAddress& source);
    void on_probe_ike(ByteView message, const core::Path& arrived_on);
    void adopt_probe(const core::PathChanged& changed);
};

IpAddress Session::resolve_gateway() {
    if (auto literal = IpAddress::parse(profile_.gateway)) return *literal;
    events_.progress("resolving gateway " + profile_.gateway);
    asio::ip::udp::resolver resolver(io_);
    std::error_code ec;
    auto results = resolver.resolve(profile_.gateway, "", ec);
    if (ec || results.empty())
        throw std::runtime_error("cannot resolve gateway '" + profile_.gateway + "': " +
                                 (ec ? ec.message() : std::string("no address")));
    for (const auto& r : results) {
        auto addr = r.endpoint().address();
        if (addr.is_v4()) return IpAddress::v4(addr.to_v4().to_bytes());
    }
    return IpAddress::v6(results.begin()->endpoint().address().to_v6().to_bytes());
}

asio::ip::udp::socket Session::open_socket(const IpAddress& gateway, std::uint16_t port) {
    const platform::PolicyRouting policy;
    int fd = platform::open_udp_socket(gateway.family(), policy.fwmark, socket_buffer_bytes);
    asio::ip::udp::socket socket(io_, gateway.is_v4() ? asio::ip::udp::v4() : asio::ip::udp::v6(), fd);
    // A connected socket only accepts datagrams from the gateway and tells us our source address.
    socket.connect(asio::ip::udp::endpoint(to_asio(gateway), port));
    return socket;
}

core::SessionConfig Session::session_config(const IpAddress& gateway) const {
    core::SessionConfig c;
    c.local_id = profile_.local_id;
    c.remote_id = profile_.remote_id;
    c.psk = profile_.psk;
    if (profile_.auth == AuthMethod::pubkey) {
        c.private_key = profile_.private_key;
        c.local_certs = profile_.local_certs;
        c.rsa_pss = profile_.rsa_pss;
    }
    c.eap_mschapv2 = profile_.auth == AuthMethod::eap_mschapv2;
    c.eap_identity = profile_.eap_identity;
    c.eap_password = profile_.eap_password;
    c.trusted_cas = profile_.ca;
    c.ike_proposals = profile_.ike_proposals;
    c.esp_proposals = profile_.esp_proposals;
    c.remote_networks = profile_.routes;
    c.request_virtual_ip = profile_.virtual_ip;
    c.gateway = gateway;
    c.ike_port = profile_.port;
    c.rekey.ike_lifetime = std::chrono::seconds(profile_.rekey.ike_seconds);
    c.rekey.child_lifetime = std::chrono::seconds(profile_.rekey.child_seconds);
    c.rekey.jitter = std::chrono::seconds(profile_.rekey.jitter_seconds);
    c.rekey.reauth_lifetime = std::chrono::seconds(profile_.rekey.reauth_seconds);
    c.mobike = profile_.mobike;
    c.reachable = [this](const IpAddress& address) {
        return !monitor_ || monitor_->source_for(address, platform::PolicyRouting{}.fwmark).has_value();
    };
    c.fragmentation = profile_.fragmentation;
    c.fragment_size = std::size_t(profile_.fragment_size);
    c.redirected_from = redirected_from_;
    return c;
}

nlohmann::json Session::status() const {
    const core::IkeSaInfo info = ike_->info();
    nlohmann::json j;
    j["state"] = info.state;
    j["profile"] = profile_.name;
    j["gateway"] = gateway_.to_string();
    std::error_code ec;
    auto local = natt_socket_->local_endpoint(ec);
    j["local"] = ec ? nlohmann::json(nullptr) : nlohmann::json(endpoint_text(local));
    j["remote"] = endpoint_text(gateway_.to_string(), !gateway_.is_v4(), nat_t_port);
    j["nat"] = {{"local", info.nat_local}, {"remote", info.nat_remote}};
    j["virtual_ip"] = network_config_.virtual_ip ? nlohmann::json(network_config_.virtual_ip->to_string()) : nullptr;
    j["virtual_ip6"] =
        network_config_.virtual_ip6 ? nlohmann::json(network_config_.virtual_ip6->to_string()) : nullptr;
    j["dns"] = nlohmann::json::array();
    for (const auto& d : network_config_.dns) j["dns"].push_back(d.to_string());
    j["dns_domains"] = network_config_.dns_domains;
    j["dns_applied"] = host_ && host_->dns_backend() ? nlohmann::json(*host_->dns_backend()) : nullptr;
    j["kill_switch"] = host_ && host_->kill_switch_on();
    nlohmann::json ike = {{"spi_i", info.spi_i}, {"spi_r", info.spi_r}, {"encryption", info.encryption},
                          {"prf", info.prf}, {"dh", info.dh}};
    if (info.established_at)
        ike["established_seconds"] =
            std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - *info.established_at).count();
    // Seconds until the rekeys we start ourselves (profile "rekey"); absent when none is scheduled.
    auto seconds_until = [](core::TimePoint at) {
        return std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::seconds>(at - Clock::now()).count());
    };
    if (info.rekey_at) ike["rekey_seconds"] = seconds_until(*info.rekey_at);
    // Reauthentication (core/session_reauth.cpp): when the next starts; when the gateway's AUTH_LIFETIME ends.
    if (info.reauth_at) ike["reauth_seconds"] = seconds_until(*info.reauth_at);
    if (info.auth_expires_at) ike["auth_lifetime_seconds"] = seconds_until(*info.auth_expires_at);
    ike["reauthenticating"] = info.reauthenticating;
    j["ike_sa"] = ike;
    j["child_sas"] = data_path_ ? data_path_->child_sas_status() : nlohmann::json::array();
    for (auto& child : j["child_sas"]) {
        for (const auto& rekey : info.child_rekeys) {
            char spi[9];
            std::snprintf(spi, sizeof spi, "%08x", rekey.spi_in);
            if (child.value("spi_in", "") == spi) child["rekey_seconds"] = seconds_until(rekey.at);
        }
    }
    if (data_path_) j["data_path"] = data_path_->offload_status();
    j["mobike"] = info.mobike;
    j["gateway_addresses"] = nlohmann::json::array();
    for (const auto& a : info.gateway_addresses) j["gateway_addresses"].push_back(a.to_string());
    const auto& frag = info.fragmentation;  // IKE fragmentation (RFC 7383)
    j["ike_fragmentation"] = {{"negotiated", frag.negotiated}, {"messages_fragmented", frag.messages_fragmented},
                              {"fragments_sent", frag.fragments_sent}, {"fragments_received", frag.fragments_received},
                              {"messages_reassembled", frag.messages_reassembled},
                              {"fragments_dropped", frag.fragments_dropped}};
    j["path_history"] = nlohmann::json::array();
    for (const auto& h : path_history_) j["path_history"].push_back(h);
    j["esp_via_previous_path"] = data_path_ ? data_path_->esp_elsewhere() : 0;
    return j;
}

void Session::perform(core::Actions actions) {
    // Every line names the IKE SA it is about (client/log.hpp); the negotiator has already updated its
    // state for these actions, so their lines carry the current SPIs.
    if (ike_) {
        const auto info = ike_->info();
        events_.log().set_context(sa_context(profile_.name, info.spi_i, info.spi_r));
    }
    for (auto& action : actions) {
        if (events_.log().enabled(LogLevel::trace)) {
            if (const auto* send = std::get_if<core::SendDatagram>(&action))
                events_.trace(describe_datagram(send->message, true));
            else if (auto line = describe_action(action); !line.empty())
                events_.trace(line);
        }
        perform_one(action);
    }
}

void Session::receive(ByteView message) {
    if (events_.log().enabled(LogLevel::trace)) events_.trace(describe_datagram(message, false));
    perform(ike_->on_datagram(message, Clock::now(), current_path()));
}

void Session::perform_one(core::Action& action) {
    std::visit(
        [&](auto& a) {
            using T = std::decay_t<decltype(a)>;
            if constexpr (std::is_same_v<T, core::SendDatagram>) {
                std::error_code ec;
                if (a.nat_t && probe_.active() &&
                    ((a.path && a.path->local == probe_.path().local) || (!a.path && reply_via_probe_))) {
                    if (!probe_.send(a.message)) events_.detail("sending on the new path failed (will retransmit)");
                    return;
                }
                // MOBIKE names the path; the socket normally is there already (check_path moved it). A
                // different gateway address (core/session_probe.cpp) moves the socket to it.
                if (a.path && a.nat_t && a.path->remote.address != gateway_ &&
                    a.path->remote.address.family() == gateway_.family())
                    follow_gateway(a.path->remote.address);
                else if (a.path && a.nat_t && current_path().local.address != a.path->local.address) {
                    try {
                        platform::reconnect_udp(natt_socket_->native_handle(), gateway_, nat_t_port, pinned_ifindex_);
                    } catch (const std::exception& e) {
                        events_.detail(std::string("moving the socket failed: ") + e.what() + " (will retransmit)");
                    }
                }
                if (a.nat_t) {
                    Bytes framed(4, 0);  // non-ESP marker (RFC 3948 §2.2)
                    append(framed, a.message);
                    natt_socket_->send(asio::buffer(framed), 0, ec);
                } else {
                    ike_socket_->send(asio::buffer(a.message), 0, ec);
                }
                if (ec) events_.detail("sending to the gateway failed: " + ec.message() + " (will retransmit)");
            } else if constexpr (std::is_same_v<T, core::ArmTimer>) {
                timer_.expires_at(a.at);
                timer_.async_wait([this](std::error_code ec) {
                    if (!ec && ike_) perform(ike_->on_timer(Clock::now()));
                });
            } else if constexpr (std::is_same_v<T, core::CancelTimer>) {
                timer_.cancel();
            } else if constexpr (std::is_same_v<T, core::Progress>) {
                events_.progress(a.line);
            } else if constexpr (std::is_same_v<T, core::InstallChildSa>) {
                try {
                    data_path_->install(a.child, !a.redundant);
                } catch (const std::exception& e) {
                    local_failure("PROTOCOL_ERROR", std::string("cannot install the CHILD SA: ") + e.what());
                    return;
                }
                if (a.rekey && !a.redundant) {
                    char in[9], out[9];
                    std::snprintf(in, sizeof in, "%08x", a.child.spi_in);
                    std::snprintf(out, sizeof out, "%08x", a.child.spi_out);
                    events_.emit({{"event", "rekeyed"}, {"sa", "child"}, {"spi_in", in}, {"spi_out", out},
                                  {"initiator", a.by_us ? "client" : "gateway"}});
                }
            } else if constexpr (std::is_same_v<T, core::ApplyNetworkConfig>) {
                if (!local_error_) apply_network(a.config);
            } else if constexpr (std::is_same_v<T, core::RemoveChildSa>) {
                data_path_->remove(a.spi_in);
            } else if constexpr (std::is_same_v<T, core::IkeRekeyed>) {
                events_.emit({{"event", "rekeyed"}, {"sa", "ike"}, {"spi_i", a.spi_i}, {"spi_r", a.spi_r},
                              {"initiator", a.by_us ? "client" : "gateway"}});
            } else if constexpr (std::is_same_v<T, core::PathChanged>) {
                path_changed(a);
            } else if constexpr (std::is_same_v<T, core::Reauthenticated>) {
                reauthenticated(a);
            } else if constexpr (std::is_same_v<T, core::Redirected>) {
                redirect_ = a;
                events_.emit({{"event", "redirected"}, {"from", gateway_.to_string()},
                              {"to", a.gateway.to_string()}, {"during", a.during}});
            } else if constexpr (std::is_same_v<T, core::Closed>) {
                finish(a);
            }
        },
        action);
}

// tun.mtu, or with "auto" the largest inner packet the path to the gateway carries once the negotiated
// transform has wrapped it, so that full-sized packets are never fragmented after encryption.
std::uint32_t Session::tun_mtu() {
    if (profile_.tun.mtu != 0) return std::uint32_t(profile_.tun.mtu);
    constexpr std::uint32_t fallback = 1400, ipv4_minimum = 576, ipv6_minimum = 1280;  // RFC 791, RFC 8200 §5
    const auto derived = data_path_->derived_tun_mtu();
    if (!derived) {
        events_.warning("cannot read the path MTU towards the gateway; using a TUN MTU of " +
                        std::to_string(fallback));
        return fallback;
    }
    std::uint32_t mtu = std::max(derived->tun_mtu, ipv4_minimum);
    events_.progress("TUN MTU " + std::to_string(mtu) + ": path MTU " + std::to_string(derived->path_mtu) +
                     " minus the ESP-in-UDP overhead of the negotiated transform");
    // Linux turns IPv6 off on a link below 1280, which would lose the virtual IPv6 address.
    if (mtu < ipv6_minimum && network_config_.virtual_ip6) {
        events_.warning("the path fits only " + std::to_string(mtu) + "-byte packets, below IPv6's minimum MTU; "
                        "using 1280, so full-sized packets will be fragmented after encryption");
        mtu = ipv6_minimum;
    }
    return mtu;
}

void Session::apply_network(const core::NetworkConfig& config) {
    network_config_ = config;
    try {
        platform::TunDevice tun = platform::TunDevice::open(profile_.tun.name, profile_.tun.offload);
        if (profile_.tun.offload && !tun.offload()) events_.warning("the kernel refused TUN offloads; running without");
        network_ = std::make_unique<platform::LinuxNetworkBuilder>();
        network_->set_tun(tun.ifindex(), tun.name(), tun_mtu());
        if (monitor_) monitor_->ignore_interface(tun.ifindex());  // our own device never is a path
        // Each family's routes leave with that family's virtual IP as source (host prefixes on the TUN).
        if (config.virtual_ip) network_->add_address(*config.virtual_ip, 32);
        if (config.virtual_ip6) network_->add_address(*config.virtual_ip6, 128);
        std::string route_list;
        for (const auto& route : config.routes) {
            network_->add_route(route, route.address.is_v4() ? config.virtual_ip : config.virtual_ip6);
            route_list += (route_list.empty() ? "" : ", ") + route.to_string();
        }
        // A full tunnel of one family never lets the other family leak beside it (client/route_policy.hpp).
        for (const auto& block : leak_blocking_routes(config.routes, platform::ipv6_available())) {
            network_->add_route(block, std::nullopt);
            events_.progress(std::string(block.address.is_v4() ? "IPv4" : "IPv6") +
                             " is blocked: the tunnel carries only the other family (" + block.to_string() +
                             " into " + tun.name() + ", dropped there)");
        }
        network_->establish();
        const std::string tun_name = tun.name();
        data_path_->attach_tun(std::move(tun));
        if (const auto& warning = data_path_->mtu_warning()) events_.warning(*warning);
        connected_ = true;
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_).count();
        std::string vip = config.virtual_ip ? config.virtual_ip->to_string() : "none";
        if (config.virtual_ip6) vip = (config.virtual_ip ? vip + " and " : "") + config.virtual_ip6->to_string();
        std::string dns_list;
        for (const auto& d : config.dns) dns_list += (dns_list.empty() ? "" : ", ") + d.to_string();
        events_.progress("virtual IP " + vip + " on " + tun_name + ", routes " + route_list);
        const std::string dns_line = host_->apply_dns(config, tun_name);
        if (!dns_line.empty()) events_.progress(dns_line);
        else if (!config.dns.empty()) events_.progress("the gateway offers DNS " + dns_list + " (not applied: \"dns\" is false)");
        events_.progress("connected in " + std::to_string(ms) + " ms");
        events_.end_steps();
        nlohmann::json event = status();
        nlohmann::json connected = {{"event", "connected"}, {"virtual_ip", event["virtual_ip"]},
                                    {"virtual_ip6", event["virtual_ip6"]},
                                    {"dns", event["dns"]}, {"local", event["local"]}, {"remote", event["remote"]},
                                    {"routes", nlohmann::json::array()}, {"connect_ms", ms}};
        for (const auto& r : config.routes) connected["routes"].push_back(r.to_string());
        events_.emit(connected);
    } catch (const std::exception& e) {
        local_failure("PLATFORM_ERROR", std::string("cannot configure the tunnel device: ") + e.what());
    }
}

// A failure on our side after the IKE SA exists: report it, delete the SA at the gateway, exit non-zero.
void Session::local_failure(std::string_view code, const std::string& message) {
    if (!local_error_) local_error_ = std::make_pair(std::string(code), message);
    if (network_) network_->teardown();
    if (host_) host_->release();
    perform(ike_->close(Clock::now()));
}

void Session::finish(const core::Closed& ended) {
    core::Closed closed = ended;
    if (closed.code == core::CloseCode::redirected && stop_requested_) {  // the user's disconnect wins
        redirect_.reset();
        closed = {core::CloseCode::requested, "disconnected on request"};
    }
    timer_.cancel();
    rekey_poll_.cancel();
    signals_.cancel();
    if (monitor_stream_) monitor_stream_->cancel();
    old_path_.stop();
    probe_.close();
    if (settle_timer_) settle_timer_->cancel();
    if (data_path_) data_path_->stop();
    if (network_) {
        network_->teardown();
        for (const auto& problem : network_->teardown_errors()) events_.warning("cleanup: " + problem);
    }
    if (closed.code == core::CloseCode::redirected && redirect_ && !local_error_) {
        // A new gateway: its own kill-switch exception and DNS come with the next Session.
        if (host_) host_->release();
        events_.progress(closed.reason);
        control_.reset();
        io_.stop();
        return;
    }
    const bool moved = closed.code == core::CloseCode::path_lost && connected_ && !local_error_ && profile_.mobike &&
                       !ike_->info().mobike;
    const bool dead = dead_data_path_ && !local_error_;
    if (moved || dead ||
        (reconnect_reason_ && !stop_requested_ && closed.code == core::CloseCode::requested && !local_error_)) {
        const std::string why = moved ? closed.reason : dead ? "dead data path: " + *dead_data_path_ : *reconnect_reason_;
        reestablish_ = true;
        events_.progress(why + ": re-establishing the tunnel");
        events_.emit({{"event", "reconnecting"}, {"reason", why}});
        control_.reset();
        io_.stop();
        return;
    }
    if (host_) host_->release();  // DNS, kill switch, state file: after the routes are gone
    std::string reason = closed.reason;
    if (local_error_) {
        events_.error(local_error_->first, local_error_->second);
        reason = local_error_->second;
        exit_code_ = 1;
    } else if (closed.code == core::CloseCode::requested) {
        events_.progress(connected_ ? "disconnected" : "stopped before the tunnel was up");
        exit_code_ = 0;
    } else {
        events_.error(core::error_code_name(closed.code), closed.reason);
        exit_code_ = 1;
    }
    events_.emit({{"event", "disconnected"}, {"reason", reason}});
    control_.reset();
    io_.stop();
}

asio::awaitable<void> Session::run_ike_receiver() {
    std::array<std::uint8_t, 65536> buffer;
    while (ike_ && !ike_->closed()) {
        std::error_code ec;
        std::size_t n = co_await ike_socket_->async_receive(asio::buffer(buffer),
                                                            asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted) co_return;
        if (ec) continue;  // e.g. ECONNREFUSED from an ICMP error: retransmission decides
        receive(ByteView(buffer.data(), n));
    }
}

// RFC 3948 §4: keepalives hold the NAT mapping of the UDP 4500 path open; the profile's "nat_keepalive"
// sets the interval (default 20 s, 0 = none). The data path sends one only after that long without
// sending anything else there, and its stop() ends the loop.
asio::awaitable<void> Session::run_keepalives() {
    if (profile_.nat_keepalive == 0 || !data_path_) co_return;
    co_await data_path_->run_keepalives(std::chrono::seconds(profile_.nat_keepalive));
}

// The data plane's limits reach the negotiator here: once a second, pairs past their sequence-number soft
// limit (2^32 - 2^24 without ESN: minutes of margin even at line rate) or the profile's
// "rekey.child_bytes" are handed to IkeSession::rekey_child(), which ignores repeats.
asio::awaitable<void> Session::run_rekey_monitor() {
    while (ike_ && !ike_->closed()) {
        rekey_poll_.expires_after(std::chrono::seconds(1));
        std::error_code ec;
        co_await rekey_poll_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec || !ike_ || ike_->closed() || !data_path_) co_return;
        for (std::uint32_t spi_in : data_path_->pairs_needing_rekey(profile_.rekey.child_bytes))
            perform(ike_->rekey_child(spi_in, Clock::now()));
        if (ike_ && !ike_->closed()) check_data_path();
    }
}

// ESP goes out, none comes back, IKE answers: rekey the CHILD SA, then re-establish (client/esp_liveness.hpp).
// A handover (state "roaming") is silent by nature: the watch starts afresh after it.
void Session::check_data_path() {
    if (!liveness_.enabled() || !connected_ || dead_data_path_) return;
    if (ike_->info().state != "connected") {
        liveness_ = EspLiveness(std::chrono::seconds(profile_.data_path_timeout));
        return;
    }
    const auto c = data_path_->current_pair_counters();
    const auto verdict = liveness_.observe({c.spi_in, c.packets_in, c.packets_out}, Clock::now());
    if (verdict == EspLiveness::Verdict::fine) return;
    const bool rekey = verdict == EspLiveness::Verdict::rekey;
    events_.warning("dead data path: " + liveness_.why());
    events_.emit({{"event", "data_path_dead"}, {"action", rekey ? "rekey" : "reestablish"},
                  {"reason", liveness_.why()}});
    if (rekey) return perform(ike_->rekey_child(c.spi_in, Clock::now()));
    dead_data_path_ = liveness_.why();
    perform(ike_->close(Clock::now()));
}

int Session::run() {
    events_.log().set_context(profile_.name);
    try {
        events_.begin_steps();
        gateway_ = resolve_gateway();
    } catch (const std::exception& e) {
        events_.error("RESOLVE_FAILED", e.what());
        return 1;
    }
    try {
        control_ = std::make_unique<ControlServer>(
            io_, options_.socket_path, [this] { return status(); },
            [this] {
                events_.progress("disconnect requested");
                stop_requested_ = true;
                perform(ike_->close(Clock::now()));
            },
            options_.control_group);
    } catch (const AlreadyConnected& e) {
        events_.error("ALREADY_CONNECTED", e.what());
        return 1;
    } catch (const std::exception& e) {
        events_.error("PLATFORM_ERROR", e.what());
        return 1;
    }
    try {
        host_ = std::make_unique<HostIntegration>(profile_, options_.socket_path, events_);
        host_->begin(gateway_);
    } catch (const std::exception& e) {
        events_.error("PLATFORM_ERROR", e.what());
        return 1;
    }
    try {
        // Leftovers of a killed earlier run would steer traffic into a table without a device.
        platform::Netlink netlink;
        if (std::size_t removed = platform::LinuxNetworkBuilder::cleanup_stale(netlink))
            events_.warning("removed " + std::to_string(removed) + " routing entries left by an earlier ikevpn");
        ike_socket_.emplace(open_socket(gateway_, profile_.port));
        natt_socket_.emplace(open_socket(gateway_, nat_t_port));
    } catch (const std::exception& e) {
        events_.error("PLATFORM_ERROR", std::string("cannot open sockets to the gateway: ") + e.what());
        return 1;
    }
    ike_ = std::make_unique<core::IkeSession>(session_config(gateway_), *random_);
    data_path_ = std::make_unique<DataPath>(io_, *natt_socket_, [this](ByteView message) { receive(message); });
    data_path_->set_replay_window(std::uint32_t(profile_.replay_window));
    signals_.async_wait([this](std::error_code ec, int signal) {
        if (ec) return;
        events_.progress(std::string(signal == SIGINT ? "interrupted" : signal == SIGHUP ? "hung up" : "terminated") + ", disconnecting");
        stop_requested_ = true;
        perform(ike_->close(Clock::now()));
        // A second signal while the Delete is in flight stops at once (cleanup still runs).
        signals_.async_wait([this](std::error_code ec2, int) {
            if (!ec2) finish(core::Closed{core::CloseCode::requested, "interrupted twice"});
        });
    });
    events_.progress("connecting to " + gateway_.to_string() + " (profile " + profile_.name + ")");
    data_path_->start_receiving();
    asio::co_spawn(io_, run_ike_receiver(), asio::detached);
    asio::co_spawn(io_, run_keepalives(), asio::detached);
    asio::co_spawn(io_, run_rekey_monitor(), asio::detached);
    if (profile_.mobike) {
        try {
            monitor_ = std::make_unique<platform::NetlinkMonitor>();
            monitor_->ignore_table(platform::PolicyRouting{}.table);
            platform::share_address(natt_socket_->native_handle());
            old_path_.set_esp_handler([this](ByteView datagram) {
                if (data_path_) data_path_->receive_elsewhere(datagram);
            });
            old_path_.listen(current_path(), std::nullopt, platform::PolicyRouting{}.fwmark);
            asio::co_spawn(io_, run_path_monitor(), asio::detached);
        } catch (const std::exception& e) {
            events_.warning(std::string("MOBIKE: cannot watch the network (") + e.what() + "): the tunnel will not follow changes");
            monitor_.reset();
        }
    }
    perform(ike_->on_path(current_path(), Clock::now()));
    perform(ike_->start(Clock::now()));
    io_.run();
    return exit_code_;
}

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
    old_path_.listen(current_path(), old, platform::PolicyRouting{}.fwmark);
}

// The core retries a request at another address of the gateway (ADDITIONAL_IP*_ADDRESS): the NAT-T socket
// connects there (same fd, the SAs stay; a device binding stays too), the route lookups follow it, and the
// old address still has a listener for what the gateway sends from it.
void Session::follow_gateway(const IpAddress& address) {
    const core::Path old = current_path();
    try {
        platform::reconnect_udp(natt_socket_->native_handle(), address, nat_t_port, pinned_ifindex_);
        gateway_ = address;
        old_path_.listen(current_path(), old, platform::PolicyRouting{}.fwmark);
    } catch (const std::exception& e) {
        events_.detail("cannot reach the gateway at " + address.to_string() + ": " + e.what());
        try {
            platform::reconnect_udp(natt_socket_->native_handle(), gateway_, nat_t_port, pinned_ifindex_);
        } catch (const std::exception&) {
            // no route back either: the next path check (netlink) or retransmission decides
        }
    }
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
        old_path_.listen(current_path(), old, platform::PolicyRouting{}.fwmark);
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
    probe_.close();
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

}  // namespace

int run_connect(const Profile& profile, const ConnectOptions& options, EventSink& events) {
    // A gateway without MOBIKE cannot follow a network change: a new IKE SA from the new path is the fallback.
    // A redirect (RFC 5685) starts over at the gateway it names, with REDIRECTED_FROM; more than
    // max_redirects in a row without a tunnel coming up in between is a loop.
    Profile current = profile;
    std::optional<core::GatewayIdentity> from;
    core::RedirectChain chain;  // more than 5 in a row is a loop
    for (;;) {
        Session session(current, options, events);
        if (from) session.set_redirected_from(*from);
        const int status = session.run();
        if (const auto& redirect = session.redirect(); redirect && status != 0) {
            if (auto loop = chain.follow(session.gateway().to_string(), redirect->gateway.to_string(),
                                         session.was_connected())) {
                events.error("REDIRECT_LOOP", *loop);
                events.emit({{"event", "disconnected"}, {"reason", *loop}});
                return 1;
            }
            from = core::GatewayIdentity{session.gateway()};
            current.gateway = redirect->gateway.to_string();
            continue;
        }
        if (!session.reestablish()) return status;
        from.reset();
    }
}

}  // namespace ikevpn::client
