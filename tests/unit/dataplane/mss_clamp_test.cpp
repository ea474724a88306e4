#include "dataplane/mss_clamp.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

using namespace ikevpn::dataplane;

namespace {

using Bytes = std::vector<std::uint8_t>;

std::uint16_t be16(const Bytes& p, std::size_t at) { return static_cast<std::uint16_t>(p[at] << 8 | p[at + 1]); }
void put16(Bytes& p, std::size_t at, std::uint32_t v) {
    p[at] = static_cast<std::uint8_t>(v >> 8);
    p[at + 1] = static_cast<std::uint8_t>(v);
}

// One's complement sum of `data` (odd length padded with a zero octet), RFC 1071.
std::uint32_t sum16(const std::uint8_t* data, std::size_t n, std::uint32_t sum = 0) {
    for (std::size_t i = 0; i + 1 < n; i += 2) sum += std::uint32_t(data[i] << 8 | data[i + 1]);
    if (n & 1) sum += std::uint32_t(data[n - 1] << 8);
    return sum;
}
std::uint16_t fold(std::uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum & 0xffff);
}

// The TCP checksum computed from scratch over the pseudo-header (RFC 9293 §3.1, RFC 8200 §8.1) and the
// segment at `tcp_at`, with the checksum field taken as zero.
std::uint16_t full_tcp_checksum(Bytes p, std::size_t tcp_at) {
    const bool v6 = (p[0] >> 4) == 6;
    const std::size_t tcp_length = p.size() - tcp_at;
    p[tcp_at + 16] = p[tcp_at + 17] = 0;
    std::uint32_t sum = v6 ? sum16(&p[8], 32) : sum16(&p[12], 8);
    sum += 6 + std::uint32_t(tcp_length);
    return fold(sum16(&p[tcp_at], tcp_length, sum));
}

// A SYN from 10.0.0.2:40000 to 198.51.100.2:5201 with `options` (padded with EOL to a multiple of 4).
Bytes tcp_syn(bool v6, Bytes options, std::uint8_t flags = 0x02, std::size_t extension = 0) {
    while (options.size() % 4) options.push_back(0);
    const std::size_t ip = v6 ? 40 + extension : 20;
    Bytes p(ip + 20 + options.size(), 0);
    if (v6) {
        p[0] = 0x60;
        put16(p, 4, std::uint32_t(p.size() - 40));
        p[6] = extension ? 0 : 6;  // hop-by-hop options first when asked for
        p[7] = 64;
        p[8] = 0x20, p[9] = 0x01, p[10] = 0x0d, p[11] = 0xb8, p[23] = 2;
        p[24] = 0x20, p[25] = 0x01, p[26] = 0x0d, p[27] = 0xb8, p[39] = 1;
        if (extension) {
            p[40] = 6;  // next header after hop-by-hop: TCP
            p[41] = static_cast<std::uint8_t>(extension / 8 - 1);
            p[42] = 1;  // PadN filling the rest
            p[43] = static_cast<std::uint8_t>(extension - 4);
        }
    } else {
        p[0] = 0x45;
        put16(p, 2, std::uint32_t(p.size()));
        p[6] = 0x40;  // DF
        p[8] = 64;
        p[9] = 6;
        p[12] = 10, p[15] = 2;
        p[16] = 198, p[17] = 51, p[18] = 100, p[19] = 2;
    }
    put16(p, ip, 40000);
    put16(p, ip + 2, 5201);
    p[ip + 7] = 1;  // sequence number
    p[ip + 12] = static_cast<std::uint8_t>((20 + options.size()) / 4 << 4);
    p[ip + 13] = flags;
    put16(p, ip + 14, 64240);
    std::copy(options.begin(), options.end(), p.begin() + std::ptrdiff_t(ip + 20));
    put16(p, ip + 16, full_tcp_checksum(p, ip));
    return p;
}

// A Linux-style SYN option block: MSS 1460, SACK permitted, timestamps, NOP, window scale 7.
const Bytes linux_options = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};

}  // namespace

TEST_CASE("RFC 1624 §4 example: eqn. 3 gives 0x0000 where eqn. 2 would give 0xFFFF") {
    // RFC 1624 §4: HC = 0xDD2F, m = 0x5555, m' = 0x3285.
    CHECK(checksum_adjust(0xdd2f, 0x5555, 0x3285) == 0x0000);
    // Changing a word and changing it back restores the checksum.
    CHECK(checksum_adjust(checksum_adjust(0x1234, 0x05b4, 0x0550), 0x0550, 0x05b4) == 0x1234);
}

TEST_CASE("MssLimits: tunnel MTU minus 40 (IPv4) or 60 (IPv6)") {
    CHECK(MssLimits::for_mtu(1400).v4 == 1360);
    CHECK(MssLimits::for_mtu(1400).v6 == 1340);
    CHECK(MssLimits::for_mtu(576).v4 == 536);
}

TEST_CASE("an IPv4 SYN's MSS is lowered to the limit and the checksum stays right") {
    Bytes p = tcp_syn(false, linux_options);
    CHECK(clamp_tcp_mss(p, MssLimits::for_mtu(1400)) == MssClampResult::clamped);
    CHECK(be16(p, 20 + 22) == 1360);
    CHECK(be16(p, 20 + 16) == full_tcp_checksum(p, 20));
    // The rest of the options are untouched.
    CHECK(Bytes(p.begin() + 44, p.begin() + 60) == Bytes(linux_options.begin() + 4, linux_options.end()));
    // Clamping again changes nothing.
    const Bytes once = p;
    CHECK(clamp_tcp_mss(p, MssLimits::for_mtu(1400)) == MssClampResult::unchanged);
    CHECK(p == once);
}

TEST_CASE("an MSS option at an odd offset (after one NOP) gets a correct checksum too") {
    Bytes p = tcp_syn(false, {1, 2, 4, 0x23, 0x28, 1, 1, 1});  // NOP, MSS 9000, NOPs
    CHECK(clamp_tcp_mss(p, MssLimits::for_mtu(1400)) == MssClampResult::clamped);
    CHECK(be16(p, 20 + 23) == 1360);
    CHECK(be16(p, 20 + 16) == full_tcp_checksum(p, 20));
}

TEST_CASE("an IPv6 SYN-ACK behind a hop-by-hop header is clamped to MTU - 60") {
    Bytes p = tcp_syn(true, linux_options, 0x12, 8);
    const std::size_t tcp_at = 48;
    REQUIRE(be16(p, tcp_at + 16) == full_tcp_checksum(p, tcp_at));
    CHECK(clamp_tcp_mss(p, MssLimits::for_mtu(1400)) == MssClampResult::clamped);
    CHECK(be16(p, tcp_at + 22) == 1340);
    CHECK(be16(p, tcp_at + 16) == full_tcp_checksum(p, tcp_at));
}

TEST_CASE("packets that are not SYNs with a large MSS are left exactly as they were") {
    const MssLimits limits = MssLimits::for_mtu(1400);
    SUBCASE("MSS already small") {
        Bytes p = tcp_syn(false, {2, 4, 0x05, 0x00});
        const Bytes before = p;
        CHECK(clamp_tcp_mss(p, limits) == MssClampResult::unchanged);
        CHECK(p == before);
    }
    SUBCASE("an ACK carrying an MSS option") {
        Bytes p = tcp_syn(false, linux_options, 0x10);
        const Bytes before = p;
        CHECK(clamp_tcp_mss(p, limits) == MssClampResult::not_applicable);
        CHECK(p == before);
    }
    SUBCASE("a SYN without an MSS option") {
        Bytes p = tcp_syn(false, {1, 1, 4, 2});
        CHECK(clamp_tcp_mss(p, limits) == MssClampResult::not_applicable);
    }
    SUBCASE("UDP") {
        Bytes p = tcp_syn(false, linux_options);
        p[9] = 17;
        const Bytes before = p;
        CHECK(clamp_tcp_mss(p, limits) == MssClampResult::not_applicable);
        CHECK(p == before);
    }
    SUBCASE("a later IPv4 fragment") {
        Bytes p = tcp_syn(false, linux_options);
        p[7] = 8;  // fragment offset 64 octets
        CHECK(clamp_tcp_mss(p, limits) == MssClampResult::not_applicable);
        CHECK(be16(p, 42) == 1460);
    }
}

TEST_CASE("inconsistent lengths and options are reported and nothing is written") {
    const MssLimits limits = MssLimits::for_mtu(1400);
    SUBCASE("option length 0") {
        Bytes p = tcp_syn(false, {4, 0, 2, 4, 0x05, 0xb4});
        const Bytes before = p;
        CHECK(clamp_tcp_mss(p, limits) == MssClampResult::malformed);
        CHECK(p == before);
    }
    SUBCASE("MSS option of length 3") {
        Bytes p = tcp_syn(false, {2, 3, 0x05, 0xb4});
        CHECK(clamp_tcp_mss(p, limits) == MssClampResult::malformed);
    }
    SUBCASE("IPv4 total length beyond the buffer") {
        Bytes p = tcp_syn(false, linux_options);
        put16(p, 2, std::uint32_t(p.size() + 1));
        CHECK(clamp_tcp_mss(p, limits) == MssClampResult::malformed);
        CHECK(be16(p, 42) == 1460);
    }
    SUBCASE("TCP data offset beyond the segment") {
        Bytes p = tcp_syn(false, linux_options);
        p[32] = 0xf0;
        CHECK(clamp_tcp_mss(p, limits) == MssClampResult::malformed);
    }
    SUBCASE("not IP at all") {
        Bytes p = {0x12, 0x34};
        CHECK(clamp_tcp_mss(p, limits) == MssClampResult::malformed);
        CHECK(clamp_tcp_mss({}, limits) == MssClampResult::malformed);
    }
}

TEST_CASE("every truncation of a valid SYN is handled without reading past its end") {
    for (bool v6 : {false, true}) {
        const Bytes whole = tcp_syn(v6, linux_options, 0x02, v6 ? 16 : 0);
        for (std::size_t n = 0; n < whole.size(); ++n) {
            CAPTURE(n);
            // A heap copy of exactly n octets: a sanitizer build flags any read past it.
            Bytes p(whole.begin(), whole.begin() + std::ptrdiff_t(n));
            const MssClampResult r = clamp_tcp_mss(p, MssLimits::for_mtu(1400));
            CHECK(r != MssClampResult::clamped);  // the IP length field says the packet is longer
        }
    }
}
