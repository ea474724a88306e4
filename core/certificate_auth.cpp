#include "core/certificate_auth.hpp"

#include "core/identity.hpp"

namespace ikevpn::core {

namespace {

bool certificate_holds(const crypto::Certificate& cert, const msg::IdPayload& id) {
    const std::string text(id.data.begin(), id.data.end());
    switch (id.id_type) {
    case msg::IdType::fqdn: return crypto::certificate_has_dns(cert, text);
    case msg::IdType::rfc822_addr: return crypto::certificate_has_email(cert, text);
    case msg::IdType::ipv4_addr:
    case msg::IdType::ipv6_addr: return crypto::certificate_has_ip(cert, id.data);
    case msg::IdType::der_asn1_dn: return crypto::certificate_has_dn(cert, id.data);
    case msg::IdType::key_id: return crypto::certificate_has_key_id(cert, id.data);
    default: return false;
    }
}

const char* where_expected(msg::IdType type) {
    switch (type) {
    case msg::IdType::fqdn: return "as a subjectAltName DNS name";
    case msg::IdType::rfc822_addr: return "as a subjectAltName email address";
    case msg::IdType::ipv4_addr:
    case msg::IdType::ipv6_addr: return "as a subjectAltName IP address";
    case msg::IdType::der_asn1_dn: return "as its subject";
    case msg::IdType::key_id: return "as its subject key identifier";
    default: return "in any form we check";
    }
}

}  // namespace

std::optional<std::string> certificate_identity_problem(const crypto::Certificate& cert, const msg::IdPayload& id) {
    if (certificate_holds(cert, id)) return std::nullopt;
    return "does not contain its identity '" + identity_to_string(id) + "' " + where_expected(id.id_type);
}

bool uses_signatures(const SessionConfig& config) { return config.private_key || !config.trusted_cas.empty(); }

msg::Payload build_signature_hash_algorithms() {
    Bytes data;
    for (auto h : crypto::announced_hash_algorithms()) {
        data.push_back(std::uint8_t(std::uint16_t(h) >> 8));
        data.push_back(std::uint8_t(std::uint16_t(h)));
    }
    return msg::make_notify(msg::NotifyType::signature_hash_algorithms, std::move(data));
}

std::vector<std::uint16_t> read_signature_hash_algorithms(const std::vector<msg::Payload>& payloads) {
    std::vector<std::uint16_t> out;
    const auto* n = msg::find_notify(payloads, msg::NotifyType::signature_hash_algorithms);
    if (!n) return out;
    for (std::size_t i = 0; i + 1 < n->data.size(); i += 2) out.push_back(std::uint16_t(n->data[i] << 8 | n->data[i + 1]));
    return out;
}

void add_certificate_payloads(const SessionConfig& config, std::vector<msg::Payload>& payloads) {
    if (config.private_key) {
        for (const auto& cert : config.local_certs) {
            Bytes body{cert_encoding_x509_signature};
            append(body, crypto::certificate_der(*cert));
            payloads.push_back({msg::PayloadType::cert, false, msg::RawPayload{std::move(body)}});
        }
    }
    if (!config.trusted_cas.empty()) {
        // One CERTREQ naming every CA we trust, so the gateway sends the matching certificate (§3.7).
        Bytes body{cert_encoding_x509_signature};
        for (const auto& ca : config.trusted_cas) append(body, crypto::public_key_sha1(*ca));
        payloads.push_back({msg::PayloadType::certreq, false, msg::RawPayload{std::move(body)}});
    }
}

std::optional<Failure> check_gateway_certificate(const SessionConfig& config, const std::vector<msg::Payload>& payloads,
                                                 const msg::IdPayload& id_r, crypto::CertificatePtr& gateway_cert) {
    std::vector<crypto::CertificatePtr> chain;
    for (const auto& p : payloads) {
        if (p.type != msg::PayloadType::cert) continue;
        const auto* raw = std::get_if<msg::RawPayload>(&p.body);
        // Other encodings (hash and URL, raw public keys) are skipped; the first X.509 one is the gateway's.
        if (!raw || raw->body.empty() || raw->body[0] != cert_encoding_x509_signature) continue;
        std::string error;
        auto cert = crypto::parse_certificate_der(ByteView(raw->body).subspan(1), error);
        if (!cert) return Failure{CloseCode::cert_invalid, "the gateway sent a " + error};
        chain.push_back(std::move(cert));
    }
    if (chain.empty())
        return Failure{CloseCode::cert_invalid,
                       "the gateway sent no X.509 certificate, but the profile's 'ca' requires one"};
    const auto& leaf = *chain.front();
    const std::vector<crypto::CertificatePtr> intermediates(chain.begin() + 1, chain.end());
    if (auto reason = crypto::validate_certificate(leaf, intermediates, config.trusted_cas, config.wall_clock()))
        return Failure{CloseCode::cert_invalid, "the gateway's certificate '" + crypto::certificate_subject(leaf) +
                                                    "' is not valid for the profile's 'ca': " + *reason};
    if (auto problem = certificate_identity_problem(leaf, id_r))
        return Failure{CloseCode::id_mismatch, "the gateway's certificate '" + crypto::certificate_subject(leaf) + "' " + *problem};
    gateway_cert = chain.front();
    return std::nullopt;
}

}  // namespace ikevpn::core
