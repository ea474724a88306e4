// X.509 for IKE: certificates from PEM files and CERT payloads, path validation against the profile's CAs,
// identity checks (RFC 4945 §3.1) and distinguished names for ID_DER_ASN1_DN.
#include "core/crypto/public_key_impl.hpp"

#include <botan/ber_dec.h>
#include <botan/certstor.h>
#include <botan/data_src.h>
#include <botan/der_enc.h>
#include <botan/ecc_key.h>
#include <botan/hash.h>
#include <botan/pem.h>
#include <botan/x509path.h>

#include <algorithm>
#include <cctype>

namespace ikevpn::crypto {

namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// Short attribute names as strongSwan and OpenSSL print them, mapped to their OIDs (RFC 4519, RFC 5280).
struct DnAttribute { const char* name; const char* oid; };
constexpr DnAttribute dn_attributes[] = {
    {"c", "2.5.4.6"},   {"st", "2.5.4.8"},  {"l", "2.5.4.7"},  {"o", "2.5.4.10"}, {"ou", "2.5.4.11"},
    {"cn", "2.5.4.3"},  {"sn", "2.5.4.5"},  {"serialnumber", "2.5.4.5"}, {"e", "1.2.840.113549.1.9.1"},
    {"emailaddress", "1.2.840.113549.1.9.1"}, {"dc", "0.9.2342.19200300.100.1.25"},
};

// "C=CH, O=Example, CN=vpn.example.com": the way profiles write DNs (Botan's own form quotes values).
std::string format_dn(const Botan::X509_DN& dn) {
    std::string out;
    for (const auto& [oid, value] : dn.dn_info()) {
        const std::string dotted = oid.to_string();
        const auto* attr = std::find_if(std::begin(dn_attributes), std::end(dn_attributes),
                                        [&](const DnAttribute& a) { return dotted == a.oid; });
        std::string name = attr == std::end(dn_attributes) ? dotted : attr->name;
        // The table lists lower-case aliases; print the usual upper-case short names.
        if (attr != std::end(dn_attributes)) {
            if (name == "emailaddress") name = "e";
            if (name == "serialnumber") name = "sn";
            std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return char(std::toupper(c)); });
        }
        out += (out.empty() ? "" : ", ") + name + "=" + value.value();
    }
    return out;
}

std::optional<Botan::X509_DN> decode_dn(ByteView der) {
    try {
        Botan::X509_DN dn;
        Botan::BER_Decoder decoder(der.data(), der.size());
        dn.decode_from(decoder);
        decoder.verify_end();
        return dn;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

}  // namespace

std::optional<KeyType> key_type_of(const Botan::Public_Key& key) {
    const std::string algo = key.algo_name();
    if (algo == "RSA") return KeyType::rsa;
    if (algo == "Ed25519") return KeyType::ed25519;
    if (algo == "ECDSA") {
        const auto& ec = dynamic_cast<const Botan::EC_PublicKey&>(key);
        switch (ec.domain().get_p_bits()) {
        case 256: return KeyType::ecdsa_p256;
        case 384: return KeyType::ecdsa_p384;
        case 521: return KeyType::ecdsa_p521;
        default: return std::nullopt;
        }
    }
    return std::nullopt;
}

std::vector<CertificatePtr> load_certificates_pem(ByteView pem, std::string& error) {
    std::vector<CertificatePtr> out;
    try {
        Botan::DataSource_Memory source(pem.data(), pem.size());
        while (!source.end_of_data()) {
            if (!Botan::PEM_Code::matches(source, "CERTIFICATE")) break;
            out.push_back(std::make_shared<const Certificate>(Botan::X509_Certificate(source)));
            // Skip whitespace between blocks so end_of_data() sees the end.
            std::uint8_t c = 0;
            while (source.peek(&c, 1, 0) == 1 && std::isspace(c)) source.discard_next(1);
        }
    } catch (const std::exception& e) {
        error = std::string("not a valid PEM certificate: ") + e.what();
        return {};
    }
    if (out.empty()) error = "no PEM certificate (\"-----BEGIN CERTIFICATE-----\") found";
    return out;
}

CertificatePtr parse_certificate_der(ByteView der, std::string& error) {
    try {
        return std::make_shared<const Certificate>(Botan::X509_Certificate(der.data(), der.size()));
    } catch (const std::exception& e) {
        error = std::string("malformed certificate: ") + e.what();
        return nullptr;
    }
}

Bytes certificate_der(const Certificate& cert) { return cert.cert.BER_encode(); }

std::string certificate_subject(const Certificate& cert) { return format_dn(cert.cert.subject_dn()); }

Bytes public_key_sha1(const Certificate& cert) {
    // RFC 7296 §3.7: "SHA-1 hash of the Subject Public Key Info element of the trust anchor" — the
    // format of CERTREQ, not a security choice of ours.
    auto sha1 = Botan::HashFunction::create_or_throw("SHA-1");
    const auto digest = sha1->process(cert.cert.subject_public_key_info());
    return Bytes(digest.begin(), digest.end());
}

std::optional<KeyType> certificate_key_type(const Certificate& cert) {
    try {
        return key_type_of(*cert.cert.load_subject_public_key());
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

bool key_matches_certificate(const PrivateKey& key, const Certificate& cert) {
    try {
        return key.key->subject_public_key() == cert.cert.subject_public_key_info();
    } catch (const std::exception&) {
        return false;
    }
}

std::optional<std::string> validate_certificate(const Certificate& end_entity,
                                                const std::vector<CertificatePtr>& intermediates,
                                                const std::vector<CertificatePtr>& trusted,
                                                std::chrono::system_clock::time_point now) {
    try {
        Botan::Certificate_Store_In_Memory store;
        for (const auto& ca : trusted) store.add_certificate(ca->cert);
        std::vector<Botan::X509_Certificate> chain{end_entity.cert};
        for (const auto& c : intermediates) chain.push_back(c->cert);
        // No revocation checking (no CRL/OCSP fetching in the client); 110-bit minimum key strength
        // (RSA-2048 and up) and SHA-2 signatures only.
        const Botan::Path_Validation_Restrictions restrictions(false, 110);
        const std::vector<Botan::Certificate_Store*> roots{&store};
        const auto result = Botan::x509_path_validate(chain, restrictions, roots, "", Botan::Usage_Type::UNSPECIFIED, now);
        if (!result.successful_validation()) return lower(result.result_string());
    } catch (const std::exception& e) {
        return std::string("path validation failed: ") + e.what();
    }
    const auto usage = end_entity.cert.constraints();
    if (usage != Botan::NO_CONSTRAINTS && !(usage & (Botan::DIGITAL_SIGNATURE | Botan::NON_REPUDIATION)))
        return std::string("its key usage does not allow digital signatures");
    return std::nullopt;
}

bool certificate_has_dns(const Certificate& cert, const std::string& name) {
    for (const auto& dns : cert.cert.subject_alt_name().get_attribute("DNS"))
        if (lower(dns) == lower(name)) return true;
    return false;
}

bool certificate_has_email(const Certificate& cert, const std::string& email) {
    for (const auto& e : cert.cert.subject_alt_name().get_attribute("RFC822"))
        if (lower(e) == lower(email)) return true;
    return false;
}

bool certificate_has_ip(const Certificate& cert, ByteView address) {
    // Botan 2 keeps only IPv4 iPAddress entries, so the SAN extension is read here:
    // SubjectAltName ::= SEQUENCE OF GeneralName; iPAddress is [7] IMPLICIT OCTET STRING (RFC 5280 §4.2.1.6).
    try {
        const auto raw = cert.cert.v3_extensions().get_extension_bits(Botan::OID::from_string("2.5.29.17"));
        if (raw.empty()) return false;
        Botan::BER_Decoder names = Botan::BER_Decoder(raw).start_cons(Botan::SEQUENCE);
        while (names.more_items()) {
            const Botan::BER_Object obj = names.get_next_object();
            if (obj.is_a(7, Botan::CONTEXT_SPECIFIC) && obj.length() == address.size() &&
                std::equal(address.begin(), address.end(), obj.bits()))
                return true;
        }
    } catch (const std::exception&) {
    }
    return false;
}

bool certificate_has_dn(const Certificate& cert, ByteView dn_der) {
    const auto dn = decode_dn(dn_der);
    return dn && !dn->empty() && *dn == cert.cert.subject_dn();
}

bool certificate_has_key_id(const Certificate& cert, ByteView key_id) {
    const auto& ski = cert.cert.subject_key_id();
    return !ski.empty() && ski.size() == key_id.size() && std::equal(ski.begin(), ski.end(), key_id.begin());
}

std::optional<Bytes> dn_from_string(const std::string& text, std::string& error) {
    Botan::X509_DN dn;
    std::size_t start = 0;
    while (start <= text.size()) {
        const auto comma = text.find(',', start);
        const std::string part = trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        start = comma == std::string::npos ? text.size() + 1 : comma + 1;
        const auto eq = part.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == part.size()) {
            error = "'" + part + "' is not an attribute=value pair of a distinguished name";
            return std::nullopt;
        }
        const std::string key = lower(trim(part.substr(0, eq)));
        const auto* attr = std::find_if(std::begin(dn_attributes), std::end(dn_attributes),
                                        [&](const DnAttribute& a) { return key == a.name; });
        if (attr == std::end(dn_attributes)) {
            error = "unknown distinguished name attribute '" + trim(part.substr(0, eq)) +
                    "' (known: C, ST, L, O, OU, CN, SN, E, DC)";
            return std::nullopt;
        }
        dn.add_attribute(Botan::OID::from_string(attr->oid), trim(part.substr(eq + 1)));
    }
    Bytes der;
    Botan::DER_Encoder encoder(der);
    dn.encode_into(encoder);
    return der;
}

std::string dn_to_string(ByteView der) {
    const auto dn = decode_dn(der);
    return dn ? format_dn(*dn) : "(malformed DN)";
}

bool dn_equal(ByteView a, ByteView b) {
    const auto da = decode_dn(a), db = decode_dn(b);
    return da && db && *da == *db;
}

}  // namespace ikevpn::crypto
