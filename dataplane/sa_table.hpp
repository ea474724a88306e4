// The SAs the engine knows: inbound ones found by SPI in O(1), outbound ones (one per CHILD SA, a handful)
// found by SPI or by traffic selector. Each SA is heap-allocated once at install time and stays at the
// same address until it is removed, so removing one SA never disturbs another — rekeying installs the new
// inbound SA, lets both receive for a while, then removes the old one.
#pragma once
#include "dataplane/esp_sa.hpp"

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

namespace ikevpn::dataplane {

enum class InstallResult : std::uint8_t { ok, duplicate_spi, invalid_params };

class SaTable {
public:
    SaTable();

    // Creates the SA (its Botan objects and replay window are allocated here, not on the packet path).
    InstallResult install(SaParams params);
    // An outbound SA that is ready but carries nothing yet: route_outbound() passes it over until
    // promote() makes it the most recent outbound SA — one step on the engine's thread, so there is no
    // moment without a current SA. For the gateway's CHILD SA rekeys (core::InstallChildSa::outbound_deferred).
    InstallResult install_standby(SaParams params);
    // False if `spi` is not a standby outbound SA.
    bool promote(std::uint32_t spi);
    bool is_standby(std::uint32_t spi) const;
    // False if there is no such SA.
    bool remove(std::uint32_t spi, Direction direction);

    EspSa* find_inbound(std::uint32_t spi);
    EspSa* find_outbound(std::uint32_t spi);
    const EspSa* find(std::uint32_t spi, Direction direction) const;
    // The most recently installed outbound SA whose selectors cover source → destination (so that after
    // a rekey the new SA takes over as soon as it is installed); nullptr if none does.
    EspSa* route_outbound(const std::uint8_t* source, const std::uint8_t* destination, bool v6);

    std::size_t inbound_count() const { return inbound_.size(); }
    std::size_t outbound_count() const { return outbound_.size(); }

    // Visits every SA (for status reporting); `fn(const EspSa&)`.
    template <typename Fn>
    void for_each(Fn&& fn) const {
        for (const auto& [spi, sa] : inbound_) fn(*sa);
        for (const auto& sa : outbound_) fn(*sa);
        for (const auto& sa : standby_) fn(*sa);
    }

private:
    std::unordered_map<std::uint32_t, std::unique_ptr<EspSa>> inbound_;
    std::vector<std::unique_ptr<EspSa>> outbound_;  // in install order
    std::vector<std::unique_ptr<EspSa>> standby_;   // outbound, not routed to until promoted
};

}  // namespace ikevpn::dataplane
