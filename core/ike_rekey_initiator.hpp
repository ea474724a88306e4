// IKE SA rekeying that we start (RFC 7296 §1.3.2, §2.18): CREATE_CHILD_SA on the old IKE SA with an IKE
// proposal carrying our new SPI, Ni and KEi. The answer gives the gateway's new SPI, Nr and KEr; the new
// SKEYSEED comes from the old SK_d. We are the initiator of the new IKE SA; the session moves the CHILD
// SAs to it, restarts message IDs at 0 and deletes the old IKE SA.
#pragma once
#include "core/crypto/crypto.hpp"
#include "core/ike_sa.hpp"
#include "core/session.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ikevpn::core {

class IkeRekeyInitiator {
public:
    enum class Result { done, temporary_failure, refused, malformed };
    struct Outcome {
        Result result = Result::malformed;
        std::optional<IkeSa> sa;  // set for done
        std::string reason;
    };

    // Offers the profile's IKE proposals; KEi uses the old IKE SA's group, which those proposals contain.
    IkeRekeyInitiator(const IkeSa& old, const SessionConfig& config, crypto::RandomSource& random);

    std::vector<msg::Payload> build() const;
    Outcome process(const IkeSa& old, const std::vector<msg::Payload>& response);

    const Bytes& nonce_i() const { return nonce_i_; }
    const Bytes& nonce_r() const { return nonce_r_; }  // empty until a successful answer

private:
    std::vector<msg::Proposal> offered_;
    msg::Spi8 spi_i_{};
    Bytes nonce_i_, nonce_r_;
    std::unique_ptr<crypto::KeyExchange> ke_;
};

}  // namespace ikevpn::core
