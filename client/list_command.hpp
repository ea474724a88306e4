// `ikevpn list`: the profiles in the search path (client/profile_paths.hpp) and whether each one is
// connected, asked through its control socket.
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace ikevpn::client {

// One object per profile file: "name" (what `connect NAME` takes), "profile" (the profile's own name,
// which names its control socket), "file", "gateway" (null when unreadable), "state" ("disconnected",
// "unknown" when the socket exists but this user may not ask it, or the running connection's state such
// as "connecting" or "connected"), "shadowed" (an earlier directory has the same name), and "error"
// (only when the file cannot be read or is not a JSON object). Never throws for a bad profile file.
nlohmann::json list_profiles(const std::vector<std::filesystem::path>& search_path,
                             const std::filesystem::path& socket_dir);

// A table for humans: NAME STATE GATEWAY FILE, and a line per problem.
std::string format_profile_list(const nlohmann::json& list);

}  // namespace ikevpn::client
