#include "client/sswan_import.hpp"

#include "client/profile.hpp"
#include "core/crypto/pem_check.hpp"
#include "core/ip_address.hpp"
#include "core/proposal.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

namespace ikevpn::client {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::uintmax_t max_sswan_size = 1 << 20;

// Keys of the Android format that ikevpn has no equivalent for; they are named in one warning.
const std::set<std::string> unmapped_keys = {
    "remote.certreq", "remote.revocation", "local.rsa-pss", "local.p12", "included-apps", "excluded-apps",
    "proxy", "dns-servers", "split-tunneling.excluded", "split-tunneling.block-ipv4", "split-tunneling.block-ipv6",
    "ike-proposal-pfs", "flags"};
const std::set<std::string> mapped_keys = {
    "uuid", "name", "type", "remote.addr", "remote.port", "remote.id", "remote.cert", "local.id", "local.eap_id",
    "ike-proposal", "esp-proposal", "split-tunneling.subnets", "mtu", "nat-keepalive"};

class Mapper {
public:
    Mapper(const json& doc, const std::string& label) : doc_(doc), label_(label) {}

    [[noreturn]] void fail(const std::string& key, const std::string& reason) const {
        throw ImportError(label_ + ": key '" + key + "': " + reason);
    }

    // "remote.addr" → doc["remote"]["addr"]; nullptr when absent.
    const json* find(const std::string& dotted) const {
        const json* at = &doc_;
        std::size_t start = 0;
        for (;;) {
            const auto dot = dotted.find('.', start);
            const auto part = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
            if (!at->is_object() || !at->contains(part)) return nullptr;
            at = &(*at)[part];
            if (dot == std::string::npos) return at;
            start = dot + 1;
        }
    }
    std::optional<std::string> string(const std::string& key) const {
        const json* v = find(key);
        if (!v) return std::nullopt;
        if (!v->is_string()) fail(key, "expected a string");
        if (v->get<std::string>().empty()) return std::nullopt;
        return v->get<std::string>();
    }
    std::optional<int> integer(const std::string& key, int min, int max) const {
        const json* v = find(key);
        if (!v) return std::nullopt;
        if (!v->is_number_integer() || v->get<std::int64_t>() < min || v->get<std::int64_t>() > max)
            fail(key, "expected an integer from " + std::to_string(min) + " to " + std::to_string(max));
        return static_cast<int>(v->get<std::int64_t>());
    }

    // Every leaf key ("remote.addr") of the document, to find the ones we do not map.
    void leaf_keys(const json& object, const std::string& prefix, std::vector<std::string>& out) const {
        for (const auto& [key, value] : object.items()) {
            const auto dotted = prefix + key;
            if (value.is_object() && !unmapped_keys.count(dotted)) leaf_keys(value, dotted + ".", out);
            else out.push_back(dotted);
        }
    }

private:
    const json& doc_;
    std::string label_;
};

std::string profile_name_from(const std::string& display) {
    std::string out;
    for (char c : display) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                        c == '.' || c == '-';
        if (ok) out += c;
        else if (!out.empty() && out.back() != '-') out += '-';
    }
    while (!out.empty() && (out.back() == '-' || out.front() == '.' || out.front() == '-'))
        out.erase(out.back() == '-' ? out.end() - 1 : out.begin());
    return out.substr(0, 64);
}

void map_auth(const Mapper& m, const std::string& name, SswanProfile& out) {
    const auto type = m.string("type");
    if (!type) m.fail("type", "missing (ikev2-eap, ikev2-cert, ikev2-eap-tls or ikev2-psk)");
    json& auth = out.profile["auth"];
    const auto eap_id = m.string("local.eap_id");
    const auto cert_files = [&] {
        auth["cert"] = name + "-cert.pem";
        auth["key"] = name + "-key.pem";
        if (m.find("local.p12"))
            out.next_steps.push_back("local.p12 holds the client certificate as PKCS#12, which ikevpn does not read: "
                                     "extract it with 'openssl pkcs12 -in FILE.p12 -nokeys -out " + name +
                                     "-cert.pem' and '-nocerts -nodes -out " + name + "-key.pem'");
        else
            out.next_steps.push_back("put your client certificate in " + name + "-cert.pem and its key in " + name +
                                     "-key.pem (PEM, key mode 0600)");
    };
    if (*type == "ikev2-eap") {
        auth["method"] = "eap-mschapv2";
        if (eap_id) auth["username"] = *eap_id;
        else out.next_steps.push_back("set auth.username (local.eap_id was not given)");
    } else if (*type == "ikev2-cert") {
        auth["method"] = "pubkey";
        cert_files();
    } else if (*type == "ikev2-eap-tls") {
        auth["method"] = "eap-tls";
        if (eap_id) auth["eap_identity"] = *eap_id;
        cert_files();
    } else if (*type == "ikev2-psk") {
        auth["method"] = "psk";
        auth["psk_file"] = name + ".psk";
        out.next_steps.push_back("write the pre-shared key into " + name + ".psk (chmod 600)");
    } else if (*type == "ikev2-cert-eap" || *type == "ikev2-byod-eap") {
        m.fail("type", "'" + *type + "' (two authentication rounds" +
                           std::string(*type == "ikev2-byod-eap" ? ", EAP-TNC" : "") + ") is not supported by ikevpn");
    } else {
        m.fail("type", "unknown type '" + *type + "' (expected ikev2-eap, ikev2-cert, ikev2-eap-tls or ikev2-psk)");
    }
    if (auth["method"] != "psk" && auth["method"] != "pubkey" && auth["method"] != "eap-mschapv2" && auth["method"] != "eap-tls")
        out.warnings.push_back("auth.method '" + auth["method"].get<std::string>() +
                               "' is not supported by this version of ikevpn yet ('ikevpn check' will say so); "
                               "the profile is written for when it is");
    if (const auto local_id = m.string("local.id")) out.profile["local_id"] = *local_id;
    else if (eap_id) out.profile["local_id"] = *eap_id;
    else out.next_steps.push_back("set local_id (the identity this client authenticates as)");
}

void map_proposals(const Mapper& m, SswanProfile& out) {
    if (const auto ike = m.string("ike-proposal")) {
        try {
            core::parse_ike_proposal(*ike);
        } catch (const core::ProposalError& e) {
            m.fail("ike-proposal", e.what());
        }
        out.profile["ike"] = json::array({*ike});
    }
    if (const auto esp = m.string("esp-proposal")) {
        try {
            core::parse_esp_proposal(*esp);
        } catch (const core::ProposalError& e) {
            m.fail("esp-proposal", e.what());
        }
        out.profile["esp"] = json::array({*esp});
    }
}

void map_network(const Mapper& m, SswanProfile& out) {
    if (const auto subnets = m.string("split-tunneling.subnets")) {
        std::istringstream words(*subnets);
        json routes = json::array();
        for (std::string word; words >> word;) {
            if (!IpPrefix::parse(word)) m.fail("split-tunneling.subnets", "'" + word + "' is not a network prefix");
            routes.push_back(word);
        }
        if (!routes.empty()) out.profile["routes"] = routes;
    }
    if (const auto mtu = m.integer("mtu", 576, 9000)) out.profile["tun"] = {{"mtu", *mtu}};
    if (const auto keepalive = m.integer("nat-keepalive", 0, 3600)) out.profile["nat_keepalive"] = *keepalive;
}

}  // namespace

SswanProfile map_sswan(const json& doc, const std::string& label, const std::optional<std::string>& name) {
    if (!doc.is_object()) throw ImportError(label + ": not a .sswan profile (expected a JSON object)");
    const Mapper m(doc, label);
    SswanProfile out;
    out.name = name ? *name : profile_name_from(m.string("name").value_or(""));
    if (!is_valid_profile_name(out.name))
        throw ImportError(label + ": cannot derive a profile name from key 'name'" +
                          (name ? " ('" + *name + "' is not 1 to 64 characters of A-Z a-z 0-9 _ . -)" : "") +
                          "; choose one with --name NAME");
    out.profile = json::object();
    out.profile["name"] = out.name;
    const auto gateway = m.string("remote.addr");
    if (!gateway) m.fail("remote.addr", "missing (the gateway's host name or address)");
    out.profile["gateway"] = *gateway;
    if (const auto port = m.integer("remote.port", 1, 65535)) out.profile["port"] = *port;
    if (const auto remote_id = m.string("remote.id")) out.profile["remote_id"] = *remote_id;
    map_auth(m, out.name, out);
    if (const auto cert = m.string("remote.cert")) {
        out.ca_pem = crypto::certificate_pem_from_base64(*cert);
        if (!out.ca_pem) m.fail("remote.cert", "not a base64-encoded (DER) or PEM X.509 certificate");
        out.profile["ca"] = json::array({out.name + "-ca.pem"});
    }
    map_proposals(m, out);
    map_network(m, out);
    std::vector<std::string> leaves, ignored;
    m.leaf_keys(doc, "", leaves);
    for (const auto& key : leaves)
        if (!mapped_keys.count(key) && key != "local.p12") ignored.push_back(key);
    if (!ignored.empty()) {
        std::string list;
        for (const auto& key : ignored) list += (list.empty() ? "" : ", ") + key;
        out.warnings.push_back("ignored (no ikevpn equivalent): " + list);
    }
    return out;
}

namespace {

// O_EXCL: never overwrite, even when a file appears between our check and the write.
void write_new_file(const fs::path& path, const std::string& text, mode_t mode) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) throw ImportError("cannot create " + path.string() + ": " + std::strerror(errno));
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int error = errno;
            ::close(fd);
            ::unlink(path.c_str());
            throw ImportError("cannot write " + path.string() + ": " + std::strerror(error));
        }
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
}

}  // namespace

ImportResult import_sswan(const fs::path& sswan_file, const fs::path& dir, const std::optional<std::string>& name) {
    const std::string label = sswan_file.string();
    std::error_code ec;
    const auto size = fs::file_size(sswan_file, ec);
    if (ec) throw ImportError(label + ": cannot read: " + ec.message());
    if (size > max_sswan_size) throw ImportError(label + ": larger than 1 MiB, not a .sswan profile");
    std::ifstream in(sswan_file, std::ios::binary);
    const json doc = json::parse(in, nullptr, false);
    if (doc.is_discarded()) throw ImportError(label + ": not valid JSON (a .sswan file is a JSON object)");
    ImportResult result{map_sswan(doc, label, name), {}};
    const auto profile_path = dir / (result.mapped.name + ".json");
    const auto ca_path = dir / (result.mapped.name + "-ca.pem");
    for (const auto& path : {profile_path, ca_path}) {
        if (path == ca_path && !result.mapped.ca_pem) continue;
        if (fs::exists(fs::symlink_status(path, ec)))
            throw ImportError(path.string() + " already exists; not overwritten (remove it or choose --name NAME)");
    }
    if (!fs::is_directory(dir, ec)) {
        if (!fs::create_directories(dir, ec) && ec) throw ImportError("cannot create " + dir.string() + ": " + ec.message());
        fs::permissions(dir, fs::perms::owner_all, ec);
    }
    if (result.mapped.ca_pem) {
        write_new_file(ca_path, *result.mapped.ca_pem, 0644);
        result.written.push_back(ca_path);
    }
    try {
        write_new_file(profile_path, result.mapped.profile.dump(2) + "\n", 0600);
    } catch (const ImportError&) {
        if (result.mapped.ca_pem) ::unlink(ca_path.c_str());  // all or nothing
        throw;
    }
    result.written.insert(result.written.begin(), profile_path);
    return result;
}

nlohmann::json import_result_json(const ImportResult& result) {
    nlohmann::json written = nlohmann::json::array();
    for (const auto& path : result.written) written.push_back(path.string());
    return {{"ok", true},
            {"name", result.mapped.name},
            {"profile", result.written.empty() ? nlohmann::json(nullptr) : nlohmann::json(result.written.front().string())},
            {"written", std::move(written)},
            {"warnings", result.mapped.warnings},
            {"next_steps", result.mapped.next_steps}};
}

}  // namespace ikevpn::client
