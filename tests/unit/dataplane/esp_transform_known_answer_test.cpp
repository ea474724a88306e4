// Known-answer tests of the ChaCha20-Poly1305 and AES-CBC + HMAC-SHA2 ESP transforms.
//
// RFC 7634 Appendix A ("ESP Example"): tunnel-mode ESP with ChaCha20-Poly1305.
//   KEYMAT 808182...9f | salt a0a1a2a3, SPI 0x01020304, Sequence Number 5, IV 1011121314151617,
//   an 84-octet IPv4 ICMP echo request (198.51.100.5 → 192.0.2.5), padding 01 02, Pad Length 2,
//   Next Header 4; the AAD is SPI | Seq (no ESN).
// RFC 4868 §2.7.2 (Authenticator test vectors): AUTH256-1, AUTH256-2, AUTH384-1, AUTH512-1, AUTH512-2 —
//   the truncated ICV (HMAC-SHA-256-128, -384-192, -512-256).
// RFC 3602 §4 (Test Vectors): Cases #2, #3 and #4, AES-128-CBC with the stated 16-octet IV.
#include "dataplane/aead_esp.hpp"
#include "dataplane/aes_cbc_hmac_esp.hpp"
#include "dataplane/esp_format.hpp"
#include "dataplane/esp_integrity.hpp"
#include "dataplane/esp_sa.hpp"

#include "dp_test_util.hpp"

#include <doctest/doctest.h>

#include <string_view>

using namespace ikevpn::dataplane;
using ikevpn::SecureBytes;

namespace {

SecureBytes secure(std::string_view hex_text) {
    const auto b = test::hex(hex_text);
    return SecureBytes(b.begin(), b.end());
}

std::vector<std::uint8_t> concat(std::initializer_list<std::string_view> parts) {
    std::vector<std::uint8_t> out;
    for (auto part : parts) {
        const auto b = test::hex(part);
        out.insert(out.end(), b.begin(), b.end());
    }
    return out;
}

// RFC 7634 Appendix A.
constexpr std::string_view rfc7634_keymat =
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f a0a1a2a3";
constexpr std::uint32_t rfc7634_spi = 0x01020304;
constexpr std::string_view rfc7634_header = "01020304 00000005";
constexpr std::string_view rfc7634_iv = "1011121314151617";
constexpr std::string_view rfc7634_inner =
    "45000054a6f200004001e778c6336405c000020508005b7a3a080000553bec10"
    "0007362708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223"
    "2425262728292a2b2c2d2e2f3031323334353637";
constexpr std::string_view rfc7634_trailer = "01020204";
constexpr std::string_view rfc7634_ciphertext =
    "24039428b97f417e3c13753a4f05087b67c352e6a7fab1b982d466ef407ae5c6"
    "14ee8099d52844eb61aa95dfab4c02f72aa71e7c4c4f64c9befe2facc638e8f3"
    "cbec163fac469b502773f6fb94e664da9165b82829f641e0";
constexpr std::string_view rfc7634_tag = "76aaa8266b7fb0f7b11b369907e1ad43";

SaParams rfc7634_params(Direction direction) {
    SaParams p;
    p.spi = rfc7634_spi;
    p.direction = direction;
    p.cipher = EspCipher::chacha20_poly1305;
    p.key_bits = 256;
    p.key_material = secure(rfc7634_keymat);
    p.local_ts = {TrafficSelector::any_v4()};
    p.remote_ts = {TrafficSelector::any_v4()};
    return p;
}

}  // namespace

TEST_CASE("RFC 7634 Appendix A: the ChaCha20-Poly1305 transform gives the stated ciphertext and tag") {
    AeadEsp transform(EspCipher::chacha20_poly1305, secure(rfc7634_keymat), Direction::outbound);
    CHECK(transform.iv_length() == 8);
    CHECK(transform.icv_length() == 16);
    CHECK(transform.alignment() == 4);
    const auto aad = test::hex(rfc7634_header);
    const auto iv = test::hex(rfc7634_iv);
    auto text = concat({rfc7634_inner, rfc7634_trailer});
    std::vector<std::uint8_t> icv(16);
    REQUIRE(transform.seal(aad, iv.data(), text, icv.data()));
    CHECK(text == test::hex(rfc7634_ciphertext));
    CHECK(icv == test::hex(rfc7634_tag));

    AeadEsp receiver(EspCipher::chacha20_poly1305, secure(rfc7634_keymat), Direction::inbound);
    REQUIRE(receiver.open(aad, iv.data(), text, icv.data()));
    CHECK(text == concat({rfc7634_inner, rfc7634_trailer}));
}

TEST_CASE("RFC 7634 Appendix A: an outbound SA reproduces the whole ESP packet, an inbound SA opens it") {
    EspSa out(rfc7634_params(Direction::outbound));
    REQUIRE(out.skip_sequence_to(5));
    std::vector<std::uint8_t> storage;
    Packet p = test::load(storage, test::hex(rfc7634_inner));
    REQUIRE(out.encapsulate_with_iv(p, test::hex(rfc7634_iv)) == PacketResult::ok);
    const auto expected = concat({rfc7634_header, rfc7634_iv, rfc7634_ciphertext, rfc7634_tag});
    CHECK(test::bytes_of(p) == expected);
    CHECK(out.next_sequence() == 6);
    // A wrong-sized IV override is refused, not read past.
    Packet q = test::load(storage, test::hex(rfc7634_inner));
    CHECK(out.encapsulate_with_iv(q, std::vector<std::uint8_t>(16)) == PacketResult::malformed);

    EspSa in(rfc7634_params(Direction::inbound));
    Packet r = test::load(storage, expected);
    REQUIRE(in.decapsulate(r) == PacketResult::ok);
    CHECK(test::bytes_of(r) == test::hex(rfc7634_inner));
    CHECK(in.counters().packets_in == 1);
    CHECK(in.replay_window()->highest() == 5);
}

TEST_CASE("RFC 7634 Appendix A packet with any bit flipped after the SPI fails the ICV") {
    const auto original = concat({rfc7634_header, rfc7634_iv, rfc7634_ciphertext, rfc7634_tag});
    for (std::size_t i = 4; i < original.size(); i += 3) {
        CAPTURE(i);
        EspSa in(rfc7634_params(Direction::inbound));
        auto corrupted = original;
        corrupted[i] ^= 0x04;
        std::vector<std::uint8_t> storage;
        Packet p = test::load(storage, corrupted);
        REQUIRE(in.decapsulate(p) == PacketResult::icv);
        REQUIRE(in.replay_window()->highest() == 0);
    }
}

TEST_CASE("RFC 4868 §2.7.2 authenticator test vectors: the truncated ICVs") {
    struct Vector {
        const char* name;
        EspInteg integ;
        std::string_view key;
        std::string_view data;
        std::string_view icv;
    };
    const std::string jefe32 = "4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656665";
    const std::string jefe64 = jefe32 + jefe32;
    const std::string what = "7768617420646f2079612077616e7420666f72206e6f7468696e673f";  // "what do ya want for nothing?"
    const std::string hi_there = "4869205468657265";
    auto repeat = [](std::string_view octet, std::size_t n) {
        std::string s;
        for (std::size_t i = 0; i < n; ++i) s += octet;
        return s;
    };
    const std::string key256 = repeat("0b", 32);
    const std::string key384 = repeat("0b", 48);
    const std::string key512 = repeat("0b", 64);
    const std::string key160 = repeat("0b", 20);
    const Vector vectors[] = {
        {"AUTH256-1", EspInteg::hmac_sha2_256_128, key256, hi_there, "198a607eb44bfbc69903a0f1cf2bbdc5"},
        {"AUTH256-2", EspInteg::hmac_sha2_256_128, jefe32, what, "167f928588c5cc2eef8e3093caa0e87c"},
        {"AUTH384-1", EspInteg::hmac_sha2_384_192, key384, hi_there, "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee973"},
        {"AUTH512-1", EspInteg::hmac_sha2_512_256, key512, hi_there,
         "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8"},
        {"AUTH512-2", EspInteg::hmac_sha2_512_256, jefe64, what,
         "cb370917ae8a7ce28cfd1d8f4705d6141c173b2a9362c15df235dfb251b15454"},
        // RFC 2202 §3 test case 1 (HMAC-SHA-1), truncated to 96 bits as RFC 2404 §2 does (weak, opt-in).
        {"HMAC-SHA1-96", EspInteg::hmac_sha1_96, key160, hi_there, "b617318655057264e28bc0b6"},
    };
    for (const Vector& v : vectors) {
        CAPTURE(v.name);
        EspIntegrity integrity(v.integ, test::hex(v.key));
        const auto data = test::hex(v.data);
        const auto expected = test::hex(v.icv);
        REQUIRE(integrity.icv_size() == expected.size());
        std::vector<std::uint8_t> icv(expected.size());
        integrity.compute(data, {}, icv.data());
        CHECK(icv == expected);
        // Splitting the input between data and trailer changes nothing (ESN appends its high half this way).
        std::vector<std::uint8_t> split(expected.size());
        integrity.compute({data.data(), 3}, {data.data() + 3, data.size() - 3}, split.data());
        CHECK(split == expected);
        CHECK(integrity.verify(data, {}, expected.data()));
        auto wrong = expected;
        wrong.back() ^= 1;
        CHECK_FALSE(integrity.verify(data, {}, wrong.data()));
        wrong = expected;
        wrong.front() ^= 0x80;
        CHECK_FALSE(integrity.verify(data, {}, wrong.data()));
    }
}

TEST_CASE("integrity keys of the wrong length are refused (RFC 4868 §2.1.1)") {
    CHECK_THROWS_AS(EspIntegrity(EspInteg::hmac_sha2_256_128, std::vector<std::uint8_t>(20)), std::invalid_argument);
    CHECK_THROWS_AS(EspIntegrity(EspInteg::hmac_sha2_384_192, std::vector<std::uint8_t>(32)), std::invalid_argument);
    CHECK_THROWS_AS(EspIntegrity(EspInteg::hmac_sha2_512_256, std::vector<std::uint8_t>(48)), std::invalid_argument);
    CHECK_THROWS_AS(EspIntegrity(EspInteg::none, std::vector<std::uint8_t>()), std::invalid_argument);
}

TEST_CASE("RFC 3602 §4 Cases #2-#4: AES-128-CBC ciphertext with the stated IV; the ICV covers SPI..ciphertext") {
    struct Vector {
        const char* name;
        std::string_view key;
        std::string_view iv;
        std::string_view plaintext;
        std::string_view ciphertext;
    };
    const Vector vectors[] = {
        {"Case #2", "c286696d887c9aa0611bbb3e2025a45a", "562e17996d093d28ddb3ba695a2e6f58",
         "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
         "d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1"},
        // "This is a 48-byte message (exactly 3 AES blocks)"
        {"Case #3", "6c3ea0477630ce21a2ce334aa746c2cd", "c782dc4c098c66cbd9cd27d825682c81",
         "5468697320697320612034382d62797465206d657373616765202865786163746c7920332041455320626c6f636b7329",
         "d0a02b3836451753d493665d33f0e8862dea54cdb293abc7506939276772f8d5021c19216bad525c8579695d83ba2684"},
        {"Case #4", "56e47a38c5598974bc46903dba290349", "8ce82eefbea0da3c44699ed7db51b7d9",
         "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
         "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf",
         "c30e32ffedc0774e6aff6af0869f71aa0f3af07a9a31a9c684db207eb0ef8e4e"
         "35907aa632c3ffdf868bb7b29d3d46ad83ce9f9a102ee99d49a53e87f4c3da55"},
    };
    const auto integ_key = test::hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    for (const Vector& v : vectors) {
        for (bool esn : {false, true}) {
            CAPTURE(v.name);
            CAPTURE(esn);
            const auto key = test::hex(v.key);
            const auto plaintext = test::hex(v.plaintext);
            AesCbcHmacEsp sender(key, EspInteg::hmac_sha2_256_128, integ_key, Direction::outbound);
            // SPI | Seq | IV | text | ICV, laid out as in a packet.
            auto packet = concat({"00004321 00000001", v.iv, v.plaintext, "00000000000000000000000000000000"});
            const std::span<std::uint8_t> text(packet.data() + 24, plaintext.size());
            const EspFrame frame{packet.data(), text, packet.data() + 24 + plaintext.size(), esn, 0x0000abcd};
            REQUIRE(sender.seal(frame));
            CHECK(std::vector<std::uint8_t>(text.begin(), text.end()) == test::hex(v.ciphertext));

            // RFC 4303 §2.2.1 / §3.3.2.2: ICV = HMAC over SPI | Seq | IV | ciphertext (| Seq high with ESN).
            EspIntegrity reference(EspInteg::hmac_sha2_256_128, integ_key);
            std::vector<std::uint8_t> expected_icv(16);
            const std::vector<std::uint8_t> high = {0x00, 0x00, 0xab, 0xcd};
            reference.compute({packet.data(), 24 + plaintext.size()},
                              esn ? std::span<const std::uint8_t>(high) : std::span<const std::uint8_t>(),
                              expected_icv.data());
            CHECK(std::vector<std::uint8_t>(frame.icv, frame.icv + 16) == expected_icv);

            AesCbcHmacEsp receiver(key, EspInteg::hmac_sha2_256_128, integ_key, Direction::inbound);
            // A flipped IV bit fails the ICV and leaves the ciphertext undecrypted (MAC before decryption).
            packet[8] ^= 1;
            CHECK_FALSE(receiver.open(frame));
            CHECK(std::vector<std::uint8_t>(text.begin(), text.end()) == test::hex(v.ciphertext));
            packet[8] ^= 1;
            // With ESN, other high bits than the sender's fail too.
            if (esn) {
                EspFrame other_high = frame;
                other_high.seq_high = 0x0000abce;
                CHECK_FALSE(receiver.open(other_high));
            }
            REQUIRE(receiver.open(frame));
            CHECK(std::vector<std::uint8_t>(text.begin(), text.end()) == plaintext);
        }
    }
}

TEST_CASE("AES-CBC outbound IVs are 16 octets, differ per sequence number and per SA") {
    const auto key = test::hex("c286696d887c9aa0611bbb3e2025a45a");
    const auto integ_key = std::vector<std::uint8_t>(32, 7);
    AesCbcHmacEsp a(key, EspInteg::hmac_sha2_256_128, integ_key, Direction::outbound);
    AesCbcHmacEsp b(key, EspInteg::hmac_sha2_256_128, integ_key, Direction::outbound);
    std::array<std::uint8_t, 16> a1{}, a2{}, a1_again{}, b1{};
    a.make_iv(1, a1.data());
    a.make_iv(2, a2.data());
    a.make_iv(1, a1_again.data());
    b.make_iv(1, b1.data());
    CHECK(a1 != a2);
    CHECK(a1 == a1_again);  // deterministic per SA (a permutation of the counter) ...
    CHECK(a1 != b1);        // ... under a random per-SA key, so not predictable across SAs
    std::array<std::uint8_t, 16> counter{};
    counter[15] = 1;
    CHECK(a1 != counter);  // not the bare counter
}
