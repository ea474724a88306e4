// Rekeying of the IKE SA started by the gateway (RFC 7296 §1.3.2, §2.18): CREATE_CHILD_SA with an IKE
// proposal, new nonces and a new key exchange. The new IKE SA is the gateway's (it initiated it), inherits
// the CHILD SAs, and the gateway then deletes the old IKE SA. Rekeys we start: ike_rekey_initiator.hpp.
#pragma once
#include "core/crypto/crypto.hpp"
#include "core/ike_sa.hpp"
#include "core/session.hpp"

#include <optional>
#include <vector>

namespace ikevpn::core {

struct IkeRekeyAnswer {
    std::vector<msg::Payload> response;  // protected with the old IKE SA
    std::optional<IkeSa> new_sa;         // set when the rekey succeeded
};

// True when a CREATE_CHILD_SA request rekeys the IKE SA (its SA payload proposes protocol IKE).
bool is_ike_rekey(const std::vector<msg::Payload>& request);

// Keys of a rekeyed IKE SA whose SPIs, nonces and transforms are set (RFC 7296 §2.18); `we_initiated`
// says whether we started the rekey (then we send with SK_ei).
void derive_rekeyed_ike_keys(const IkeSa& old, const SecureBytes& shared, bool we_initiated, IkeSa& sa);

IkeRekeyAnswer answer_ike_rekey(const IkeSa& old, const SessionConfig& config,
                                const std::vector<msg::Payload>& request, crypto::RandomSource& random);

}  // namespace ikevpn::core
