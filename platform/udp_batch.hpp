// Batched datagram I/O on a connected, non-blocking UDP socket: one recvmmsg(2) or sendmmsg(2) moves up
// to max_batch datagrams between the socket and caller-owned buffers (PacketSlot, the same descriptor the
// TUN device uses, pointing into the data plane's PacketPool). The mmsghdr/iovec arrays are allocated once
// here, so a batch costs no allocation. Nothing throws and nothing is logged: results are counts, and what
// went wrong is counted.
#pragma once
#include "platform/tun_device.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <sys/socket.h>
#include <sys/uio.h>

namespace ikevpn::platform {

struct UdpBatchCounters {
    std::uint64_t received = 0;        // datagrams received
    std::uint64_t sent = 0;            // datagrams the kernel accepted
    std::uint64_t truncated = 0;       // received datagrams longer than their slot (handed out with length 0)
    std::uint64_t receive_errors = 0;  // hard receive errors (e.g. ECONNREFUSED after an ICMP unreachable)
    std::uint64_t send_errors = 0;     // datagrams the kernel refused (consumed, not retried)
    std::uint64_t gso_trains = 0;      // sends that carried several datagrams as one UDP GSO message
    std::uint64_t gro_trains = 0;      // receives that delivered several datagrams as one UDP GRO buffer
};

class UdpBatch {
public:
    static constexpr std::size_t max_batch = 64;

    // `fd` stays owned by the caller and must outlive this object; it should be connected (the messages
    // carry no address) and non-blocking.
    explicit UdpBatch(int fd) noexcept : fd_(fd) {}
    UdpBatch(const UdpBatch&) = delete;
    UdpBatch& operator=(const UdpBatch&) = delete;

    // Receives up to min(slots.size(), max_batch) datagrams into slots[0..n) (each up to slot.capacity
    // bytes; `length` is set) and returns n. 0 means nothing was waiting (EAGAIN) or a hard error, which
    // is counted and kept in last_error(). n < the slots offered means the socket was drained or an error
    // is pending (reported by the next call), so an edge-triggered reactor may wait again. A truncated
    // datagram is handed out with length 0. With GRO on, a slot may hold several datagrams of
    // `segment_size` octets back to back (size slots for 64 KiB then).
    std::size_t receive(std::span<PacketSlot> slots) noexcept;

    // Sends slots in order (`length` bytes each), in sendmmsg calls of up to max_batch, and returns how
    // many were consumed. With GSO on, a run of equal-sized datagrams (a shorter one may end it) leaves
    // as one message with UDP_SEGMENT (Linux ≥ 4.18): the kernel cuts it into the same datagrams after one
    // pass through the stack. A kernel or device that answers EIO turns GSO off for good and the send is
    // retried datagram by datagram. It stops early only on EAGAIN (the socket buffer is full: wait for writability
    // and offer the rest again, or drop it). A datagram the kernel refuses for another reason (EMSGSIZE,
    // ECONNREFUSED, ...) is consumed and counted in send_errors. (A qdisc drop, ENOBUFS, is reported as
    // success by UDP unless IP_RECVERR is set, so it is not retried either.)
    std::size_t send(std::span<const PacketSlot> slots) noexcept;

    void set_gso(bool enabled) noexcept { gso_ = enabled; }
    // UDP_GRO (Linux ≥ 5.0): the kernel may deliver a train of equal-sized datagrams from one flow (sent
    // with GSO, or merged by the receiving device) as one buffer. Returns false if the socket refused.
    bool set_gro(bool enabled) noexcept;
    bool gro() const noexcept { return gro_; }
    bool gso() const noexcept { return gso_; }
    int fd() const noexcept { return fd_; }
    int last_error() const noexcept { return last_error_; }
    const UdpBatchCounters& counters() const noexcept { return counters_; }

private:
    // Fills messages_ from slots[first..], as many datagrams as fit one sendmmsg; returns the message count.
    std::size_t build_send_messages(std::span<const PacketSlot> slots, std::size_t first) noexcept;

    // The kernel's limits for one GSO message: UDP_MAX_SEGMENTS (64) datagrams, and one IP packet's worth
    // of payload (kept under 64 KiB with room for the headers).
    static constexpr std::size_t max_gso_bytes = 65000;
    // One control message holding a uint16_t UDP_SEGMENT size (CMSG_SPACE(2) is 24 on 64-bit Linux).
    static constexpr std::size_t control_size = 24;

    int fd_;
    bool gso_ = false;
    bool gro_ = false;
    int last_error_ = 0;
    UdpBatchCounters counters_;
    std::array<::mmsghdr, max_batch> messages_{};
    std::array<::iovec, max_batch> iovecs_{};
    std::array<std::size_t, max_batch> datagrams_in_message_{};
    alignas(::cmsghdr) std::array<std::array<unsigned char, control_size>, max_batch> controls_{};
};

}  // namespace ikevpn::platform
