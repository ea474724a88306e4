#include "client/run_state.hpp"

#include "client/control_socket.hpp"
#include "platform/kill_switch.hpp"
#include "platform/linux_network_builder.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace ikevpn::client {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// resolv.conf content is bytes, not necessarily UTF-8: kept as hex so that the comparison on restore is exact.
std::string to_hex(const std::string& bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string text;
    for (unsigned char c : bytes) {
        text += digits[c >> 4];
        text += digits[c & 15];
    }
    return text;
}

std::string from_hex(const std::string& text) {
    auto value = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        throw std::runtime_error("bad hex digit");
    };
    if (text.size() % 2) throw std::runtime_error("odd hex length");
    std::string bytes;
    for (std::size_t i = 0; i < text.size(); i += 2) bytes += char(value(text[i]) << 4 | value(text[i + 1]));
    return bytes;
}

json to_json(const RunState& s) {
    json j = {{"socket", s.socket.string()}, {"pid", s.pid}, {"profile", s.profile}, {"tun", s.tun},
              {"routing", s.routing}, {"nft_table", s.nft_table}};
    if (s.dns)
        j["dns"] = {{"backend", platform::dns_backend_name(s.dns->backend)}, {"link", s.dns->link},
                    {"resolv_conf", s.dns->resolv_conf.string()}, {"backup", s.dns->backup.string()},
                    {"written_hex", to_hex(s.dns->written)}};
    return j;
}

RunState from_json(const json& j) {
    RunState s;
    s.socket = j.at("socket").get<std::string>();
    s.pid = j.at("pid").get<int>();
    s.profile = j.at("profile").get<std::string>();
    s.tun = j.at("tun").get<std::string>();
    s.routing = j.at("routing").get<bool>();
    s.nft_table = j.at("nft_table").get<std::string>();
    if (j.contains("dns")) {
        const json& d = j["dns"];
        platform::DnsRecord r;
        if (!platform::parse_dns_backend(d.at("backend").get<std::string>(), r.backend))
            throw std::runtime_error("unknown DNS backend");
        r.link = d.at("link").get<std::string>();
        r.resolv_conf = d.at("resolv_conf").get<std::string>();
        r.backup = d.at("backup").get<std::string>();
        r.written = from_hex(d.at("written_hex").get<std::string>());
        s.dns = r;
    }
    return s;
}

}  // namespace

fs::path state_path_for(const fs::path& socket_path) {
    fs::path p = socket_path;
    if (p.extension() == ".sock") return p.replace_extension(".state");
    return fs::path(p.string() + ".state");
}

fs::path dns_backup_path_for(const fs::path& socket_path) {
    return fs::path(state_path_for(socket_path).string() + ".resolv.conf");
}

void save_run_state(const fs::path& path, const RunState& state) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    const fs::path tmp = fs::path(path.string() + ".tmp");
    {
        const mode_t old = ::umask(077);
        std::ofstream out(tmp, std::ios::trunc);
        ::umask(old);
        out << to_json(state).dump(2) << '\n';
        out.flush();
        if (!out) throw std::runtime_error("cannot write " + tmp.string());
    }
    fs::rename(tmp, path, ec);
    if (ec) throw std::runtime_error("cannot write " + path.string() + ": " + ec.message());
}

std::optional<RunState> load_run_state(const fs::path& path) {
    std::ifstream in(path);
    if (!in) {
        std::error_code ec;
        if (!fs::exists(path, ec)) return std::nullopt;
        throw std::runtime_error("cannot read " + path.string());
    }
    std::stringstream text;
    text << in.rdbuf();
    try {
        return from_json(json::parse(text.str()));
    } catch (const std::exception& e) {
        throw std::runtime_error(path.string() + " is not an ikevpn state file (" + e.what() +
                                 "); check what it describes and remove it");
    }
}

CleanupReport clean_up_run(const fs::path& state_path, const RunState& state, bool remove_socket) {
    CleanupReport report;
    if (!state.nft_table.empty()) {
        try {
            if (platform::KillSwitch::remove_table(state.nft_table))
                report.cleaned.push_back("removed nftables table inet " + state.nft_table + " (kill switch)");
        } catch (const std::exception& e) {
            report.problems.push_back(e.what());
        }
    }
    if (state.dns) {
        auto problems = platform::DnsConfigurator::restore_record(*state.dns);
        if (problems.empty())
            report.cleaned.push_back(std::string("restored DNS (") + platform::dns_backend_name(state.dns->backend) + ")");
        report.problems.insert(report.problems.end(), problems.begin(), problems.end());
    }
    if (state.routing) {
        try {
            platform::Netlink netlink;
            if (std::size_t n = platform::LinuxNetworkBuilder::cleanup_stale(netlink))
                report.cleaned.push_back("removed " + std::to_string(n) + " policy routing entries (table " +
                                         std::to_string(platform::PolicyRouting::kDefaultMark) + ")");
        } catch (const std::exception& e) {
            report.problems.push_back(e.what());
        }
    }
    std::error_code ec;
    if (remove_socket && !state.socket.empty() && fs::is_socket(state.socket, ec) && !control_socket_in_use(state.socket))
        fs::remove(state.socket, ec);
    fs::remove(state_path, ec);
    return report;
}

std::optional<int> DeadConnects::exit_code() const {
    if (cleaned.empty() && unreadable.empty()) return std::nullopt;
    if (live_connect_left) return std::nullopt;
    bool failed = !unreadable.empty();
    for (const auto& dead : cleaned) failed = failed || !dead.report.problems.empty();
    return failed ? 1 : 0;
}

DeadConnects clean_up_dead_connects(const fs::path& socket) {
    DeadConnects result;
    std::vector<fs::path> states;
    std::error_code ec;
    if (!socket.empty()) {
        if (control_socket_in_use(socket)) return result;
        if (fs::exists(state_path_for(socket), ec)) states.push_back(state_path_for(socket));
    } else {
        for (const auto& entry : fs::directory_iterator(control_socket_dir, ec))
            if (entry.path().extension() == ".state") states.push_back(entry.path());
    }
    for (const auto& path : states) {
        std::optional<RunState> state;
        try {
            state = load_run_state(path);
        } catch (const std::exception& e) {
            result.unreadable.emplace_back(e.what());
            continue;
        }
        if (!state || control_socket_in_use(state->socket)) continue;
        result.cleaned.push_back({state->profile, state->pid, clean_up_run(path, *state)});
    }
    // With no --socket a live connect may still be there to disconnect normally.
    if (socket.empty() && (!result.cleaned.empty() || !result.unreadable.empty())) {
        for (const auto& entry : fs::directory_iterator(control_socket_dir, ec))
            if (entry.path().extension() == ".sock" && control_socket_in_use(entry.path())) result.live_connect_left = true;
    }
    return result;
}

}  // namespace ikevpn::client
