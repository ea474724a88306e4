// PRF, prf+, IKE/CHILD key derivation, PSK AUTH and constant-time comparison.
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

struct HmacCase {
    const char* name;
    Bytes key;
    Bytes data;
    const char* sha256;
    const char* sha384;
    const char* sha512;
};

void check_hmac_case(const HmacCase& c) {
    CAPTURE(c.name);
    const auto sha256 = make_prf(PrfId::hmac_sha2_256);
    const auto sha384 = make_prf(PrfId::hmac_sha2_384);
    const auto sha512 = make_prf(PrfId::hmac_sha2_512);
    CHECK(to_hex(sha256->compute(c.key, c.data)) == c.sha256);
    CHECK(to_hex(sha384->compute(c.key, c.data)) == c.sha384);
    CHECK(to_hex(sha512->compute(c.key, c.data)) == c.sha512);
}

SecureBytes cat(std::initializer_list<ByteView> parts) {
    SecureBytes out;
    for (const ByteView p : parts) {
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

}  // namespace

TEST_CASE("make_prf: ids and output sizes (RFC 4868 §2.1)") {
    CHECK(make_prf(PrfId::hmac_sha2_256)->id() == PrfId::hmac_sha2_256);
    CHECK(make_prf(PrfId::hmac_sha2_256)->output_size() == 32);
    CHECK(make_prf(PrfId::hmac_sha2_384)->output_size() == 48);
    CHECK(make_prf(PrfId::hmac_sha2_512)->output_size() == 64);
    CHECK_THROWS_AS(make_prf(static_cast<PrfId>(3)), std::invalid_argument);
}

TEST_CASE("HMAC-SHA2: RFC 4231 test cases 1, 2, 6, 7") {
    // RFC 4231 §4.2: Test Case 1.
    check_hmac_case({"RFC 4231 4.2", Bytes(20, 0x0b), ascii("Hi There"),
                     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
                     "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
                     "faea9ea9076ede7f4af152e8b2fa9cb6",
                     "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
                     "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"});
    // RFC 4231 §4.3: Test Case 2 (a key shorter than the output).
    check_hmac_case({"RFC 4231 4.3", ascii("Jefe"), ascii("what do ya want for nothing?"),
                     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
                     "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
                     "8e2240ca5e69e2c78b3239ecfab21649",
                     "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
                     "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"});
    // RFC 4231 §4.7: Test Case 6 (a 131-byte key, larger than the block size).
    check_hmac_case({"RFC 4231 4.7", Bytes(131, 0xaa),
                     ascii("Test Using Larger Than Block-Size Key - Hash Key First"),
                     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
                     "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6"
                     "0c2ef6ab4030fe8296248df163f44952",
                     "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
                     "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"});
    // RFC 4231 §4.8: Test Case 7 (large key and large data).
    check_hmac_case({"RFC 4231 4.8", Bytes(131, 0xaa),
                     ascii("This is a test using a larger than block-size key and a larger than block-size "
                           "data. The key needs to be hashed before being used by the HMAC algorithm."),
                     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
                     "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5"
                     "a678cc31e799176d3860e6110c46523e",
                     "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
                     "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58"});
}

TEST_CASE("HMAC: very long and empty keys") {
    // RFC 2104 §2: a key longer than the block is replaced by H(key); a 10000-byte key (beyond Botan's
    // HMAC key length limit, e.g. a long PSK file) must still give the standard result. Expected values
    // computed independently with Python's hmac module (not a published vector).
    const Bytes long_key(10000, 0x5c);
    CHECK(to_hex(make_prf(PrfId::hmac_sha2_256)->compute(long_key, ascii("data"))) ==
          "c7c657c83b414f5bef4c8f220c18412b3e6768317cda1b9016806292d00ba0b6");
    CHECK(to_hex(make_prf(PrfId::hmac_sha2_512)->compute(long_key, ascii("data"))) ==
          "04607cd684058f567c9f4afef8f7837dfd9efea05f7a7e81055105cde1d04516"
          "34933be49402d669cc64cb2f031eb499b37ead7eb0b0ba4ba83498ae50ceb95a");
    // An empty key is legal for HMAC (zero-padded to the block).
    CHECK(to_hex(make_prf(PrfId::hmac_sha2_256)->compute({}, ascii("data"))) ==
          "e528c4d99e6177f5841f712a143b90843299a4aa181a06501422d9ca862bd2a5");
}

TEST_CASE("prf+: structure per RFC 7296 §2.13, computed by hand") {
    const auto prf = make_prf(PrfId::hmac_sha2_256);
    const Bytes key = hex("000102030405060708090a0b0c0d0e0f");
    const Bytes seed = ascii("seed material");

    // T1 = prf (K, S | 0x01), T2 = prf (K, T1 | S | 0x02), T3 = prf (K, T2 | S | 0x03)
    const Bytes one{0x01}, two{0x02}, three{0x03};
    const SecureBytes t1 = prf->compute(key, cat({seed, one}));
    const SecureBytes t2 = prf->compute(key, cat({t1, seed, two}));
    const SecureBytes t3 = prf->compute(key, cat({t2, seed, three}));
    const SecureBytes expected = cat({t1, t2, t3});

    CHECK(to_hex(prf_plus(*prf, key, seed, 96)) == to_hex(expected));
    // A length that is not a multiple of the block takes a prefix of the last block.
    const SecureBytes partial = prf_plus(*prf, key, seed, 70);
    CHECK(to_hex(partial) == to_hex(SecureBytes(expected.begin(), expected.begin() + 70)));
    CHECK(prf_plus(*prf, key, seed, 0).empty());
}

TEST_CASE("prf+: at most 255 blocks (RFC 7296 §2.13)") {
    const auto prf = make_prf(PrfId::hmac_sha2_256);
    const Bytes key(32, 0x11);
    CHECK(prf_plus(*prf, key, ascii("s"), 255 * 32).size() == 255 * 32);
    CHECK_THROWS_AS(prf_plus(*prf, key, ascii("s"), 255 * 32 + 1), std::invalid_argument);
    const auto prf512 = make_prf(PrfId::hmac_sha2_512);
    CHECK_THROWS_AS(prf_plus(*prf512, key, ascii("s"), 255 * 64 + 1), std::invalid_argument);
}

// No published IKEv2 key-derivation vector for the HMAC-SHA2 PRFs was found (the NIST CAVS IKEv2 KDF
// vectors we could locate use SHA-1). So: (1) recompute by hand from prf/prf+, (2) pin the result to
// values computed independently with Python's hmac/hashlib (a cross-implementation check, not a published
// vector). Inputs: Ni = 00..1f, Nr = 80..9f, g^ir = the RFC 5903 §8.1 x coordinate, SPIs below.
namespace {
const Bytes kdf_ni = hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
const Bytes kdf_nr = hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
const Bytes kdf_gir = hex("d6840f6b42f6edafd13116e0e12565202fef8e9ece7dce03812464d04b9442de");
const Bytes kdf_spi_i = hex("0123456789abcdef");
const Bytes kdf_spi_r = hex("fedcba9876543210");
}  // namespace

TEST_CASE("derive_ike_keys: SKEYSEED and the seven keys (RFC 7296 §2.14)") {
    const auto prf = make_prf(PrfId::hmac_sha2_256);
    // AES-128-GCM-16: SK_e* = 16-byte key + 4-byte salt = 20 bytes, no integrity keys.
    const IkeKeys keys = derive_ike_keys(*prf, kdf_ni, kdf_nr, kdf_gir, kdf_spi_i, kdf_spi_r, 20, 0);

    // By hand: SKEYSEED = prf(Ni | Nr, g^ir); keys = prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr).
    const SecureBytes skeyseed = prf->compute(cat({kdf_ni, kdf_nr}), kdf_gir);
    CHECK(to_hex(skeyseed) == "4a7e6bae0483e6084d745fde24ce18baa224a1eeb119497259a6fba35df50df2");
    const SecureBytes keymat =
        prf_plus(*prf, skeyseed, cat({kdf_ni, kdf_nr, kdf_spi_i, kdf_spi_r}), 3 * 32 + 2 * 20);
    const auto slice = [&](std::size_t offset, std::size_t length) {
        return to_hex(SecureBytes(keymat.begin() + static_cast<std::ptrdiff_t>(offset),
                                  keymat.begin() + static_cast<std::ptrdiff_t>(offset + length)));
    };
    CHECK(to_hex(keys.sk_d) == slice(0, 32));
    CHECK(keys.sk_ai.empty());
    CHECK(keys.sk_ar.empty());
    CHECK(to_hex(keys.sk_ei) == slice(32, 20));
    CHECK(to_hex(keys.sk_er) == slice(52, 20));
    CHECK(to_hex(keys.sk_pi) == slice(72, 32));
    CHECK(to_hex(keys.sk_pr) == slice(104, 32));

    // Cross-check against the independent Python computation.
    CHECK(to_hex(keys.sk_d) == "a00199ede1cdc674ad2e07bbea351288510a056375d1f87a15df1b4d1cea1a06");
    CHECK(to_hex(keys.sk_ei) == "bd28a92a7db660e00d20d0811dc27c58411f2cfa");
    CHECK(to_hex(keys.sk_er) == "0b3c5d8d294f423cf7c27214d5305c59d198d540");
    CHECK(to_hex(keys.sk_pi) == "8a7e0311eed2d7c7cbbc1d23e68a664ca01dc3dd4c0da7c75a977ad0a7b77b89");
    CHECK(to_hex(keys.sk_pr) == "488ea762188a67f6ad1a9060136fb137ebf5261509427a30cdb2d9a49c2a541e");
}

TEST_CASE("derive_ike_keys: integrity keys sit between SK_d and SK_ei") {
    const auto prf = make_prf(PrfId::hmac_sha2_384);
    const IkeKeys keys = derive_ike_keys(*prf, kdf_ni, kdf_nr, kdf_gir, kdf_spi_i, kdf_spi_r, 32, 48);
    const SecureBytes skeyseed = prf->compute(cat({kdf_ni, kdf_nr}), kdf_gir);
    const SecureBytes keymat =
        prf_plus(*prf, skeyseed, cat({kdf_ni, kdf_nr, kdf_spi_i, kdf_spi_r}), 3 * 48 + 2 * 48 + 2 * 32);
    CHECK(keys.sk_d.size() == 48);
    CHECK(to_hex(keys.sk_ai) == to_hex(SecureBytes(keymat.begin() + 48, keymat.begin() + 96)));
    CHECK(to_hex(keys.sk_ar) == to_hex(SecureBytes(keymat.begin() + 96, keymat.begin() + 144)));
    CHECK(to_hex(keys.sk_ei) == to_hex(SecureBytes(keymat.begin() + 144, keymat.begin() + 176)));
    CHECK(to_hex(keys.sk_er) == to_hex(SecureBytes(keymat.begin() + 176, keymat.begin() + 208)));
    CHECK(to_hex(keys.sk_pr) == to_hex(SecureBytes(keymat.begin() + 256, keymat.end())));
}

TEST_CASE("derive_child_keymat: KEYMAT = prf+(SK_d, Ni | Nr) (RFC 7296 §2.17)") {
    const auto prf = make_prf(PrfId::hmac_sha2_256);
    const IkeKeys keys = derive_ike_keys(*prf, kdf_ni, kdf_nr, kdf_gir, kdf_spi_i, kdf_spi_r, 20, 0);
    // Two AES-256-GCM ESP keys: 2 * (32 + 4) = 72 bytes.
    const SecureBytes keymat = derive_child_keymat(*prf, keys.sk_d, kdf_ni, kdf_nr, 72);
    CHECK(to_hex(keymat) == to_hex(prf_plus(*prf, keys.sk_d, cat({kdf_ni, kdf_nr}), 72)));
    // Independent Python computation.
    CHECK(to_hex(keymat) ==
          "1ae54389ab29f3255572595a2a94f9cfc74e513b6a894a5f625a92c7459d22b8c29a6d6776d25db04cd914ecd41148b3"
          "fa2ab9e9284ae9fa58bd449edd5bc1db3fa895341f66ed15");
}

TEST_CASE("psk_auth: AUTH = prf(prf(PSK, \"Key Pad for IKEv2\"), SignedOctets) (RFC 7296 §2.15)") {
    const auto prf = make_prf(PrfId::hmac_sha2_256);
    const IkeKeys keys = derive_ike_keys(*prf, kdf_ni, kdf_nr, kdf_gir, kdf_spi_i, kdf_spi_r, 20, 0);
    const Bytes psk = ascii("correct horse battery staple");
    Bytes real_message;
    for (int i = 0; i < 4; ++i) {
        append(real_message, hex("0011223344556677"));
    }
    Bytes id_body = hex("03000000");  // ID_RFC822_ADDR, 3 reserved octets
    append(id_body, ascii("alice@example.com"));

    const Bytes auth = psk_auth(*prf, psk, real_message, kdf_nr, keys.sk_pi, id_body);

    // By hand from the PRF.
    const SecureBytes maced_id = prf->compute(keys.sk_pi, id_body);
    const SecureBytes pad_key = prf->compute(psk, ascii("Key Pad for IKEv2"));
    const SecureBytes expected = prf->compute(pad_key, cat({real_message, kdf_nr, maced_id}));
    CHECK(to_hex(auth) == to_hex(expected));
    // Independent Python computation.
    CHECK(to_hex(auth) == "b8eb15213c1155091c1dd966f28dd9ab986ce311f5c9d52ac3b355abb2dfc6c6");

    // Any input change changes AUTH.
    CHECK(to_hex(psk_auth(*prf, ascii("wrong"), real_message, kdf_nr, keys.sk_pi, id_body)) != to_hex(auth));
    CHECK(to_hex(psk_auth(*prf, psk, real_message, kdf_ni, keys.sk_pi, id_body)) != to_hex(auth));
    CHECK(to_hex(psk_auth(*prf, psk, real_message, kdf_nr, keys.sk_pr, id_body)) != to_hex(auth));
}

TEST_CASE("equal_constant_time") {
    CHECK(equal_constant_time(hex("00112233"), hex("00112233")));
    CHECK_FALSE(equal_constant_time(hex("00112233"), hex("00112234")));
    CHECK_FALSE(equal_constant_time(hex("80112233"), hex("00112233")));
    CHECK_FALSE(equal_constant_time(hex("001122"), hex("00112233")));
    CHECK_FALSE(equal_constant_time({}, hex("00")));
    CHECK(equal_constant_time({}, {}));
}
