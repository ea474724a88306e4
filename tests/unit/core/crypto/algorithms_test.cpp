// The algorithms added for issue 3: ECP-384/521 and MODP key exchange, ChaCha20-Poly1305 and AES-CBC with
// HMAC as SK payload ciphers, the weak PRFs. Known answers cite their source documents.
#include "core/crypto/crypto.hpp"
#include "tests/unit/core/crypto/hex.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

using namespace ikevpn;
using namespace ikevpn::crypto;
using ikevpn::crypto::test::hex;
using ikevpn::crypto::test::to_hex;

namespace {

class CounterRandom final : public RandomSource {
public:
    explicit CounterRandom(std::uint8_t seed) : next_(seed) {}
    void fill(std::span<std::uint8_t> out) override {
        for (auto& b : out) b = next_++;
    }

private:
    std::uint8_t next_;
};

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

struct EcpVector {
    DhGroup group;
    const char* i;
    const char* gix;
    const char* giy;
    const char* r;
    const char* grx;
    const char* gry;
    const char* girx;
};

// RFC 5903 §8.2, 384-bit Random ECP Group.
const EcpVector ecp384{
    DhGroup::ecp384,
    "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655E35B538041E649EE3FAEF896783AB194",
    "667842D7D180AC2CDE6F74F37551F55755C7645C20EF73E31634FE72B4C55EE6DE3AC808ACB4BDB4C88732AEE95F41AA",
    "9482ED1FC0EEB9CAFC4984625CCFC23F65032149E0E144ADA024181535A0F38EEB9FCFF3C2C947DAE69B4C634573A81C",
    "41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060855CC9BDA0AA2942E0308312916B8ED2960E4BD55A7448FC",
    "E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D0D1AC43A0336DEF96FDA41D0774A3571",
    "DCFBEC7AACF3196472169E838430367F66EEBE3C6E70C416DD5F0C68759DD1FFF83FA40142209DFF5EAAD96DB9E6386C",
    "11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4D603135569B9E9D09CF5D4A270F59746",
};

// RFC 5903 §8.3, 521-bit Random ECP Group (every value is 66 octets: the leading zero bits are kept).
const EcpVector ecp521{
    DhGroup::ecp521,
    "0037ADE9319A89F4DABDB3EF411AACCCA5123C61ACAB57B5393DCE47608172A095AA85"
    "A30FE1C2952C6771D937BA9777F5957B2639BAB072462F68C27A57382D4A52",
    "0015417E84DBF28C0AD3C278713349DC7DF153C897A1891BD98BAB4357C9ECBEE1E3BF"
    "42E00B8E380AEAE57C2D107564941885942AF5A7F4601723C4195D176CED3E",
    "017CAE20B6641D2EEB695786D8C946146239D099E18E1D5A514C739D7CB4A10AD8A788"
    "015AC405D7799DC75E7B7D5B6CF2261A6A7F1507438BF01BEB6CA3926F9582",
    "0145BA99A847AF43793FDD0E872E7CDFA16BE30FDC780F97BCCC3F078380201E9C677D"
    "600B343757A3BDBF2A3163E4C2F869CCA7458AA4A4EFFC311F5CB151685EB9",
    "00D0B3975AC4B799F5BEA16D5E13E9AF971D5E9B984C9F39728B5E5739735A219B97C3"
    "56436ADC6E95BB0352F6BE64A6C2912D4EF2D0433CED2B6171640012D9460F",
    "015C68226383956E3BD066E797B623C27CE0EAC2F551A10C2C724D9852077B87220B65"
    "36C5C408A1D2AEBB8E86D678AE49CB57091F4732296579AB44FCD17F0FC56A",
    "01144C7D79AE6956BC8EDB8E7C787C4521CB086FA64407F97894E5E6B2D79B04D1427E"
    "73CA4BAA240A34786859810C06B3C715A3A8CC3151F2BEE417996D19F3DDEA",
};

}  // namespace

TEST_CASE("ECP-384 and ECP-521: RFC 5903 §8.2 and §8.3 known answers, x | y padded to the field size") {
    for (const EcpVector* v : {&ecp384, &ecp521}) {
        CAPTURE(static_cast<int>(v->group));
        const auto initiator = make_key_exchange_from_private(v->group, hex(v->i));
        const auto responder = make_key_exchange_from_private(v->group, hex(v->r));
        const std::string gi = lower(std::string(v->gix) + v->giy);
        const std::string gr = lower(std::string(v->grx) + v->gry);
        CHECK(initiator->group() == v->group);
        CHECK(to_hex(initiator->public_value()) == gi);
        CHECK(to_hex(responder->public_value()) == gr);
        CHECK(key_exchange_public_size(v->group) == gi.size() / 2);
        const auto from_i = initiator->shared_secret(hex(gr));
        const auto from_r = responder->shared_secret(hex(gi));
        REQUIRE(from_i);
        REQUIRE(from_r);
        CHECK(to_hex(*from_i) == lower(v->girx));
        CHECK(to_hex(*from_r) == lower(v->girx));
    }
    CHECK(key_exchange_public_size(DhGroup::ecp384) == 96);
    CHECK(key_exchange_public_size(DhGroup::ecp521) == 132);
}

TEST_CASE("ECP-384/521: invalid peer values give nullopt (RFC 6989 §2.3)") {
    const auto ke = make_key_exchange_from_private(DhGroup::ecp384, hex(ecp384.i));
    Bytes good = hex(std::string(ecp384.grx) + ecp384.gry);
    CHECK(ke->shared_secret(good));
    CHECK_FALSE(ke->shared_secret(Bytes(good.begin(), good.end() - 1)));  // short
    CHECK_FALSE(ke->shared_secret(Bytes(96, 0)));                        // (0, 0) is not on the curve
    Bytes off_curve = good;
    off_curve.back() ^= 1;
    CHECK_FALSE(ke->shared_secret(off_curve));
    const auto ke521 = make_key_exchange_from_private(DhGroup::ecp521, hex(ecp521.i));
    CHECK_FALSE(ke521->shared_secret(Bytes(132, 0xff)));  // coordinates beyond the field
    CHECK_FALSE(ke521->shared_secret(good));              // a P-384 value has the wrong length
    CHECK_THROWS_AS(make_key_exchange_from_private(DhGroup::ecp384, Bytes(48, 0)), std::invalid_argument);
    CHECK_THROWS_AS(make_key_exchange_from_private(DhGroup::ecp521, Bytes(48, 1)), std::invalid_argument);
}

TEST_CASE("MODP 14/15/16 (RFC 3526) and 2 (RFC 2409): sizes, agreement, RFC 6989 range checks") {
    CounterRandom random(7);
    for (const auto& [group, size] : {std::pair{DhGroup::modp1024, 128U}, std::pair{DhGroup::modp2048, 256U},
                                     std::pair{DhGroup::modp3072, 384U}, std::pair{DhGroup::modp4096, 512U}}) {
        CAPTURE(static_cast<int>(group));
        CHECK(key_exchange_public_size(group) == size);
        const auto a = make_key_exchange(group, random);
        const auto b = make_key_exchange(group, random);
        CHECK(a->group() == group);
        REQUIRE(a->public_value().size() == size);
        REQUIRE(b->public_value().size() == size);
        const auto ab = a->shared_secret(b->public_value());
        const auto ba = b->shared_secret(a->public_value());
        REQUIRE(ab);
        REQUIRE(ba);
        CHECK(ab->size() == size);  // g^ir padded to the length of the modulus (RFC 7296 §2.14)
        CHECK(*ab == *ba);
        if (group != DhGroup::modp2048) continue;
        // 1 < y < p-1: 0 and 1 are refused, 2 is fine; 2^2048-1 is above p; a wrong length is refused.
        Bytes value(size, 0);
        CHECK_FALSE(a->shared_secret(value));
        value.back() = 1;
        CHECK_FALSE(a->shared_secret(value));
        value.back() = 2;
        CHECK(a->shared_secret(value));
        CHECK_FALSE(a->shared_secret(Bytes(size, 0xff)));
        CHECK_FALSE(a->shared_secret(Bytes(size - 1, 5)));
        CHECK_FALSE(a->shared_secret(Bytes(size + 1, 5)));
    }
}

TEST_CASE("MODP from a fixed exponent: g^x for x = 2 is 4 (generator 2, RFC 3526)") {
    const auto ke = make_key_exchange_from_private(DhGroup::modp2048, Bytes{2});
    Bytes four(256, 0);
    four.back() = 4;
    CHECK(ke->public_value() == four);
    CHECK_THROWS_AS(make_key_exchange_from_private(DhGroup::modp2048, Bytes{1}), std::invalid_argument);
}

TEST_CASE("weak PRFs: RFC 2202 test case 1 for HMAC-MD5 and HMAC-SHA1") {
    const Bytes data{'H', 'i', ' ', 'T', 'h', 'e', 'r', 'e'};
    CHECK(to_hex(make_prf(PrfId::hmac_md5)->compute(Bytes(16, 0x0b), data)) == "9294727a3638bb1c13f48ef8158bfc9d");
    CHECK(to_hex(make_prf(PrfId::hmac_sha1)->compute(Bytes(20, 0x0b), data)) ==
          "b617318655057264e28bc0b6fb378c8ef146be00");
    CHECK(make_prf(PrfId::hmac_sha1)->output_size() == 20);
}

TEST_CASE("ChaCha20-Poly1305: RFC 8439 §2.8.2 through the salt | IV nonce of RFC 7634 §2") {
    // The RFC's 12-octet nonce 07000000 4041424344454647 is RFC 7634's salt (the last 4 octets of the key
    // material) followed by the 8-octet explicit IV.
    const Bytes key_material = hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f 07000000");
    const Bytes iv = hex("4041424344454647");
    const Bytes aad = hex("50515253c0c1c2c3c4c5c6c7");
    const std::string text =
        "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, "
        "sunscreen would be it.";
    const Bytes plaintext(text.begin(), text.end());
    const char* const expected =
        "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b"
        "1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
        "3ff4def08e4b7a9de576d26586cec64b6116"
        "1ae10b594f09e26a7e902ecbd0600691";
    CHECK(aead_key_material_size(EncrId::chacha20_poly1305, 0) == 36);
    const auto aead = make_aead(EncrId::chacha20_poly1305, 0, key_material);
    CHECK(aead->iv_size() == 8);
    CHECK(aead->tag_size() == 16);
    const Bytes sealed = aead->seal(iv, aad, plaintext);
    CHECK(to_hex(sealed) == expected);
    CHECK(aead->open(iv, aad, sealed) == plaintext);
    Bytes tampered = sealed;
    tampered[3] ^= 0x40;
    CHECK_FALSE(aead->open(iv, aad, tampered));
    CHECK_THROWS_AS(make_aead(EncrId::chacha20_poly1305, 0, Bytes(32)), std::invalid_argument);
}

TEST_CASE("AES-CBC with HMAC-SHA2: RFC 3602 §4 case #1 ciphertext, ICV over aad | IV | ciphertext") {
    // RFC 3602 §4 Case #1: AES-128-CBC, one block.
    const Bytes key = hex("06a9214036b8a15b512e03d534120006");
    const Bytes iv = hex("3dafba429d9eb430b422da802c9fac41");
    const std::string text = "Single block msg";
    const Bytes plaintext(text.begin(), text.end());
    const Bytes integ_key(32, 0x5a);
    const Bytes aad = hex("0102030405060708");
    const SkTransform t{EncrId::aes_cbc, 128, IntegId::hmac_sha2_256_128};
    CHECK(sk_encr_key_size(t) == 16);
    CHECK(sk_integ_key_size(t) == 32);  // RFC 4868 §2.1.2: the key is the hash output size
    const auto cipher = make_sk_cipher(t, key, integ_key);
    CHECK(cipher->iv_size() == 16);
    CHECK(cipher->block_size() == 16);
    CHECK(cipher->tag_size() == 16);  // RFC 4868: truncated to half
    const Bytes sealed = cipher->seal(iv, aad, plaintext);
    REQUIRE(sealed.size() == 32);
    CHECK(to_hex(ByteView(sealed).first(16)) == "e353779c1079aeb82708942dbe77181a");
    Bytes mac_input = aad;
    append(mac_input, iv);
    append(mac_input, ByteView(sealed).first(16));
    const auto full_mac = make_prf(PrfId::hmac_sha2_256)->compute(integ_key, mac_input);
    CHECK(to_hex(ByteView(sealed).last(16)) == to_hex(ByteView(full_mac.data(), 16)));
    CHECK(cipher->open(iv, aad, sealed) == plaintext);
}

TEST_CASE("CBC + HMAC: sizes per transform, and what make_sk_cipher refuses") {
    CHECK(sk_integ_key_size({EncrId::aes_cbc, 256, IntegId::hmac_sha2_384_192}) == 48);
    CHECK(sk_integ_key_size({EncrId::aes_cbc, 256, IntegId::hmac_sha2_512_256}) == 64);
    CHECK(sk_integ_key_size({EncrId::aes_cbc, 256, IntegId::hmac_sha1_96}) == 20);
    CHECK(sk_integ_key_size({EncrId::aes_gcm_16, 256, IntegId::none}) == 0);
    CHECK(sk_encr_key_size({EncrId::aes_gcm_16, 256, IntegId::none}) == 36);
    CHECK(sk_encr_key_size({EncrId::aes_cbc, 192, IntegId::hmac_sha2_256_128}) == 24);
    CHECK(sk_encr_key_size({EncrId::des3, 192, IntegId::hmac_sha1_96}) == 24);
    CHECK(make_sk_cipher({EncrId::aes_cbc, 256, IntegId::hmac_sha2_512_256}, Bytes(32), Bytes(64))->tag_size() == 32);
    CHECK(make_sk_cipher({EncrId::aes_cbc, 256, IntegId::hmac_sha2_384_192}, Bytes(32), Bytes(48))->tag_size() == 24);
    CHECK(make_sk_cipher({EncrId::des3, 192, IntegId::hmac_md5_96}, Bytes(24), Bytes(16))->block_size() == 8);
    CHECK_THROWS_AS(make_sk_cipher({EncrId::aes_cbc, 256, IntegId::none}, Bytes(32), {}), std::invalid_argument);
    CHECK_THROWS_AS(make_sk_cipher({EncrId::aes_gcm_16, 256, IntegId::hmac_sha2_256_128}, Bytes(36), Bytes(32)),
                    std::invalid_argument);
    CHECK_THROWS_AS(make_sk_cipher({EncrId::aes_cbc, 256, IntegId::hmac_sha2_256_128}, Bytes(16), Bytes(32)),
                    std::invalid_argument);
    CHECK_THROWS_AS(make_sk_cipher({EncrId::aes_cbc, 256, IntegId::hmac_sha2_256_128}, Bytes(32), Bytes(16)),
                    std::invalid_argument);
    CHECK_THROWS_AS(make_sk_cipher({EncrId::aes_cbc, 100, IntegId::hmac_sha2_256_128}, Bytes(12), Bytes(32)),
                    std::invalid_argument);
}

TEST_CASE("CBC + HMAC open(): the ICV is checked first; malformed input never throws") {
    const SkTransform t{EncrId::aes_cbc, 256, IntegId::hmac_sha2_384_192};
    const auto cipher = make_sk_cipher(t, Bytes(32, 1), Bytes(48, 2));
    const Bytes iv(16, 3), aad(28, 4), plaintext(48, 5);
    const Bytes sealed = cipher->seal(iv, aad, plaintext);
    REQUIRE(sealed.size() == 48 + 24);
    CHECK(cipher->open(iv, aad, sealed) == plaintext);
    for (std::size_t i = 0; i < sealed.size(); i += 7) {  // ciphertext and ICV bits
        Bytes bad = sealed;
        bad[i] ^= 0x01;
        CHECK_FALSE(cipher->open(iv, aad, bad));
    }
    Bytes bad_aad = aad;
    bad_aad[0] ^= 0x80;
    CHECK_FALSE(cipher->open(iv, bad_aad, sealed));
    Bytes bad_iv = iv;
    bad_iv[15] ^= 1;
    CHECK_FALSE(cipher->open(bad_iv, aad, sealed));  // the IV is covered by the ICV
    CHECK_FALSE(cipher->open(Bytes(8), aad, sealed));
    CHECK_FALSE(cipher->open(iv, aad, {}));
    CHECK_FALSE(cipher->open(iv, aad, Bytes(24)));       // an ICV but no ciphertext block
    CHECK_FALSE(cipher->open(iv, aad, Bytes(24 + 15)));  // not whole blocks
    CHECK_FALSE(cipher->open(iv, aad, ByteView(sealed).first(sealed.size() - 1)));
    CHECK_THROWS_AS(cipher->seal(iv, aad, Bytes(15)), std::invalid_argument);  // not whole blocks
    // Random IVs (RFC 7296 §3.14: unpredictable), not the message counter.
    Bytes iv1(16), iv2(16);
    cipher->make_iv(1, iv1);
    cipher->make_iv(1, iv2);
    CHECK(iv1 != iv2);
}
