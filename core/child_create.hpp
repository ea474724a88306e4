// The first CHILD SA, created inside IKE_AUTH (RFC 7296 §1.2, §2.9, §2.17): ESP proposals with our
// inbound SPI, traffic selectors, and KEYMAT for both directions.
#pragma once
#include "core/crypto/crypto.hpp"
#include "core/ike_sa.hpp"
#include "core/session.hpp"

#include <optional>
#include <vector>

namespace ikevpn::core {

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
