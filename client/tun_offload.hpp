// The TUN side of the data path when the device runs with offloads (platform::TunDevice::offload()):
// reads TCP super-packets and splits them into the MTU-sized packets ESP protects, and writes decrypted
// segments coalesced into super-packets with one gathering write per run (dataplane/tcp_offload.hpp).
// Fewer, larger packets through the kernel's stack on both ends of the TUN device is what lets a userspace
// data plane keep up (wireguard-go measured the same). One 64 KiB read buffer and fixed descriptor arrays
// are allocated up front; nothing per packet.
#pragma once
#include "dataplane/mss_clamp.hpp"
#include "dataplane/packet.hpp"
#include "dataplane/tcp_offload.hpp"
#include "platform/tun_device.hpp"
#include "platform/udp_batch.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <sys/uio.h>

namespace ikevpn::client {

class TunOffload {
public:
    static constexpr std::size_t batch_size = platform::UdpBatch::max_batch;
    // A write takes what one UDP GRO receive can decrypt: gro_messages buffers of up to 64 datagrams.
    static constexpr std::size_t gro_messages = 4;
    static constexpr std::size_t max_write = gro_messages * 64;

    struct Counters {
        std::uint64_t super_packets_read = 0;  // TSO reads that became two or more segments
        std::uint64_t runs_written = 0;        // coalesced writes of two or more segments
        std::uint64_t malformed = 0;           // reads the splitter refused, segments too large for a buffer
        std::uint64_t write_errors = 0;        // segments lost to a refused or blocked write
    };

    TunOffload() : read_buffer_(std::make_unique<std::uint8_t[]>(read_buffer_size)) {}

    // Fills `out` with up to batch_size segments acquired from `pool` (each leaves `tailroom` octets free
    // for ESP), MSS-clamped; returns how many. A super-packet that does not fit the batch is finished on
    // the next call; more_pending() says so, so that the caller reads on without waiting for the fd.
    std::size_t read(platform::TunDevice& tun, dataplane::PacketPool& pool, std::span<dataplane::Packet> out,
                     std::uint32_t tailroom, const std::optional<dataplane::MssLimits>& mss);
    bool more_pending() const { return pending_; }

    // Writes the packets (at most max_write, each with vnet_header_size octets of headroom) to `tun`,
    // coalesced.
    void write(platform::TunDevice& tun, std::span<dataplane::Packet* const> packets);

    const Counters& counters() const { return counters_; }

private:
    // The largest IP packet (64 KiB) plus the virtio header, and a little slack to detect truncation.
    static constexpr std::size_t read_buffer_size = 65536 + dataplane::offload::vnet_header_size + 64;

    std::unique_ptr<std::uint8_t[]> read_buffer_;
    dataplane::offload::TsoSplitter splitter_;
    dataplane::offload::TcpCoalescer coalescer_;
    bool pending_ = false;
    std::size_t next_segment_ = 0;
    std::array<dataplane::offload::CoalescedRun, max_write> runs_{};
    std::array<::iovec, max_write> pieces_{};
    Counters counters_;
};

}  // namespace ikevpn::client
