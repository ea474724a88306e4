// Packet descriptors and the buffer arena they point into. The engine works on batches of descriptors and
// rewrites each buffer in place: a buffer keeps HEADROOM free bytes in front of the data so that the ESP
// header can be written before the inner packet without moving it, and enough tailroom for the trailer.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace ikevpn::dataplane {

// The outcome of processing one packet. Every value other than `ok` means "drop it": the reason has already
// been counted, so the caller only skips the packet.
enum class PacketResult : std::uint8_t {
    ok,
    unknown_spi,      // inbound: no SA with this SPI
    no_sa,            // outbound: no SA whose traffic selectors cover the packet
    replay,           // inbound: duplicate or older than the replay window
    icv,              // inbound: integrity check failed
    bad_padding,      // inbound: pad length or padding bytes wrong (RFC 4303 §2.4)
    bad_next_header,  // inbound: next header is neither IPv4 (4) nor IPv6 (41)
    dummy,            // inbound: next header 59, a dummy packet (RFC 4303 §2.6), dropped silently
    ts_mismatch,      // inbound: inner addresses outside the SA's traffic selectors
    malformed,        // too short, wrong IP version, inconsistent lengths
    no_room,          // outbound: not enough headroom/tailroom in the buffer
    seq_exhausted,    // outbound: the 32-bit sequence number space is used up; the CHILD SA must be rekeyed
};

const char* to_string(PacketResult result);

// One packet: data occupies buffer[offset, offset + length). The engine moves offset/length as it adds
// or strips headers. `spi`: outbound, 0 = choose the SA by traffic selector, otherwise the outbound SPI
// to use; after processing it holds the SA's SPI (inbound: the SPI read from the packet).
struct Packet {
    std::uint8_t* buffer = nullptr;
    std::uint32_t capacity = 0;
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
    std::uint32_t spi = 0;
    PacketResult result = PacketResult::ok;

    // offset + length fits in capacity (a descriptor from the caller is checked before it is trusted).
    bool valid() const {
        return buffer != nullptr && std::uint64_t{offset} + length <= capacity;
    }
    std::uint8_t* data() const { return buffer + offset; }
    std::span<std::uint8_t> span() const { return {buffer + offset, length}; }
    std::uint32_t headroom() const { return offset; }
    std::uint32_t tailroom() const { return capacity - offset - length; }
};

// A fixed set of equally sized buffers allocated once. Not thread-safe: one owner thread.
// acquire() hands out a descriptor whose data starts at `headroom` with length 0; release() takes it back.
class PacketPool {
public:
    static constexpr std::uint32_t default_buffer_size = 2048;
    static constexpr std::uint32_t default_headroom = 64;

    explicit PacketPool(std::size_t count, std::uint32_t buffer_size = default_buffer_size,
                        std::uint32_t headroom = default_headroom);
    PacketPool(const PacketPool&) = delete;
    PacketPool& operator=(const PacketPool&) = delete;

    // False when every buffer is in use (the pool is bounded and never grows).
    bool acquire(Packet& out);
    // The packet must come from this pool and not be released twice.
    void release(const Packet& packet);
    std::size_t available() const { return free_count_; }
    std::size_t size() const { return count_; }
    std::uint32_t headroom() const { return headroom_; }

private:
    std::size_t count_;
    std::uint32_t buffer_size_;
    std::uint32_t headroom_;
    std::unique_ptr<std::uint8_t[]> storage_;
    std::unique_ptr<std::uint32_t[]> free_list_;  // stack of free buffer indices
    std::size_t free_count_;
};

}  // namespace ikevpn::dataplane
