// CHILD SA rekeying started by the gateway (RFC 7296 §1.3.3, §2.8): we answer its CREATE_CHILD_SA with
// N(REKEY_SA) and install the new pair before the old one goes away, so no packet is lost. The gateway
// then deletes the old pair with INFORMATIONAL; until the gateway has our answer it cannot use the new pair,
// so our traffic stays on the old one meanwhile (InstallChildSa::outbound_deferred). An IKE SA rekey the
// gateway starts needs nothing of the kind: the CHILD SAs move to the new IKE SA, ESP is untouched.
// Rekeys we start: child_rekey_initiator.hpp. A request
// for an extra CHILD SA is refused with NO_ADDITIONAL_SAS.
#pragma once
#include "core/crypto/crypto.hpp"
#include "core/ike_sa.hpp"
#include "core/session.hpp"

#include <optional>
#include <vector>

namespace ikevpn::core {

struct ChildRekeyAnswer {
    std::vector<msg::Payload> response;   // the content of our SK payload
    std::optional<ChildSaKeys> new_child; // set when the rekey succeeded
    std::uint32_t replaced_spi_out = 0;   // the pair being replaced (its outbound SPI)
};

// `installed` are the pairs currently installed (the current one and any not yet deleted).
ChildRekeyAnswer answer_child_rekey(const IkeSa& sa, const SessionConfig& config,
                                    const std::vector<msg::Payload>& request,
                                    const std::vector<ChildSaKeys>& installed, crypto::RandomSource& random);

}  // namespace ikevpn::core
