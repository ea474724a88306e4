#include "client/list_command.hpp"

#include "client/control_socket.hpp"
#include "client/profile.hpp"
#include "client/profile_paths.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ikevpn::client {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::uintmax_t max_profile_size = 1 << 20;
constexpr std::chrono::milliseconds status_timeout{1000};

// Only the public keys are read (name, gateway): listing must not need the secrets a profile refers to.
void read_summary(const fs::path& file, json& entry) {
    std::error_code ec;
    const auto size = fs::file_size(file, ec);
    if (ec || size > max_profile_size) {
        entry["error"] = ec ? "cannot read: " + ec.message() : std::string("larger than 1 MiB");
        return;
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        entry["error"] = std::string("cannot read: ") + std::strerror(errno);
        return;
    }
    const json doc = json::parse(in, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
        entry["error"] = "not a JSON object (run 'ikevpn check " + file.string() + "')";
        return;
    }
    if (auto name = doc.find("name"); name != doc.end() && name->is_string() &&
                                       is_valid_profile_name(name->get<std::string>()))
        entry["profile"] = *name;
    if (auto gateway = doc.find("gateway"); gateway != doc.end() && gateway->is_string()) entry["gateway"] = *gateway;
}

std::string connection_state(const fs::path& socket) {
    const int error = probe_control_socket(socket);
    if (error == EACCES || error == EPERM) return "unknown";
    if (error != 0) return "disconnected";
    try {
        const auto answer = control_request(socket, {{"command", "status"}}, status_timeout);
        if (answer.value("ok", false) && answer.contains("status") && answer["status"].is_object())
            return answer["status"].value("state", std::string("running"));
    } catch (const ControlError&) {
        // It answered the probe but not the request (busy, or going away): still not "disconnected".
    }
    return "running";
}

}  // namespace

json list_profiles(const std::vector<fs::path>& search_path, const fs::path& socket_dir) {
    json list = json::array();
    for (const auto& found : find_profiles(search_path)) {
        json entry = {{"name", found.name}, {"profile", found.name}, {"file", found.file.string()},
                      {"gateway", nullptr}, {"shadowed", found.shadowed}};
        read_summary(found.file, entry);
        const auto profile = entry["profile"].get<std::string>();
        entry["state"] = is_valid_profile_name(profile) ? connection_state(socket_dir / (profile + ".sock"))
                                                        : std::string("disconnected");
        list.push_back(std::move(entry));
    }
    return list;
}

std::string format_profile_list(const json& list) {
    if (list.empty()) return "no profiles found\n";
    std::size_t name_width = 4, state_width = 5, gateway_width = 7;
    const auto gateway_of = [](const json& e) { return e["gateway"].is_string() ? e["gateway"].get<std::string>() : "-"; };
    for (const auto& e : list) {
        name_width = std::max(name_width, e["name"].get<std::string>().size());
        state_width = std::max(state_width, e["state"].get<std::string>().size());
        gateway_width = std::max(gateway_width, gateway_of(e).size());
    }
    const auto pad = [](std::string s, std::size_t width) { return s + std::string(width - s.size() + 2, ' '); };
    std::ostringstream out;
    out << pad("NAME", name_width) << pad("STATE", state_width) << pad("GATEWAY", gateway_width) << "FILE\n";
    for (const auto& e : list) {
        out << pad(e["name"].get<std::string>(), name_width) << pad(e["state"].get<std::string>(), state_width)
            << pad(gateway_of(e), gateway_width) << e["file"].get<std::string>();
        if (e["shadowed"].get<bool>()) out << "  (shadowed by an earlier directory)";
        if (e.contains("error")) out << "  (" << e["error"].get<std::string>() << ")";
        out << '\n';
    }
    return out.str();
}

}  // namespace ikevpn::client
