// The session's changes to the host beyond the tunnel's own routes: the crash-state file (run_state.hpp),
// the kill switch (platform/kill_switch.hpp) and DNS (platform/dns_config.hpp). Each change is recorded in
// the state file before it is made, so that a SIGKILLed connect is cleaned up by the next connect or
// disconnect; release() undoes them in reverse order on every normal exit.
#pragma once
#include "client/events.hpp"
#include "client/profile.hpp"
#include "client/run_state.hpp"
#include "core/session.hpp"
#include "platform/dns_config.hpp"
#include "platform/kill_switch.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace ikevpn::client {

class HostIntegration {
public:
    HostIntegration(const Profile& profile, const std::filesystem::path& socket_path, EventSink& events);
    ~HostIntegration();  // release()
    HostIntegration(const HostIntegration&) = delete;
    HostIntegration& operator=(const HostIntegration&) = delete;

    // Before the first IKE packet (and with no other connect of this profile alive): cleans up after a dead
    // earlier connect, writes the state file, installs the kill switch if the profile asks. Throws
    // std::runtime_error with a one-line message.
    void begin(const IpAddress& gateway);
    // After the tunnel is up: applies the gateway's DNS servers when the profile says "dns": true. Throws
    // std::runtime_error with a one-line message. Returns a progress line ("" when nothing was done).
    std::string apply_dns(const core::NetworkConfig& config, const std::string& tun_name);
    // Undoes DNS, then the kill switch, then removes the state file; problems become warnings. Idempotent.
    void release() noexcept;
    // The tunnel is re-established in this process at once (run_connect): release() then leaves the kill
    // switch table and the state file naming it in place, and the next begin() of this process takes them
    // over (its install() replaces the table in one transaction) — no moment without the kill switch.
    // run_connect() cleans up if no begin() follows (clean_up_handed_over()).
    void hand_over() { handing_over_ = true; }

    bool kill_switch_on() const { return kill_switch_ && kill_switch_->installed(); }
    // With the kill switch on: IKE/ESP may leave for exactly these addresses of the gateway from now on
    // (MOBIKE may move the SAs to any of them). Throws std::runtime_error with a one-line message.
    void allow_gateways(const std::vector<IpAddress>& gateways);
    // "systemd-resolved", "resolvconf" or "/etc/resolv.conf" while DNS is applied; nullopt otherwise.
    std::optional<std::string> dns_backend() const;

private:
    void save();

    const Profile& profile_;
    std::filesystem::path socket_path_;
    std::filesystem::path state_path_;
    EventSink& events_;
    RunState state_;
    bool state_written_ = false;
    bool handing_over_ = false;
    std::unique_ptr<platform::KillSwitch> kill_switch_;
    platform::DnsConfigurator dns_;
};

// After the last session of a connect: a kill switch and state file handed over (HostIntegration::hand_over)
// that no later session took over are undone. Problems become warnings.
void clean_up_handed_over(const std::filesystem::path& socket_path, EventSink& events) noexcept;

// The servers worth applying: only those of a family the tunnel carries (an IPv6 server is useless, and
// would leak queries outside the tunnel, when there is no IPv6 virtual address).
platform::DnsSettings dns_settings_for(const core::NetworkConfig& config);

}  // namespace ikevpn::client
