// The connect session: one io_context runs the negotiator's driver, the control socket and (for now) the
// packet path. core::IkeSession decides; this file only performs its actions and feeds it events. The
// class is declared in client/session_impl.hpp; its path/MOBIKE members are in client/session_paths.cpp.
#include "client/session_impl.hpp"

#include "client/gateway_family.hpp"
#include "client/log_describe.hpp"
#include "client/route_policy.hpp"
#include "platform/netlink.hpp"
#include "platform/udp_reconnect.hpp"
#include "platform/platform_error.hpp"
#include "platform/tun_device.hpp"
#include "platform/udp_socket.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <csignal>
#include <unistd.h>

namespace ikevpn::client {
namespace detail {
namespace {

constexpr int socket_buffer_bytes = 4 << 20;

// "192.0.2.1:4500", "[2001:db8::1]:4500" (docs/status-json.md)
std::string endpoint_text(const std::string& address, bool v6, std::uint16_t port) {
    return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}
std::string endpoint_text(const asio::ip::udp::endpoint& e) {
    auto a = e.address();  // a dual-stack socket's IPv4 path shows as ::ffff:a.b.c.d
    if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    return endpoint_text(a.to_string(), a.is_v6(), e.port());
}

}  // namespace

std::vector<IpAddress> Session::resolve_gateway() {
    if (auto literal = IpAddress::parse(profile_.gateway)) return {*literal};
    events_.progress("resolving gateway " + profile_.gateway);
    asio::ip::udp::resolver resolver(io_);
    std::error_code ec;
    auto results = resolver.resolve(profile_.gateway, "", ec);
    if (ec || results.empty())
        throw std::runtime_error("cannot resolve gateway '" + profile_.gateway + "': " +
                                 (ec ? ec.message() : std::string("no address")));
    std::vector<IpAddress> all;
    for (const auto& r : results) {
        auto addr = r.endpoint().address();
        all.push_back(addr.is_v4() ? IpAddress::v4(addr.to_v4().to_bytes()) : IpAddress::v6(addr.to_v6().to_bytes()));
    }
    return connect_order(all);
}

asio::ip::udp::socket Session::open_socket(const IpAddress& gateway, std::uint16_t port, bool dual_stack) {
    const platform::PolicyRouting policy;
    dual_stack = dual_stack && platform::ipv6_available();
    int fd = platform::open_udp_socket(dual_stack ? IpAddress::Family::v6 : gateway.family(), policy.fwmark,
                                       socket_buffer_bytes, std::nullopt, 0, dual_stack);
    asio::ip::udp::socket socket(io_, gateway.is_v4() && !dual_stack ? asio::ip::udp::v4() : asio::ip::udp::v6(), fd);
    // A connected socket only accepts datagrams from the gateway and tells us our source address.
    auto address = to_asio(gateway);
    if (dual_stack && address.is_v4()) address = asio::ip::make_address_v6(asio::ip::v4_mapped, address.to_v4());
    socket.connect(asio::ip::udp::endpoint(address, port));
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
    c.eap_tls = profile_.auth == AuthMethod::eap_tls;
    if (c.eap_tls) {
        c.eap_tls_key = profile_.private_key;
        c.eap_tls_certs = profile_.local_certs;
    }
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
    c.reauth_initial_contact = profile_.rekey.reauth_initial_contact;
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
    j["kill_switch_gateways"] = nlohmann::json::array();
    if (host_ && host_->kill_switch_on())
        for (const auto& a : kill_switch_gateways_) j["kill_switch_gateways"].push_back(a.to_string());
    j["tun_mtu"] = tun_mtu_now_ ? nlohmann::json(tun_mtu_now_) : nlohmann::json(nullptr);
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
    dpd_.add_status(ike, info, Clock::now());  // client/gateway_liveness.hpp
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
    if (data_path_) j["data_path"]["rekey_send_switches"] = data_path_->deferred_status();
    if (data_path_ && liveness_.enabled()) j["data_path"]["liveness_backoff"] = liveness_backoff_.status();
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
    sync_kill_switch();  // a new ADDITIONAL_IP*_ADDRESS list, or a move
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
                        hold_on_path_device();
                    } catch (const std::exception& e) {
                        events_.detail(std::string("moving the socket failed: ") + e.what() + " (will retransmit)");
                    }
                }
                if (a.nat_t) {
                    Bytes framed(4, 0);  // non-ESP marker (RFC 3948 §2.2)
                    append(framed, a.message);
                    natt_socket_->send(asio::buffer(framed), 0, ec);
                } else {
                    aim_ike_socket();  // a reauthentication after a move: where the gateway is now
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
                    if (a.outbound_deferred) data_path_->install_deferred(a.child);
                    else data_path_->install(a.child, !a.redundant);
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
        tun_mtu_now_ = tun_mtu();
        network_->set_tun(tun.ifindex(), tun.name(), tun_mtu_now_);
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
    if (closed.code == core::CloseCode::timeout && ike_ && ike_->info().liveness_failed)
        events_.emit(dpd_.dead_event(closed.reason, Clock::now()));  // then `error` TIMEOUT, as any timeout
    const bool moved = closed.code == core::CloseCode::path_lost && connected_ && !local_error_ && profile_.mobike &&
                       !ike_->info().mobike;
    const bool dead = dead_data_path_ && !local_error_;
    if (moved || dead ||
        (reconnect_reason_ && !stop_requested_ && closed.code == core::CloseCode::requested && !local_error_)) {
        const std::string why = moved ? closed.reason : dead ? "dead data path: " + *dead_data_path_ : *reconnect_reason_;
        reestablish_ = true;
        if (host_) host_->hand_over();  // the kill switch stays on until the next session has its own
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
        if (ike_ && !ike_->closed()) perform(dpd_.poll(*ike_, data_path_->packets_in(), events_, Clock::now()));
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
    if (c.spi_in != 0 && c.packets_in > 0 && liveness_backoff_.heard())
        events_.progress("data path: ESP from the gateway again, the dead-data-path backoff is reset");
    liveness_.set_reestablish_after(liveness_backoff_.reestablish_after());
    const auto verdict = liveness_.observe({c.spi_in, c.packets_in, c.packets_out}, Clock::now());
    if (verdict == EspLiveness::Verdict::fine) return;
    const bool rekey = verdict == EspLiveness::Verdict::rekey;
    if (!rekey) liveness_backoff_.reestablishing();  // the next tunnel waits longer after its rekey
    const auto wait = std::to_string(liveness_backoff_.reestablish_after().count());
    events_.warning("dead data path: " + liveness_.why() + " (backoff level " +
                    std::to_string(liveness_backoff_.level()) + ": a re-establishment needs " + wait +
                    " s of silence after a rekey)");
    events_.emit({{"event", "data_path_dead"}, {"action", rekey ? "rekey" : "reestablish"},
                  {"reason", liveness_.why()}, {"liveness_backoff", liveness_backoff_.status()}});
    if (rekey) return perform(ike_->rekey_child(c.spi_in, Clock::now()));
    dead_data_path_ = liveness_.why();
    perform(ike_->close(Clock::now()));
}

int Session::run() {
    events_.log().set_context(profile_.name);
    try {
        events_.begin_steps();
        resolved_ = carried_resolved_.empty() ? resolve_gateway() : carried_resolved_;
        gateway_ = first_gateway();
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
        sync_kill_switch();  // the name's other addresses too, before the first IKE packet
    } catch (const std::exception& e) {
        events_.error("PLATFORM_ERROR", e.what());
        return 1;
    }
    try {
        // Leftovers of a killed earlier run would steer traffic into a table without a device.
        platform::Netlink netlink;
        if (std::size_t removed = platform::LinuxNetworkBuilder::cleanup_stale(netlink))
            events_.warning("removed " + std::to_string(removed) + " routing entries left by an earlier ikevpn");
        ike_socket_.emplace(open_socket(gateway_, profile_.port, profile_.mobike));  // dual-stack: aim_ike_socket
        natt_socket_.emplace(open_socket(gateway_, nat_t_port, profile_.mobike));
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
            socket_moved(std::nullopt);
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

}  // namespace detail

int run_connect(const Profile& profile, const ConnectOptions& options, EventSink& events) {
    // A gateway without MOBIKE cannot follow a network change: a new IKE SA from the new path is the fallback.
    // A redirect (RFC 5685) starts over at the gateway it names, with REDIRECTED_FROM; more than
    // max_redirects in a row without a tunnel coming up in between is a loop.
    Profile current = profile;
    std::optional<core::GatewayIdentity> from;
    core::RedirectChain chain;  // more than 5 in a row is a loop
    std::vector<IpAddress> carried;  // a re-establish with the kill switch on: no new DNS lookup
    std::optional<LivenessBackoff> backoff;  // dead-data-path re-establishments (client/liveness_backoff.hpp)
    for (;;) {
        detail::Session session(current, options, events);
        if (from) session.set_redirected_from(*from);
        if (!carried.empty()) session.carry_resolved(std::move(carried));
        if (backoff) session.carry_liveness_backoff(*backoff);
        carried.clear();
        const int status = session.run();
        if (!session.reestablish() || session.redirect()) clean_up_handed_over(options.socket_path, events);
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
        if (current.kill_switch) carried = session.resolved();
        backoff = session.liveness_backoff();
        from.reset();
    }
}

}  // namespace ikevpn::client