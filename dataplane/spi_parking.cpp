#include "dataplane/spi_parking.hpp"

#include <algorithm>
#include <cstring>

namespace ikevpn::dataplane {

SpiParking::SpiParking(std::size_t slots, Clock::duration max_age)
    : max_age_(max_age), slots_(slots), storage_(new std::uint8_t[slots * (slot_headroom + slot_capacity)]) {}

void SpiParking::park(const Packet& packet, Clock::time_point now) {
    if (slots_.empty() || !packet.valid() || packet.length == 0 || packet.length > slot_capacity) return;
    // A free slot, else the oldest.
    std::size_t chosen = 0;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (!slots_[i].used) {
            chosen = i;
            break;
        }
        if (slots_[i].arrival < slots_[chosen].arrival) chosen = i;
    }
    std::memcpy(buffer_of(chosen) + slot_headroom, packet.data(), packet.length);
    slots_[chosen] = {true, packet.spi, packet.length, next_arrival_++, now};
    ++parked_;
}

std::size_t SpiParking::take(std::uint32_t spi, Clock::time_point now, std::span<Packet> out) {
    std::size_t count = 0;
    // Arrival order: pick the oldest matching slot each time (32 slots: a scan is cheaper than sorting).
    while (count < out.size()) {
        Slot* next = nullptr;
        std::size_t index = 0;
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            Slot& slot = slots_[i];
            if (!slot.used) continue;
            if (now - slot.parked_at > max_age_) {
                slot.used = false;  // too old to be the rekey race: drop it
                continue;
            }
            if (slot.spi != spi || (next != nullptr && slot.arrival > next->arrival)) continue;
            next = &slot;
            index = i;
        }
        if (next == nullptr) break;
        next->used = false;
        out[count++] = Packet{buffer_of(index), slot_headroom + slot_capacity, slot_headroom, next->length, spi,
                              PacketResult::ok};
        ++handed_back_;
    }
    return count;
}

}  // namespace ikevpn::dataplane
