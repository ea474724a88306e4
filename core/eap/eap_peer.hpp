// The EAP peer state machine (RFC 3748 §2, §5) for IKEv2 (RFC 7296 §2.16): Identity and Notification
// answered, the configured method run, any other method refused with a Nak that proposes ours, and
// Success accepted only after our method succeeded (a Success that skips the method would leave us
// without an MSK and without proof of the server).
#pragma once
#include "core/bytes.hpp"
#include "core/crypto/secure_bytes.hpp"
#include "core/eap/eap_mschapv2.hpp"
#include "core/eap/eap_tls.hpp"

#include <optional>
#include <string>
#include <variant>

namespace ikevpn::core::eap {

struct PeerStep {
    std::optional<Bytes> send;          // an EAP packet for the next IKE_AUTH request
    bool success = false;               // EAP-Success: continue with the final AUTH
    std::optional<std::string> failure; // authentication ended: the one-line reason
};

class EapPeer {
public:
    // `identity` answers EAP-Identity and is the MS-CHAPv2 user name.
    EapPeer(std::string identity, const SecureBytes& password, crypto::RandomSource& random);
    // EAP-TLS (RFC 5216) with this TLS client; `identity` answers EAP-Identity.
    EapPeer(std::string identity, TlsPeer tls);
    PeerStep on_packet(ByteView eap_packet);
    // The key of the final AUTH exchange; set once Success arrived.
    const std::optional<SecureBytes>& msk() const;
    const char* method_name() const;
    // After a failure of EAP-TLS: the gateway's TLS certificate or identity, or anything else.
    crypto::TlsFailureKind tls_failure_kind() const;

private:
    PeerStep answer(std::uint8_t identifier, std::uint8_t type, Bytes data) const;
    std::uint8_t method_type() const;
    MethodStep run_method(ByteView type_data);
    bool method_succeeded() const;

    std::string identity_;
    std::variant<MsChapV2Peer, TlsPeer> method_;
    std::optional<std::string> method_failure_;  // the method reported failure; EAP-Failure follows
    std::optional<std::uint8_t> refused_type_;   // the last method we answered with a Nak
};

}  // namespace ikevpn::core::eap
