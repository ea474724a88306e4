#include "dataplane/tcp_offload.hpp"

#include "dataplane/inet_checksum.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

namespace ikevpn::dataplane::offload {
namespace {

constexpr std::uint8_t ip_proto_tcp = 6;
// RFC 9293 §3.1 control bits (octet 13 of the TCP header); CWR and ECE from RFC 3168 §6.1.
constexpr std::uint8_t tcp_fin = 0x01, tcp_psh = 0x08, tcp_ack = 0x10, tcp_cwr = 0x80;
constexpr std::size_t tcp_checksum_at = 16;
constexpr std::size_t max_ip_length = 65535;

std::uint16_t read_be16(const std::uint8_t* p) { return std::uint16_t(p[0] << 8 | p[1]); }
std::uint32_t read_be32(const std::uint8_t* p) {
    return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
}
void write_be16(std::uint8_t* p, std::size_t v) {
    p[0] = std::uint8_t(v >> 8);
    p[1] = std::uint8_t(v);
}
void write_be32(std::uint8_t* p, std::uint32_t v) {
    p[0] = std::uint8_t(v >> 24);
    p[1] = std::uint8_t(v >> 16);
    p[2] = std::uint8_t(v >> 8);
    p[3] = std::uint8_t(v);
}
std::uint16_t read_le16(const std::uint8_t* p) { return std::uint16_t(p[0] | p[1] << 8); }
void write_le16(std::uint8_t* p, std::uint16_t v) {
    p[0] = std::uint8_t(v);
    p[1] = std::uint8_t(v >> 8);
}

// RFC 791 §3.1: the header checksum covers the header only, with its own field taken as zero.
void refresh_ipv4_header_checksum(std::uint8_t* ip, std::size_t header_length) {
    ip[10] = ip[11] = 0;
    inet::store(ip + 10, inet::add(0, ip, header_length));
}

// Where the addresses of the pseudo-header start: IPv4 source at octet 12, IPv6 source at octet 8.
const std::uint8_t* addresses_of(const std::uint8_t* ip, bool ipv6) { return ip + (ipv6 ? 8 : 12); }

}  // namespace

VnetHeader read_vnet_header(const std::uint8_t* at) {
    return {at[0], at[1], read_le16(at + 2), read_le16(at + 4), read_le16(at + 6), read_le16(at + 8)};
}

void write_vnet_header(std::uint8_t* at, const VnetHeader& header) {
    at[0] = header.flags;
    at[1] = header.gso_type;
    write_le16(at + 2, header.hdr_len);
    write_le16(at + 4, header.gso_size);
    write_le16(at + 6, header.csum_start);
    write_le16(at + 8, header.csum_offset);
}

// ---------------------------------------------------------------------------------------------- split

SplitResult TsoSplitter::start(const VnetHeader& header, std::span<std::uint8_t> packet) {
    packet_ = packet;
    count_ = 0;
    gso_ = false;
    if (packet.empty()) return SplitResult::malformed;
    const std::uint8_t type = header.gso_type & std::uint8_t(~gso_ecn);
    if (type == gso_none) {
        if (header.flags & vnet_needs_csum) {
            // The field holds the pseudo-header sum already; summing from csum_start to the end completes
            // it (what the kernel's skb_checksum_help does before a device without checksum offload).
            const std::size_t from = header.csum_start, field = from + header.csum_offset;
            if (from >= packet.size() || field + 2 > packet.size()) return SplitResult::malformed;
            inet::store(packet.data() + field, inet::add(0, packet.data() + from, packet.size() - from));
            // RFC 768: a computed UDP checksum of zero is sent as all ones (harmless for TCP: -0 == +0).
            if (packet[field] == 0 && packet[field + 1] == 0) packet[field] = packet[field + 1] = 0xff;
        }
        count_ = 1;
        return SplitResult::ok;
    }
    if (type != gso_tcpv4 && type != gso_tcpv6) return SplitResult::unsupported;
    ipv6_ = type == gso_tcpv6;
    const std::uint8_t* p = packet.data();
    if (ipv6_) {
        if (packet.size() < 40 || p[0] >> 4 != 6) return SplitResult::malformed;
        if (p[6] != ip_proto_tcp) return SplitResult::unsupported;  // extension headers before TCP
        ip_header_length_ = 40;
    } else {
        if (packet.size() < 20 || p[0] >> 4 != 4) return SplitResult::malformed;
        ip_header_length_ = std::size_t(p[0] & 0x0f) * 4;
        if (ip_header_length_ < 20 || p[9] != ip_proto_tcp) return SplitResult::malformed;
    }
    if (packet.size() < ip_header_length_ + 20) return SplitResult::malformed;
    header_length_ = ip_header_length_ + std::size_t(p[ip_header_length_ + 12] >> 4) * 4;
    if (header_length_ < ip_header_length_ + 20 || header_length_ >= packet.size()) return SplitResult::malformed;
    if ((header.flags & vnet_needs_csum) &&
        (header.csum_start != ip_header_length_ || header.csum_offset != tcp_checksum_at))
        return SplitResult::malformed;
    if (header.gso_size == 0) return SplitResult::malformed;
    segment_payload_ = header.gso_size;
    const std::size_t payload = packet.size() - header_length_;
    count_ = (payload + segment_payload_ - 1) / segment_payload_;
    gso_ = true;
    return SplitResult::ok;
}

std::size_t TsoSplitter::segment_length(std::size_t index) const {
    if (!gso_) return packet_.size();
    const std::size_t offset = index * segment_payload_;
    return header_length_ + std::min(segment_payload_, packet_.size() - header_length_ - offset);
}

void TsoSplitter::write_segment(std::size_t index, std::uint8_t* out) const {
    if (!gso_) {
        std::memcpy(out, packet_.data(), packet_.size());
        return;
    }
    const std::size_t offset = index * segment_payload_;
    const std::size_t payload = std::min(segment_payload_, packet_.size() - header_length_ - offset);
    std::memcpy(out, packet_.data(), header_length_);
    std::memcpy(out + header_length_, packet_.data() + header_length_ + offset, payload);

    std::uint8_t* tcp = out + ip_header_length_;
    const std::size_t tcp_length = header_length_ - ip_header_length_ + payload;
    if (ipv6_) {
        write_be16(out + 4, tcp_length);  // RFC 8200 §3 Payload Length
    } else {
        write_be16(out + 2, header_length_ + payload);
        write_be16(out + 4, std::uint16_t(read_be16(packet_.data() + 4) + index));  // as the kernel's TSO does
        refresh_ipv4_header_checksum(out, ip_header_length_);
    }
    write_be32(tcp + 4, read_be32(tcp + 4) + std::uint32_t(offset));
    std::uint8_t flags = tcp[13];
    if (index + 1 < count_) flags &= std::uint8_t(~(tcp_fin | tcp_psh));
    if (index > 0) flags &= std::uint8_t(~tcp_cwr);
    tcp[13] = flags;
    tcp[tcp_checksum_at] = tcp[tcp_checksum_at + 1] = 0;
    std::uint64_t sum = inet::add_pseudo_header(0, addresses_of(out, ipv6_), ipv6_, ip_proto_tcp,
                                                std::uint32_t(tcp_length));
    inet::store(tcp + tcp_checksum_at, inet::add(sum, tcp, tcp_length));
}

// ------------------------------------------------------------------------------------------- coalesce

namespace {

// What coalescing needs to know about one decrypted packet.
struct Segment {
    bool tcp_checksum_ok = false;  // a TCP segment whose checksum verified
    bool joinable = false;         // ... that may also be part of a run (flags ACK or ACK|PSH, payload)
    bool ipv6 = false;
    std::size_t ip_header_length = 0, header_length = 0, payload = 0;
    std::uint32_t seq = 0;
    std::uint8_t flags = 0;
};

Segment inspect(const Packet& packet) {
    Segment s;
    const std::uint8_t* d = packet.data();
    const std::size_t size = packet.length;
    if (size < 20) return s;
    if (d[0] >> 4 == 4) {
        // No IP options, not a fragment (DF may be set), and a total length that is the whole packet.
        if ((d[0] & 0x0f) != 5 || d[9] != ip_proto_tcp || read_be16(d + 2) != size) return s;
        if ((read_be16(d + 6) & 0x3fff) != 0) return s;
        s.ip_header_length = 20;
    } else if (d[0] >> 4 == 6) {
        if (size < 40 || d[6] != ip_proto_tcp || 40 + std::size_t(read_be16(d + 4)) != size) return s;
        s.ipv6 = true;
        s.ip_header_length = 40;
    } else {
        return s;
    }
    if (size < s.ip_header_length + 20) return s;
    const std::uint8_t* tcp = d + s.ip_header_length;
    s.header_length = s.ip_header_length + std::size_t(tcp[12] >> 4) * 4;
    if (s.header_length < s.ip_header_length + 20 || s.header_length > size) return s;
    const std::size_t tcp_length = size - s.ip_header_length;
    const std::uint64_t sum = inet::add_pseudo_header(0, addresses_of(d, s.ipv6), s.ipv6, ip_proto_tcp,
                                                      std::uint32_t(tcp_length));
    s.tcp_checksum_ok = inet::fold(inet::add(sum, tcp, tcp_length)) == 0xffff;
    s.payload = size - s.header_length;
    s.seq = read_be32(tcp + 4);
    s.flags = tcp[13];
    s.joinable = s.tcp_checksum_ok && s.payload > 0 && (s.flags & ~tcp_psh) == tcp_ack;
    return s;
}

bool same_bytes(const std::uint8_t* a, const std::uint8_t* b, std::size_t from, std::size_t to) {
    return std::memcmp(a + from, b + from, to - from) == 0;
}

// May `next` follow `last` in the run that `head` starts (`run_payload` octets of payload so far)?
bool can_join(const Packet& head_packet, const Segment& head, const Segment& last, std::size_t run_payload,
              const Packet& next_packet, const Segment& next) {
    if (!next.joinable || next.ipv6 != head.ipv6 || next.header_length != head.header_length) return false;
    if ((last.flags & tcp_psh) || last.payload != head.payload || next.payload > head.payload) return false;
    if (head.header_length + run_payload + next.payload > max_ip_length) return false;
    if (next.seq != last.seq + std::uint32_t(last.payload)) return false;
    const std::uint8_t* a = head_packet.data();
    const std::uint8_t* b = next_packet.data();
    if (head.ipv6) {
        // Version, traffic class, flow label; hop limit; addresses (the next header is TCP for both).
        if (!same_bytes(a, b, 0, 4) || a[7] != b[7] || !same_bytes(a, b, 8, 40)) return false;
    } else {
        // Version/IHL and TOS (ECN bits included); flags (DF) and offset; TTL, protocol; addresses.
        if (!same_bytes(a, b, 0, 2) || !same_bytes(a, b, 6, 10) || !same_bytes(a, b, 12, 20)) return false;
    }
    const std::size_t t = head.ip_header_length;
    // Ports; acknowledgment number; data offset; window; every option octet (timestamps included).
    return same_bytes(a, b, t, t + 4) && same_bytes(a, b, t + 8, t + 13) && same_bytes(a, b, t + 14, t + 16) &&
           same_bytes(a, b, t + 20, head.header_length);
}

// Rewrites the head of a run of `count` segments carrying `run_payload` octets into the header of one
// super-packet, and puts the GSO virtio header in front of it.
void finish_run(Packet& head_packet, const Segment& head, const Segment& last, std::size_t run_payload) {
    std::uint8_t* d = head_packet.data();
    const std::size_t t = head.ip_header_length;
    if (head.ipv6) {
        write_be16(d + 4, head.header_length - 40 + run_payload);
    } else {
        write_be16(d + 2, head.header_length + run_payload);
        refresh_ipv4_header_checksum(d, 20);
    }
    if (last.flags & tcp_psh) d[t + 13] |= tcp_psh;
    const std::size_t tcp_length = head.header_length - t + run_payload;
    inet::store_partial(d + t + tcp_checksum_at,
                        inet::add_pseudo_header(0, addresses_of(d, head.ipv6), head.ipv6, ip_proto_tcp,
                                                std::uint32_t(tcp_length)));
    write_vnet_header(d - vnet_header_size,
                      {vnet_needs_csum, head.ipv6 ? gso_tcpv6 : gso_tcpv4, std::uint16_t(head.header_length),
                       std::uint16_t(head.payload), std::uint16_t(t), std::uint16_t(tcp_checksum_at)});
}

}  // namespace

std::size_t TcpCoalescer::coalesce(std::span<Packet* const> packets, std::span<CoalescedRun> runs) {
    std::size_t run_count = 0;
    std::optional<Segment> lookahead;  // the packet that ended the previous run, already inspected
    for (std::size_t i = 0; i < packets.size() && run_count < runs.size();) {
        Packet& head_packet = *packets[i];
        const Segment head = lookahead ? *lookahead : inspect(head_packet);
        lookahead.reset();
        std::size_t count = 1, run_payload = head.payload;
        Segment last = head;
        if (head.joinable) {
            while (i + count < packets.size()) {
                const Segment next = inspect(*packets[i + count]);
                if (!can_join(head_packet, head, last, run_payload, *packets[i + count], next)) {
                    lookahead = next;
                    break;
                }
                run_payload += next.payload;
                last = next;
                ++count;
            }
        }
        if (count > 1) {
            finish_run(head_packet, head, last, run_payload);
        } else {
            write_vnet_header(head_packet.data() - vnet_header_size,
                              {std::uint8_t(head.tcp_checksum_ok ? vnet_data_valid : 0), gso_none, 0, 0, 0, 0});
        }
        runs[run_count++] = {i, count, count > 1 ? head.header_length : 0};
        i += count;
    }
    return run_count;
}

}  // namespace ikevpn::dataplane::offload
