#include "platform/dns_config.hpp"

#include "platform/command.hpp"
#include "platform/platform_error.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace ikevpn::platform {
namespace {

namespace fs = std::filesystem;
constexpr std::size_t glibc_max_nameservers = 3;  // MAXNS in <resolv.h>: further lines are ignored
constexpr std::size_t max_resolv_conf = 1 << 20;

std::string read_file(const fs::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_errno("read " + path.string());
    std::string text;
    char buffer[4096];
    for (;;) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int saved = errno;
            ::close(fd);
            throw PlatformError("read " + path.string(), saved);
        }
        if (n == 0) break;
        text.append(buffer, std::size_t(n));
        if (text.size() > max_resolv_conf) {
            ::close(fd);
            throw PlatformError("read " + path.string(), EFBIG);
        }
    }
    ::close(fd);
    return text;
}

// In place (O_TRUNC), not write-and-rename: the path may be a bind mount, which rename cannot replace.
void write_file(const fs::path& path, const std::string& text, bool create, mode_t mode = 0644) {
    int flags = O_WRONLY | O_TRUNC | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0);
    int fd = ::open(path.c_str(), flags, mode);
    if (fd < 0) throw_errno("write " + path.string());
    std::size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int saved = errno;
            ::close(fd);
            throw PlatformError("write " + path.string(), saved);
        }
        done += std::size_t(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) throw_errno("write " + path.string());
}

std::string command_text(const std::vector<std::string>& argv) {
    std::string text;
    for (const auto& a : argv) text += (text.empty() ? "" : " ") + a;
    return text;
}

bool is_server_or_search_line(const std::string& line) {
    std::istringstream in(line);
    std::string word;
    in >> word;
    return word == "nameserver" || word == "search" || word == "domain";
}

}  // namespace

const char* dns_backend_name(DnsBackend backend) {
    switch (backend) {
    case DnsBackend::resolved: return "systemd-resolved";
    case DnsBackend::resolvconf: return "resolvconf";
    case DnsBackend::resolv_conf_file: return "/etc/resolv.conf";
    }
    return "?";
}

bool parse_dns_backend(const std::string& text, DnsBackend& backend) {
    for (auto b : {DnsBackend::resolved, DnsBackend::resolvconf, DnsBackend::resolv_conf_file})
        if (text == dns_backend_name(b)) {
            backend = b;
            return true;
        }
    return false;
}

DnsBackend detect_dns_backend() {
    std::error_code ec;
    if (fs::exists("/run/systemd/resolve/io.systemd.Resolve", ec) && command_exists("resolvectl"))
        return DnsBackend::resolved;
    if (command_exists("resolvconf")) return DnsBackend::resolvconf;
    return DnsBackend::resolv_conf_file;
}

std::vector<std::vector<std::string>> resolvectl_apply_commands(const std::string& link, const DnsSettings& s) {
    std::vector<std::string> dns = {"resolvectl", "dns", link};
    for (const auto& server : s.servers) dns.push_back(server.to_string());
    // "~name" makes a routing-only domain: queries for it go to this link. "~." routes every query here,
    // which a full tunnel needs so that no name is resolved through the LAN's server.
    std::vector<std::string> domain = {"resolvectl", "domain", link};
    for (const auto& d : s.domains) domain.push_back("~" + d);
    if (s.full_tunnel) domain.push_back("~.");
    std::vector<std::vector<std::string>> commands = {dns, domain};
    commands.push_back({"resolvectl", "default-route", link, s.full_tunnel || s.domains.empty() ? "yes" : "no"});
    return commands;
}

std::vector<std::string> resolvectl_revert_command(const std::string& link) { return {"resolvectl", "revert", link}; }

std::string resolvconf_fragment(const DnsSettings& s) {
    std::string text;
    for (const auto& server : s.servers) text += "nameserver " + server.to_string() + "\n";
    if (!s.domains.empty()) {
        text += "search";
        for (const auto& d : s.domains) text += " " + d;
        text += "\n";
    }
    return text;
}

std::vector<std::string> resolvconf_add_command(const std::string& link, const DnsSettings& s, bool openresolv) {
    if (openresolv && s.full_tunnel) return {"resolvconf", "-x", "-a", link};
    return {"resolvconf", "-a", link};
}

bool resolvconf_is_openresolv() {
    const CommandResult r = run_command({"resolvconf", "--version"});
    return r.ok() && r.output.find("openresolv") != std::string::npos;
}

std::string resolv_conf_rewrite(const std::string& original, const DnsSettings& s, const std::string& profile,
                                const fs::path& backup) {
    std::string text = "# Written by ikevpn (profile " + profile + ") while connected: DNS servers of the VPN gateway.\n"
                       "# The previous file is saved as " + backup.string() + " and put back on disconnect.\n";
    for (std::size_t i = 0; i < s.servers.size() && i < glibc_max_nameservers; ++i)
        text += "nameserver " + s.servers[i].to_string() + "\n";
    if (!s.domains.empty()) {
        text += "search";
        for (const auto& d : s.domains) text += " " + d;
        text += "\n";
    }
    std::istringstream in(original);
    std::string line;
    while (std::getline(in, line))
        if (!is_server_or_search_line(line)) text += line + "\n";
    return text;
}

DnsRecord DnsConfigurator::prepare(DnsBackend backend, const std::string& link, const DnsSettings& settings,
                                   const std::string& profile, const fs::path& backup, const fs::path& resolv_conf) {
    record_ = DnsRecord{backend, link, {}, {}, {}};
    settings_ = settings;
    if (backend != DnsBackend::resolv_conf_file) return record_;
    std::error_code ec;
    if (fs::is_symlink(resolv_conf, ec))
        throw PlatformError(resolv_conf.string() + " is a symlink to " + fs::read_symlink(resolv_conf, ec).string() +
                                ", managed by another tool; not rewriting it",
                            EPERM);
    const std::string original = read_file(resolv_conf);
    // A backup left by a crashed run is older than `original` and still needed: the crash cleanup must
    // have run first (client/run_state), so an existing backup here is an error, never overwritten.
    write_file(backup, original, true, 0600);
    record_.resolv_conf = resolv_conf;
    record_.backup = backup;
    record_.written = resolv_conf_rewrite(original, settings, profile, backup);
    return record_;
}

void DnsConfigurator::apply() {
    active_ = true;  // from here on restore() has something to undo
    switch (record_.backend) {
    case DnsBackend::resolved:
        for (const auto& argv : resolvectl_apply_commands(record_.link, settings_)) {
            CommandResult r = run_command(argv);
            if (!r.ok()) throw PlatformError(command_text(argv), EINVAL, r.first_line());
        }
        break;
    case DnsBackend::resolvconf: {
        const auto argv = resolvconf_add_command(record_.link, settings_, resolvconf_is_openresolv());
        CommandResult r = run_command(argv, resolvconf_fragment(settings_));
        if (!r.ok()) throw PlatformError(command_text(argv), EINVAL, r.first_line());
        break;
    }
    case DnsBackend::resolv_conf_file: write_file(record_.resolv_conf, record_.written, false); break;
    }
}

std::vector<std::string> DnsConfigurator::restore() {
    if (!active_ && record_.backup.empty()) return {};
    active_ = false;
    auto problems = restore_record(record_);
    record_ = DnsRecord{};
    return problems;
}

std::vector<std::string> DnsConfigurator::restore_record(const DnsRecord& record) {
    std::vector<std::string> problems;
    auto run = [&](const std::vector<std::string>& argv) {
        CommandResult r = run_command(argv);
        if (!r.ok()) problems.push_back(command_text(argv) + ": " + r.first_line());
    };
    switch (record.backend) {
    case DnsBackend::resolved: {
        // The TUN device is usually gone already, and with it resolved's link: nothing left to revert.
        if (::access(("/sys/class/net/" + record.link).c_str(), F_OK) == 0) run(resolvectl_revert_command(record.link));
        break;
    }
    case DnsBackend::resolvconf: run({"resolvconf", "-d", record.link}); break;
    case DnsBackend::resolv_conf_file: {
        if (record.backup.empty()) break;
        try {
            const std::string original = read_file(record.backup);
            const std::string current = read_file(record.resolv_conf);
            if (current == record.written) {
                write_file(record.resolv_conf, original, false);
            } else if (current != original) {
                problems.push_back(record.resolv_conf.string() + " was changed by someone else while connected; "
                                   "left as it is (the version from before the connection is in " +
                                   record.backup.string() + ")");
                return problems;  // keep the backup
            }
            fs::remove(record.backup);
        } catch (const std::exception& e) {
            problems.push_back(std::string("restoring ") + record.resolv_conf.string() + ": " + e.what());
        }
        break;
    }
    }
    return problems;
}

}  // namespace ikevpn::platform
