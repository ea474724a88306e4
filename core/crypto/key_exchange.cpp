// Ephemeral Diffie-Hellman for the KE payload (RFC 7296 §3.4): X25519 (RFC 8031), ECP-256/384/521
// (RFC 5903) and MODP groups 14-16 (RFC 3526; group 2 of RFC 2409 only as an opted-in weak group).
// Every check on the peer's public value follows RFC 6989 (wrong length, not on the curve, 1 < y < p-1,
// all-zero X25519 result) and ends in nullopt: nothing a peer sends may throw out of here.
#include "core/crypto/botan_random.hpp"
#include "core/crypto/crypto.hpp"

#include <botan/bigint.h>
#include <botan/curve25519.h>
#include <botan/dh.h>
#include <botan/dl_group.h>
#include <botan/ec_group.h>
#include <botan/ecdh.h>
#include <botan/pubkey.h>
#include <botan/system_rng.h>

#include <stdexcept>
#include <string>

namespace ikevpn::crypto {

namespace {

constexpr std::size_t x25519_size = 32;
constexpr std::uint8_t sec1_uncompressed = 0x04;

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
// each of the field size (32, 48 or 66 octets), with no point-format octet; the shared secret is the x
// coordinate of g^ir, also of the field size.
class EcpExchange final : public KeyExchange {
public:
    EcpExchange(DhGroup id, std::size_t coordinate_size, std::unique_ptr<Botan::ECDH_PrivateKey> key)
        : id_(id), coordinate_size_(coordinate_size), key_(std::move(key)) {}

    DhGroup group() const override { return id_; }

    Bytes public_value() const override {
        const std::vector<std::uint8_t> sec1 = key_->public_value();  // 0x04 | x | y
        return Bytes(sec1.begin() + 1, sec1.end());
    }

    std::optional<SecureBytes> shared_secret(ByteView peer_public) const override {
        if (peer_public.size() != 2 * coordinate_size_) {
            return std::nullopt;
        }
        Bytes sec1;
        sec1.reserve(1 + peer_public.size());
        sec1.push_back(sec1_uncompressed);
        append(sec1, peer_public);
        // RFC 6989 §2.3: the peer's point must be on the curve (and not the point at infinity) before use.
        // These curves have cofactor 1, so a valid point times our scalar is never the identity either.
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
        if (!secret || secret->size() != coordinate_size_) {
            return std::nullopt;
        }
        return secret;
    }

private:
    DhGroup id_;
    std::size_t coordinate_size_;
    std::unique_ptr<Botan::ECDH_PrivateKey> key_;
};

// RFC 7296 §3.4 / RFC 3526: the public value is g^x mod p; "g^ir is represented as a string of octets in
// big endian order padded with zeros if necessary to make it the length of the modulus" (§2.14).
//
// RFC 6989 §2.1: the peer's y must satisfy 1 < y < p-1. The further y^q = 1 test is not done: for these
// safe primes (p = 2q+1) the only small subgroups are {1} and {1, p-1}, which the range check already
// excludes, and our exponents are ephemeral — RFC 6989 §2.2 lets a safe-prime group skip it.
class ModpExchange final : public KeyExchange {
public:
    ModpExchange(DhGroup id, std::unique_ptr<Botan::DH_PrivateKey> key) : id_(id), key_(std::move(key)) {}

    DhGroup group() const override { return id_; }
    Bytes public_value() const override { return Botan::unlock(Botan::BigInt::encode_1363(key_->get_y(), size())); }

    std::optional<SecureBytes> shared_secret(ByteView peer_public) const override {
        if (peer_public.size() != size()) {
            return std::nullopt;
        }
        const Botan::BigInt y(peer_public.data(), peer_public.size());
        const Botan::BigInt& p = key_->group_p();
        if (y <= 1 || y >= p - 1) {
            return std::nullopt;
        }
        auto secret = agree(*key_, peer_public);
        if (!secret || secret->size() > size()) {
            return std::nullopt;
        }
        SecureBytes padded(size() - secret->size(), 0);
        padded.insert(padded.end(), secret->begin(), secret->end());
        return padded;
    }

private:
    std::size_t size() const { return key_->group_p().bytes(); }

    DhGroup id_;
    std::unique_ptr<Botan::DH_PrivateKey> key_;
};

struct EcpCurve {
    const Botan::EC_Group& group;
    std::size_t coordinate_size;
};

// Function-local statics: each group's parameters are decoded once, on first use.
std::optional<EcpCurve> ecp_curve(DhGroup group) {
    switch (group) {
    case DhGroup::ecp256: { static const Botan::EC_Group g("secp256r1"); return EcpCurve{g, 32}; }
    case DhGroup::ecp384: { static const Botan::EC_Group g("secp384r1"); return EcpCurve{g, 48}; }
    case DhGroup::ecp521: { static const Botan::EC_Group g("secp521r1"); return EcpCurve{g, 66}; }
    default: return std::nullopt;
    }
}

// RFC 3526 §3-§5 (groups 14-16) and RFC 2409 §6.2 (group 2), generator 2, as Botan names them.
const Botan::DL_Group* modp_group(DhGroup group) {
    switch (group) {
    case DhGroup::modp1024: { static const Botan::DL_Group g("modp/ietf/1024"); return &g; }
    case DhGroup::modp2048: { static const Botan::DL_Group g("modp/ietf/2048"); return &g; }
    case DhGroup::modp3072: { static const Botan::DL_Group g("modp/ietf/3072"); return &g; }
    case DhGroup::modp4096: { static const Botan::DL_Group g("modp/ietf/4096"); return &g; }
    default: return nullptr;
    }
}

[[noreturn]] void throw_unsupported(DhGroup group) {
    throw std::invalid_argument("unsupported key exchange method " + std::to_string(static_cast<int>(group)));
}

}  // namespace

std::unique_ptr<KeyExchange> make_key_exchange(DhGroup group, RandomSource& random) {
    BotanRandom rng(random);
    if (group == DhGroup::curve25519)
        return std::make_unique<X25519Exchange>(std::make_unique<Botan::X25519_PrivateKey>(rng));
    if (auto curve = ecp_curve(group))
        return std::make_unique<EcpExchange>(group, curve->coordinate_size,
                                             std::make_unique<Botan::ECDH_PrivateKey>(rng, curve->group));
    if (const auto* modp = modp_group(group))
        return std::make_unique<ModpExchange>(group, std::make_unique<Botan::DH_PrivateKey>(rng, *modp));
    throw_unsupported(group);
}

std::size_t key_exchange_public_size(DhGroup group) {
    if (group == DhGroup::curve25519) return x25519_size;
    if (auto curve = ecp_curve(group)) return 2 * curve->coordinate_size;
    if (const auto* modp = modp_group(group)) return modp->get_p().bytes();
    return 0;
}

std::unique_ptr<KeyExchange> make_key_exchange_from_private(DhGroup group, ByteView private_key) {
    if (group == DhGroup::curve25519) {
        if (private_key.size() != x25519_size) {
            throw std::invalid_argument("X25519 private key must be 32 bytes");
        }
        const SecureBytes scalar(private_key.begin(), private_key.end());
        return std::make_unique<X25519Exchange>(std::make_unique<Botan::X25519_PrivateKey>(scalar));
    }
    if (auto curve = ecp_curve(group)) {
        const Botan::EC_Group& ec = curve->group;
        const Botan::BigInt scalar(private_key.data(), private_key.size());
        if (private_key.size() != curve->coordinate_size || scalar.is_zero() || scalar >= ec.get_order()) {
            throw std::invalid_argument("ECP private key must be a scalar of the field size in [1, n-1]");
        }
        return std::make_unique<EcpExchange>(group, curve->coordinate_size,
                                             std::make_unique<Botan::ECDH_PrivateKey>(Botan::system_rng(), ec, scalar));
    }
    if (const auto* modp = modp_group(group)) {
        const Botan::DL_Group& dl = *modp;
        const Botan::BigInt x(private_key.data(), private_key.size());
        if (x <= 1 || x >= dl.get_p() - 1) throw std::invalid_argument("MODP private exponent must be in (1, p-1)");
        return std::make_unique<ModpExchange>(group, std::make_unique<Botan::DH_PrivateKey>(Botan::system_rng(), dl, x));
    }
    throw_unsupported(group);
}

}  // namespace ikevpn::crypto
