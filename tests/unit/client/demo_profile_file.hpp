// Loading a profile written as demo.json into a test's temporary directory, next to the files it names
// (PEM files, password files): shared by the profile tests of certificate and EAP authentication.
#pragma once
#include "client/profile.hpp"

#include "temp_dir.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace ikevpn::test {

// Writes `doc` as DIR/demo.json and loads it. Returns "" when it loaded (then fills `out` and `warnings`
// when given), else the error message from "demo.json" on (the directory is random).
inline std::string load_demo_profile(const TempDir& dir, const nlohmann::json& doc, client::Profile* out = nullptr,
                                     std::vector<std::string>* warnings = nullptr) {
    const auto file = dir.write("demo.json", doc.dump());
    std::vector<std::string> w;
    try {
        client::Profile p = client::load_profile(file, w);
        if (out) *out = std::move(p);
        if (warnings) *warnings = w;
    } catch (const client::ProfileError& e) {
        const std::string message = e.what();
        return message.substr(message.find("demo.json"));
    }
    return "";
}

}  // namespace ikevpn::test
