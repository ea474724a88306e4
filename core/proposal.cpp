// Proposal strings (strongSwan's syntax) → SA payload proposals, and the check of the responder's choice.
// Transform IDs are IANA's "IKEv2 Parameters" registry values, also listed in RFC 7296 §3.3.2.
#include "core/proposal.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

namespace ikevpn::core {

namespace {

using msg::Proposal;
using msg::ProtocolId;
using msg::Transform;
using msg::TransformType;

constexpr std::uint16_t encr_aes_cbc = 12;      // RFC 3602
constexpr std::uint16_t encr_aes_gcm_16 = 20;  // RFC 5282 / RFC 4106
constexpr std::uint16_t encr_chacha20_poly1305 = 28;  // RFC 7634
constexpr std::uint16_t integ_hmac_sha2_256_128 = 12, integ_hmac_sha2_384_192 = 13,
                        integ_hmac_sha2_512_256 = 14;  // RFC 4868
constexpr std::uint16_t prf_hmac_sha2_256 = 5, prf_hmac_sha2_384 = 6, prf_hmac_sha2_512 = 7;  // RFC 4868
constexpr std::uint16_t dh_ecp256 = 19;     // RFC 5903
constexpr std::uint16_t dh_curve25519 = 31;  // RFC 8031
constexpr std::uint16_t esn_none = 0;       // RFC 7296 §3.3.2: "No Extended Sequence Numbers"
constexpr std::uint16_t esn_used = 1;       // "Extended Sequence Numbers"

struct Token {
    std::string_view name;
    Transform transform;
    // The ESP engine implements these, the SK payload of IKE not yet: accepted in ESP proposals only.
    bool esp_only = false;
};

const Token known_tokens[] = {
    {"aes128gcm16", {TransformType::encr, encr_aes_gcm_16, 128}},
    {"aes256gcm16", {TransformType::encr, encr_aes_gcm_16, 256}},
    {"aes128gcm", {TransformType::encr, encr_aes_gcm_16, 128}},  // strongSwan: "gcm" means the 16-byte ICV
    {"aes256gcm", {TransformType::encr, encr_aes_gcm_16, 256}},
    {"prfsha256", {TransformType::prf, prf_hmac_sha2_256, std::nullopt}},
    {"prfsha384", {TransformType::prf, prf_hmac_sha2_384, std::nullopt}},
    {"prfsha512", {TransformType::prf, prf_hmac_sha2_512, std::nullopt}},
    {"x25519", {TransformType::dh, dh_curve25519, std::nullopt}},
    {"curve25519", {TransformType::dh, dh_curve25519, std::nullopt}},
    {"ecp256", {TransformType::dh, dh_ecp256, std::nullopt}},
    {"noesn", {TransformType::esn, esn_none, std::nullopt}},
    {"esn", {TransformType::esn, esn_used, std::nullopt}},
    // RFC 7634 §2: ChaCha20-Poly1305 has a fixed key size and MUST NOT carry a Key Length attribute.
    {"chacha20poly1305", {TransformType::encr, encr_chacha20_poly1305, std::nullopt}, true},
    {"aes128", {TransformType::encr, encr_aes_cbc, 128}, true},
    {"aes256", {TransformType::encr, encr_aes_cbc, 256}, true},
    {"sha256", {TransformType::integ, integ_hmac_sha2_256_128, std::nullopt}, true},
    {"sha2_256", {TransformType::integ, integ_hmac_sha2_256_128, std::nullopt}, true},
    {"sha384", {TransformType::integ, integ_hmac_sha2_384_192, std::nullopt}, true},
    {"sha2_384", {TransformType::integ, integ_hmac_sha2_384_192, std::nullopt}, true},
    {"sha512", {TransformType::integ, integ_hmac_sha2_512_256, std::nullopt}, true},
    {"sha2_512", {TransformType::integ, integ_hmac_sha2_512_256, std::nullopt}, true},
};

// Names a gateway administrator may well write that we know but do not implement: a clearer message
// than "unknown".
constexpr std::array<std::string_view, 14> unsupported_tokens = {
    "aes192", "aes192gcm16", "aes128gcm8", "aes128gcm12", "aes256gcm8", "aes256gcm12",
    "sha1", "prfsha1", "modp1024", "modp2048", "modp3072", "modp4096", "ecp384", "ecp521",
};

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::vector<std::string> split(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        const std::size_t dash = text.find('-', start);
        out.push_back(text.substr(start, dash - start));
        if (dash == std::string::npos) break;
        start = dash + 1;
    }
    return out;
}

[[noreturn]] void fail(const std::string& what, const std::string& kind, const std::string& text) {
    throw ProposalError(what + " in " + kind + " proposal '" + text + "'");
}

const Transform& lookup(const std::string& token, const std::string& kind, const std::string& text) {
    if (token.empty()) fail("empty algorithm name", kind, text);
    const std::string key = lower(token);
    for (const auto& t : known_tokens) {
        if (t.name != key) continue;
        if (t.esp_only && kind == "IKE") fail("'" + token + "' is supported for ESP but not yet for IKE", kind, text);
        return t.transform;
    }
    for (auto name : unsupported_tokens)
        if (name == key) fail("unsupported algorithm '" + token + "'", kind, text);
    fail("unknown algorithm '" + token + "'", kind, text);
}

// Parses every token into a proposal, keeping strongSwan's order within each type and dropping repeats.
Proposal parse_tokens(const std::string& text, ProtocolId protocol, const std::string& kind) {
    Proposal p;
    p.number = 1;
    p.protocol = protocol;
    for (const auto& token : split(text)) {
        const Transform& t = lookup(token, kind, text);
        if (protocol == ProtocolId::esp && t.type == TransformType::prf)
            fail("'" + token + "' is a PRF, which an ESP proposal has none of", kind, text);
        if (protocol == ProtocolId::ike && t.type == TransformType::esn)
            fail("'" + token + "' is an ESN option, which an IKE proposal has none of", kind, text);
        if (std::find(p.transforms.begin(), p.transforms.end(), t) == p.transforms.end())
            p.transforms.push_back(t);
    }
    // Transforms grouped by type in RFC 7296 §3.3.2 order (ENCR, PRF, INTEG, DH, ESN), stably.
    std::stable_sort(p.transforms.begin(), p.transforms.end(),
                     [](const Transform& a, const Transform& b) { return a.type < b.type; });
    return p;
}

bool has_type(const Proposal& p, TransformType type) {
    return std::any_of(p.transforms.begin(), p.transforms.end(),
                       [type](const Transform& t) { return t.type == type; });
}

}  // namespace

msg::Proposal parse_ike_proposal(const std::string& text) {
    const std::string kind = "IKE";
    Proposal p = parse_tokens(text, ProtocolId::ike, kind);
    if (!has_type(p, TransformType::encr)) fail("no encryption algorithm", kind, text);
    if (!has_type(p, TransformType::prf))
        fail("no PRF (an AEAD proposal needs an explicit prf..., e.g. prfsha256)", kind, text);
    if (!has_type(p, TransformType::dh)) fail("no key exchange (DH) group", kind, text);
    return p;
}

msg::Proposal parse_esp_proposal(const std::string& text) {
    const std::string kind = "ESP";
    Proposal p = parse_tokens(text, ProtocolId::esp, kind);
    if (!has_type(p, TransformType::encr)) fail("no encryption algorithm", kind, text);
    // Combined-mode ciphers carry their own integrity (RFC 7296 §3.3); CBC needs an explicit one. Mixing
    // both kinds in one proposal would let the gateway pick a combination that is invalid either way.
    bool aead = false, cbc = false;
    for (const auto& t : p.transforms)
        if (t.type == TransformType::encr) (t.id == encr_aes_cbc ? cbc : aead) = true;
    if (aead && cbc) fail("combined-mode (GCM, ChaCha20-Poly1305) and CBC ciphers cannot share one proposal", kind, text);
    if (aead && has_type(p, TransformType::integ))
        fail("an integrity algorithm with a combined-mode cipher (it has its own)", kind, text);
    if (cbc && !has_type(p, TransformType::integ))
        fail("no integrity algorithm for the CBC cipher (e.g. aes256-sha256)", kind, text);
    // RFC 7296 §3.3.2: ESP proposals carry the ESN transform; without a token we offer "no ESN".
    if (!has_type(p, TransformType::esn)) p.transforms.push_back({TransformType::esn, esn_none, std::nullopt});
    return p;
}

std::optional<msg::Proposal> select_proposal(const std::vector<msg::Proposal>& theirs, ProtocolId protocol,
                                             std::size_t spi_size,
                                             const std::function<bool(const Transform&)>& acceptable) {
    constexpr std::size_t types = 6;  // transform types 1..5 (RFC 7296 §3.3.2)
    for (const auto& p : theirs) {
        if (p.protocol != protocol || p.spi.size() != spi_size) continue;
        Proposal chosen{p.number, p.protocol, p.spi, {}};
        bool has[types] = {}, wants[types] = {};
        for (const auto& t : p.transforms) {
            const auto type = static_cast<std::size_t>(t.type);
            if (type >= types) continue;
            wants[type] = true;
            if (!has[type] && acceptable(t)) {
                has[type] = true;
                chosen.transforms.push_back(t);
            }
        }
        if (std::equal(std::begin(has), std::end(has), std::begin(wants))) return chosen;
    }
    return std::nullopt;
}

bool offers_transform(const std::vector<msg::Proposal>& ours, const msg::Transform& transform) {
    return std::any_of(ours.begin(), ours.end(), [&](const Proposal& p) {
        return std::find(p.transforms.begin(), p.transforms.end(), transform) != p.transforms.end();
    });
}

std::optional<std::string> check_accepted(const std::vector<msg::Proposal>& offered,
                                          const msg::Proposal& accepted) {
    const std::string number = std::to_string(accepted.number);
    auto it = std::find_if(offered.begin(), offered.end(), [&](const Proposal& p) {
        return p.number == accepted.number && p.protocol == accepted.protocol;
    });
    if (it == offered.end()) return "accepted proposal " + number + " was not offered for this protocol";

    const std::size_t spi = accepted.spi.size();
    if ((accepted.protocol == ProtocolId::esp || accepted.protocol == ProtocolId::ah) && spi != 4)
        return "accepted proposal " + number + " has an SPI of " + std::to_string(spi) + " bytes, not 4";
    if (accepted.protocol == ProtocolId::ike && spi != 0 && spi != 8)
        return "accepted proposal " + number + " has an IKE SPI of " + std::to_string(spi) + " bytes";

    for (const auto& t : accepted.transforms)
        if (std::find(it->transforms.begin(), it->transforms.end(), t) == it->transforms.end())
            return "accepted proposal " + number + " holds transform type " +
                   std::to_string(static_cast<unsigned>(t.type)) + " id " + std::to_string(t.id) +
                   " that was not offered";
    // One of each type that was offered: no more (§3.3.6: "the responder MUST select a single
    // transform of each type"), no fewer.
    std::vector<TransformType> types;
    for (const auto& t : it->transforms)
        if (std::find(types.begin(), types.end(), t.type) == types.end()) types.push_back(t.type);
    for (auto type : types) {
        const auto n = std::count_if(accepted.transforms.begin(), accepted.transforms.end(),
                                     [type](const Transform& t) { return t.type == type; });
        if (n != 1)
            return "accepted proposal " + number + " has " + std::to_string(n) + " transforms of type " +
                   std::to_string(static_cast<unsigned>(type)) + " (must be exactly one)";
    }
    return std::nullopt;
}

}  // namespace ikevpn::core
