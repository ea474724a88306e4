// Botan's RandomNumberGenerator over our injectable RandomSource; included only by core/crypto/*.cpp.
#pragma once
#include "core/crypto/crypto.hpp"

#include <botan/rng.h>

#include <cstdint>
#include <string>

namespace ikevpn::crypto {

// Botan draws key-generation and TLS randomness through this, so tests can make it deterministic.
class BotanRandom final : public Botan::RandomNumberGenerator {
public:
    explicit BotanRandom(RandomSource& source) : source_(source) {}
    void randomize(std::uint8_t output[], std::size_t length) override { source_.fill({output, length}); }
    bool accepts_input() const override { return false; }
    void add_entropy(const std::uint8_t[], std::size_t) override {}
    std::string name() const override { return "ikevpn::RandomSource"; }
    void clear() override {}
    bool is_seeded() const override { return true; }

private:
    RandomSource& source_;
};

} // namespace ikevpn::crypto
