// Microbenchmark of the userspace ESP engine: 1400-octet IPv4 inner packets in batches of 32 through an
// outbound SA and the matching inbound SA, per ESP transform. Prints packets/s and Gbit/s, asserts nothing
// about time. Also counts global operator new calls on the packet path (should be 0).
//
//   ./esp_bench [seconds per transform, default 1] [--esn] [transform ...]
//
// Transforms (names as in a profile's "esp" list): aes128gcm16 aes256gcm16 chacha20poly1305
// aes128-sha256 aes128-sha384 aes128-sha512 aes256-sha256 aes256-sha384 aes256-sha512; none given = all.
#include "dataplane/engine.hpp"
#include "dataplane/esp_integrity.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>
#include <vector>

#include "tests/support/counting_new.hpp"

using ikevpn::test::new_calls;

using namespace ikevpn::dataplane;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t batch_size = 32;
constexpr std::size_t inner_size = 1400;

std::vector<std::uint8_t> inner_packet() {
    std::vector<std::uint8_t> p(inner_size, 0);
    p[0] = 0x45;
    p[2] = static_cast<std::uint8_t>(inner_size >> 8);
    p[3] = static_cast<std::uint8_t>(inner_size & 0xff);
    p[9] = 17;
    const std::uint8_t src[4] = {10, 0, 0, 1};
    const std::uint8_t dst[4] = {10, 0, 0, 2};
    std::memcpy(&p[12], src, 4);
    std::memcpy(&p[16], dst, 4);
    for (std::size_t i = 20; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>(i);
    return p;
}

struct Transform {
    const char* name;
    EspCipher cipher;
    unsigned key_bits;
    EspInteg integ;
};

constexpr Transform transforms[] = {
    {"aes128gcm16", EspCipher::aes_gcm_16, 128, EspInteg::none},
    {"aes256gcm16", EspCipher::aes_gcm_16, 256, EspInteg::none},
    {"chacha20poly1305", EspCipher::chacha20_poly1305, 256, EspInteg::none},
    {"aes128-sha256", EspCipher::aes_cbc, 128, EspInteg::hmac_sha2_256_128},
    {"aes128-sha384", EspCipher::aes_cbc, 128, EspInteg::hmac_sha2_384_192},
    {"aes128-sha512", EspCipher::aes_cbc, 128, EspInteg::hmac_sha2_512_256},
    {"aes256-sha256", EspCipher::aes_cbc, 256, EspInteg::hmac_sha2_256_128},
    {"aes256-sha384", EspCipher::aes_cbc, 256, EspInteg::hmac_sha2_384_192},
    {"aes256-sha512", EspCipher::aes_cbc, 256, EspInteg::hmac_sha2_512_256},
};

SaParams params(const Transform& t, Direction direction, bool esn) {
    SaParams p;
    p.spi = 0x01020304;
    p.direction = direction;
    p.cipher = t.cipher;
    p.key_bits = t.key_bits;
    // AEAD KEYMAT carries a 4-octet salt after the key; AES-CBC takes the key alone plus an HMAC key.
    p.key_material.assign(t.key_bits / 8 + (t.cipher == EspCipher::aes_cbc ? 0 : 4), 0x5a);
    p.integ = t.integ;
    p.integ_key.assign(EspIntegrity::key_size(t.integ), 0xa5);
    p.esn = esn;
    p.local_ts = {TrafficSelector::any_v4()};
    p.remote_ts = {TrafficSelector::any_v4()};
    return p;
}

void run(const Transform& t, bool esn, double seconds) {
    Engine sender;
    Engine receiver;
    if (sender.sas().install(params(t, Direction::outbound, esn)) != InstallResult::ok ||
        receiver.sas().install(params(t, Direction::inbound, esn)) != InstallResult::ok) {
        std::fprintf(stderr, "%s: install failed\n", t.name);
        std::exit(1);
    }
    PacketPool pool(batch_size);
    std::array<Packet, batch_size> batch{};
    for (Packet& p : batch) pool.acquire(p);
    const auto inner = inner_packet();

    Clock::duration encrypt_time{};
    Clock::duration decrypt_time{};
    std::uint64_t packets = 0;
    std::uint64_t failures = 0;
    std::uint64_t allocations = 0;
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    while (Clock::now() < deadline) {
        for (Packet& p : batch) {
            p.offset = pool.headroom();
            p.length = inner_size;
            p.spi = 0;
            std::memcpy(p.data(), inner.data(), inner_size);
        }
        const std::uint64_t before = new_calls.load(std::memory_order_relaxed);
        const auto t0 = Clock::now();
        sender.encrypt_batch(batch);
        const auto t1 = Clock::now();
        receiver.decrypt_batch(batch);
        const auto t2 = Clock::now();
        allocations += new_calls.load(std::memory_order_relaxed) - before;
        encrypt_time += t1 - t0;
        decrypt_time += t2 - t1;
        for (const Packet& p : batch) failures += p.result == PacketResult::ok ? 0 : 1;
        packets += batch_size;
    }
    const auto report = [&](const char* what, Clock::duration d) {
        const double s = std::chrono::duration<double>(d).count();
        std::printf("%-17s %-8s %10.0f packets/s %7.2f Gbit/s (inner octets)\n", t.name, what,
                    static_cast<double>(packets) / s, static_cast<double>(packets) * inner_size * 8 / s / 1e9);
    };
    report("encrypt", encrypt_time);
    report("decrypt", decrypt_time);
    report("both", encrypt_time + decrypt_time);
    std::printf("%-17s %llu packets, %llu failures, %.3f operator-new calls per packet\n", t.name,
                static_cast<unsigned long long>(packets), static_cast<unsigned long long>(failures),
                static_cast<double>(allocations) / static_cast<double>(packets ? packets : 1));
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = 1.0;
    bool esn = false;
    std::vector<const Transform*> chosen;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--esn") {
            esn = true;
            continue;
        }
        if (!arg.empty() && (arg[0] >= '0' && arg[0] <= '9')) {
            seconds = std::atof(argv[i]);
            if (seconds <= 0) seconds = 1.0;
            continue;
        }
        const Transform* found = nullptr;
        for (const Transform& t : transforms) {
            if (arg == t.name) found = &t;
        }
        if (found == nullptr) {
            std::fprintf(stderr, "unknown transform '%s'; known:", argv[i]);
            for (const Transform& t : transforms) std::fprintf(stderr, " %s", t.name);
            std::fprintf(stderr, "\n");
            return 2;
        }
        chosen.push_back(found);
    }
    if (chosen.empty()) {
        for (const Transform& t : transforms) chosen.push_back(&t);
    }
    std::printf("%zu-octet inner IPv4 packets, batches of %zu, one thread%s\n", inner_size, batch_size,
                esn ? ", ESN" : "");
    for (const Transform* t : chosen) run(*t, esn, seconds);
    return 0;
}
