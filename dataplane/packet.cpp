#include "dataplane/packet.hpp"

#include <stdexcept>

namespace ikevpn::dataplane {

const char* to_string(PacketResult result) {
    switch (result) {
    case PacketResult::ok: return "ok";
    case PacketResult::unknown_spi: return "unknown_spi";
    case PacketResult::no_sa: return "no_sa";
    case PacketResult::replay: return "replay";
    case PacketResult::icv: return "icv";
    case PacketResult::bad_padding: return "bad_padding";
    case PacketResult::bad_next_header: return "bad_next_header";
    case PacketResult::dummy: return "dummy";
    case PacketResult::ts_mismatch: return "ts_mismatch";
    case PacketResult::malformed: return "malformed";
    case PacketResult::no_room: return "no_room";
    case PacketResult::seq_exhausted: return "seq_exhausted";
    }
    return "unknown";
}

PacketPool::PacketPool(std::size_t count, std::uint32_t buffer_size, std::uint32_t headroom)
    : count_(count), buffer_size_(buffer_size), headroom_(headroom), free_count_(count) {
    if (count == 0 || count > UINT32_MAX || headroom >= buffer_size) {
        throw std::invalid_argument("PacketPool: bad size");
    }
    storage_ = std::make_unique<std::uint8_t[]>(count * buffer_size);
    free_list_ = std::make_unique<std::uint32_t[]>(count);
    for (std::size_t i = 0; i < count; ++i) free_list_[i] = static_cast<std::uint32_t>(count - 1 - i);
}

bool PacketPool::acquire(Packet& out) {
    if (free_count_ == 0) return false;
    const std::uint32_t index = free_list_[--free_count_];
    out = Packet{};
    out.buffer = storage_.get() + std::size_t{index} * buffer_size_;
    out.capacity = buffer_size_;
    out.offset = headroom_;
    return true;
}

void PacketPool::release(const Packet& packet) {
    // Defensive: a foreign pointer or a double release must not corrupt the free list.
    const std::uint8_t* base = storage_.get();
    if (packet.buffer < base || packet.buffer >= base + count_ * buffer_size_ || free_count_ == count_) return;
    const auto distance = static_cast<std::size_t>(packet.buffer - base);
    if (distance % buffer_size_ != 0) return;
    free_list_[free_count_++] = static_cast<std::uint32_t>(distance / buffer_size_);
}

}  // namespace ikevpn::dataplane
