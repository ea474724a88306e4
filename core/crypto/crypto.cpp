// Randomness and constant-time comparison: the small helpers every other crypto file builds on.
#include "core/crypto/crypto.hpp"

#include <botan/mem_ops.h>
#include <botan/system_rng.h>

namespace ikevpn::crypto {

namespace {

// The kernel's CSPRNG (getrandom) through Botan: no userspace state to seed, fork-safe.
class SystemRandom final : public RandomSource {
public:
    void fill(std::span<std::uint8_t> out) override { Botan::system_rng().randomize(out.data(), out.size()); }
};

}  // namespace

std::unique_ptr<RandomSource> make_system_random() { return std::make_unique<SystemRandom>(); }

bool equal_constant_time(ByteView a, ByteView b) {
    // Lengths are public (the ICV and AUTH sizes follow from the negotiated transforms); only the contents
    // must not leak through timing.
    if (a.size() != b.size()) {
        return false;
    }
    if (a.empty()) {
        return true;
    }
    return Botan::constant_time_compare(a.data(), b.data(), a.size());
}

}  // namespace ikevpn::crypto
