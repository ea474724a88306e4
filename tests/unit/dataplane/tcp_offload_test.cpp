// TSO splitting and GRO coalescing (dataplane/tcp_offload.hpp) and the checksum they rely on. Every check
// of a checksum uses the plain reference below (16-bit big-endian words, RFC 1071 §1), not the code under
// test.
#include "dataplane/inet_checksum.hpp"
#include "dataplane/tcp_offload.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <numeric>
#include <vector>

using namespace ikevpn::dataplane;
using namespace ikevpn::dataplane::offload;

namespace {

using Bytes = std::vector<std::uint8_t>;

std::uint16_t be16(const std::uint8_t* p) { return std::uint16_t(p[0] << 8 | p[1]); }
std::uint32_t be32(const std::uint8_t* p) { return std::uint32_t(be16(p)) << 16 | be16(p + 2); }
void put16(std::uint8_t* p, std::size_t v) { p[0] = std::uint8_t(v >> 8); p[1] = std::uint8_t(v); }
void put32(std::uint8_t* p, std::uint32_t v) { put16(p, v >> 16); put16(p + 2, v & 0xffff); }

// RFC 1071 §1, the slow way: 16-bit big-endian words, end-around carry.
std::uint32_t reference_sum(const Bytes& data, std::uint32_t sum = 0) {
    for (std::size_t i = 0; i < data.size(); i += 2)
        sum += std::uint32_t(data[i] << 8 | (i + 1 < data.size() ? data[i + 1] : 0));
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return sum;
}

bool ipv4_header_valid(const Bytes& p) { return reference_sum(Bytes(p.begin(), p.begin() + 20)) == 0xffff; }

// The pseudo-header sum for the TCP segment of `p` (IPv4 or IPv6), TCP length `tcp_length`.
std::uint32_t reference_pseudo(const Bytes& p, std::size_t tcp_length) {
    const bool v6 = p[0] >> 4 == 6;
    Bytes pseudo(p.begin() + (v6 ? 8 : 12), p.begin() + (v6 ? 40 : 20));
    pseudo.insert(pseudo.end(), {0, 6, std::uint8_t(tcp_length >> 8), std::uint8_t(tcp_length)});
    return reference_sum(pseudo);
}

// Recomputes the TCP checksum of `p` after a test changed a header field.
void fix_tcp_checksum(Bytes& p) {
    const std::size_t ip = p[0] >> 4 == 6 ? 40 : 20;
    put16(&p[ip + 16], 0);
    const Bytes tcp(p.begin() + long(ip), p.end());
    put16(&p[ip + 16], ~reference_sum(tcp, reference_pseudo(p, tcp.size())) & 0xffff);
}

bool tcp_checksum_valid(const Bytes& p) {
    const std::size_t ip = p[0] >> 4 == 6 ? 40 : 20;
    const Bytes tcp(p.begin() + long(ip), p.end());
    return reference_sum(tcp, reference_pseudo(p, tcp.size())) == 0xffff;
}

// An IPv4 (or IPv6) TCP segment 192.0.2.2:40000 -> 198.51.100.2:5001 with a 12-octet timestamp option,
// `payload` octets counting up from `first_octet`, a correct TCP checksum, ACK set plus `extra_flags`.
Bytes tcp_packet(bool v6, std::size_t payload, std::uint32_t seq, std::uint8_t extra_flags = 0,
                 std::uint8_t first_octet = 0) {
    const std::size_t ip = v6 ? 40 : 20, tcp = 32;
    Bytes p(ip + tcp + payload, 0);
    if (v6) {
        p[0] = 0x60;
        put16(&p[4], tcp + payload);
        p[6] = 6;
        p[7] = 64;
        p[8] = 0x20; p[9] = 0x01; p[10] = 0x0d; p[11] = 0xb8; p[23] = 2;  // 2001:db8::2
        p[24] = 0x20; p[25] = 0x01; p[26] = 0x0d; p[27] = 0xb8; p[28] = 0; p[29] = 2; p[39] = 2;
    } else {
        p[0] = 0x45;
        put16(&p[2], p.size());
        put16(&p[4], 0x1234);
        p[6] = 0x40;  // DF
        p[8] = 64;
        p[9] = 6;
        p[12] = 192; p[13] = 0; p[14] = 2; p[15] = 2;
        p[16] = 198; p[17] = 51; p[18] = 100; p[19] = 2;
        put16(&p[10], ~reference_sum(Bytes(p.begin(), p.begin() + 20)) & 0xffff);
    }
    std::uint8_t* t = &p[ip];
    put16(t, 40000);
    put16(t + 2, 5001);
    put32(t + 4, seq);
    put32(t + 8, 0xabcdef01);
    t[12] = (tcp / 4) << 4;
    t[13] = std::uint8_t(0x10 | extra_flags);
    put16(t + 14, 502);
    t[20] = 1; t[21] = 1; t[22] = 8; t[23] = 10;  // NOP NOP TS(10)
    put32(t + 24, 111);
    put32(t + 28, 222);
    for (std::size_t i = 0; i < payload; ++i) p[ip + tcp + i] = std::uint8_t(first_octet + i);
    const Bytes segment(p.begin() + long(ip), p.end());
    put16(t + 16, ~reference_sum(segment, reference_pseudo(p, segment.size())) & 0xffff);
    return p;
}

// A TSO super-packet as the kernel hands it to a TUN device with TUN_F_TSO*: headers of the first segment,
// the whole payload, and a partial checksum (the pseudo-header sum, uncomplemented) for NEEDS_CSUM.
Bytes super_packet(bool v6, std::size_t payload, std::uint32_t seq, std::uint8_t extra_flags) {
    Bytes p = tcp_packet(v6, payload, seq, extra_flags);
    const std::size_t ip = v6 ? 40 : 20;
    put16(&p[ip + 16], reference_pseudo(p, p.size() - ip));
    return p;
}

std::vector<Bytes> split(const VnetHeader& header, Bytes& packet, SplitResult* result = nullptr) {
    TsoSplitter splitter;
    const SplitResult r = splitter.start(header, packet);
    if (result) *result = r;
    std::vector<Bytes> out;
    if (r != SplitResult::ok) return out;
    for (std::size_t i = 0; i < splitter.segments(); ++i) {
        Bytes segment(splitter.segment_length(i));
        splitter.write_segment(i, segment.data());
        out.push_back(std::move(segment));
    }
    return out;
}

// Packets in buffers with 64 octets of headroom (room for the virtio header), as the data path has them.
struct PacketSet {
    std::vector<Bytes> storage;
    std::vector<Packet> packets;
    std::vector<Packet*> pointers;
    explicit PacketSet(const std::vector<Bytes>& contents) {
        storage.reserve(contents.size());
        for (const Bytes& c : contents) {
            Bytes buffer(64 + c.size());
            std::copy(c.begin(), c.end(), buffer.begin() + 64);
            storage.push_back(std::move(buffer));
        }
        for (Bytes& b : storage) packets.push_back({b.data(), std::uint32_t(b.size()), 64, std::uint32_t(b.size() - 64)});
        for (Packet& p : packets) pointers.push_back(&p);
    }
    // What a gathering write of `run` hands the kernel: virtio header, the head, the others' payloads.
    Bytes written(const CoalescedRun& run) const {
        const Packet& head = packets[run.first];
        Bytes out(head.data() - vnet_header_size, head.data() + head.length);
        for (std::size_t k = 1; k < run.count; ++k) {
            const Packet& p = packets[run.first + k];
            out.insert(out.end(), p.data() + run.header_length, p.data() + p.length);
        }
        return out;
    }
};

std::vector<CoalescedRun> coalesce(PacketSet& set) {
    std::vector<CoalescedRun> runs(set.pointers.size());
    runs.resize(TcpCoalescer().coalesce(set.pointers, runs));
    return runs;
}

}  // namespace

TEST_CASE("Internet checksum: the RFC 1071 §3 example, and odd lengths") {
    // RFC 1071 §3 "Numerical Examples": 00 01 f2 03 f4 f5 f6 f7 sums to ddf2; the checksum is its complement.
    const Bytes example{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    std::uint8_t stored[2];
    inet::store(stored, inet::add(0, example.data(), example.size()));
    CHECK(be16(stored) == 0x220d);
    for (std::size_t length = 0; length < 40; ++length) {
        Bytes data(length);
        std::iota(data.begin(), data.end(), std::uint8_t(0xe0));
        CAPTURE(length);
        inet::store(stored, inet::add(0, data.data(), data.size()));
        CHECK(be16(stored) == (~reference_sum(data) & 0xffff));
    }
}

TEST_CASE("virtio header: 10 octets, little-endian") {
    std::uint8_t raw[vnet_header_size];
    write_vnet_header(raw, {vnet_needs_csum, gso_tcpv4, 0x0034, 0x0576, 0x0014, 0x0010});
    const Bytes expected{0x01, 0x01, 0x34, 0x00, 0x76, 0x05, 0x14, 0x00, 0x10, 0x00};
    CHECK(Bytes(raw, raw + 10) == expected);
    const VnetHeader back = read_vnet_header(raw);
    CHECK(back.gso_size == 0x0576);
    CHECK(back.csum_start == 0x14);
}

TEST_CASE("TSO split: every segment is a valid TCP segment and together they carry the payload") {
    for (const bool v6 : {false, true}) {
        CAPTURE(v6);
        const std::size_t ip = v6 ? 40 : 20, headers = ip + 32, payload = 5000, mss = 1400;
        // PSH and FIN belong to the last segment only, CWR to the first only.
        Bytes packet = super_packet(v6, payload, 0xfffff000, 0x08 | 0x01 | 0x80);
        const VnetHeader header{vnet_needs_csum, v6 ? gso_tcpv6 : gso_tcpv4, std::uint16_t(headers),
                                std::uint16_t(mss), std::uint16_t(ip), 16};
        const Bytes original = packet;
        const auto segments = split(header, packet);
        REQUIRE(segments.size() == 4);
        Bytes carried;
        for (std::size_t i = 0; i < segments.size(); ++i) {
            CAPTURE(i);
            const Bytes& s = segments[i];
            const std::size_t expected_payload = i < 3 ? mss : payload - 3 * mss;
            REQUIRE(s.size() == headers + expected_payload);
            if (v6) {
                CHECK(be16(&s[4]) == s.size() - 40);
            } else {
                CHECK(be16(&s[2]) == s.size());
                CHECK(be16(&s[4]) == 0x1234 + i);
                CHECK(ipv4_header_valid(s));
            }
            CHECK(tcp_checksum_valid(s));
            CHECK(be32(&s[ip + 4]) == std::uint32_t(0xfffff000u + i * mss));  // wraps past 2^32
            const std::uint8_t flags = s[ip + 13];
            const bool psh_or_fin = (flags & 0x09) != 0, cwr = (flags & 0x80) != 0, ack = (flags & 0x10) != 0;
            CHECK(psh_or_fin == (i == 3));
            CHECK(cwr == (i == 0));
            CHECK(ack);
            CHECK(Bytes(s.begin() + long(ip + 20), s.begin() + long(headers)) ==
                  Bytes(original.begin() + long(ip + 20), original.begin() + long(headers)));  // options
            carried.insert(carried.end(), s.begin() + long(headers), s.end());
        }
        CHECK(carried == Bytes(original.begin() + long(headers), original.end()));
    }
}

TEST_CASE("TSO split: a payload that is an exact multiple of the segment size") {
    Bytes packet = super_packet(false, 2800, 1, 0);
    const auto segments = split({vnet_needs_csum, gso_tcpv4, 52, 1400, 20, 16}, packet);
    REQUIRE(segments.size() == 2);
    CHECK(segments[1].size() == 52 + 1400);
}

TEST_CASE("a packet with a partial checksum and no GSO is completed in place") {
    // UDP 192.0.2.2:5353 -> 198.51.100.2:53 with 11 octets of data: the field holds only the pseudo sum.
    Bytes p(20 + 8 + 11, 0);
    p[0] = 0x45; put16(&p[2], p.size()); p[8] = 64; p[9] = 17;
    p[12] = 192; p[14] = 2; p[15] = 2; p[16] = 198; p[17] = 51; p[18] = 100; p[19] = 2;
    put16(&p[20], 5353); put16(&p[22], 53); put16(&p[24], 19);
    for (std::size_t i = 28; i < p.size(); ++i) p[i] = std::uint8_t(i * 7);
    Bytes pseudo(p.begin() + 12, p.begin() + 20);
    pseudo.insert(pseudo.end(), {0, 17, 0, 19});
    put16(&p[26], reference_sum(pseudo));
    const auto segments = split({vnet_needs_csum, gso_none, 0, 0, 20, 6}, p);
    REQUIRE(segments.size() == 1);
    const Bytes udp(segments[0].begin() + 20, segments[0].end());
    CHECK(reference_sum(udp, reference_sum(pseudo)) == 0xffff);
}

TEST_CASE("TSO split refuses what it cannot split safely") {
    SplitResult r{};
    Bytes packet = super_packet(false, 3000, 1, 0);
    split({vnet_needs_csum, gso_tcpv4, 52, 0, 20, 16}, packet, &r);
    CHECK(r == SplitResult::malformed);  // gso_size 0
    split({vnet_needs_csum, gso_tcpv4, 52, 1400, 24, 16}, packet, &r);
    CHECK(r == SplitResult::malformed);  // csum_start is not the TCP header
    split({vnet_needs_csum, gso_tcpv6, 52, 1400, 20, 16}, packet, &r);
    CHECK(r == SplitResult::malformed);  // IPv4 packet, IPv6 GSO type
    split({vnet_needs_csum, 3 /* UDP fragmentation offload */, 52, 1400, 20, 6}, packet, &r);
    CHECK(r == SplitResult::unsupported);
    split({vnet_needs_csum, gso_none, 0, 0, 20, 4000}, packet, &r);
    CHECK(r == SplitResult::malformed);  // checksum field beyond the packet
    Bytes headers_only(packet.begin(), packet.begin() + 52);
    split({vnet_needs_csum, gso_tcpv4, 52, 1400, 20, 16}, headers_only, &r);
    CHECK(r == SplitResult::malformed);  // no payload
    Bytes truncated(packet.begin(), packet.begin() + 30);
    split({vnet_needs_csum, gso_tcpv4, 52, 1400, 20, 16}, truncated, &r);
    CHECK(r == SplitResult::malformed);  // TCP header cut off
    Bytes v6 = super_packet(true, 3000, 1, 0);
    v6[6] = 0;  // a hop-by-hop options header before TCP
    split({vnet_needs_csum, gso_tcpv6, 72, 1400, 40, 16}, v6, &r);
    CHECK(r == SplitResult::unsupported);
    Bytes empty;
    split({}, empty, &r);
    CHECK(r == SplitResult::malformed);
}

TEST_CASE("GRO: consecutive segments of one flow become one super-packet the kernel can take") {
    for (const bool v6 : {false, true}) {
        CAPTURE(v6);
        const std::size_t ip = v6 ? 40 : 20, headers = ip + 32;
        std::vector<Bytes> segments;
        Bytes payload;
        for (std::uint32_t i = 0; i < 5; ++i) {
            const std::size_t size = i < 4 ? 1400 : 600;
            segments.push_back(tcp_packet(v6, size, 1000 + i * 1400, i == 4 ? 0x08 : 0, std::uint8_t(i * 13)));
            payload.insert(payload.end(), segments.back().begin() + long(headers), segments.back().end());
        }
        PacketSet set(segments);
        const auto runs = coalesce(set);
        REQUIRE(runs.size() == 1);
        CHECK(runs[0].count == 5);
        CHECK(runs[0].header_length == headers);
        Bytes written = set.written(runs[0]);
        const VnetHeader h = read_vnet_header(written.data());
        CHECK(h.flags == vnet_needs_csum);
        CHECK(h.gso_type == (v6 ? gso_tcpv6 : gso_tcpv4));
        CHECK(h.hdr_len == headers);
        CHECK(h.gso_size == 1400);
        CHECK(h.csum_start == ip);
        CHECK(h.csum_offset == 16);
        Bytes super(written.begin() + vnet_header_size, written.end());
        CHECK(Bytes(super.begin() + long(headers), super.end()) == payload);
        if (v6) {
            CHECK(be16(&super[4]) == super.size() - 40);
        } else {
            CHECK(be16(&super[2]) == super.size());
            CHECK(ipv4_header_valid(super));
        }
        CHECK(super[ip + 13] == (0x10 | 0x08));  // the last segment's PSH moves to the head
        // NEEDS_CSUM: the field holds the pseudo-header sum; completing it as the kernel would validates.
        CHECK(be16(&super[ip + 16]) == reference_pseudo(super, super.size() - ip));
        // And splitting it again (what the kernel does if it forwards it) gives back the segments.
        const auto again = split(h, super);
        REQUIRE(again.size() == 5);
        for (std::size_t i = 0; i < 5; ++i) {
            CHECK(tcp_checksum_valid(again[i]));
            CHECK(Bytes(again[i].begin() + long(headers), again[i].end()) ==
                  Bytes(segments[i].begin() + long(headers), segments[i].end()));
        }
    }
}

TEST_CASE("GRO: what must not be merged stays apart, and the rest still merges") {
    auto runs_of = [](std::vector<Bytes> segments) {
        PacketSet set(segments);
        std::vector<std::size_t> counts;
        for (const auto& run : coalesce(set)) counts.push_back(run.count);
        return counts;
    };
    using Counts = std::vector<std::size_t>;
    // A gap in the sequence numbers.
    CHECK(runs_of({tcp_packet(false, 1400, 0), tcp_packet(false, 1400, 1400), tcp_packet(false, 1400, 4200)}) ==
          Counts{2, 1});
    // PSH in the middle ends its run; so does a shorter segment.
    CHECK(runs_of({tcp_packet(false, 1400, 0, 0x08), tcp_packet(false, 1400, 1400)}) == Counts{1, 1});
    CHECK(runs_of({tcp_packet(false, 1400, 0), tcp_packet(false, 700, 1400), tcp_packet(false, 1400, 2100)}) ==
          Counts{2, 1});
    // A larger segment after the first.
    CHECK(runs_of({tcp_packet(false, 700, 0), tcp_packet(false, 1400, 700)}) == Counts{1, 1});
    // SYN, FIN, and a pure ACK without payload are never merged.
    CHECK(runs_of({tcp_packet(false, 1400, 0), tcp_packet(false, 1400, 1400, 0x01)}) == Counts{1, 1});
    CHECK(runs_of({tcp_packet(false, 0, 0), tcp_packet(false, 0, 0)}) == Counts{1, 1});
    // Another flow (different port), a different TOS (ECN CE), a different TCP timestamp.
    Bytes other_port = tcp_packet(false, 1400, 1400);
    other_port[21] ^= 1;
    fix_tcp_checksum(other_port);
    CHECK(runs_of({tcp_packet(false, 1400, 0), other_port}) == Counts{1, 1});
    Bytes ecn = tcp_packet(false, 1400, 1400);
    ecn[1] = 0x03;  // the IPv4 header checksum is not what coalescing looks at
    CHECK(runs_of({tcp_packet(false, 1400, 0), ecn}) == Counts{1, 1});
    Bytes later_timestamp = tcp_packet(false, 1400, 1400);
    later_timestamp[47] ^= 1;
    fix_tcp_checksum(later_timestamp);
    CHECK(runs_of({tcp_packet(false, 1400, 0), later_timestamp}) == Counts{1, 1});
    // A corrupted segment is neither merged nor marked valid.
    Bytes corrupt = tcp_packet(false, 1400, 1400);
    corrupt[100] ^= 0xff;
    std::vector<Bytes> with_corrupt{tcp_packet(false, 1400, 0), corrupt};
    PacketSet set(with_corrupt);
    const auto runs = coalesce(set);
    REQUIRE(runs.size() == 2);
    CHECK(read_vnet_header(set.written(runs[0]).data()).flags == vnet_data_valid);
    CHECK(read_vnet_header(set.written(runs[1]).data()).flags == 0);
    CHECK(read_vnet_header(set.written(runs[1]).data()).gso_type == gso_none);
    // IPv4 and IPv6 segments of "the same" flow do not mix.
    CHECK(runs_of({tcp_packet(false, 1400, 0), tcp_packet(true, 1400, 1400)}) == Counts{1, 1});
    // Not TCP at all (a truncated header) passes alone.
    Bytes junk(10, 0x45);
    CHECK(runs_of({junk, tcp_packet(false, 1400, 0)}) == Counts{1, 1});
}

TEST_CASE("GRO: a run never exceeds 64 KiB") {
    std::vector<Bytes> segments;
    for (std::uint32_t i = 0; i < 50; ++i) segments.push_back(tcp_packet(false, 1400, i * 1400));
    PacketSet set(segments);
    const auto runs = coalesce(set);
    REQUIRE(runs.size() == 2);
    CHECK(runs[0].count == (65535 - 52) / 1400);
    CHECK(runs[0].count + runs[1].count == 50);
    CHECK(set.written(runs[0]).size() - vnet_header_size <= 65535);
}
