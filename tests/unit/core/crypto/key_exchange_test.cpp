// Key exchange: X25519 (RFC 7748, RFC 8031) and ECP-256 (RFC 5903), with the RFC 6989 public value checks.
#include "core/crypto/crypto.hpp"
#include "tests/unit/core/crypto/hex.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

using namespace ikevpn;
using namespace ikevpn::crypto;
using ikevpn::crypto::test::hex;
using ikevpn::crypto::test::to_hex;

namespace {

// Deterministic randomness: a counter stream starting at a seed.
class CounterRandom final : public RandomSource {
public:
    explicit CounterRandom(std::uint8_t seed) : next_(seed) {}
    void fill(std::span<std::uint8_t> out) override {
        for (auto& b : out) {
            b = next_++;
        }
    }

private:
    std::uint8_t next_;
};

// RFC 5903 §8.1, 256-bit Random ECP Group.
const Bytes ecp_i = hex("C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433");
const char* const ecp_gi =
    "dad0b65394221cf9b051e1feca5787d098dfe637fc90b9ef945d0c3772581180"
    "5271a0461cdb8252d61f1c456fa3e59ab1f45b33accf5f58389e0577b8990bb3";
const Bytes ecp_r = hex("C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53");
const char* const ecp_gr =
    "d12dfb5289c8d4f81208b70270398c342296970a0bccb74c736fc7554494bf63"
    "56fbf3ca366cc23e8157854c13c58d6aac23f046ada30f8353e74f33039872ab";
const char* const ecp_girx = "d6840f6b42f6edafd13116e0e12565202fef8e9ece7dce03812464d04b9442de";

// RFC 7748 §6.1.
const Bytes alice_private = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
const char* const alice_public = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
const Bytes bob_private = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
const char* const bob_public = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
const char* const x25519_shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

}  // namespace

TEST_CASE("key_exchange_public_size") {
    CHECK(key_exchange_public_size(DhGroup::curve25519) == 32);
    CHECK(key_exchange_public_size(DhGroup::ecp256) == 64);
    CHECK(key_exchange_public_size(static_cast<DhGroup>(5)) == 0);
}

TEST_CASE("ECP-256: RFC 5903 §8.1 known answer") {
    const auto initiator = make_key_exchange_from_private(DhGroup::ecp256, ecp_i);
    const auto responder = make_key_exchange_from_private(DhGroup::ecp256, ecp_r);
    CHECK(initiator->group() == DhGroup::ecp256);
    CHECK(to_hex(initiator->public_value()) == ecp_gi);
    CHECK(to_hex(responder->public_value()) == ecp_gr);

    const auto gir_i = initiator->shared_secret(hex(ecp_gr));
    const auto gir_r = responder->shared_secret(hex(ecp_gi));
    REQUIRE(gir_i.has_value());
    REQUIRE(gir_r.has_value());
    CHECK(to_hex(*gir_i) == ecp_girx);  // the x coordinate only (RFC 5903 §7)
    CHECK(to_hex(*gir_r) == ecp_girx);
}

TEST_CASE("X25519: RFC 7748 §6.1 known answer") {
    const auto alice = make_key_exchange_from_private(DhGroup::curve25519, alice_private);
    const auto bob = make_key_exchange_from_private(DhGroup::curve25519, bob_private);
    CHECK(alice->group() == DhGroup::curve25519);
    CHECK(to_hex(alice->public_value()) == alice_public);
    CHECK(to_hex(bob->public_value()) == bob_public);

    const auto k_alice = alice->shared_secret(hex(bob_public));
    const auto k_bob = bob->shared_secret(hex(alice_public));
    REQUIRE(k_alice.has_value());
    REQUIRE(k_bob.has_value());
    CHECK(to_hex(*k_alice) == x25519_shared);
    CHECK(to_hex(*k_bob) == x25519_shared);
}

TEST_CASE("make_key_exchange_from_private: bad private keys throw") {
    CHECK_THROWS_AS(make_key_exchange_from_private(DhGroup::curve25519, Bytes(31)), std::invalid_argument);
    CHECK_THROWS_AS(make_key_exchange_from_private(DhGroup::ecp256, Bytes(31, 1)), std::invalid_argument);
    CHECK_THROWS_AS(make_key_exchange_from_private(DhGroup::ecp256, Bytes(32, 0)), std::invalid_argument);
    // n itself is out of range.
    CHECK_THROWS_AS(make_key_exchange_from_private(
                        DhGroup::ecp256,
                        hex("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551")),
                    std::invalid_argument);
}

TEST_CASE("make_key_exchange: fresh keys agree, and draw from the injected RandomSource") {
    for (const DhGroup group : {DhGroup::curve25519, DhGroup::ecp256}) {
        CAPTURE(static_cast<int>(group));
        const auto system = make_system_random();
        const auto a = make_key_exchange(group, *system);
        const auto b = make_key_exchange(group, *system);
        CHECK(a->group() == group);
        CHECK(a->public_value().size() == key_exchange_public_size(group));
        CHECK(a->public_value() != b->public_value());
        const auto ab = a->shared_secret(b->public_value());
        const auto ba = b->shared_secret(a->public_value());
        REQUIRE(ab.has_value());
        REQUIRE(ba.has_value());
        CHECK(*ab == *ba);
        CHECK(ab->size() == 32);

        CounterRandom r1(7), r2(7), r3(9);
        const auto d1 = make_key_exchange(group, r1);
        const auto d2 = make_key_exchange(group, r2);
        const auto d3 = make_key_exchange(group, r3);
        CHECK(d1->public_value() == d2->public_value());
        CHECK(d1->public_value() != d3->public_value());
    }
    CounterRandom r(1);
    CHECK_THROWS_AS(make_key_exchange(static_cast<DhGroup>(5), r), std::invalid_argument);
}

TEST_CASE("system random fills the buffer") {
    const auto random = make_system_random();
    Bytes a(32), b(32);
    random->fill(a);
    random->fill(b);
    CHECK(a != b);
    CHECK(a != Bytes(32));
}

TEST_CASE("X25519: invalid peer values give nullopt (RFC 8031 §2.3, RFC 7748 §6.1)") {
    const auto alice = make_key_exchange_from_private(DhGroup::curve25519, alice_private);
    CHECK_FALSE(alice->shared_secret({}).has_value());
    CHECK_FALSE(alice->shared_secret(Bytes(31, 9)).has_value());
    CHECK_FALSE(alice->shared_secret(Bytes(33, 9)).has_value());
    CHECK_FALSE(alice->shared_secret(hex(std::string(bob_public) + "00")).has_value());
    // Low-order points make the result all-zero: u = 0 and u = 1 (RFC 7748 §6.1 "check for the all-zero
    // value").
    CHECK_FALSE(alice->shared_secret(Bytes(32, 0)).has_value());
    Bytes u_one(32, 0);
    u_one[0] = 1;
    CHECK_FALSE(alice->shared_secret(u_one).has_value());
}

TEST_CASE("ECP-256: invalid peer values give nullopt (RFC 6989 §2.3)") {
    const auto initiator = make_key_exchange_from_private(DhGroup::ecp256, ecp_i);
    const Bytes good = hex(ecp_gr);
    REQUIRE(initiator->shared_secret(good).has_value());

    SUBCASE("wrong lengths") {
        CHECK_FALSE(initiator->shared_secret({}).has_value());
        CHECK_FALSE(initiator->shared_secret(ByteView(good).first(63)).has_value());
        CHECK_FALSE(initiator->shared_secret(ByteView(good).first(32)).has_value());  // x only
        Bytes with_prefix{0x04};                                                     // SEC1, not RFC 5903
        append(with_prefix, good);
        CHECK_FALSE(initiator->shared_secret(with_prefix).has_value());
    }
    SUBCASE("off the curve") {
        Bytes bad = good;
        bad[63] ^= 0x01;  // y changed: (x, y') does not satisfy the curve equation
        CHECK_FALSE(initiator->shared_secret(bad).has_value());
        bad = good;
        bad[0] ^= 0x80;
        CHECK_FALSE(initiator->shared_secret(bad).has_value());
    }
    SUBCASE("the all-zero value (no encoding of the point at infinity)") {
        CHECK_FALSE(initiator->shared_secret(Bytes(64, 0)).has_value());
    }
    SUBCASE("coordinates not reduced modulo p") {
        CHECK_FALSE(initiator->shared_secret(Bytes(64, 0xff)).has_value());
        // x = p (= 0 mod p) with a y that would fit x = 0: still rejected as non-canonical or off-curve.
        Bytes not_reduced = hex("FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF");
        append(not_reduced, ByteView(good).subspan(32));
        CHECK_FALSE(initiator->shared_secret(not_reduced).has_value());
    }
}
