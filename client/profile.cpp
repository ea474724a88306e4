#include "client/profile.hpp"

#include "core/identity.hpp"
#include "core/proposal.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <string_view>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ikevpn::client {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Profiles and key files are small; a bound keeps a mistaken path (a log file, /dev/zero) from eating memory.
constexpr std::size_t max_file_size = 1 << 20;

struct FileRead {
    int error = 0;  // errno, 0 on success
    mode_t mode = 0;
};

// Reads a whole regular file with POSIX calls so that the failure reason (errno) and the permission bits
// come from the same open file. Secrets go straight into `out`, never through a std::string.
FileRead read_small_file(const fs::path& path, SecureBytes& out) {
    FileRead result;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        result.error = errno;
        return result;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        result.error = errno;
    } else if (S_ISDIR(st.st_mode)) {
        result.error = EISDIR;
    } else if (static_cast<std::size_t>(st.st_size) > max_file_size) {
        result.error = EFBIG;
    }
    result.mode = st.st_mode;
    std::uint8_t chunk[4096];
    while (result.error == 0) {
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) result.error = errno;
        if (n <= 0) break;
        out.insert(out.end(), chunk, chunk + n);
        if (out.size() > max_file_size) result.error = EFBIG;
    }
    Botan::secure_scrub_memory(chunk, sizeof chunk);
    ::close(fd);
    return result;
}

bool readable_by_others(mode_t mode) { return (mode & (S_IRGRP | S_IROTH)) != 0; }

std::string describe_type(const json& v) {
    if (v.is_number_integer()) return "an integer";
    if (v.is_number()) return "a number";
    if (v.is_string()) return "a string";
    if (v.is_boolean()) return "a boolean";
    if (v.is_array()) return "an array";
    if (v.is_object()) return "an object";
    return "null";
}

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

bool has_control_char(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    });
}

bool is_host_name(std::string_view s) {
    if (s.empty() || s.size() > 253) return false;
    std::size_t label = 0;
    for (char c : s) {
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
        } else if (is_name_char(c) && ++label <= 63) {
            continue;
        } else {
            return false;
        }
    }
    return label > 0 || s.size() > 1;  // a trailing dot (absolute name) is fine
}

// A network interface name as the kernel accepts it (IFNAMSIZ - 1 characters), with an optional single
// "%d" that the kernel replaces by the first free number.
std::optional<std::string> tun_name_problem(std::string_view name) {
    if (name.empty() || name.size() > 15) return "must be 1 to 15 characters long";
    if (name == "." || name == "..") return "is not a usable interface name";
    const auto percent = name.find('%');
    if (percent != std::string_view::npos) {
        if (name.substr(percent, 2) != "%d" || name.find('%', percent + 1) != std::string_view::npos)
            return "may contain '%' only once, as \"%d\"";
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (i == percent || i == percent + 1) continue;
        if (!is_name_char(name[i])) return "may only contain A-Z a-z 0-9 _ . - (and one \"%d\")";
    }
    return std::nullopt;
}

// nlohmann's parse_error reports a byte offset; a user editing the file wants a line and a column.
std::string syntax_error_text(const std::string& text, const json::parse_error& e) {
    const std::size_t index = std::min<std::size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
    const std::size_t line = 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + index, '\n'));
    const std::size_t line_start = text.rfind('\n', index == 0 ? 0 : index - 1);
    const std::size_t column = (line_start == std::string::npos || index == 0) ? index + 1 : index - line_start;
    std::string detail = e.what();
    const auto head = detail.find("parse error");
    const auto colon = detail.find(": ", head == std::string::npos ? 0 : head);
    if (colon != std::string::npos) detail.erase(0, colon + 2);
    if (detail.rfind("syntax error ", 0) == 0) detail.erase(0, 13);
    return "line " + std::to_string(line) + " column " + std::to_string(column) + ": JSON syntax error: " + detail;
}

class ProfileReader {
public:
    ProfileReader(const fs::path& file, std::vector<std::string>& warnings)
        : file_(file), label_(file.string()), warnings_(warnings) {}

    Profile read();

private:
    [[noreturn]] void fail(std::string_view key, std::string_view reason) const {
        throw ProfileError(label_ + ": key '" + std::string(key) + "': " + std::string(reason));
    }
    [[noreturn]] void fail_file(std::string_view reason) const {
        throw ProfileError(label_ + ": " + std::string(reason));
    }
    [[noreturn]] void unsupported(std::string_view key, std::string_view what, std::string_view fix) const {
        fail(key, std::string(what) + " is not supported yet; " + std::string(fix));
    }

    json parse_document(const std::string& text) const;
    void check_keys(const json& object, std::string_view prefix, std::initializer_list<std::string_view> allowed) const;
    const json& expect(const json& v, std::string_view key, json::value_t type, std::string_view expected) const;
    std::string get_string(const json& v, std::string_view key) const;
    bool get_bool(const json& v, std::string_view key) const;
    int get_int(const json& v, std::string_view key, int min, int max) const;
    std::vector<std::string> get_string_list(const json& v, std::string_view key) const;

    void read_identity(const json& doc, Profile& p) const;
    void read_auth(const json& auth, Profile& p, mode_t profile_mode) const;
    void read_pubkey_auth(const json& auth, Profile& p) const;
    void read_eap_auth(const json& auth, Profile& p) const;
    void read_eap_tls_auth(const json& auth, Profile& p) const;
    std::vector<crypto::CertificatePtr> read_certificates(const std::string& name, std::string_view key) const;
    void read_ca(const json& doc, Profile& p) const;
    void read_proposals(const json& doc, Profile& p) const;
    void read_network(const json& doc, Profile& p) const;
    void read_tun(const json& tun, Profile& p) const;
    void read_kill_switch(const json& v, Profile& p) const;
    void read_rekey(const json& rekey, Profile& p) const;

    fs::path file_;
    std::string label_;
    std::vector<std::string>& warnings_;
};

json ProfileReader::parse_document(const std::string& text) const {
    // nlohmann keeps the last of duplicate keys silently; a profile with "port" twice is a mistake to report.
    std::vector<std::set<std::string>> open_objects;
    const json::parser_callback_t on_event = [&](int, json::parse_event_t event, json& parsed) {
        if (event == json::parse_event_t::object_start) {
            open_objects.emplace_back();
        } else if (event == json::parse_event_t::object_end && !open_objects.empty()) {
            open_objects.pop_back();
        } else if (event == json::parse_event_t::key && !open_objects.empty()) {
            const auto& key = parsed.get_ref<const std::string&>();
            if (!open_objects.back().insert(key).second) fail_file("duplicate key '" + key + "'");
        }
        return true;
    };
    try {
        return json::parse(text, on_event);
    } catch (const json::parse_error& e) {
        fail_file(syntax_error_text(text, e));
    }
}

void ProfileReader::check_keys(const json& object, std::string_view prefix,
                               std::initializer_list<std::string_view> allowed) const {
    for (const auto& [key, value] : object.items()) {
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
            fail_file("unknown key '" + std::string(prefix) + key + "'");
    }
}

const json& ProfileReader::expect(const json& v, std::string_view key, json::value_t type,
                                  std::string_view expected) const {
    const bool ok = v.type() == type || (type == json::value_t::number_integer && v.is_number_unsigned());
    if (!ok) fail(key, "expected " + std::string(expected) + ", got " + describe_type(v));
    return v;
}

std::string ProfileReader::get_string(const json& v, std::string_view key) const {
    const auto& s = expect(v, key, json::value_t::string, "a string").get_ref<const std::string&>();
    if (s.empty()) fail(key, "must not be empty");
    if (has_control_char(s)) fail(key, "must not contain control characters");
    return s;
}

bool ProfileReader::get_bool(const json& v, std::string_view key) const {
    return expect(v, key, json::value_t::boolean, "true or false").get<bool>();
}

int ProfileReader::get_int(const json& v, std::string_view key, int min, int max) const {
    const std::string range = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
    expect(v, key, json::value_t::number_integer, range);
    const bool in_range = v.is_number_unsigned() ? v.get<std::uint64_t>() <= static_cast<std::uint64_t>(max)
                                                 : v.get<std::int64_t>() <= max;
    if (!in_range || v.get<std::int64_t>() < min) fail(key, "expected " + range + ", got " + v.dump());
    return static_cast<int>(v.get<std::int64_t>());
}

std::vector<std::string> ProfileReader::get_string_list(const json& v, std::string_view key) const {
    expect(v, key, json::value_t::array, "an array of strings");
    if (v.empty()) fail(key, "must not be empty");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < v.size(); ++i)
        out.push_back(get_string(v[i], std::string(key) + "[" + std::to_string(i) + "]"));
    return out;
}

void ProfileReader::read_identity(const json& doc, Profile& p) const {
    if (doc.contains("name")) {
        p.name = get_string(doc["name"], "name");
        if (!is_valid_profile_name(p.name))
            fail("name", "'" + p.name + "' is not usable: it names the control socket, so use 1 to 64 "
                         "characters of A-Z a-z 0-9 _ . - not starting with '.'");
    } else {
        p.name = file_.stem().string();
        if (!is_valid_profile_name(p.name))
            fail("name", "the file name gives the name '" + p.name + "', which cannot name a control "
                         "socket; set \"name\" (1 to 64 characters of A-Z a-z 0-9 _ . -)");
    }
    if (!doc.contains("gateway")) fail("gateway", "missing (the VPN gateway's host name or IP address)");
    p.gateway = get_string(doc["gateway"], "gateway");
    if (!IpAddress::parse(p.gateway) && !is_host_name(p.gateway))
        fail("gateway", "'" + p.gateway + "' is neither an IP address nor a host name");
    if (doc.contains("port")) p.port = static_cast<std::uint16_t>(get_int(doc["port"], "port", 1, 65535));
    if (!doc.contains("local_id")) fail("local_id", "missing (the identity this client authenticates as)");
    p.local_id = get_string(doc["local_id"], "local_id");
    p.remote_id = doc.contains("remote_id") ? get_string(doc["remote_id"], "remote_id") : p.gateway;
    if (p.local_id.size() > 255) fail("local_id", "longer than 255 characters");
    if (p.remote_id.size() > 255) fail("remote_id", "longer than 255 characters");
    std::string error;
    if (!core::parse_identity(p.local_id, error)) fail("local_id", "'" + p.local_id + "': " + error);
    if (!core::parse_identity(p.remote_id, error)) fail("remote_id", "'" + p.remote_id + "': " + error);
}

void ProfileReader::read_auth(const json& auth, Profile& p, mode_t profile_mode) const {
    expect(auth, "auth", json::value_t::object, "an object such as {\"method\": \"psk\", \"psk_file\": \"x.psk\"}");
    if (!auth.contains("method")) fail("auth.method", "missing (\"psk\")");
    const auto method = get_string(auth["method"], "auth.method");
    if (method == "eap-tls") return read_eap_tls_auth(auth, p);
    if (method == "pubkey") return read_pubkey_auth(auth, p);
    if (method == "eap-mschapv2") return read_eap_auth(auth, p);
    if (method != "psk")
        fail("auth.method", "unknown method '" + method + "' (expected psk, pubkey, eap-mschapv2 or eap-tls)");
    check_keys(auth, "auth.", {"method", "psk", "psk_file"});
    p.auth = AuthMethod::psk;
    const bool inline_psk = auth.contains("psk");
    if (inline_psk == auth.contains("psk_file"))
        fail("auth", "set exactly one of 'psk_file' (recommended) and 'psk'");
    if (inline_psk) {
        const auto& secret = expect(auth["psk"], "auth.psk", json::value_t::string, "a string")
                                 .get_ref<const std::string&>();
        if (secret.empty()) fail("auth.psk", "must not be empty");
        p.psk.assign(secret.begin(), secret.end());
        if (readable_by_others(profile_mode))
            warnings_.push_back(label_ + " holds an inline 'auth.psk' and is readable by group/others (chmod 600)");
        return;
    }
    const auto name = get_string(auth["psk_file"], "auth.psk_file");
    const fs::path psk_path = fs::path(name).is_absolute() ? fs::path(name) : file_.parent_path() / name;
    const auto read = read_small_file(psk_path, p.psk);
    if (read.error != 0) fail("auth.psk_file", "cannot read '" + name + "': " + std::strerror(read.error));
    // One trailing line ending is an artefact of `echo secret > x.psk`, not part of the key.
    if (!p.psk.empty() && p.psk.back() == '\n') p.psk.pop_back();
    if (!p.psk.empty() && p.psk.back() == '\r') p.psk.pop_back();
    if (p.psk.empty()) fail("auth.psk_file", "'" + name + "' is empty");
    if (readable_by_others(read.mode))
        warnings_.push_back(psk_path.string() + " is readable by group/others (chmod 600)");
}

void ProfileReader::read_eap_auth(const json& auth, Profile& p) const {
    check_keys(auth, "auth.", {"method", "eap_identity", "username", "password_file"});
    p.auth = AuthMethod::eap_mschapv2;
    if (auth.contains("eap_identity") && auth.contains("username"))
        fail("auth", "set at most one of 'eap_identity' and 'username' (they are the same)");
    const char* id_key = auth.contains("username") ? "auth.username" : "auth.eap_identity";
    p.eap_identity = auth.contains("username") ? get_string(auth["username"], id_key)
                     : auth.contains("eap_identity") ? get_string(auth["eap_identity"], id_key) : p.local_id;
    if (p.eap_identity.empty() || p.eap_identity.size() > 255 || has_control_char(p.eap_identity))
        fail(id_key, "must be 1 to 255 printable characters");
    if (!auth.contains("password_file")) return;  // asked for on the terminal by `ikevpn connect`
    const auto name = get_string(auth["password_file"], "auth.password_file");
    const fs::path path = fs::path(name).is_absolute() ? fs::path(name) : file_.parent_path() / name;
    const auto read = read_small_file(path, p.eap_password);
    if (read.error != 0) fail("auth.password_file", "cannot read '" + name + "': " + std::strerror(read.error));
    if (!p.eap_password.empty() && p.eap_password.back() == '\n') p.eap_password.pop_back();
    if (!p.eap_password.empty() && p.eap_password.back() == '\r') p.eap_password.pop_back();
    if (p.eap_password.empty()) fail("auth.password_file", "'" + name + "' is empty");
    p.eap_password_from_file = true;
    if (readable_by_others(read.mode))
        warnings_.push_back(path.string() + " is readable by group/others (chmod 600)");
}

// auth.method "eap-tls": our certificate and key as for "pubkey" (shown inside TLS, not in IKE AUTH), and
// the EAP identity (default local_id).
void ProfileReader::read_eap_tls_auth(const json& auth, Profile& p) const {
    check_keys(auth, "auth.", {"method", "cert", "key", "intermediates", "eap_identity"});
    json pubkey = auth;
    pubkey.erase("eap_identity");
    read_pubkey_auth(pubkey, p);
    p.auth = AuthMethod::eap_tls;
    // Botan 2 speaks TLS 1.2, where a client cannot sign with Ed25519.
    if (crypto::private_key_type(*p.private_key) == crypto::KeyType::ed25519)
        fail("auth.key", "an Ed25519 key cannot sign in TLS 1.2; EAP-TLS needs an ECDSA or RSA key");
    p.eap_identity = auth.contains("eap_identity") ? get_string(auth["eap_identity"], "auth.eap_identity") : p.local_id;
    if (p.eap_identity.empty() || p.eap_identity.size() > 255 || has_control_char(p.eap_identity))
        fail("auth.eap_identity", "must be 1 to 255 printable characters");
}

// Every PEM certificate in one file (relative to the profile), or an error naming key and file.
std::vector<crypto::CertificatePtr> ProfileReader::read_certificates(const std::string& name, std::string_view key) const {
    const fs::path path = fs::path(name).is_absolute() ? fs::path(name) : file_.parent_path() / name;
    SecureBytes text;
    const auto read = read_small_file(path, text);
    if (read.error != 0) fail(key, "cannot read '" + name + "': " + std::strerror(read.error));
    std::string error;
    auto certs = crypto::load_certificates_pem(text, error);
    if (certs.empty()) fail(key, "'" + name + "': " + error);
    return certs;
}

void ProfileReader::read_pubkey_auth(const json& auth, Profile& p) const {
    check_keys(auth, "auth.", {"method", "cert", "key", "intermediates", "rsa_pss"});
    p.auth = AuthMethod::pubkey;
    if (!auth.contains("cert")) fail("auth.cert", "missing (the PEM file of our certificate)");
    if (!auth.contains("key")) fail("auth.key", "missing (the PEM file of our private key)");
    p.local_certs = read_certificates(get_string(auth["cert"], "auth.cert"), "auth.cert");
    if (auth.contains("intermediates")) {
        const auto files = get_string_list(auth["intermediates"], "auth.intermediates");
        for (std::size_t i = 0; i < files.size(); ++i) {
            auto more = read_certificates(files[i], "auth.intermediates[" + std::to_string(i) + "]");
            p.local_certs.insert(p.local_certs.end(), more.begin(), more.end());
        }
    }
    const auto name = get_string(auth["key"], "auth.key");
    const fs::path key_path = fs::path(name).is_absolute() ? fs::path(name) : file_.parent_path() / name;
    SecureBytes pem;
    const auto read = read_small_file(key_path, pem);
    if (read.error != 0) fail("auth.key", "cannot read '" + name + "': " + std::strerror(read.error));
    std::string error;
    p.private_key = crypto::load_private_key(pem, error);
    if (!p.private_key) fail("auth.key", "'" + name + "': " + error);
    if (!crypto::key_matches_certificate(*p.private_key, *p.local_certs.front()))
        fail("auth.key", "'" + name + "' is not the private key of the certificate in auth.cert ('" +
                             crypto::certificate_subject(*p.local_certs.front()) + "')");
    if (readable_by_others(read.mode))
        warnings_.push_back(key_path.string() + " is readable by group/others (chmod 600)");
    if (auth.contains("rsa_pss")) p.rsa_pss = get_bool(auth["rsa_pss"], "auth.rsa_pss");
}

void ProfileReader::read_ca(const json& doc, Profile& p) const {
    // An empty list is the same as none: the gateway then authenticates with the PSK.
    if (!doc.contains("ca") || (doc["ca"].is_array() && doc["ca"].empty())) return;
    const auto files = get_string_list(doc["ca"], "ca");
    for (std::size_t i = 0; i < files.size(); ++i) {
        auto certs = read_certificates(files[i], "ca[" + std::to_string(i) + "]");
        p.ca.insert(p.ca.end(), certs.begin(), certs.end());
    }
}

void ProfileReader::read_proposals(const json& doc, Profile& p) const {
    if (doc.contains("ike")) p.ike = get_string_list(doc["ike"], "ike");
    if (doc.contains("esp")) p.esp = get_string_list(doc["esp"], "esp");
    // An empty list is the same as none.
    const auto* weak = doc.contains("allow_weak_algorithms") ? &doc["allow_weak_algorithms"] : nullptr;
    if (weak && !(weak->is_array() && weak->empty())) {
        p.allow_weak_algorithms = get_string_list(doc["allow_weak_algorithms"], "allow_weak_algorithms");
        const auto& known = core::weak_algorithm_names();
        std::string list;
        for (auto name : known) list += (list.empty() ? "" : ", ") + std::string(name);
        for (const auto& name : p.allow_weak_algorithms)
            if (std::find(known.begin(), known.end(), name) == known.end())
                fail("allow_weak_algorithms", "unknown weak algorithm '" + name + "' (known: " + list + ")");
    }
    const auto parse_all = [this, &p](const std::vector<std::string>& texts, std::string_view key, auto parse) {
        if (texts.size() > 255) fail(key, "too many proposals (at most 255)");
        std::vector<msg::Proposal> out;
        for (std::size_t i = 0; i < texts.size(); ++i) {
            try {
                out.push_back(parse(texts[i], p.allow_weak_algorithms));
            } catch (const core::ProposalError& e) {
                fail(std::string(key) + "[" + std::to_string(i) + "]", e.what());
            }
            out.back().number = static_cast<std::uint8_t>(i + 1);  // RFC 7296 §3.3.1: first is 1, then +1
        }
        return out;
    };
    using Parse = msg::Proposal (*)(const std::string&, const core::WeakAlgorithms&);
    p.ike_proposals = parse_all(p.ike, "ike", static_cast<Parse>(core::parse_ike_proposal));
    p.esp_proposals = parse_all(p.esp, "esp", static_cast<Parse>(core::parse_esp_proposal));
}

// Why "10.0.0.1/8" failed matters to the user: a typo in the address, or host bits that were meant as a
// network. IpPrefix::parse only says "no".
std::string route_problem(const std::string& text) {
    const auto slash = text.find('/');
    const auto address = IpAddress::parse(std::string_view(text).substr(0, slash));
    if (!address) return "'" + text + "' is not an IP prefix such as 10.0.0.0/8";
    const auto length_text = text.substr(slash + 1);
    const int max = address->is_v4() ? 32 : 128;
    const bool digits = !length_text.empty() && length_text.size() <= 3 &&
                        std::all_of(length_text.begin(), length_text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || std::stoi(length_text) > max)
        return "'" + text + "' has a bad prefix length (0 to " + std::to_string(max) + ")";
    return "'" + text + "' is not a network prefix (host bits set)";
}

void ProfileReader::read_network(const json& doc, Profile& p) const {
    read_ca(doc, p);
    if (doc.contains("virtual_ip") && !get_bool(doc["virtual_ip"], "virtual_ip"))
        unsupported("virtual_ip", "running without a virtual IP", "set it to true");
    const auto routes = doc.contains("routes") ? get_string_list(doc["routes"], "routes")
                                               : std::vector<std::string>{"0.0.0.0/0"};
    for (std::size_t i = 0; i < routes.size(); ++i) {
        auto prefix = IpPrefix::parse(routes[i]);
        if (!prefix)
            fail("routes[" + std::to_string(i) + "]", route_problem(routes[i]));
        p.routes.push_back(*prefix);
    }
    if (doc.contains("dns")) p.dns = get_bool(doc["dns"], "dns");
    if (doc.contains("mobike")) p.mobike = get_bool(doc["mobike"], "mobike");
    if (doc.contains("fragmentation")) p.fragmentation = get_bool(doc["fragmentation"], "fragmentation");
    if (doc.contains("fragment_size")) p.fragment_size = get_int(doc["fragment_size"], "fragment_size", 576, 9000);
    if (doc.contains("encap")) {
        const auto encap = get_string(doc["encap"], "encap");
        if (encap == "tcp" || encap == "auto") unsupported("encap", "'" + encap + "'", "use \"udp\"");
        if (encap != "udp") fail("encap", "unknown value '" + encap + "' (expected udp, tcp or auto)");
    }
}

void ProfileReader::read_tun(const json& tun, Profile& p) const {
    expect(tun, "tun", json::value_t::object, "an object such as {\"name\": \"ikevpn0\", \"mtu\": 1400}");
    check_keys(tun, "tun.", {"name", "mtu", "offload"});
    if (tun.contains("name")) {
        p.tun.name = get_string(tun["name"], "tun.name");
        if (const auto problem = tun_name_problem(p.tun.name))
            fail("tun.name", "'" + p.tun.name + "' " + *problem);
    }
    if (tun.contains("mtu")) {
        if (tun["mtu"].is_string() && tun["mtu"].get<std::string>() == "auto") p.tun.mtu = 0;
        else if (tun["mtu"].is_string()) fail("tun.mtu", "expected an integer from 576 to 9000 or \"auto\"");
        else p.tun.mtu = get_int(tun["mtu"], "tun.mtu", 576, 9000);
    }
    if (tun.contains("offload")) p.tun.offload = get_bool(tun["offload"], "tun.offload");
}

// "kill_switch": true | false | {"allow_lan": bool} (platform/kill_switch.hpp says what it lets through).
void ProfileReader::read_kill_switch(const json& v, Profile& p) const {
    if (v.is_boolean()) {
        p.kill_switch = v.get<bool>();
        return;
    }
    expect(v, "kill_switch", json::value_t::object, "true, false or an object such as {\"allow_lan\": true}");
    check_keys(v, "kill_switch.", {"allow_lan"});
    p.kill_switch = true;
    if (v.contains("allow_lan")) p.kill_switch_allow_lan = get_bool(v["allow_lan"], "kill_switch.allow_lan");
}

void ProfileReader::read_rekey(const json& rekey, Profile& p) const {
    expect(rekey, "rekey", json::value_t::object, "an object");
    check_keys(rekey, "rekey.", {"ike_seconds", "child_seconds", "child_bytes", "jitter_seconds", "reauth_seconds",
                                   "reauth_initial_contact"});
    constexpr int week = 604800;
    auto lifetime = [&](const char* key, int shortest, int fallback) {
        if (!rekey.contains(key)) return fallback;
        const std::string name = std::string("rekey.") + key;
        const int v = get_int(rekey[key], name, 0, week);
        if (v != 0 && v < shortest)
            fail(name, "expected 0 (never) or " + std::to_string(shortest) + " to " + std::to_string(week) +
                           " seconds, got " + std::to_string(v));
        return v;
    };
    p.rekey.ike_seconds = lifetime("ike_seconds", 10, p.rekey.ike_seconds);
    p.rekey.child_seconds = lifetime("child_seconds", 10, p.rekey.child_seconds);
    p.rekey.reauth_seconds = lifetime("reauth_seconds", 10, p.rekey.reauth_seconds);  // its own jitter (core/reauth.hpp)
    if (rekey.contains("reauth_initial_contact"))
        p.rekey.reauth_initial_contact = get_bool(rekey["reauth_initial_contact"], "rekey.reauth_initial_contact");
    if (rekey.contains("child_bytes")) {
        const auto& v = rekey["child_bytes"];
        constexpr std::uint64_t smallest = 1 << 20, largest = std::uint64_t{1} << 62;
        const std::string range = "0 (no limit) or an integer from 1048576 to 4611686018427387904";
        expect(v, "rekey.child_bytes", json::value_t::number_integer, range);
        if (!v.is_number_unsigned() && v.get<std::int64_t>() < 0) fail("rekey.child_bytes", "expected " + range + ", got " + v.dump());
        const auto bytes = v.get<std::uint64_t>();
        if (bytes != 0 && (bytes < smallest || bytes > largest)) fail("rekey.child_bytes", "expected " + range + ", got " + v.dump());
        p.rekey.child_bytes = bytes;
    }
    int shortest = 0;
    for (int life : {p.rekey.ike_seconds, p.rekey.child_seconds})
        if (life != 0 && (shortest == 0 || life < shortest)) shortest = life;
    if (!rekey.contains("jitter_seconds")) {
        p.rekey.jitter_seconds = shortest / 10;
        return;
    }
    p.rekey.jitter_seconds = get_int(rekey["jitter_seconds"], "rekey.jitter_seconds", 0, week);
    if (shortest != 0 && p.rekey.jitter_seconds >= shortest)
        fail("rekey.jitter_seconds", "must be less than the shortest lifetime (" + std::to_string(shortest) +
                                         " s), got " + std::to_string(p.rekey.jitter_seconds));
}

Profile ProfileReader::read() {
    SecureBytes raw;  // may hold an inline PSK
    const auto file_read = read_small_file(file_, raw);
    if (file_read.error != 0) fail_file(std::string("cannot read the profile: ") + std::strerror(file_read.error));
    const std::string text(raw.begin(), raw.end());
    const json doc = parse_document(text);
    if (!doc.is_object()) fail_file("the profile must be a JSON object, got " + describe_type(doc));
    check_keys(doc, "", {"name", "gateway", "port", "local_id", "remote_id", "auth", "ca", "ike", "esp",
                         "virtual_ip", "routes", "dns", "mobike", "encap", "nat_keepalive", "replay_window",
                         "tun", "kill_switch", "rekey", "control_group", "data_path_timeout",
                         "allow_weak_algorithms", "fragmentation", "fragment_size", "dpd_seconds"});
    Profile p;
    p.path = file_;
    read_identity(doc, p);
    if (!doc.contains("auth")) fail("auth", "missing (e.g. {\"method\": \"psk\", \"psk_file\": \"x.psk\"})");
    read_auth(doc["auth"], p, file_read.mode);
    read_proposals(doc, p);
    read_network(doc, p);
    if (p.auth == AuthMethod::eap_mschapv2 && p.ca.empty())
        fail("ca", "missing: with auth.method 'eap-mschapv2' the gateway must authenticate with a certificate, "
                   "so list the CA file(s) that issued it");
    if (p.auth == AuthMethod::eap_tls && p.ca.empty())
        fail("ca", "missing: with auth.method 'eap-tls' the gateway must authenticate with a certificate, "
                   "so list the CA file(s) that issued it");
    if (p.auth == AuthMethod::pubkey && p.ca.empty())
        fail("ca", "missing: with auth.method 'pubkey' the gateway must authenticate with a certificate, "
                   "so list the CA file(s) that issued it");
    if (doc.contains("nat_keepalive")) p.nat_keepalive = get_int(doc["nat_keepalive"], "nat_keepalive", 0, 3600);
    if (doc.contains("replay_window"))
        p.replay_window = get_int(doc["replay_window"], "replay_window", 64, 65536);
    if (doc.contains("tun")) read_tun(doc["tun"], p);
    if (doc.contains("data_path_timeout"))
        p.data_path_timeout = get_int(doc["data_path_timeout"], "data_path_timeout", 0, 3600);
    if (doc.contains("dpd_seconds")) p.dpd_seconds = get_int(doc["dpd_seconds"], "dpd_seconds", 0, 3600);
    if (doc.contains("kill_switch")) read_kill_switch(doc["kill_switch"], p);
    read_rekey(doc.contains("rekey") ? doc["rekey"] : json::object(), p);
    if (doc.contains("control_group")) {
        p.control_group = get_string(doc["control_group"], "control_group");
        if (!is_valid_profile_name(p.control_group))
            fail("control_group", "'" + p.control_group + "' is not a group name");
    }
    return p;
}

}  // namespace

bool is_valid_profile_name(std::string_view name) {
    return !name.empty() && name.size() <= 64 && name.front() != '.' &&
           std::all_of(name.begin(), name.end(), is_name_char);
}

Profile load_profile(const fs::path& file, std::vector<std::string>& warnings) {
    return ProfileReader(file, warnings).read();
}

}  // namespace ikevpn::client
