// Where profiles are found: `ikevpn connect work` looks for work.json in the search path, `ikevpn list`
// shows what is there, `ikevpn import` writes into its first directory.
//
// Search path, first match wins: --dir DIR if given; else $IKEVPN_PROFILE_PATH (directories separated
// by ':'); else $XDG_CONFIG_HOME/ikevpn (default ~/.config/ikevpn) and /etc/ikevpn.
#pragma once
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ikevpn::client {

struct ProfileLookupError : std::runtime_error { using std::runtime_error::runtime_error; };

inline constexpr const char* profile_path_env = "IKEVPN_PROFILE_PATH";
inline const std::filesystem::path system_profile_dir = "/etc/ikevpn";

std::vector<std::filesystem::path> profile_search_path(const std::optional<std::filesystem::path>& dir);

// A profile argument: a name without '/' and without ".json" ("work") is looked up as <dir>/work.json
// along the search path; anything else is a file path used as given. Throws ProfileLookupError naming
// the directories searched when a name is not found.
std::filesystem::path resolve_profile(const std::string& argument,
                                      const std::vector<std::filesystem::path>& search_path);

struct ProfileFile {
    std::string name;              // the file's stem, which `connect NAME` resolves
    std::filesystem::path file;
    bool shadowed = false;         // an earlier directory has a profile of the same name
};

// Every *.json directly in the search path's directories (missing directories are skipped), in search
// path order and by name within a directory.
std::vector<ProfileFile> find_profiles(const std::vector<std::filesystem::path>& search_path);

// "~/.config/ikevpn, /etc/ikevpn" for messages.
std::string describe_search_path(const std::vector<std::filesystem::path>& search_path);

}  // namespace ikevpn::client
