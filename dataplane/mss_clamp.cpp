#include "dataplane/mss_clamp.hpp"

#include <cstddef>

namespace ikevpn::dataplane {
namespace {

constexpr std::uint8_t ip_proto_tcp = 6;
constexpr std::uint8_t tcp_flag_syn = 0x02;
constexpr std::uint8_t tcp_option_eol = 0, tcp_option_nop = 1, tcp_option_mss = 2;

std::uint16_t read_be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
void write_be16(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}

// Where the TCP segment starts and how long it is, or an empty span (with `malformed` set when the IP
// header itself is inconsistent).
struct TcpLocation {
    std::span<std::uint8_t> segment;
    bool malformed = false;
};

//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |Version|  IHL  |Type of Service|          Total Length         |
// |         Identification        |Flags|      Fragment Offset    |
// |  Time to Live |    Protocol   |         Header Checksum       |
//                      (RFC 791 §3.1, addresses and options follow)
TcpLocation locate_tcp_v4(std::span<std::uint8_t> p) {
    if (p.size() < 20) return {{}, true};
    const std::size_t header = std::size_t(p[0] & 0x0f) * 4;
    const std::size_t total = read_be16(&p[2]);
    if (header < 20 || total < header || total > p.size()) return {{}, true};
    if (p[9] != ip_proto_tcp) return {};
    if ((read_be16(&p[6]) & 0x1fff) != 0) return {};  // not the first fragment: no TCP header here
    return {p.subspan(header, total - header)};
}

// RFC 8200 §3: fixed 40-octet header (payload length at 4, next header at 6), then a chain of extension
// headers; hop-by-hop (0), routing (43) and destination options (60) are (Hdr Ext Len + 1) * 8 octets long,
// a fragment header (44) 8 octets (§4.5).
TcpLocation locate_tcp_v6(std::span<std::uint8_t> p) {
    if (p.size() < 40) return {{}, true};
    const std::size_t total = 40 + std::size_t(read_be16(&p[4]));
    if (total > p.size() || total == 40) return {{}, total > p.size()};  // a jumbogram (0) is not ours
    std::uint8_t next = p[6];
    std::size_t at = 40;
    for (int hops = 0; hops < 8; ++hops) {
        if (next == ip_proto_tcp) return {p.subspan(at, total - at)};
        if (at + 8 > total) return {{}, next == 0 || next == 43 || next == 60 || next == 44};
        if (next == 44) {
            if ((read_be16(&p[at + 2]) & 0xfff8) != 0) return {};  // a later fragment
            next = p[at];
            at += 8;
        } else if (next == 0 || next == 43 || next == 60) {
            const std::size_t length = (std::size_t(p[at + 1]) + 1) * 8;
            if (at + length > total) return {{}, true};
            next = p[at];
            at += length;
        } else {
            return {};  // another protocol (ICMPv6, UDP, ESP, ...)
        }
    }
    return {};
}

}  // namespace

std::uint16_t checksum_adjust(std::uint16_t checksum, std::uint16_t old_word, std::uint16_t new_word) noexcept {
    // HC' = ~(~HC + ~m + m'), in one's complement arithmetic (RFC 1624 §3, eqn. 3).
    std::uint32_t sum = std::uint32_t(~checksum & 0xffff) + std::uint32_t(~old_word & 0xffff) + new_word;
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum & 0xffff);
}

MssClampResult clamp_tcp_mss(std::span<std::uint8_t> packet, const MssLimits& limits) noexcept {
    if (packet.empty()) return MssClampResult::malformed;
    const int version = packet[0] >> 4;
    if (version != 4 && version != 6) return MssClampResult::malformed;
    const TcpLocation where = version == 4 ? locate_tcp_v4(packet) : locate_tcp_v6(packet);
    if (where.malformed) return MssClampResult::malformed;
    std::span<std::uint8_t> tcp = where.segment;
    if (tcp.empty()) return MssClampResult::not_applicable;
    // RFC 9293 §3.1: data offset (in 32-bit words) at octet 12, flags at 13, checksum at 16, options at 20.
    if (tcp.size() < 20) return MssClampResult::malformed;
    if ((tcp[13] & tcp_flag_syn) == 0) return MssClampResult::not_applicable;
    const std::size_t header = std::size_t(tcp[12] >> 4) * 4;
    if (header < 20 || header > tcp.size()) return MssClampResult::malformed;
    const std::uint16_t limit = version == 4 ? limits.v4 : limits.v6;

    std::size_t at = 20;
    while (at < header) {
        const std::uint8_t kind = tcp[at];
        if (kind == tcp_option_eol) break;
        if (kind == tcp_option_nop) {
            ++at;
            continue;
        }
        if (at + 1 >= header) return MssClampResult::malformed;
        const std::size_t length = tcp[at + 1];
        if (length < 2 || at + length > header) return MssClampResult::malformed;
        if (kind == tcp_option_mss) {
            if (length != 4) return MssClampResult::malformed;
            const std::uint16_t mss = read_be16(&tcp[at + 2]);
            if (mss <= limit) return MssClampResult::unchanged;
            // The checksum sums 16-bit words from the start of the segment (the pseudo-header is a whole
            // number of words); a value at an odd offset straddles two words, which is the same as summing
            // it byte-swapped.
            const bool odd = ((at + 2) & 1) != 0;
            const auto as_summed = [odd](std::uint16_t v) {
                return odd ? static_cast<std::uint16_t>(v << 8 | v >> 8) : v;
            };
            const std::uint16_t checksum = read_be16(&tcp[16]);
            write_be16(&tcp[at + 2], limit);
            write_be16(&tcp[16], checksum_adjust(checksum, as_summed(mss), as_summed(limit)));
            return MssClampResult::clamped;
        }
        at += length;
    }
    return MssClampResult::not_applicable;
}

}  // namespace ikevpn::dataplane
