// The Internet checksum (RFC 1071) for inner packets the data plane rewrites: TCP segments cut from a TSO
// super-packet, and the headers of coalesced (GRO) super-packets.
//
// Speed matters here — every octet of every split segment is summed — so words are summed in the host's
// byte order, 32 bits at a time, into a 64-bit accumulator. RFC 1071 §2(B): the one's complement sum is
// independent of byte order, so a result folded in host order and stored with memcpy is already the
// checksum in network order, on any host.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ikevpn::dataplane::inet {

// Adds `length` octets at `data` to `sum`. All pieces of one checksum except the last must have an even
// length (an odd piece would shift the following octets to the other half of their 16-bit words).
inline std::uint64_t add(std::uint64_t sum, const std::uint8_t* data, std::size_t length) {
    while (length >= 8) {
        std::uint64_t word;
        std::memcpy(&word, data, 8);
        sum += (word & 0xffffffffu) + (word >> 32);  // two 32-bit halves: no carry is ever lost
        data += 8;
        length -= 8;
    }
    if (length >= 4) {
        std::uint32_t word;
        std::memcpy(&word, data, 4);
        sum += word;
        data += 4;
        length -= 4;
    }
    if (length >= 2) {
        std::uint16_t word;
        std::memcpy(&word, data, 2);
        sum += word;
        data += 2;
        length -= 2;
    }
    if (length == 1) {
        const std::uint8_t last[2] = {data[0], 0};  // RFC 1071 §4.1: pad the odd octet with zero
        std::uint16_t word;
        std::memcpy(&word, last, 2);
        sum += word;
    }
    return sum;
}

// The 16-bit one's complement sum (end-around carries folded in), in host order of the summed words.
inline std::uint16_t fold(std::uint64_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(sum);
}

// The TCP/UDP pseudo-header (RFC 9293 §3.1 for IPv4: addresses, zero, protocol, length; RFC 8200 §8.1 for
// IPv6: addresses, 32-bit length, zeros, next header). `addresses` points at the source address, which the
// destination follows in both IP headers (4 + 4 or 16 + 16 octets).
inline std::uint64_t add_pseudo_header(std::uint64_t sum, const std::uint8_t* addresses, bool ipv6,
                                       std::uint8_t protocol, std::uint32_t length) {
    sum = add(sum, addresses, ipv6 ? 32 : 8);
    // The same 16-bit words in both layouts: (0, protocol) and the length (its high half is 0 below 64 KiB;
    // IPv6's upper length word is added separately for completeness).
    const std::uint8_t words[6] = {0, protocol, std::uint8_t(length >> 8), std::uint8_t(length),
                                   std::uint8_t(ipv6 ? length >> 24 : 0), std::uint8_t(ipv6 ? length >> 16 : 0)};
    return add(sum, words, 6);
}

// Stores the checksum for `sum` (its complement, RFC 1071 §1) at `where`, in network order.
inline void store(std::uint8_t* where, std::uint64_t sum) {
    const std::uint16_t checksum = static_cast<std::uint16_t>(~fold(sum));
    std::memcpy(where, &checksum, 2);
}

// Stores the folded sum itself, uncomplemented: what a packet with a partial checksum (virtio
// VIRTIO_NET_HDR_F_NEEDS_CSUM, the kernel's CHECKSUM_PARTIAL) carries in its checksum field — the
// pseudo-header sum, which the receiver completes over the rest of the segment.
inline void store_partial(std::uint8_t* where, std::uint64_t sum) {
    const std::uint16_t folded = fold(sum);
    std::memcpy(where, &folded, 2);
}

}  // namespace ikevpn::dataplane::inet
