// CHILD SA rekeying that we start (RFC 7296 §1.3.3, §2.8): CREATE_CHILD_SA request with N(REKEY_SA) naming
// the old pair, SA with our new inbound SPI, Ni, KEi when the profile's ESP proposal carries a DH group
// (PFS), TSi/TSr of the old pair. From the answer we derive KEYMAT as the exchange initiator. The session
// installs the new pair, then deletes the old one (make-before-break).
#pragma once
#include "core/crypto/crypto.hpp"
#include "core/ike_sa.hpp"
#include "core/session.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ikevpn::core {

class ChildRekeyInitiator {
public:
    // How the gateway answered. Errors leave the IKE SA and the old pair alone (RFC 7296 §2.21.3).
    enum class Result { done, temporary_failure, not_found, refused, malformed };
    struct Outcome {
        Result result = Result::malformed;
        std::optional<ChildSaKeys> child;  // set for done
        std::string reason;                // for everything else: one line for the user
    };

    // `old` is the pair being replaced; `installed` keeps the new inbound SPI unique.
    ChildRekeyInitiator(const SessionConfig& config, const ChildSaKeys& old,
                        const std::vector<ChildSaKeys>& installed, crypto::RandomSource& random);

    std::vector<msg::Payload> build() const;
    Outcome process(const IkeSa& sa, const std::vector<msg::Payload>& response);

    std::uint32_t old_spi_in() const { return old_.spi_in; }
    std::uint32_t old_spi_out() const { return old_.spi_out; }
    std::uint32_t new_spi_in() const { return spi_in_; }
    const Bytes& nonce_i() const { return nonce_i_; }
    const Bytes& nonce_r() const { return nonce_r_; }  // empty until a successful answer
    bool pfs() const { return ke_ != nullptr; }

private:
    ChildSaKeys old_;
    std::vector<msg::Proposal> offered_;
    std::uint32_t spi_in_ = 0;
    Bytes nonce_i_, nonce_r_;
    std::unique_ptr<crypto::KeyExchange> ke_;
};

}  // namespace ikevpn::core
