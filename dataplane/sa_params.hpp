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

// ESP transforms the engine implements. RFC 4106: AES-GCM with a 16-octet ICV (IKEv2 transform ID 20).
enum class EspCipher : std::uint8_t { aes_gcm_16 };

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
    unsigned key_bits = 128;  // 128 or 256
    // KEYMAT for this direction, RFC 4106 §8.1: AES key (key_bits/8 octets) followed by the 4-octet salt.
    SecureBytes key_material;
    bool esn = false;                 // extended sequence numbers: not supported yet (install fails)
    std::uint32_t replay_window = 1024;  // inbound only; at least 64, rounded up to a multiple of 64
    // From this host's point of view: local_ts covers our inner addresses, remote_ts the peer's side.
    // Inbound: decrypted source ∈ remote_ts and destination ∈ local_ts, else drop (ts_mismatch).
    // Outbound: the engine picks the SA whose local_ts holds the source and remote_ts the destination.
    // An empty list matches nothing.
    std::vector<TrafficSelector> local_ts;
    std::vector<TrafficSelector> remote_ts;
};

}  // namespace ikevpn::dataplane
