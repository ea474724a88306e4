#include "client/profile_paths.hpp"

#include <algorithm>
#include <cstdlib>
#include <set>

namespace ikevpn::client {

namespace fs = std::filesystem;

std::vector<fs::path> profile_search_path(const std::optional<fs::path>& dir) {
    if (dir) return {*dir};
    std::vector<fs::path> out;
    if (const char* env = std::getenv(profile_path_env); env && *env) {
        std::string list = env;
        for (std::size_t start = 0; start <= list.size();) {
            const auto colon = std::min(list.find(':', start), list.size());
            if (colon > start) out.emplace_back(list.substr(start, colon - start));
            start = colon + 1;
        }
        return out;
    }
    if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg == '/') {
        out.push_back(fs::path(xdg) / "ikevpn");
    } else if (const char* home = std::getenv("HOME"); home && *home == '/') {
        out.push_back(fs::path(home) / ".config" / "ikevpn");
    }
    out.push_back(system_profile_dir);
    return out;
}

std::string describe_search_path(const std::vector<fs::path>& search_path) {
    std::string out;
    for (const auto& dir : search_path) out += (out.empty() ? "" : ", ") + dir.string();
    return out.empty() ? "(no directories)" : out;
}

fs::path resolve_profile(const std::string& argument, const std::vector<fs::path>& search_path) {
    const bool is_name = !argument.empty() && argument.find('/') == std::string::npos &&
                         fs::path(argument).extension() != ".json" && argument != "." && argument != "..";
    if (!is_name) return argument;
    for (const auto& dir : search_path) {
        const auto candidate = dir / (argument + ".json");
        std::error_code ec;
        if (fs::exists(candidate, ec)) return candidate;
    }
    throw ProfileLookupError("profile '" + argument + "' not found: no " + argument + ".json in " +
                             describe_search_path(search_path) + " (give a file path, or --dir DIR)");
}

std::vector<ProfileFile> find_profiles(const std::vector<fs::path>& search_path) {
    std::vector<ProfileFile> out;
    std::set<std::string> seen;
    for (const auto& dir : search_path) {
        std::vector<ProfileFile> here;
        std::error_code ec;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            std::error_code type_ec;
            if (it->path().extension() != ".json" || !it->is_regular_file(type_ec)) continue;
            here.push_back({it->path().stem().string(), it->path(), false});
        }
        std::sort(here.begin(), here.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
        for (auto& p : here) {
            p.shadowed = !seen.insert(p.name).second;
            out.push_back(std::move(p));
        }
    }
    return out;
}

}  // namespace ikevpn::client
