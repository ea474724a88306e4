// Applying the gateway's DNS servers (INTERNAL_IP4_DNS / INTERNAL_IP6_DNS, RFC 7296 §3.15.1) to the host,
// through whichever manager owns name resolution here:
//   1. systemd-resolved, when it runs: per-link servers on the TUN device with `resolvectl dns`, the routing
//      domain "~." for a full tunnel (every name is resolved through the tunnel) and `default-route yes`;
//      `resolvectl revert` undoes it (and resolved forgets the link anyway when the TUN disappears);
//   2. resolvconf, when installed: `resolvconf -a <tun>` with a resolv.conf fragment on stdin,
//      `resolvconf -d <tun>` to undo. For a full tunnel with openresolv, `-x` marks our record exclusive, so
//      the LAN's servers stop being listed after ours (a query that times out on ours would otherwise be
//      retried in the clear). Debian's resolvconf has no such flag: its interface-order decides;

//   3. otherwise a guarded rewrite of /etc/resolv.conf: the original is saved to a backup file first, our file
//      starts with a marker, and on restore the original is written back only if the file still holds
//      exactly what we wrote — if someone else changed it meanwhile we leave their version alone and say so,
//      keeping the backup. The file is rewritten in place (never renamed over), so a bind-mounted
//      resolv.conf (ip netns exec) keeps working; a symlinked one belongs to another tool and is refused.
// Split DNS (INTERNAL_DNS_DOMAIN, RFC 8598, requested by core/ike_config): the generators below place the
// gateway's domains as routing domains ("~corp.example") for resolved and as a search line for the other
// two.
#pragma once
#include "core/ip_address.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace ikevpn::platform {

enum class DnsBackend { resolved, resolvconf, resolv_conf_file };
const char* dns_backend_name(DnsBackend backend);  // "systemd-resolved", "resolvconf", "/etc/resolv.conf"
// Parses dns_backend_name()'s output back (for the crash-state file); false when unknown.
bool parse_dns_backend(const std::string& text, DnsBackend& backend);

struct DnsSettings {
    std::vector<IpAddress> servers;    // in the gateway's order
    std::vector<std::string> domains;  // split-DNS domains (RFC 8598), may be empty
    bool full_tunnel = false;          // a default route goes through the tunnel
};

// What has to be undone — kept in the crash-state file so that another process can undo it.
struct DnsRecord {
    DnsBackend backend = DnsBackend::resolv_conf_file;
    std::string link;                      // TUN name (resolved, resolvconf)
    std::filesystem::path resolv_conf;     // file backend: the file we rewrite
    std::filesystem::path backup;          // file backend: the original's copy
    std::string written;                   // file backend: exactly what we wrote
};

// systemd-resolved answers when its varlink socket exists and resolvectl is installed; else resolvconf if
// installed; else the file.
DnsBackend detect_dns_backend();

// The generators (pure, unit-tested).
std::vector<std::vector<std::string>> resolvectl_apply_commands(const std::string& link, const DnsSettings& s);
std::vector<std::string> resolvectl_revert_command(const std::string& link);
std::string resolvconf_fragment(const DnsSettings& s);  // "nameserver ...\n" lines (+ "search ...")
// `resolvconf [-x] -a LINK`: -x only for a full tunnel through openresolv (Debian's resolvconf rejects it).
std::vector<std::string> resolvconf_add_command(const std::string& link, const DnsSettings& s, bool openresolv);
// Whether the installed resolvconf is openresolv (`resolvconf --version` names it).
bool resolvconf_is_openresolv();
// `original` with its nameserver and search/domain lines replaced by ours (at most 3 servers: glibc's
// MAXNS), options and comments kept, below a marker header that names `profile` and `backup`.
std::string resolv_conf_rewrite(const std::string& original, const DnsSettings& s, const std::string& profile,
                                const std::filesystem::path& backup);

class DnsConfigurator {
public:
    // Step 1, before anything changes: decides what will be done and, for the file backend, reads the
    // current file and saves the backup. The returned record belongs in the crash-state file before apply().
    // Throws PlatformError (e.g. resolv.conf is a symlink, backup cannot be written).
    DnsRecord prepare(DnsBackend backend, const std::string& link, const DnsSettings& settings,
                      const std::string& profile, const std::filesystem::path& backup,
                      const std::filesystem::path& resolv_conf = "/etc/resolv.conf");
    // Step 2: changes the system. Throws PlatformError; what it did so far is undone by restore().
    void apply();
    // Undoes apply() (or cleans up after prepare()); returns problems, one line each (empty: all restored).
    std::vector<std::string> restore();
    bool active() const { return active_; }

    // Undo from a record alone (crash cleanup, and restore() itself).
    static std::vector<std::string> restore_record(const DnsRecord& record);

private:
    DnsRecord record_;
    DnsSettings settings_;
    bool active_ = false;
};

}  // namespace ikevpn::platform
