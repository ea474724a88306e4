#include "client/tun_offload.hpp"

#include <algorithm>

namespace ikevpn::client {

using dataplane::offload::vnet_header_size;

std::size_t TunOffload::read(platform::TunDevice& tun, dataplane::PacketPool& pool,
                             std::span<dataplane::Packet> out, std::uint32_t tailroom,
                             const std::optional<dataplane::MssLimits>& mss) {
    std::size_t count = 0;
    const std::size_t limit = std::min(out.size(), batch_size);
    while (count < limit) {
        if (!pending_) {
            const auto length = tun.read_packet({read_buffer_.get(), read_buffer_size});
            if (!length) break;  // drained (or a hard error, which the caller sees in last_error())
            if (*length <= vnet_header_size || *length >= read_buffer_size) {
                ++counters_.malformed;
                continue;
            }
            const auto header = dataplane::offload::read_vnet_header(read_buffer_.get());
            const std::span<std::uint8_t> packet(read_buffer_.get() + vnet_header_size, *length - vnet_header_size);
            if (splitter_.start(header, packet) != dataplane::offload::SplitResult::ok) {
                ++counters_.malformed;
                continue;
            }
            if (splitter_.segments() > 1) ++counters_.super_packets_read;
            pending_ = true;
            next_segment_ = 0;
        }
        for (; next_segment_ < splitter_.segments() && count < limit; ++next_segment_) {
            dataplane::Packet& p = out[count];
            if (!pool.acquire(p)) return count;  // the pool is sized so that this does not happen
            const std::size_t length = splitter_.segment_length(next_segment_);
            if (length > std::size_t(p.capacity - p.offset - tailroom)) {
                ++counters_.malformed;  // larger than any MTU we set: not a segment we can protect
                pool.release(p);
                continue;
            }
            splitter_.write_segment(next_segment_, p.data());
            p.length = std::uint32_t(length);
            p.spi = 0;  // choose the SA by traffic selector
            if (mss) dataplane::clamp_tcp_mss(p.span(), *mss);
            ++count;
        }
        if (next_segment_ == splitter_.segments()) pending_ = false;
    }
    return count;
}

void TunOffload::write(platform::TunDevice& tun, std::span<dataplane::Packet* const> packets) {
    packets = packets.first(std::min(packets.size(), max_write));
    const std::size_t run_count = coalescer_.coalesce(packets, runs_);
    for (std::size_t r = 0; r < run_count; ++r) {
        const auto& run = runs_[r];
        const dataplane::Packet& head = *packets[run.first];
        pieces_[0] = {head.data() - vnet_header_size, vnet_header_size + head.length};
        for (std::size_t k = 1; k < run.count; ++k) {
            const dataplane::Packet& p = *packets[run.first + k];
            pieces_[k] = {p.data() + run.header_length, p.length - run.header_length};
        }
        const auto result = tun.write_gather({pieces_.data(), run.count});
        // A blocked TUN queue drops like a full link would; TCP resends.
        if (result != platform::TunDevice::WriteResult::written) counters_.write_errors += run.count;
        else if (run.count > 1) ++counters_.runs_written;
    }
}

}  // namespace ikevpn::client
