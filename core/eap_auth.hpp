// IKE_AUTH with EAP as the initiator (RFC 7296 §2.16):
//   SK {IDi, [CERTREQ], SAi2, TSi, TSr, [CP]}        (no AUTH: we ask for EAP)
//   SK {IDr, CERT+, AUTH, EAP}                       the gateway proves itself with its certificate
//   SK {EAP} / SK {EAP} ...                          EAP rounds until EAP-Success
//   SK {AUTH}  /  SK {AUTH, SAr2, TSi, TSr, [CP]}    both AUTHs keyed with the MSK
// The gateway's certificate is checked exactly as for certificate authentication (core/ike_auth.cpp);
// EAP-only gateways (RFC 5998, no AUTH before EAP) are refused.
#pragma once
#include "core/eap/eap_peer.hpp"
#include "core/ike_sa.hpp"
#include "core/session.hpp"

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace ikevpn::core {

class EapAuthTask {
public:
    EapAuthTask(const SessionConfig& config, crypto::RandomSource& random);

    // IDi and CERTREQ, without AUTH.
    void build_first(std::vector<msg::Payload>& payloads) const;

    struct Round {
        std::vector<msg::Payload> request;  // the next IKE_AUTH request: SK {EAP} or the final SK {AUTH}
        std::vector<std::string> progress;
    };
    // A response before the final one. A Failure ends the attempt (the gateway's SA is not established).
    std::variant<Round, Failure> process(const IkeSa& sa, const std::vector<msg::Payload>& inner);
    // True once our final AUTH is sent: the next response is the ordinary end of IKE_AUTH.
    bool awaiting_final() const { return final_sent_; }
    // The gateway's AUTH of the last response, keyed with the MSK; `peer_identity` is its IDr.
    std::optional<Failure> check_final(const IkeSa& sa, const std::vector<msg::Payload>& inner,
                                       std::string& peer_identity) const;

    // The gateway's error Notify instead of its final AUTH, worded for EAP (not "check the PSK").
    Failure final_refused(Failure notified) const;

private:
    std::optional<Failure> check_gateway(const IkeSa& sa, const std::vector<msg::Payload>& inner);

    const SessionConfig& config_;
    eap::EapPeer peer_;
    std::optional<msg::IdPayload> id_r_;  // set once the gateway's certificate AUTH verified
    std::string peer_identity_;
    bool final_sent_ = false;
};

}  // namespace ikevpn::core
