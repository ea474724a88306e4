// A minimal PSK profile with one key under test, loaded through load_profile: shared by the tests of
// single profile keys (rekey, data_path_timeout, allow_weak_algorithms, ...).
#pragma once
#include "client/profile.hpp"

#include "temp_dir.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ikevpn::test {

// Loads {gateway, local_id, auth: psk} with `key` set to `value` (left out when `value` is null); with an
// empty `key`, `value` is merged in as a JSON merge patch instead. Returns the profile or, when `error` is
// given, puts the error message (after the directory) there and returns a default profile.
inline client::Profile load_minimal_profile(const std::string& key, const nlohmann::json& value,
                                            std::string* error = nullptr) {
    TempDir dir;
    dir.write("demo.psk", "secret\n");
    nlohmann::json doc = {{"gateway", "192.0.2.1"}, {"local_id", "alice@example.com"},
                          {"auth", {{"method", "psk"}, {"psk_file", "demo.psk"}}}};
    if (key.empty()) doc.merge_patch(value);
    else if (!value.is_null()) doc[key] = value;
    const auto file = dir.write("demo.json", doc.dump(2));
    std::vector<std::string> warnings;
    try {
        return client::load_profile(file, warnings);
    } catch (const client::ProfileError& e) {
        if (!error) throw;
        *error = std::string(e.what()).substr((dir.path() / "").string().size());
        return {};
    }
}

inline std::string minimal_profile_error(const std::string& key, const nlohmann::json& value) {
    std::string error;
    load_minimal_profile(key, value, &error);
    return error;
}

}  // namespace ikevpn::test
