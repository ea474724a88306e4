// ESP wire format helpers: header fields, the trailer (padding, pad length, next header), the inner packet's
// version and addresses, and the RFC 3948 demultiplexing of UDP port 4500. Pure functions on bytes, no
// cryptography: the transforms live behind esp_transform.hpp, the per-SA logic in esp_sa.hpp.
//
// ESP packet with AES-GCM (RFC 4303 §2, with RFC 4106 §3's 8-octet IV and 16-octet ICV; ChaCha20-Poly1305,
// RFC 7634 §2, has the same layout; AES-CBC + HMAC has a 16-octet IV, 16-octet blocks and a 16/24/32-octet ICV):
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |               Security Parameters Index (SPI)                 |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                      Sequence Number                          |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                 Initialization Vector (8 octets)              |
//  |                                                               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ <- encrypted from here
//  ~             Payload Data (tunnel mode: the inner IP packet)   ~
//  +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |               |     Padding (0-255 octets): 1, 2, 3, ...      |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                               |  Pad Length   | Next Header   |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ <- encrypted up to here
//  |             Integrity Check Value (16 octets)                 |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
#pragma once
#include "dataplane/packet.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

namespace ikevpn::dataplane::esp {

inline constexpr std::size_t header_size = 8;   // SPI + sequence number
inline constexpr std::size_t gcm_iv_size = 8;   // RFC 4106 §3.1
inline constexpr std::size_t gcm_icv_size = 16; // the "-16" in AES-GCM-16 (RFC 4106 §6)
inline constexpr std::size_t gcm_overhead_front = header_size + gcm_iv_size;
// Pad Length + Next Header, plus at most 3 padding octets for 4-octet alignment.
inline constexpr std::size_t max_trailer_size = 3 + 2;

inline constexpr std::uint8_t next_header_ipv4 = 4;
inline constexpr std::uint8_t next_header_ipv6 = 41;
inline constexpr std::uint8_t next_header_none = 59;  // RFC 4303 §2.6: dummy packet

inline std::uint32_t read_be32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
inline void write_be32(std::uint8_t* p, std::uint32_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 24);
    p[1] = static_cast<std::uint8_t>(v >> 16);
    p[2] = static_cast<std::uint8_t>(v >> 8);
    p[3] = static_cast<std::uint8_t>(v);
}
inline void write_be64(std::uint8_t* p, std::uint64_t v) {
    write_be32(p, static_cast<std::uint32_t>(v >> 32));
    write_be32(p + 4, static_cast<std::uint32_t>(v));
}

// RFC 3948 §2.2: on UDP port 4500 a payload that starts with four zero octets (the non-ESP marker) is IKE,
// anything else with a non-zero SPI is ESP; §2.3: a single 0xFF octet is a NAT-keepalive.
enum class Udp4500Kind : std::uint8_t { ike, esp, keepalive, malformed };
Udp4500Kind classify_udp4500(std::span<const std::uint8_t> payload);

// RFC 4303 §2.4: padding so that Pad Length and Next Header end on a 4-octet boundary.
inline std::size_t padding_for(std::size_t payload_length) { return (4 - (payload_length + 2) % 4) % 4; }
// The same for a cipher whose ciphertext must be a multiple of `alignment` octets (16 for AES-CBC,
// RFC 3602 §2.4); `alignment` is a power of two, at least 4.
inline std::size_t padding_for(std::size_t payload_length, std::size_t alignment) {
    return (alignment - (payload_length + 2) % alignment) % alignment;
}
// Pad Length + Next Header, plus at most 15 padding octets for 16-octet blocks.
inline constexpr std::size_t max_block_trailer_size = 15 + 2;

// Writes Padding (1, 2, 3, ...), Pad Length and Next Header at `at` (right after the payload).
// Returns the number of octets written: padding_for(payload_length) + 2.
std::size_t write_trailer(std::uint8_t* at, std::size_t payload_length, std::uint8_t next_header);
// The same for a cipher whose ciphertext must be a multiple of `alignment` (see padding_for above).
std::size_t write_trailer(std::uint8_t* at, std::size_t payload_length, std::uint8_t next_header,
                          std::size_t alignment);

struct Trailer {
    PacketResult result = PacketResult::malformed;  // ok or bad_padding / malformed
    std::size_t payload_length = 0;
    std::uint8_t next_header = 0;
};
// Validates the trailer at the end of a decrypted ESP payload: the pad length fits and the padding octets
// are 1, 2, 3, ... (RFC 4303 §2.4 asks the receiver to inspect the Padding field when the default padding
// scheme is in use, as it is for every transform the engine offers).
Trailer parse_trailer(std::span<const std::uint8_t> plaintext);

// 4 for an IPv4 packet, 41 for IPv6, judged by the version nibble and the minimum header size; 0 otherwise.
std::uint8_t next_header_for_inner(std::span<const std::uint8_t> inner);

// The inner packet's addresses (pointers into the packet), when it is long enough for its version.
struct InnerAddresses {
    bool valid = false;
    bool v6 = false;
    const std::uint8_t* source = nullptr;
    const std::uint8_t* destination = nullptr;
};
InnerAddresses inner_addresses(std::span<const std::uint8_t> inner);

}  // namespace ikevpn::dataplane::esp
