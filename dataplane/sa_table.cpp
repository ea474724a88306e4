#include "dataplane/sa_table.hpp"

#include <algorithm>

namespace ikevpn::dataplane {

SaTable::SaTable() {
    inbound_.reserve(16);  // two per CHILD SA during a rekey; avoids rehashing in the common case
    outbound_.reserve(8);
}

namespace {

InstallResult make_sa(SaParams params, std::unique_ptr<EspSa>& sa) {
    try {
        sa = std::make_unique<EspSa>(std::move(params));
    } catch (const std::exception&) {
        return InstallResult::invalid_params;
    }
    return InstallResult::ok;
}

}  // namespace

InstallResult SaTable::install(SaParams params) {
    const std::uint32_t spi = params.spi;
    const Direction direction = params.direction;
    if (find(spi, direction) != nullptr) return InstallResult::duplicate_spi;
    std::unique_ptr<EspSa> sa;
    if (const auto r = make_sa(std::move(params), sa); r != InstallResult::ok) return r;
    if (direction == Direction::inbound) {
        inbound_.emplace(spi, std::move(sa));
    } else {
        outbound_.push_back(std::move(sa));
    }
    return InstallResult::ok;
}

InstallResult SaTable::install_standby(SaParams params) {
    if (params.direction != Direction::outbound) return InstallResult::invalid_params;
    if (find(params.spi, Direction::outbound) != nullptr) return InstallResult::duplicate_spi;
    std::unique_ptr<EspSa> sa;
    if (const auto r = make_sa(std::move(params), sa); r != InstallResult::ok) return r;
    standby_.push_back(std::move(sa));
    return InstallResult::ok;
}

bool SaTable::promote(std::uint32_t spi) {
    const auto it = std::find_if(standby_.begin(), standby_.end(), [spi](const auto& sa) { return sa->spi() == spi; });
    if (it == standby_.end()) return false;
    // The most recent outbound SA is the one route_outbound() picks first.
    outbound_.push_back(std::move(*it));
    standby_.erase(it);
    return true;
}

bool SaTable::is_standby(std::uint32_t spi) const {
    return std::any_of(standby_.begin(), standby_.end(), [spi](const auto& sa) { return sa->spi() == spi; });
}

bool SaTable::remove(std::uint32_t spi, Direction direction) {
    if (direction == Direction::inbound) return inbound_.erase(spi) > 0;
    for (auto* list : {&outbound_, &standby_}) {
        const auto it = std::find_if(list->begin(), list->end(), [spi](const auto& sa) { return sa->spi() == spi; });
        if (it == list->end()) continue;
        list->erase(it);
        return true;
    }
    return false;
}

EspSa* SaTable::find_inbound(std::uint32_t spi) {
    const auto it = inbound_.find(spi);
    return it == inbound_.end() ? nullptr : it->second.get();
}

EspSa* SaTable::find_outbound(std::uint32_t spi) {
    for (const auto& sa : outbound_) {
        if (sa->spi() == spi) return sa.get();
    }
    return nullptr;
}

const EspSa* SaTable::find(std::uint32_t spi, Direction direction) const {
    if (direction == Direction::inbound) {
        const auto it = inbound_.find(spi);
        return it == inbound_.end() ? nullptr : it->second.get();
    }
    for (const auto& sa : outbound_) {
        if (sa->spi() == spi) return sa.get();
    }
    for (const auto& sa : standby_) {  // status and counters; never the packet path
        if (sa->spi() == spi) return sa.get();
    }
    return nullptr;
}

EspSa* SaTable::route_outbound(const std::uint8_t* source, const std::uint8_t* destination, bool v6) {
    for (auto it = outbound_.rbegin(); it != outbound_.rend(); ++it) {
        if ((*it)->covers_outbound(source, destination, v6)) return it->get();
    }
    return nullptr;
}

}  // namespace ikevpn::dataplane
