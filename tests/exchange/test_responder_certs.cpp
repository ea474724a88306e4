// The certificate half of TestResponder: checking a signed AUTH from the initiator and signing its own.
#include "test_responder.hpp"

#include "core/certificate_auth.hpp"

#include <algorithm>

namespace ikevpn::test {

bool TestResponder::check_initiator_auth(const std::vector<msg::Payload>& inner, const msg::IdPayload& id_i,
                                         const msg::AuthPayload& auth) const {
    const auto* cert = msg::find<msg::RawPayload>(inner, msg::PayloadType::cert);
    if (!cert || cert->body.empty() || cert->body[0] != core::cert_encoding_x509_signature) return false;
    std::string error;
    auto parsed = crypto::parse_certificate_der(ByteView(cert->body).subspan(1), error);
    if (!parsed) return false;
    // The initiator signs RealMessage1 | NonceRData | prf(SK_pi, IDi')  (RFC 7296 §2.15).
    const Bytes octets = crypto::signed_octets(*prf_, init_request_, nonce_r_, keys.sk_pi, id_i.body());
    return !crypto::verify_auth(*parsed, std::uint8_t(auth.method), auth.data, octets);
}

// Replaces the PSK AUTH in `out` with a signature and puts the CERT payloads right after IDr.
void TestResponder::add_own_auth(const msg::IdPayload& id_r, std::vector<msg::Payload>& out) {
    const Bytes octets = crypto::signed_octets(*prf_, init_response_, nonce_i_, keys.sk_pr, id_r.body());
    std::string error;
    // A gateway that does not speak RFC 7427 (announce_hashes false) signs with the classic methods.
    const std::vector<std::uint16_t> hashes = options_.announce_hashes ? initiator_hashes : std::vector<std::uint16_t>{};
    auto signature = crypto::sign_auth(*options_.key, octets, hashes, false, error);
    if (!signature) throw std::runtime_error("test responder cannot sign: " + error);
    if (options_.corrupt_auth) signature->data.back() ^= 1;
    auto auth = std::find_if(out.begin(), out.end(), [](const msg::Payload& p) { return p.type == msg::PayloadType::auth; });
    auth->body = msg::AuthPayload{msg::AuthMethod(signature->method), signature->data};
    own_auth_method = signature->method;
    std::vector<msg::Payload> certs;
    if (options_.malformed_cert)
        certs.push_back({msg::PayloadType::cert, false, msg::RawPayload{{core::cert_encoding_x509_signature, 0x30, 0x03, 0x02, 0x01, 0x01}}});
    for (const auto& c : options_.certs) {
        Bytes body{core::cert_encoding_x509_signature};
        append(body, crypto::certificate_der(*c));
        certs.push_back({msg::PayloadType::cert, false, msg::RawPayload{std::move(body)}});
    }
    out.insert(out.begin() + 1, certs.begin(), certs.end());
}

}  // namespace ikevpn::test
