// A layer-3 TUN interface (IFF_TUN | IFF_NO_PI): every read() yields one IP packet, every write() injects
// one. With offloads (IFF_VNET_HDR + TUNSETOFFLOAD, see dataplane/tcp_offload.hpp) every packet in both
// directions starts with a 10-octet virtio-net header, and the kernel may hand over TCP super-packets of up
// to 64 KiB that the reader splits into MTU-sized segments. The fd is non-blocking and close-on-exec so that an event loop (client/) can wait on it; the
// interface is not persistent, so it disappears together with its routes and addresses when the last fd
// closes — a crash cannot leave it behind.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <sys/uio.h>

namespace ikevpn::platform {

// One packet buffer owned by the caller. read_batch() fills `length`; write_batch() sends `length` bytes.
struct PacketSlot {
    std::uint8_t* data = nullptr;
    std::size_t capacity = 0;
    std::size_t length = 0;
    // UDP GRO (UdpBatch::set_gro): the received buffer holds datagrams of this size back to back (the
    // last may be shorter); 0 = one datagram.
    std::size_t segment_size = 0;
};

class TunDevice {
public:
    // `name_or_template` is an interface name ("ikevpn0") or a kernel template ("ikevpn%d"); at most 15
    // characters. Throws PlatformError.
    // With `offload`, asks for the virtio-net header and TSO/checksum offloads; a kernel that refuses
    // them leaves a plain device (offload() tells which one it is).
    static TunDevice open(const std::string& name_or_template, bool offload = false);

    TunDevice(TunDevice&& other) noexcept;
    TunDevice& operator=(TunDevice&& other) noexcept;
    TunDevice(const TunDevice&) = delete;
    TunDevice& operator=(const TunDevice&) = delete;
    ~TunDevice();

    int fd() const noexcept { return fd_; }
    const std::string& name() const noexcept { return name_; }  // the resolved name ("ikevpn0")
    int ifindex() const noexcept { return ifindex_; }
    // Every read and write carries a virtio-net header (dataplane::offload::vnet_header_size octets), and
    // reads may be TSO super-packets.
    bool offload() const noexcept { return offload_; }

    // Offload mode: reads one packet (virtio header included) into `buffer`. Nothing when the device is
    // drained (EAGAIN) or on a hard error (kept in last_error()). Size `buffer` for 64 KiB + the header.
    std::optional<std::size_t> read_packet(std::span<std::uint8_t> buffer) noexcept;

    enum class WriteResult : std::uint8_t { written, again, refused };
    // Offload mode: writes one packet gathered from `pieces` (virtio header first). `refused` (e.g. EINVAL
    // for a header the kernel rejects) is counted in dropped_writes(), its errno kept in last_error().
    WriteResult write_gather(std::span<const ::iovec> pieces) noexcept;

    // Reads packets into slots[0..n) until the device is drained (EAGAIN) or the slots are full, and
    // returns n. A packet longer than a slot's capacity is truncated by the kernel; callers size slots for
    // the MTU. Never throws; a hard error (not EAGAIN/EINTR) stops the batch and is kept in last_error().
    std::size_t read_batch(std::span<PacketSlot> slots) noexcept;

    // Writes slots in order and returns how many were consumed. It stops early only on EAGAIN (retry the
    // rest once the fd is writable). A packet the kernel refuses (e.g. EINVAL for a malformed header) is
    // consumed, counted in dropped_writes() and its errno kept in last_error().
    std::size_t write_batch(std::span<const PacketSlot> slots) noexcept;

    int last_error() const noexcept { return last_error_; }
    std::uint64_t dropped_writes() const noexcept { return dropped_writes_; }

private:
    TunDevice(int fd, std::string name, int ifindex, bool offload)
        : fd_(fd), name_(std::move(name)), ifindex_(ifindex), offload_(offload) {}
    void close_fd() noexcept;

    int fd_ = -1;
    std::string name_;
    int ifindex_ = 0;
    bool offload_ = false;
    int last_error_ = 0;
    std::uint64_t dropped_writes_ = 0;
};

}  // namespace ikevpn::platform
