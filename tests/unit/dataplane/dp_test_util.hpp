// Helpers shared by the dataplane unit tests: hex decoding, inner packet builders, SA parameter pairs.
#pragma once
#include "dataplane/esp_integrity.hpp"
#include "dataplane/packet.hpp"
#include "dataplane/sa_params.hpp"

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ikevpn::dataplane::test {

inline std::vector<std::uint8_t> hex(std::string_view text) {
    std::vector<std::uint8_t> out;
    int high = -1;
    for (char c : text) {
        int v;
        if (c >= '0' && c <= '9') v = c - '0';
        else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
        else if (c == ' ' || c == '\n') continue;
        else throw std::invalid_argument("bad hex");
        if (high < 0) {
            high = v;
        } else {
            out.push_back(static_cast<std::uint8_t>(high << 4 | v));
            high = -1;
        }
    }
    if (high >= 0) throw std::invalid_argument("odd hex");
    return out;
}

// A minimal IPv4 packet (20-octet header, protocol 17) of `total` octets from src to dst; the payload
// octets count up so that corruption shows.
inline std::vector<std::uint8_t> ipv4_packet(std::array<std::uint8_t, 4> src, std::array<std::uint8_t, 4> dst,
                                             std::size_t total) {
    std::vector<std::uint8_t> p(total < 20 ? 20 : total, 0);
    p[0] = 0x45;
    p[2] = static_cast<std::uint8_t>(p.size() >> 8);
    p[3] = static_cast<std::uint8_t>(p.size());
    p[8] = 64;
    p[9] = 17;
    std::memcpy(&p[12], src.data(), 4);
    std::memcpy(&p[16], dst.data(), 4);
    for (std::size_t i = 20; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>(i * 7);
    return p;
}

inline std::vector<std::uint8_t> ipv6_packet(std::array<std::uint8_t, 16> src, std::array<std::uint8_t, 16> dst,
                                             std::size_t total) {
    std::vector<std::uint8_t> p(total < 40 ? 40 : total, 0);
    p[0] = 0x60;
    const std::size_t payload = p.size() - 40;
    p[4] = static_cast<std::uint8_t>(payload >> 8);
    p[5] = static_cast<std::uint8_t>(payload);
    p[6] = 17;
    p[7] = 64;
    std::memcpy(&p[8], src.data(), 16);
    std::memcpy(&p[24], dst.data(), 16);
    for (std::size_t i = 40; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>(i * 13);
    return p;
}

inline std::array<std::uint8_t, 16> v6(std::uint8_t last) {
    // 2001:db8::last
    std::array<std::uint8_t, 16> a{0x20, 0x01, 0x0d, 0xb8};
    a[15] = last;
    return a;
}

inline SecureBytes key_material(unsigned key_bits, std::uint8_t seed) {
    SecureBytes k(key_bits / 8 + 4);
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(seed + i * 3);
    return k;
}

// Parameters for one direction. `local`/`remote` are given from the point of view of the host owning
// the SA, so the peer's matching SA swaps them.
inline SaParams sa_params(std::uint32_t spi, Direction direction, unsigned key_bits, std::uint8_t key_seed,
                          std::vector<TrafficSelector> local, std::vector<TrafficSelector> remote) {
    SaParams p;
    p.spi = spi;
    p.direction = direction;
    p.key_bits = key_bits;
    p.key_material = key_material(key_bits, key_seed);
    p.local_ts = std::move(local);
    p.remote_ts = std::move(remote);
    return p;
}

// One ESP transform combination, named as in the profile's "esp" list and the benchmark's arguments.
struct Suite {
    const char* name;
    EspCipher cipher;
    unsigned key_bits;
    EspInteg integ;
};

inline constexpr Suite all_suites[] = {
    {"aes128gcm16", EspCipher::aes_gcm_16, 128, EspInteg::none},
    {"aes256gcm16", EspCipher::aes_gcm_16, 256, EspInteg::none},
    {"chacha20poly1305", EspCipher::chacha20_poly1305, 256, EspInteg::none},
    {"aes128-sha256", EspCipher::aes_cbc, 128, EspInteg::hmac_sha2_256_128},
    {"aes128-sha384", EspCipher::aes_cbc, 128, EspInteg::hmac_sha2_384_192},
    {"aes128-sha512", EspCipher::aes_cbc, 128, EspInteg::hmac_sha2_512_256},
    {"aes192-sha256", EspCipher::aes_cbc, 192, EspInteg::hmac_sha2_256_128},
    {"aes256-sha256", EspCipher::aes_cbc, 256, EspInteg::hmac_sha2_256_128},
    {"aes256-sha384", EspCipher::aes_cbc, 256, EspInteg::hmac_sha2_384_192},
    {"aes256-sha512", EspCipher::aes_cbc, 256, EspInteg::hmac_sha2_512_256},
    {"aes128-sha1", EspCipher::aes_cbc, 128, EspInteg::hmac_sha1_96},  // weak, behind allow_weak_algorithms
};

inline bool is_aead(const Suite& s) { return s.cipher != EspCipher::aes_cbc; }
inline std::size_t iv_size(const Suite& s) { return is_aead(s) ? 8 : 16; }
inline std::size_t icv_size(const Suite& s) { return is_aead(s) ? 16 : EspIntegrity::icv_size(s.integ); }
inline std::size_t alignment(const Suite& s) { return is_aead(s) ? 4 : 16; }

// Parameters of `suite` for one direction, keys derived from `seed` (both ends of a tunnel use the same).
inline SaParams suite_params(const Suite& suite, std::uint32_t spi, Direction direction, std::uint8_t seed,
                             std::vector<TrafficSelector> local, std::vector<TrafficSelector> remote,
                             bool esn = false) {
    SaParams p;
    p.spi = spi;
    p.direction = direction;
    p.cipher = suite.cipher;
    p.key_bits = suite.key_bits;
    p.key_material = key_material(suite.key_bits, seed);
    if (!is_aead(suite)) {
        p.key_material.resize(suite.key_bits / 8);  // AES-CBC: no salt
        p.integ = suite.integ;
        p.integ_key.resize(EspIntegrity::key_size(suite.integ));
        for (std::size_t i = 0; i < p.integ_key.size(); ++i) p.integ_key[i] = static_cast<std::uint8_t>(seed * 5 + i);
    }
    p.esn = esn;
    p.local_ts = std::move(local);
    p.remote_ts = std::move(remote);
    return p;
}

// Copies `bytes` into a buffer of `storage` at the given headroom and describes it as a packet.
inline Packet load(std::vector<std::uint8_t>& storage, const std::vector<std::uint8_t>& bytes,
                   std::uint32_t headroom = 64, std::uint32_t capacity = 2048) {
    storage.assign(capacity, 0xee);
    if (!bytes.empty()) std::memcpy(storage.data() + headroom, bytes.data(), bytes.size());
    Packet p;
    p.buffer = storage.data();
    p.capacity = capacity;
    p.offset = headroom;
    p.length = static_cast<std::uint32_t>(bytes.size());
    return p;
}

inline std::vector<std::uint8_t> bytes_of(const Packet& p) { return {p.data(), p.data() + p.length}; }

}  // namespace ikevpn::dataplane::test
