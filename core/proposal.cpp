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

constexpr std::uint16_t encr_3des = 3;          // RFC 2451 (weak)
constexpr std::uint16_t encr_aes_cbc = 12;      // RFC 3602
constexpr std::uint16_t encr_aes_gcm_16 = 20;  // RFC 5282 / RFC 4106
constexpr std::uint16_t encr_chacha20_poly1305 = 28;  // RFC 7634
constexpr std::uint16_t integ_hmac_sha2_256_128 = 12, integ_hmac_sha2_384_192 = 13,
                        integ_hmac_sha2_512_256 = 14;  // RFC 4868
constexpr std::uint16_t integ_hmac_md5_96 = 1, integ_hmac_sha1_96 = 2;  // RFC 2403, RFC 2404 (weak)
constexpr std::uint16_t prf_hmac_md5 = 1, prf_hmac_sha1 = 2;              // RFC 2104 (weak)
constexpr std::uint16_t dh_modp1024 = 2;                                  // RFC 2409 §6.2 (weak)
constexpr std::uint16_t dh_modp2048 = 14, dh_modp3072 = 15, dh_modp4096 = 16;  // RFC 3526
constexpr std::uint16_t dh_ecp384 = 20, dh_ecp521 = 21;                    // RFC 5903
constexpr std::uint16_t prf_hmac_sha2_256 = 5, prf_hmac_sha2_384 = 6, prf_hmac_sha2_512 = 7;  // RFC 4868
constexpr std::uint16_t dh_ecp256 = 19;     // RFC 5903
constexpr std::uint16_t dh_curve25519 = 31;  // RFC 8031
constexpr std::uint16_t esn_none = 0;       // RFC 7296 §3.3.2: "No Extended Sequence Numbers"
constexpr std::uint16_t esn_used = 1;       // "Extended Sequence Numbers"

struct Token {
    std::string_view name;
    Transform transform;
    // Broken or too short for today (RFC 8247 §2-§3): refused unless the profile's allow_weak_algorithms
    // lists this name. Of the ciphers and integrity algorithms among them the data plane has HMAC-SHA1-96.
    std::string_view weak = {};
    // Implemented by the SK payload but not by the ESP data plane (which has AES-GCM-128/256 only).
    bool ike_only = false;
};

const Token known_tokens[] = {
    {"aes128gcm16", {TransformType::encr, encr_aes_gcm_16, 128}},
    {"aes192gcm16", {TransformType::encr, encr_aes_gcm_16, 192}, {}, true},
    {"aes256gcm16", {TransformType::encr, encr_aes_gcm_16, 256}},
    {"aes128gcm", {TransformType::encr, encr_aes_gcm_16, 128}},  // strongSwan: "gcm" means the 16-byte ICV
    {"aes192gcm", {TransformType::encr, encr_aes_gcm_16, 192}, {}, true},
    {"aes256gcm", {TransformType::encr, encr_aes_gcm_16, 256}},
    {"prfsha256", {TransformType::prf, prf_hmac_sha2_256, std::nullopt}},
    {"prfsha384", {TransformType::prf, prf_hmac_sha2_384, std::nullopt}},
    {"prfsha512", {TransformType::prf, prf_hmac_sha2_512, std::nullopt}},
    {"x25519", {TransformType::dh, dh_curve25519, std::nullopt}},
    {"curve25519", {TransformType::dh, dh_curve25519, std::nullopt}},
    {"ecp256", {TransformType::dh, dh_ecp256, std::nullopt}},
    {"ecp384", {TransformType::dh, dh_ecp384, std::nullopt}},
    {"ecp521", {TransformType::dh, dh_ecp521, std::nullopt}},
    {"modp2048", {TransformType::dh, dh_modp2048, std::nullopt}},
    {"modp3072", {TransformType::dh, dh_modp3072, std::nullopt}},
    {"modp4096", {TransformType::dh, dh_modp4096, std::nullopt}},
    {"noesn", {TransformType::esn, esn_none, std::nullopt}},
    {"esn", {TransformType::esn, esn_used, std::nullopt}},
    // RFC 7634 §2: ChaCha20-Poly1305 has a fixed key size and MUST NOT carry a Key Length attribute.
    {"chacha20poly1305", {TransformType::encr, encr_chacha20_poly1305, std::nullopt}},
    {"aes128", {TransformType::encr, encr_aes_cbc, 128}},
    {"aes192", {TransformType::encr, encr_aes_cbc, 192}},
    {"aes256", {TransformType::encr, encr_aes_cbc, 256}},
    {"sha256", {TransformType::integ, integ_hmac_sha2_256_128, std::nullopt}},
    {"sha2_256", {TransformType::integ, integ_hmac_sha2_256_128, std::nullopt}},
    {"sha384", {TransformType::integ, integ_hmac_sha2_384_192, std::nullopt}},
    {"sha2_384", {TransformType::integ, integ_hmac_sha2_384_192, std::nullopt}},
    {"sha512", {TransformType::integ, integ_hmac_sha2_512_256, std::nullopt}},
    {"sha2_512", {TransformType::integ, integ_hmac_sha2_512_256, std::nullopt}},
    {"3des", {TransformType::encr, encr_3des, std::nullopt}, "3des"},
    {"sha1", {TransformType::integ, integ_hmac_sha1_96, std::nullopt}, "sha1"},
    {"sha", {TransformType::integ, integ_hmac_sha1_96, std::nullopt}, "sha1"},
    {"prfsha1", {TransformType::prf, prf_hmac_sha1, std::nullopt}, "sha1"},
    {"md5", {TransformType::integ, integ_hmac_md5_96, std::nullopt}, "md5"},
    {"prfmd5", {TransformType::prf, prf_hmac_md5, std::nullopt}, "md5"},
    {"modp1024", {TransformType::dh, dh_modp1024, std::nullopt}, "modp1024"},
};

constexpr std::array<std::string_view, 4> weak_names = {"3des", "sha1", "md5", "modp1024"};

// Names a gateway administrator may well write that we know but do not implement: a clearer message
// than "unknown".
constexpr std::array<std::string_view, 10> unsupported_tokens = {
    "aes128gcm8", "aes128gcm12", "aes256gcm8", "aes256gcm12", "modp1536", "modp6144", "modp8192",
    "ecp192", "ecp224", "aesxcbc",
};

// strongSwan derives the PRF of a CBC proposal without a prf... token from its integrity algorithms.
std::optional<Transform> prf_for_integ(std::uint16_t integ) {
    switch (integ) {
    case integ_hmac_sha2_256_128: return Transform{TransformType::prf, prf_hmac_sha2_256, std::nullopt};
    case integ_hmac_sha2_384_192: return Transform{TransformType::prf, prf_hmac_sha2_384, std::nullopt};
    case integ_hmac_sha2_512_256: return Transform{TransformType::prf, prf_hmac_sha2_512, std::nullopt};
    case integ_hmac_sha1_96: return Transform{TransformType::prf, prf_hmac_sha1, std::nullopt};
    case integ_hmac_md5_96: return Transform{TransformType::prf, prf_hmac_md5, std::nullopt};
    default: return std::nullopt;
    }
}

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

const Transform& lookup(const std::string& token, const std::string& kind, const std::string& text,
                        const WeakAlgorithms& allowed) {
    if (token.empty()) fail("empty algorithm name", kind, text);
    const std::string key = lower(token);
    for (const auto& t : known_tokens) {
        if (t.name != key) continue;
        if (!t.weak.empty() && std::find(allowed.begin(), allowed.end(), t.weak) == allowed.end())
            fail("'" + token + "' is a weak algorithm, refused unless the profile lists \"" + std::string(t.weak) +
                     "\" in allow_weak_algorithms", kind, text);
        // A DH group in an ESP proposal is PFS for rekeys, computed by the negotiator, not the data plane;
        // of the weak ciphers and integrity algorithms the data plane has HMAC-SHA1-96 only.
        const bool data_plane = t.transform.type == TransformType::encr ||
                                (t.transform.type == TransformType::integ && t.transform.id != integ_hmac_sha1_96);
        if ((t.ike_only || (!t.weak.empty() && data_plane)) && kind == "ESP")
            fail("'" + token + "' is supported for IKE only (the ESP data plane does not implement it)", kind, text);
        return t.transform;
    }
    for (auto name : unsupported_tokens)
        if (name == key) fail("unsupported algorithm '" + token + "'", kind, text);
    fail("unknown algorithm '" + token + "'", kind, text);
}

// Parses every token into a proposal, keeping strongSwan's order within each type and dropping repeats.
Proposal parse_tokens(const std::string& text, ProtocolId protocol, const std::string& kind,
                      const WeakAlgorithms& allowed) {
    Proposal p;
    p.number = 1;
    p.protocol = protocol;
    for (const auto& token : split(text)) {
        const Transform& t = lookup(token, kind, text, allowed);
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

// Combined-mode ciphers carry their own integrity (RFC 7296 §3.3); CBC needs an explicit one. Mixing both
// kinds in one proposal would let the gateway pick a combination that is invalid either way.
void check_cipher_kinds(const Proposal& p, const std::string& kind, const std::string& text) {
    bool aead = false, cbc = false;
    for (const auto& t : p.transforms)
        if (t.type == TransformType::encr) (t.id == encr_aes_cbc || t.id == encr_3des ? cbc : aead) = true;
    if (aead && cbc) fail("combined-mode (GCM, ChaCha20-Poly1305) and CBC ciphers cannot share one proposal", kind, text);
    if (aead && has_type(p, TransformType::integ))
        fail("an integrity algorithm with a combined-mode cipher (it has its own)", kind, text);
    if (cbc && !has_type(p, TransformType::integ))
        fail("no integrity algorithm for the CBC cipher (e.g. aes256-sha256)", kind, text);
}

}  // namespace

const std::vector<std::string_view>& weak_algorithm_names() {
    static const std::vector<std::string_view> names(weak_names.begin(), weak_names.end());
    return names;
}

msg::Proposal parse_ike_proposal(const std::string& text) { return parse_ike_proposal(text, {}); }

msg::Proposal parse_ike_proposal(const std::string& text, const WeakAlgorithms& allowed) {
    const std::string kind = "IKE";
    Proposal p = parse_tokens(text, ProtocolId::ike, kind, allowed);
    if (!has_type(p, TransformType::encr)) fail("no encryption algorithm", kind, text);
    check_cipher_kinds(p, kind, text);
    if (!has_type(p, TransformType::prf)) {
        if (!has_type(p, TransformType::integ))
            fail("no PRF (an AEAD proposal needs an explicit prf..., e.g. prfsha256)", kind, text);
        // As strongSwan: "aes256-sha384-ecp384" means PRF_HMAC_SHA2_384 too.
        std::vector<Transform> prfs;
        for (const auto& t : p.transforms)
            if (t.type == TransformType::integ)
                if (auto prf = prf_for_integ(t.id); prf && std::find(prfs.begin(), prfs.end(), *prf) == prfs.end())
                    prfs.push_back(*prf);
        p.transforms.insert(p.transforms.end(), prfs.begin(), prfs.end());
        std::stable_sort(p.transforms.begin(), p.transforms.end(),
                         [](const Transform& a, const Transform& b) { return a.type < b.type; });
    }
    if (!has_type(p, TransformType::dh)) fail("no key exchange (DH) group", kind, text);
    return p;
}

msg::Proposal parse_esp_proposal(const std::string& text) { return parse_esp_proposal(text, {}); }

msg::Proposal parse_esp_proposal(const std::string& text, const WeakAlgorithms& allowed) {
    const std::string kind = "ESP";
    Proposal p = parse_tokens(text, ProtocolId::esp, kind, allowed);
    if (!has_type(p, TransformType::encr)) fail("no encryption algorithm", kind, text);
    check_cipher_kinds(p, kind, text);
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
