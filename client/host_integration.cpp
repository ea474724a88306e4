#include "client/host_integration.hpp"

#include <unistd.h>

namespace ikevpn::client {

namespace fs = std::filesystem;

platform::DnsSettings dns_settings_for(const core::NetworkConfig& config) {
    platform::DnsSettings s;
    for (const auto& server : config.dns)
        if (server.is_v4() ? config.virtual_ip.has_value() : config.virtual_ip6.has_value()) s.servers.push_back(server);
    for (const auto& route : config.routes)
        if (route.length == 0) s.full_tunnel = true;
    s.domains = config.dns_domains;
    return s;
}

HostIntegration::HostIntegration(const Profile& profile, const fs::path& socket_path, EventSink& events)
    : profile_(profile), socket_path_(socket_path), state_path_(state_path_for(socket_path)), events_(events) {}

HostIntegration::~HostIntegration() { release(); }

void HostIntegration::save() {
    save_run_state(state_path_, state_);
    state_written_ = true;
}

void HostIntegration::begin(const IpAddress& gateway) {
    auto stale = load_run_state(state_path_);
    if (stale && stale->pid == int(::getpid())) stale.reset();  // handed over by this process's last session
    if (stale) {
        // Our ControlServer already took over the dead process's socket path: leave the socket alone.
        CleanupReport report = clean_up_run(state_path_, *stale, false);
        events_.warning("an earlier ikevpn for profile " + stale->profile + " (pid " + std::to_string(stale->pid) +
                        ") did not stop cleanly; cleaned up what it left");
        for (const auto& line : report.cleaned) events_.detail("cleanup: " + line);
        for (const auto& line : report.problems) events_.warning("cleanup: " + line);
    }
    state_ = RunState{socket_path_, int(::getpid()), profile_.name, profile_.tun.name, true, {}, std::nullopt};
    if (profile_.kill_switch) state_.nft_table = platform::kill_switch_table_name(profile_.name);
    save();  // before anything changes: the kill switch and the policy routes
    if (!profile_.kill_switch) return;
    platform::KillSwitchConfig config{state_.nft_table, profile_.tun.name, gateway, {profile_.port, 4500},
                                      profile_.kill_switch_allow_lan, {}};
    if (profile_.port == 4500) config.gateway_ports = {4500};
    kill_switch_ = std::make_unique<platform::KillSwitch>(config);
    kill_switch_->install();
    events_.progress("kill switch on: only the tunnel and IKE/ESP to the gateway (" + gateway.to_string() +
                     (profile_.mobike ? " and the addresses it may move to" : "") + ")" +
                     (profile_.kill_switch_allow_lan ? " (and the local LAN)" : "") +
                     " may leave (nftables table inet " + state_.nft_table + ")");
}

void HostIntegration::allow_gateways(const std::vector<IpAddress>& gateways) {
    if (!kill_switch_on()) return;
    kill_switch_->allow_gateways(gateways);
    std::string list;
    for (const auto& g : gateways) list += (list.empty() ? "" : ", ") + g.to_string();
    events_.detail("kill switch: IKE/ESP may leave for the gateway at " + list);
}

std::string HostIntegration::apply_dns(const core::NetworkConfig& config, const std::string& tun_name) {
    if (!profile_.dns) return {};
    const platform::DnsSettings settings = dns_settings_for(config);
    if (settings.servers.empty()) {
        events_.warning("\"dns\" is true but the gateway sent no DNS servers for the tunnel's address families");
        return {};
    }
    const platform::DnsBackend backend = platform::detect_dns_backend();
    state_.dns = dns_.prepare(backend, tun_name, settings, profile_.name, dns_backup_path_for(socket_path_));
    save();
    dns_.apply();
    std::string list;
    for (const auto& s : settings.servers) list += (list.empty() ? "" : ", ") + s.to_string();
    std::string domains;
    for (const auto& d : settings.domains) domains += (domains.empty() ? "" : ", ") + d;
    return "DNS " + list + (domains.empty() ? "" : " for " + domains) + " applied through " +
           platform::dns_backend_name(backend);
}

std::optional<std::string> HostIntegration::dns_backend() const {
    if (!dns_.active() || !state_.dns) return std::nullopt;
    return std::string(platform::dns_backend_name(state_.dns->backend));
}

void HostIntegration::release() noexcept {
    try {
        for (const auto& problem : dns_.restore()) events_.warning("cleanup: " + problem);
        if (handing_over_ && kill_switch_on() && state_written_) {
            state_.dns.reset();  // restored above
            save();
            kill_switch_.reset();  // the table stays
            state_written_ = false;
            return;
        }
        if (kill_switch_) {
            if (auto problem = kill_switch_->remove(); !problem.empty()) events_.warning("cleanup: " + problem);
            kill_switch_.reset();
        }
        if (state_written_) {
            std::error_code ec;
            fs::remove(state_path_, ec);
            state_written_ = false;
        }
    } catch (const std::exception& e) {
        events_.warning(std::string("cleanup: ") + e.what());
    }
}

void clean_up_handed_over(const fs::path& socket_path, EventSink& events) noexcept {
    try {
        const fs::path path = state_path_for(socket_path);
        const auto state = load_run_state(path);
        if (!state || state->pid != int(::getpid())) return;
        CleanupReport report = clean_up_run(path, *state, false);
        for (const auto& line : report.cleaned) events.detail("cleanup: " + line);
        for (const auto& line : report.problems) events.warning("cleanup: " + line);
    } catch (const std::exception& e) {
        events.warning(std::string("cleanup: ") + e.what());
    }
}

}  // namespace ikevpn::client
