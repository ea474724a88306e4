// `ikevpn check PROFILE`: validates a profile and every file it names without connecting. Each problem
// is one line naming the profile file, the key and (where there is one) the referenced file.
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace ikevpn::client {

struct CheckResult {
    std::vector<std::string> errors;    // empty: the profile can be used by `ikevpn connect`
    std::vector<std::string> warnings;  // e.g. a secrets file readable by others
    std::string summary;                // on success: "name: gateway ..., auth ..., N IKE / M ESP proposals"
};

// Runs the profile loader (every key, PSK file) and, because the loader stops at the first problem and
// does not read certificate files, checks auth.cert / auth.key / auth.password_file / ca[] on its own:
// each must exist and be readable, and certificates and keys must parse as PEM.
CheckResult check_profile(const std::filesystem::path& file);

// `ikevpn check --json` (docs/cli-json.md): {"file", "ok", "summary", "errors": [{"key", "message"}],
// "warnings": [...]}; "key" is the profile key a message names ("auth.psk_file"), null when it names none.
nlohmann::json check_result_json(const std::filesystem::path& file, const CheckResult& result);

}  // namespace ikevpn::client
