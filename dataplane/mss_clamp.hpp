// TCP MSS clamping for inner packets, so that TCP through the tunnel never builds segments that only fit
// after the ESP-in-UDP packet is fragmented (or that vanish where ICMP "too big" is filtered).
//
// A TCP MSS option in a SYN or SYN-ACK larger than the tunnel allows is lowered to the limit, and the TCP
// checksum is patched incrementally (RFC 1624 §3, eqn. 3: HC' = ~(~HC + ~m + m')), so the payload is
// never summed again. Packets are only inspected, never resized; anything that is not a well-formed
// first fragment of a TCP SYN with an MSS option is left alone.
//
// Why no ICMP "fragmentation needed" is generated here: the TUN device's MTU already bounds what the
// kernel hands us. The stack fragments a larger IPv4 packet without DF before it reaches the TUN queue
// and answers one with DF (and every IPv6 one) with ICMP itself, for local and forwarded traffic alike.
// TSO super-packets (TUN offloads, tcp_offload.hpp) exceed it only until they are split: each segment
// carries at most gso_size octets, the MSS the kernel's TCP derived from the TUN MTU.
#pragma once
#include <cstdint>
#include <span>

namespace ikevpn::dataplane {

// The largest MSS to allow on each inner IP version: the tunnel MTU minus the fixed IP and TCP headers
// (IPv4 20 + TCP 20 = 40, IPv6 40 + TCP 20 = 60; RFC 879 / RFC 6691 §2: MSS excludes both headers).
struct MssLimits {
    std::uint16_t v4 = 0;
    std::uint16_t v6 = 0;

    static MssLimits for_mtu(std::uint32_t mtu) {
        return {static_cast<std::uint16_t>(mtu > 40 + 536 ? (mtu > 65535 ? 65535 : mtu) - 40 : 536),
                static_cast<std::uint16_t>(mtu > 60 + 1220 ? (mtu > 65535 ? 65535 : mtu) - 60 : 1220)};
    }
};

enum class MssClampResult : std::uint8_t {
    not_applicable,  // not TCP, not a SYN, a non-first fragment, or no MSS option
    unchanged,       // a SYN whose MSS option is already within the limit
    clamped,         // the MSS option was lowered and the checksum patched
    malformed,       // lengths or options inconsistent; the packet was not changed
};

// Clamps the MSS option of a TCP SYN (or SYN-ACK) in `packet`, an IPv4 or IPv6 packet. Never throws,
// never reads outside `packet`.
MssClampResult clamp_tcp_mss(std::span<std::uint8_t> packet, const MssLimits& limits) noexcept;

// RFC 1624 §3 eqn. 3: the Internet checksum `checksum` after one 16-bit word of the summed data changed
// from `old_word` to `new_word`.
std::uint16_t checksum_adjust(std::uint16_t checksum, std::uint16_t old_word, std::uint16_t new_word) noexcept;

}  // namespace ikevpn::dataplane
