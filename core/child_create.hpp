// The first CHILD SA, created inside IKE_AUTH (RFC 7296 §1.2, §2.9, §2.17): ESP proposals with our
// inbound SPI, traffic selectors, and KEYMAT for both directions.
#pragma once
#include "core/crypto/crypto.hpp"
#include "core/ike_sa.hpp"
#include "core/session.hpp"

#include <optional>
#include <vector>

namespace ikevpn::core {

// Fills the four keys of `child` (whose transforms are already set) from KEYMAT = prf+(SK_d, seed);
// `we_initiated` says whose outbound keys come first.
void derive_child_keys_from_seed(const IkeSa& sa, ByteView seed, bool we_initiated, ChildSaKeys& child);
// The CHILD SA of IKE_AUTH: seed = Ni | Nr of IKE_SA_INIT, we are the initiator.
void derive_child_keys(const IkeSa& sa, ByteView nonce_i, ByteView nonce_r, ChildSaKeys& child);
// The key size of transforms without a Key Length attribute (ChaCha20-Poly1305: 256), else 0.
std::uint16_t esp_fixed_key_bits(std::uint16_t encr_id);
// Copies the ENCR, INTEG and ESN choice of an accepted ESP proposal into `child`.
void read_esp_transforms(const msg::Proposal& accepted, ChildSaKeys& child);

class ChildCreateTask {
public:
    ChildCreateTask(const SessionConfig& config, crypto::RandomSource& random);
    void build(std::vector<msg::Payload>& payloads);
    // On success `child` holds SPIs, keys and the narrowed selectors, and `routes` the remote networks.
    std::optional<Failure> process(const IkeSa& sa, const std::vector<msg::Payload>& payloads, ChildSaKeys& child,
                                   std::vector<IpPrefix>& routes);

private:
    const SessionConfig& config_;
    std::vector<msg::Proposal> offered_;
    std::uint32_t spi_in_ = 0;
};

}  // namespace ikevpn::core
