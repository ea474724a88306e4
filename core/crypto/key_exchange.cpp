// Ephemeral Diffie-Hellman for the KE payload (RFC 7296 §3.4): X25519 (RFC 8031) and ECP-256 (RFC 5903).
// Every check on the peer's public value follows RFC 6989 (wrong length, not on the curve, all-zero X25519
// result) and ends in nullopt: nothing a peer sends may throw out of here.
#include "core/crypto/crypto.hpp"

#include <botan/bigint.h>
#include <botan/curve25519.h>
#include <botan/ec_group.h>
#include <botan/ecdh.h>
#include <botan/pubkey.h>
#include <botan/system_rng.h>

#include <stdexcept>
#include <string>

namespace ikevpn::crypto {

namespace {

constexpr std::size_t x25519_size = 32;
constexpr std::size_t ecp256_coordinate_size = 32;
constexpr std::uint8_t sec1_uncompressed = 0x04;

// Lets Botan draw key-generation randomness from our injectable RandomSource (deterministic in tests).
class RandomSourceAdapter final : public Botan::RandomNumberGenerator {
public:
    explicit RandomSourceAdapter(RandomSource& source) : source_(source) {}
    void randomize(std::uint8_t output[], std::size_t length) override { source_.fill({output, length}); }
    bool accepts_input() const override { return false; }
    void add_entropy(const std::uint8_t[], std::size_t) override {}
    std::string name() const override { return "ikevpn::RandomSource"; }
    void clear() override {}
    bool is_seeded() const override { return true; }

private:
    RandomSource& source_;
};

std::optional<SecureBytes> agree(const Botan::Private_Key& key, ByteView peer_encoded) {
    try {
        // The system RNG only blinds the scalar multiplication; it never influences the result.
        const Botan::PK_Key_Agreement agreement(key, Botan::system_rng(), "Raw");
        return agreement.derive_key(0, peer_encoded.data(), peer_encoded.size()).bits_of();
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

// RFC 8031 §2: the KE payload carries the 32-octet u-coordinate; g^ir is the 32-octet X25519 output.
class X25519Exchange final : public KeyExchange {
public:
    explicit X25519Exchange(std::unique_ptr<Botan::X25519_PrivateKey> key) : key_(std::move(key)) {}

    DhGroup group() const override { return DhGroup::curve25519; }
    Bytes public_value() const override { return key_->public_value(); }

    std::optional<SecureBytes> shared_secret(ByteView peer_public) const override {
        if (peer_public.size() != x25519_size) {
            return std::nullopt;
        }
        auto secret = agree(*key_, peer_public);
        if (!secret || secret->size() != x25519_size) {
            return std::nullopt;
        }
        // RFC 8031 §2.3 / RFC 7748 §6.1: a low-order peer value yields all zeros; check without branching
        // on secret bytes.
        std::uint8_t any = 0;
        for (const std::uint8_t b : *secret) {
            any = static_cast<std::uint8_t>(any | b);
        }
        if (any == 0) {
            return std::nullopt;
        }
        return secret;
    }

private:
    std::unique_ptr<Botan::X25519_PrivateKey> key_;
};

// RFC 5903 §7: "the Diffie-Hellman public value is ... the concatenation of the x and y values",
// each of the field size, with no point-format octet; the shared secret is the x coordinate of g^ir.
class Ecp256Exchange final : public KeyExchange {
public:
    explicit Ecp256Exchange(std::unique_ptr<Botan::ECDH_PrivateKey> key) : key_(std::move(key)) {}

    DhGroup group() const override { return DhGroup::ecp256; }

    Bytes public_value() const override {
        const std::vector<std::uint8_t> sec1 = key_->public_value();  // 0x04 | x | y
        return Bytes(sec1.begin() + 1, sec1.end());
    }

    std::optional<SecureBytes> shared_secret(ByteView peer_public) const override {
        if (peer_public.size() != 2 * ecp256_coordinate_size) {
            return std::nullopt;
        }
        Bytes sec1;
        sec1.reserve(1 + peer_public.size());
        sec1.push_back(sec1_uncompressed);
        append(sec1, peer_public);
        // RFC 6989 §2.3: the peer's point must be on the curve (and not the point at infinity) before use.
        try {
            const Botan::EC_Group& group = key_->domain();
            const Botan::PointGFp point = group.OS2ECP(sec1.data(), sec1.size());
            if (!group.verify_public_element(point)) {
                return std::nullopt;
            }
        } catch (const std::exception&) {
            return std::nullopt;
        }
        auto secret = agree(*key_, sec1);
        if (!secret || secret->size() != ecp256_coordinate_size) {
            return std::nullopt;
        }
        return secret;
    }

private:
    std::unique_ptr<Botan::ECDH_PrivateKey> key_;
};

const Botan::EC_Group& secp256r1() {
    static const Botan::EC_Group group("secp256r1");
    return group;
}

[[noreturn]] void throw_unsupported(DhGroup group) {
    throw std::invalid_argument("unsupported key exchange method " + std::to_string(static_cast<int>(group)));
}

}  // namespace

std::unique_ptr<KeyExchange> make_key_exchange(DhGroup group, RandomSource& random) {
    RandomSourceAdapter rng(random);
    switch (group) {
    case DhGroup::curve25519:
        return std::make_unique<X25519Exchange>(std::make_unique<Botan::X25519_PrivateKey>(rng));
    case DhGroup::ecp256:
        return std::make_unique<Ecp256Exchange>(std::make_unique<Botan::ECDH_PrivateKey>(rng, secp256r1()));
    }
    throw_unsupported(group);
}

std::size_t key_exchange_public_size(DhGroup group) {
    switch (group) {
    case DhGroup::curve25519:
        return x25519_size;
    case DhGroup::ecp256:
        return 2 * ecp256_coordinate_size;
    }
    return 0;
}

std::unique_ptr<KeyExchange> make_key_exchange_from_private(DhGroup group, ByteView private_key) {
    switch (group) {
    case DhGroup::curve25519: {
        if (private_key.size() != x25519_size) {
            throw std::invalid_argument("X25519 private key must be 32 bytes");
        }
        const SecureBytes scalar(private_key.begin(), private_key.end());
        return std::make_unique<X25519Exchange>(std::make_unique<Botan::X25519_PrivateKey>(scalar));
    }
    case DhGroup::ecp256: {
        const Botan::BigInt scalar(private_key.data(), private_key.size());
        if (private_key.size() != ecp256_coordinate_size || scalar.is_zero() ||
            scalar >= secp256r1().get_order()) {
            throw std::invalid_argument("ECP-256 private key must be a 32-byte scalar in [1, n-1]");
        }
        return std::make_unique<Ecp256Exchange>(
            std::make_unique<Botan::ECDH_PrivateKey>(Botan::system_rng(), secp256r1(), scalar));
    }
    }
    throw_unsupported(group);
}

}  // namespace ikevpn::crypto
