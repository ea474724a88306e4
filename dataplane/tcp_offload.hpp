// TCP segmentation and coalescing offloads between a TUN device opened with IFF_VNET_HDR and the ESP
// engine (STYLE.md: wireguard-go's batched pipeline). With TUNSETOFFLOAD the kernel hands the tunnel TCP
// super-packets of up to 64 KiB with a virtio-net header in front, instead of one packet per MSS: one
// read and one trip through the kernel's stack for ~45 segments. ESP protects each MTU-sized segment, so
// the super-packet is split here (TsoSplitter). The other way, decrypted segments of one TCP flow are
// coalesced into one super-packet for one TUN write (TcpCoalescer), which the kernel's TCP takes whole.
//
// I/O-free: these functions only rewrite bytes in caller-owned buffers; platform/ moves them.
#pragma once
#include "dataplane/packet.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

namespace ikevpn::dataplane::offload {

// struct virtio_net_hdr (virtio 1.x §5.1.6, <linux/virtio_net.h>) as the TUN device reads and writes it:
// 10 octets, little-endian (the TUN default on little-endian hosts; the platform code sets it explicitly).
//   flags(1) gso_type(1) hdr_len(2) gso_size(2) csum_start(2) csum_offset(2)
inline constexpr std::size_t vnet_header_size = 10;
inline constexpr std::uint8_t vnet_needs_csum = 1;  // csum_start/csum_offset name a partial checksum
inline constexpr std::uint8_t vnet_data_valid = 2;  // the checksum is known to be correct
inline constexpr std::uint8_t gso_none = 0, gso_tcpv4 = 1, gso_tcpv6 = 4, gso_ecn = 0x80;

struct VnetHeader {
    std::uint8_t flags = 0;
    std::uint8_t gso_type = gso_none;
    std::uint16_t hdr_len = 0;
    std::uint16_t gso_size = 0;
    std::uint16_t csum_start = 0;
    std::uint16_t csum_offset = 0;
};
VnetHeader read_vnet_header(const std::uint8_t* at);
void write_vnet_header(std::uint8_t* at, const VnetHeader& header);

enum class SplitResult : std::uint8_t {
    ok,
    malformed,    // lengths or offsets in the virtio header and the packet disagree
    unsupported,  // a GSO type other than TCP over IPv4/IPv6, or IPv6 extension headers before TCP
};

// Turns one packet read from the TUN device into the MTU-sized packets ESP protects:
//   - a TSO super-packet (gso_type TCPv4/TCPv6) becomes ceil(payload / gso_size) TCP segments, each with
//     the original IP and TCP headers, its own lengths, sequence number, IPv4 ID and header checksum, a
//     full TCP checksum, and FIN/PSH only on the last and CWR only on the first segment (RFC 3168 §6.1.2);
//   - any other packet with a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM) gets it completed in place;
//   - anything else passes as one segment, unchanged.
class TsoSplitter {
public:
    // Validates `header` against `packet` (the IP packet after the virtio header) and prepares the split.
    // `packet` must stay valid and unchanged until the segments are written.
    SplitResult start(const VnetHeader& header, std::span<std::uint8_t> packet);

    std::size_t segments() const { return count_; }
    std::size_t segment_length(std::size_t index) const;
    // Writes segment `index` (segment_length(index) octets) to `out`.
    void write_segment(std::size_t index, std::uint8_t* out) const;

private:
    std::span<std::uint8_t> packet_;
    std::size_t count_ = 0;
    std::size_t header_length_ = 0;   // IP + TCP headers repeated in every segment (GSO only)
    std::size_t ip_header_length_ = 0;
    std::size_t segment_payload_ = 0; // gso_size (GSO only)
    bool ipv6_ = false;
    bool gso_ = false;
};

// Where to find one coalesced super-packet for a gathering write: `count` packets starting at `first` in
// the list given to coalesce(); the first is whole, with the virtio header in the `vnet_header_size`
// octets before its data; of each following packet only the TCP payload after `header_length` octets.
struct CoalescedRun {
    std::size_t first = 0;
    std::size_t count = 0;
    std::size_t header_length = 0;
};

// Coalesces runs of consecutive decrypted packets that the receiving TCP would have merged itself
// (Linux's tcp_gro_receive is the model): same addresses, ports, IP fields, ACK, window and TCP options;
// contiguous sequence numbers; only ACK (PSH on a run's last segment); equal payload sizes except a
// shorter last one; at most 64 KiB. Every segment's TCP checksum is verified before it joins a run; the
// run's head gets the new lengths, a partial checksum and a GSO virtio header. A packet that is not
// coalesced gets a plain virtio header (VIRTIO_NET_HDR_F_DATA_VALID when its TCP checksum was verified).
// Every packet needs `vnet_header_size` octets of headroom.
class TcpCoalescer {
public:
    // Returns the number of runs written to `runs` (at most packets.size()); every packet is in one run.
    std::size_t coalesce(std::span<Packet* const> packets, std::span<CoalescedRun> runs);
};

}  // namespace ikevpn::dataplane::offload
