// AES-GCM-16 as used by the IKE SK payload (RFC 5282) and ESP (RFC 4106): key material = key | salt,
// nonce = salt | explicit IV.
#include "core/crypto/crypto.hpp"
#include "tests/unit/core/crypto/hex.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

using namespace ikevpn;
using namespace ikevpn::crypto;
using ikevpn::crypto::test::ascii;
using ikevpn::crypto::test::hex;
using ikevpn::crypto::test::to_hex;

namespace {

// McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", Appendix B, Test Cases 4 and 16: the
// 96-bit IV cafebabe facedbaddecaf888 splits exactly into an RFC 4106 salt (cafebabe) and explicit IV.
const Bytes gcm_plaintext = hex(
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
const Bytes gcm_aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
const Bytes gcm_salt = hex("cafebabe");
const Bytes gcm_iv = hex("facedbaddecaf888");

Bytes key_material(std::string_view key_hex) {
    Bytes out = hex(key_hex);
    append(out, gcm_salt);
    return out;
}

const Bytes key128 = key_material("feffe9928665731c6d6a8f9467308308");
const char* const tc4_ciphertext =
    "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
    "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091";
const char* const tc4_tag = "5bc94fbc3221a5db94fae95ae7121a47";

}  // namespace

TEST_CASE("aead_key_material_size: key + 4-byte salt (RFC 5282 §7.1)") {
    CHECK(aead_key_material_size(EncrId::aes_gcm_16, 128) == 20);
    CHECK(aead_key_material_size(EncrId::aes_gcm_16, 192) == 28);
    CHECK(aead_key_material_size(EncrId::aes_gcm_16, 256) == 36);
    CHECK_THROWS_AS(aead_key_material_size(EncrId::aes_gcm_16, 100), std::invalid_argument);
}

TEST_CASE("make_aead: wrong key material sizes throw") {
    CHECK_THROWS_AS(make_aead(EncrId::aes_gcm_16, 128, Bytes(16)), std::invalid_argument);
    CHECK_THROWS_AS(make_aead(EncrId::aes_gcm_16, 128, Bytes(36)), std::invalid_argument);
    CHECK_THROWS_AS(make_aead(EncrId::aes_gcm_16, 64, Bytes(12)), std::invalid_argument);
    CHECK_THROWS_AS(make_aead(static_cast<EncrId>(12), 128, Bytes(20)), std::invalid_argument);
    const auto aead = make_aead(EncrId::aes_gcm_16, 256, Bytes(36, 0x42));
    CHECK(aead->iv_size() == 8);
    CHECK(aead->tag_size() == 16);
}

TEST_CASE("AES-128-GCM: GCM spec Appendix B Test Case 4") {
    const auto aead = make_aead(EncrId::aes_gcm_16, 128, key128);
    const Bytes sealed = aead->seal(gcm_iv, gcm_aad, gcm_plaintext);
    CHECK(to_hex(sealed) == std::string(tc4_ciphertext) + tc4_tag);

    const auto opened = aead->open(gcm_iv, gcm_aad, sealed);
    REQUIRE(opened.has_value());
    CHECK(to_hex(*opened) == to_hex(gcm_plaintext));
}

TEST_CASE("AES-256-GCM: GCM spec Appendix B Test Case 16") {
    const auto aead =
        make_aead(EncrId::aes_gcm_16, 256, key_material("feffe9928665731c6d6a8f9467308308"
                                                        "feffe9928665731c6d6a8f9467308308"));
    CHECK(to_hex(aead->seal(gcm_iv, gcm_aad, gcm_plaintext)) ==
          "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
          "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
          "76fc6ece0f4e1768cddf8853bb2d551b");
}

TEST_CASE("AES-GCM: the salt is part of the nonce") {
    // Same key, different salt: a different keystream, and the other side cannot open it.
    Bytes other = hex("feffe9928665731c6d6a8f9467308308");
    append(other, hex("cafebabf"));
    const auto a = make_aead(EncrId::aes_gcm_16, 128, key128);
    const auto b = make_aead(EncrId::aes_gcm_16, 128, other);
    const Bytes sealed = b->seal(gcm_iv, gcm_aad, gcm_plaintext);
    CHECK(to_hex(sealed) != std::string(tc4_ciphertext) + tc4_tag);
    CHECK_FALSE(a->open(gcm_iv, gcm_aad, sealed).has_value());
}

TEST_CASE("AES-GCM: round trip, and any flipped bit makes open() fail") {
    const auto sender = make_aead(EncrId::aes_gcm_16, 256, Bytes(36, 0x17));
    const auto receiver = make_aead(EncrId::aes_gcm_16, 256, Bytes(36, 0x17));
    const Bytes iv = hex("0000000000000001");
    const Bytes aad = ascii("IKE header and SK payload header");
    const Bytes plaintext = ascii("IDi | AUTH | SA | TSi | TSr");
    const Bytes sealed = sender->seal(iv, aad, plaintext);
    REQUIRE(sealed.size() == plaintext.size() + 16);

    const auto opened = receiver->open(iv, aad, sealed);
    REQUIRE(opened.has_value());
    CHECK(*opened == plaintext);

    SUBCASE("ciphertext bit") {
        Bytes bad = sealed;
        bad[3] ^= 0x01;
        CHECK_FALSE(receiver->open(iv, aad, bad).has_value());
    }
    SUBCASE("tag bit") {
        Bytes bad = sealed;
        bad.back() ^= 0x80;
        CHECK_FALSE(receiver->open(iv, aad, bad).has_value());
    }
    SUBCASE("AAD bit") {
        Bytes bad_aad = aad;
        bad_aad[0] ^= 0x01;
        CHECK_FALSE(receiver->open(iv, bad_aad, sealed).has_value());
    }
    SUBCASE("IV bit") {
        Bytes bad_iv = iv;
        bad_iv[7] ^= 0x01;
        CHECK_FALSE(receiver->open(bad_iv, aad, sealed).has_value());
    }
    SUBCASE("truncated") {
        CHECK_FALSE(receiver->open(iv, aad, ByteView(sealed).first(sealed.size() - 1)).has_value());
    }
    // A failed open leaves the cipher usable for the next packet.
    Bytes bad = sealed;
    bad[0] ^= 0xff;
    CHECK_FALSE(receiver->open(iv, aad, bad).has_value());
    const auto again = receiver->open(iv, aad, sealed);
    REQUIRE(again.has_value());
    CHECK(*again == plaintext);
}

TEST_CASE("AES-GCM: empty plaintext and malformed peer input") {
    const auto aead = make_aead(EncrId::aes_gcm_16, 128, key128);
    const Bytes sealed = aead->seal(gcm_iv, {}, {});
    CHECK(sealed.size() == 16);
    const auto opened = aead->open(gcm_iv, {}, sealed);
    REQUIRE(opened.has_value());
    CHECK(opened->empty());

    // Shorter than the ICV, or an explicit IV of the wrong size: nullopt, not an exception.
    CHECK_FALSE(aead->open(gcm_iv, {}, Bytes(15)).has_value());
    CHECK_FALSE(aead->open(gcm_iv, {}, Bytes{}).has_value());
    CHECK_FALSE(aead->open(hex("00"), {}, sealed).has_value());
    CHECK_FALSE(aead->open(Bytes(12), {}, sealed).has_value());
    // Sealing with a wrong IV size is our own bug.
    CHECK_THROWS_AS(aead->seal(Bytes(12), {}, {}), std::invalid_argument);
}
