// NAT detection (RFC 7296 §2.23), a task that adds two Notify payloads to IKE_SA_INIT.
// ikevpn's data plane is userspace ESP in UDP, so it always wants UDP encapsulation. Like strongSwan's
// `encap=yes`, it sends a NAT_DETECTION_SOURCE_IP that cannot match (random data), so the gateway believes
// we are behind a NAT and both sides move to port 4500 with ESP in UDP (RFC 3948).
#pragma once
#include "core/crypto/crypto.hpp"
#include "core/ike_sa.hpp"
#include "core/ip_address.hpp"

#include <vector>

namespace ikevpn::core {

void add_nat_detection(std::vector<msg::Payload>& payloads, const msg::Spi8& spi_i, const IpAddress& gateway,
                       std::uint16_t gateway_port, crypto::RandomSource& random);

// Reads the responder's NAT_DETECTION_* payloads. nat_remote: the gateway's source hash did not match the
// address we sent to (the gateway is behind a NAT); nat_local: the gateway saw our packet come from
// elsewhere — always true here because our source hash is deliberately random.
void process_nat_detection(IkeSa& sa, const std::vector<msg::Payload>& payloads, const IpAddress& gateway,
                           std::uint16_t gateway_port);

}  // namespace ikevpn::core
