#include "client/check_command.hpp"

#include "client/profile.hpp"
#include "core/crypto/pem_check.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <optional>

#include <fcntl.h>
#include <unistd.h>

namespace ikevpn::client {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::size_t max_file_size = 1 << 20;

// Reads a small file into secure memory (a key file is a secret); the errno on failure.
int read_file(const fs::path& path, SecureBytes& out) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return errno;
    std::uint8_t chunk[4096];
    int error = 0;
    for (;;) {
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) error = errno;
        if (n <= 0) break;
        out.insert(out.end(), chunk, chunk + n);
        if (out.size() > max_file_size) {
            error = EFBIG;
            break;
        }
    }
    Botan::secure_scrub_memory(chunk, sizeof chunk);
    ::close(fd);
    return error;
}

enum class Expect { readable, certificate, private_key };

class FileChecker {
public:
    FileChecker(const fs::path& profile, CheckResult& result) : profile_(profile), result_(result) {}

    void check(const json& value, const std::string& key, Expect expect) {
        if (!value.is_string() || value.get<std::string>().empty()) return;  // the loader reports the type
        const auto name = value.get<std::string>();
        const fs::path path = fs::path(name).is_absolute() ? fs::path(name) : profile_.parent_path() / name;
        SecureBytes data;
        if (std::error_code ec; fs::is_directory(path, ec)) return fail(key, name, "is a directory");
        if (const int error = read_file(path, data); error != 0) return fail(key, name, std::strerror(error));
        if (data.empty()) return fail(key, name, "is empty");
        std::optional<std::string> problem;
        if (expect == Expect::certificate) problem = crypto::certificate_pem_problem(data);
        if (expect == Expect::private_key) problem = crypto::private_key_pem_problem(data);
        if (problem) fail(key, name, *problem);
    }

private:
    void fail(const std::string& key, const std::string& name, const std::string& problem) {
        result_.errors.push_back(profile_.string() + ": key '" + key + "': '" + name + "': " + problem);
    }

    fs::path profile_;
    CheckResult& result_;
};

void check_referenced_files(const fs::path& file, CheckResult& result) {
    SecureBytes raw;  // may hold an inline PSK
    if (read_file(file, raw) != 0) return;  // the loader has reported it
    const json doc = json::parse(raw.begin(), raw.end(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return;
    FileChecker checker(file, result);
    if (auto auth = doc.find("auth"); auth != doc.end() && auth->is_object()) {
        if (auth->contains("cert")) checker.check((*auth)["cert"], "auth.cert", Expect::certificate);
        if (auth->contains("key")) checker.check((*auth)["key"], "auth.key", Expect::private_key);
        if (auth->contains("password_file")) checker.check((*auth)["password_file"], "auth.password_file", Expect::readable);
    }
    if (auto ca = doc.find("ca"); ca != doc.end() && ca->is_array()) {
        for (std::size_t i = 0; i < ca->size(); ++i)
            checker.check((*ca)[i], "ca[" + std::to_string(i) + "]", Expect::certificate);
    }
}

}  // namespace

CheckResult check_profile(const fs::path& file) {
    CheckResult result;
    try {
        const Profile p = load_profile(file, result.warnings);
        result.summary = p.name + ": gateway " + p.gateway + " port " + std::to_string(p.port) + ", local_id " +
                         p.local_id + ", remote_id " + p.remote_id + ", auth " +
                         (p.auth == AuthMethod::pubkey ? "pubkey" : p.auth == AuthMethod::eap_mschapv2 ? "eap-mschapv2" : p.auth == AuthMethod::eap_tls ? "eap-tls" : "psk") + ", " +
                         std::to_string(p.ike_proposals.size()) + " IKE and " + std::to_string(p.esp_proposals.size()) +
                         " ESP proposals, " + std::to_string(p.routes.size()) + " routes, TUN " + p.tun.name;
    } catch (const ProfileError& e) {
        result.errors.emplace_back(e.what());
    }
    const std::size_t loader_errors = result.errors.size();
    check_referenced_files(file, result);
    // The loader stops at the first bad file; when the file check reports that key too, its line (with
    // every problem of every file) is the better one, so the loader's duplicate goes.
    if (loader_errors == 1) {
        const std::string& loader_line = result.errors.front();
        const auto key_end = loader_line.find("': ");
        for (std::size_t i = 1; key_end != std::string::npos && i < result.errors.size(); ++i) {
            if (result.errors[i].compare(0, key_end + 3, loader_line, 0, key_end + 3) == 0) {
                result.errors.erase(result.errors.begin());
                break;
            }
        }
    }
    return result;
}

// Profile errors read "<file>: key '<key>': <reason>" (client/profile.cpp); the key is recovered from that
// shape so scripts need not parse messages.
json key_of_message(const std::string& message) {
    static constexpr std::string_view marker = ": key '";
    const auto start = message.find(marker);
    if (start == std::string::npos) return nullptr;
    const auto key_begin = start + marker.size();
    const auto key_end = message.find('\'', key_begin);
    if (key_end == std::string::npos || key_end == key_begin) return nullptr;
    return message.substr(key_begin, key_end - key_begin);
}

json check_result_json(const fs::path& file, const CheckResult& result) {
    json errors = json::array();
    for (const auto& message : result.errors) errors.push_back({{"key", key_of_message(message)}, {"message", message}});
    return {{"file", file.string()},
            {"ok", result.errors.empty()},
            {"summary", result.errors.empty() ? json(result.summary) : json(nullptr)},
            {"errors", std::move(errors)},
            {"warnings", result.warnings}};
}

}  // namespace ikevpn::client
