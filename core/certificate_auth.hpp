// The certificate side of authentication (RFC 7296 §2.15, §3.6-3.7; RFC 7427 §4; RFC 4945 §3.1):
// SIGNATURE_HASH_ALGORITHMS in IKE_SA_INIT, our CERT and CERTREQ payloads in IKE_AUTH, and the checks of
// the gateway's certificate — path validation against the profile's CAs and the identity it claims.
#pragma once
#include "core/ike_sa.hpp"
#include "core/session.hpp"

#include <optional>
#include <vector>

namespace ikevpn::core {

// True when this session signs or checks signatures, so it announces its hash algorithms.
bool uses_signatures(const SessionConfig& config);

//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Hash Algorithm 1 (16 bits)   |  Hash Algorithm 2 (16 bits)   |  ... (RFC 7427 §4, the Notify data)
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
msg::Payload build_signature_hash_algorithms();
// The hash IDs the gateway announced (an odd trailing byte is ignored); empty when it sent none.
std::vector<std::uint16_t> read_signature_hash_algorithms(const std::vector<msg::Payload>& payloads);

// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +---------------+---------------+-------------------------------+
// | Cert Encoding |                                               |
// +-+-+-+-+-+-+-+-+                                               |
// ~                  Certificate Data / Certification Authority   ~   (RFC 7296 §3.6 CERT, §3.7 CERTREQ)
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// Encoding 4 (X.509 Certificate - Signature): CERT data = DER certificate; CERTREQ data = the SHA-1 hashes
// of the trusted CAs' SubjectPublicKeyInfo, concatenated.
inline constexpr std::uint8_t cert_encoding_x509_signature = 4;
void add_certificate_payloads(const SessionConfig& config, std::vector<msg::Payload>& payloads);

// Checks the gateway's CERT payloads: the first one must validate against `trusted_cas` (with the others as
// intermediates) at config.wall_clock() and contain `id_r`. On success `gateway_cert` is that certificate.
// nullopt when `cert` holds `id` (RFC 4945 §3.1); otherwise "does not contain its identity 'x' as a
// subjectAltName DNS name" — also the rule for the gateway's EAP-TLS certificate.
std::optional<std::string> certificate_identity_problem(const crypto::Certificate& cert, const msg::IdPayload& id);

std::optional<Failure> check_gateway_certificate(const SessionConfig& config, const std::vector<msg::Payload>& payloads,
                                                 const msg::IdPayload& id_r, crypto::CertificatePtr& gateway_cert);

}  // namespace ikevpn::core
