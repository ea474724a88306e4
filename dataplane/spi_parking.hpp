// A short parking lot for inbound ESP packets whose SPI is not known yet.
//
// The rekey race: when we start a CHILD SA rekey, the responder installs the new SAs when it answers and
// may send ESP on its new outbound SA — our new inbound SPI — before its CREATE_CHILD_SA response reaches
// us (libreswan's pluto does: the kernel sends on the new SA as soon as pluto installed it, and pluto sends
// its response afterwards). RFC 7296 §2.8 asks the initiator to be ready to receive on the new SA once it
// sent the request, but it cannot decrypt without the response's nonce. Rather than drop those packets, a
// few are kept, copied, for a short time; when an inbound SA is installed, the packets parked for its SPI
// are handed back for decryption. Everything else ages out or is overwritten (oldest first), so a flood of
// bogus SPIs costs a bounded copy each and nothing more. Preallocated: parking allocates nothing per packet.
#pragma once
#include "dataplane/packet.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace ikevpn::dataplane {

class SpiParking {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::size_t default_slots = 32;
    static constexpr std::uint32_t slot_capacity = 2048;  // data bytes per slot (a full-size ESP datagram fits)
    static constexpr std::uint32_t slot_headroom = 64;    // as PacketPool: room in front for the TUN write
    static constexpr Clock::duration default_max_age = std::chrono::seconds(2);

    explicit SpiParking(std::size_t slots = default_slots, Clock::duration max_age = default_max_age);
    SpiParking(const SpiParking&) = delete;
    SpiParking& operator=(const SpiParking&) = delete;

    // Copies an inbound ESP packet that met no SA (packet.spi holds its SPI). Packets longer than a slot
    // are not kept. When every slot is taken, the oldest one is overwritten.
    void park(const Packet& packet, Clock::time_point now);

    // Moves the packets parked for `spi` that are at most max_age old into `out` (arrival order), as
    // descriptors into the parking's own buffers: valid until the next park(). Returns how many.
    std::size_t take(std::uint32_t spi, Clock::time_point now, std::span<Packet> out);

    std::size_t capacity() const { return slots_.size(); }
    std::uint64_t parked() const { return parked_; }      // packets copied in
    std::uint64_t handed_back() const { return handed_back_; }  // packets returned by take()

private:
    struct Slot {
        bool used = false;
        std::uint32_t spi = 0;
        std::uint32_t length = 0;
        std::uint64_t arrival = 0;  // order of parking
        Clock::time_point parked_at{};
    };
    std::uint8_t* buffer_of(std::size_t index) const {
        return storage_.get() + index * (slot_headroom + slot_capacity);
    }

    Clock::duration max_age_;
    std::vector<Slot> slots_;
    std::unique_ptr<std::uint8_t[]> storage_;
    std::uint64_t next_arrival_ = 0;
    std::uint64_t parked_ = 0;
    std::uint64_t handed_back_ = 0;
};

}  // namespace ikevpn::dataplane
