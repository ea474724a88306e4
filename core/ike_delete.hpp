// Deleting SAs with INFORMATIONAL exchanges (RFC 7296 §1.4.1): our Delete of the IKE SA on disconnect, and
// the gateway's Delete requests, answered as the RFC asks.
#pragma once
#include "core/ike_sa.hpp"

#include <cstdint>
#include <vector>

namespace ikevpn::core {

// "Deleting an IKE SA implicitly closes any remaining Child SAs" — one Delete payload, protocol IKE.
std::vector<msg::Payload> build_ike_delete();

struct PeerDelete {
    bool ike_sa = false;                  // the gateway deletes the whole IKE SA
    std::vector<std::uint32_t> esp_spis;  // ESP SPIs the gateway deletes (its inbound = our outbound)
};
PeerDelete read_peer_deletes(const std::vector<msg::Payload>& payloads);

// The response to a Delete of CHILD SAs names our inbound SPIs of the same pairs (RFC 7296 §1.4.1).
msg::Payload build_esp_delete(const std::vector<std::uint32_t>& spis_in);

}  // namespace ikevpn::core
