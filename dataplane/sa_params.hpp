// What the control plane hands the data plane for one direction of one CHILD SA. Plain values only: the
// negotiator (core/) fills this in from its ChildSa description; the data plane never parses IKE.
#pragma once
#include "core/crypto/secure_bytes.hpp"
#include "core/ip_address.hpp"

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

namespace ikevpn::dataplane {

enum class Direction : std::uint8_t { inbound, outbound };

// ESP encryption transforms the engine implements:
//   aes_gcm_16         RFC 4106, AES-GCM with a 16-octet ICV (IKEv2 ENCR transform ID 20), combined mode
//   chacha20_poly1305  RFC 7634 (IKEv2 ENCR transform ID 28), combined mode
//   aes_cbc            RFC 3602 (IKEv2 ENCR transform ID 12), needs an integrity transform
enum class EspCipher : std::uint8_t { aes_gcm_16, chacha20_poly1305, aes_cbc };

// ESP integrity transforms (RFC 4868; IKEv2 INTEG transform IDs 12, 13, 14; and HMAC-SHA1-96, RFC 2404,
// ID 2, only behind the profile's allow_weak_algorithms). `none` for the combined-mode ciphers, which
// RFC 7296 §3.3 forbids to combine with a separate integrity transform.
enum class EspInteg : std::uint8_t { none, hmac_sha2_256_128, hmac_sha2_384_192, hmac_sha2_512_256, hmac_sha1_96 };

// An address range [start, end] of one family, as IKEv2 traffic selectors carry them (RFC 7296 §3.13.1).
// This slice matches addresses only; protocol and ports are treated as "any".
struct TrafficSelector {
    bool v6 = false;
    std::array<std::uint8_t, 16> start{};  // only the first 4 bytes are used for IPv4
    std::array<std::uint8_t, 16> end{};

    static TrafficSelector v4_range(std::array<std::uint8_t, 4> first, std::array<std::uint8_t, 4> last) {
        TrafficSelector ts;
        std::memcpy(ts.start.data(), first.data(), 4);
        std::memcpy(ts.end.data(), last.data(), 4);
        return ts;
    }
    static TrafficSelector v6_range(std::array<std::uint8_t, 16> first, std::array<std::uint8_t, 16> last) {
        TrafficSelector ts;
        ts.v6 = true;
        ts.start = first;
        ts.end = last;
        return ts;
    }
    static TrafficSelector any_v4() { return v4_range({0, 0, 0, 0}, {255, 255, 255, 255}); }
    static TrafficSelector any_v6() {
        std::array<std::uint8_t, 16> ones{};
        ones.fill(0xff);
        return v6_range({}, ones);
    }
    // From the control plane's address values (families must match; the caller checks that).
    static TrafficSelector from_addresses(const IpAddress& first, const IpAddress& last) {
        TrafficSelector ts;
        ts.v6 = !first.is_v4();
        std::memcpy(ts.start.data(), first.bytes().data(), first.size());
        std::memcpy(ts.end.data(), last.bytes().data(), last.size());
        return ts;
    }

    // `address` is 4 or 16 network-order bytes (the inner packet's source or destination).
    bool contains(const std::uint8_t* address, bool address_v6) const {
        if (address_v6 != v6) return false;
        const std::size_t n = v6 ? 16 : 4;
        // Big-endian byte strings compare like the numbers they encode.
        return std::memcmp(start.data(), address, n) <= 0 && std::memcmp(address, end.data(), n) <= 0;
    }
};

struct SaParams {
    std::uint32_t spi = 0;  // the SPI as a number; written/read big-endian on the wire
    Direction direction = Direction::inbound;
    EspCipher cipher = EspCipher::aes_gcm_16;
    // AES-GCM: 128 or 256; ChaCha20-Poly1305: 256; AES-CBC: 128, 192 or 256.
    unsigned key_bits = 128;
    // The encryption KEYMAT for this direction:
    //   aes_gcm_16:        AES key (key_bits/8 octets) | 4-octet salt (RFC 4106 §8.1)
    //   chacha20_poly1305: 32-octet key | 4-octet salt (RFC 7634 §2)
    //   aes_cbc:           the AES key only (key_bits/8 octets)
    SecureBytes key_material;
    // Required for aes_cbc (and refused for the combined-mode ciphers). RFC 4868 §2.1: the integrity key
    // is exactly 32, 48 or 64 octets for HMAC-SHA-256-128, -384-192, -512-256.
    EspInteg integ = EspInteg::none;
    SecureBytes integ_key;
    // Extended (64-bit) sequence numbers, RFC 4303 §2.2.1: only the low 32 bits go on the wire; the high
    // half is inferred by the receiver (Appendix A) and authenticated in the ICV.
    bool esn = false;
    std::uint32_t replay_window = 1024;  // inbound only; at least 64, rounded up to a multiple of 64
    // From this host's point of view: local_ts covers our inner addresses, remote_ts the peer's side.
    // Inbound: decrypted source ∈ remote_ts and destination ∈ local_ts, else drop (ts_mismatch).
    // Outbound: the engine picks the SA whose local_ts holds the source and remote_ts the destination.
    // An empty list matches nothing.
    std::vector<TrafficSelector> local_ts;
    std::vector<TrafficSelector> remote_ts;
};

}  // namespace ikevpn::dataplane
