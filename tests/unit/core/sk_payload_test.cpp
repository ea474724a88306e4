// protect_message / unprotect_message with every SK cipher kind (RFC 7296 §3.14, RFC 5282, RFC 7634):
// round trips, block padding, and tampering (ICV, pad length, short payloads) that must end in nullopt.
#include "core/crypto/crypto.hpp"
#include "tests/unit/core/crypto/hex.hpp"
#include "core/sk_payload.hpp"

#include <doctest/doctest.h>

using namespace ikevpn;
using namespace ikevpn::core;

namespace {

msg::Header test_header() {
    msg::Header h;
    h.spi_i = {1, 2, 3, 4, 5, 6, 7, 8};
    h.spi_r = {9, 10, 11, 12, 13, 14, 15, 16};
    h.exchange = msg::ExchangeType::informational;
    h.flags = msg::flag_initiator;
    h.message_id = 7;
    return h;
}

std::vector<msg::Payload> inner_payloads(std::size_t data_size) {
    return {msg::make_notify(msg::NotifyType(16384), Bytes(data_size, 0xab))};
}

struct Pair {
    std::unique_ptr<crypto::Aead> out, in;
};

Pair make_pair(const crypto::SkTransform& t) {
    const Bytes encr(crypto::sk_encr_key_size(t), 0x11), integ(crypto::sk_integ_key_size(t), 0x22);
    return {crypto::make_sk_cipher(t, encr, integ), crypto::make_sk_cipher(t, encr, integ)};
}

const crypto::SkTransform transforms[] = {
    {crypto::EncrId::aes_gcm_16, 256, crypto::IntegId::none},
    {crypto::EncrId::chacha20_poly1305, 0, crypto::IntegId::none},
    {crypto::EncrId::aes_cbc, 128, crypto::IntegId::hmac_sha2_256_128},
    {crypto::EncrId::aes_cbc, 192, crypto::IntegId::hmac_sha2_256_128},
    {crypto::EncrId::aes_cbc, 256, crypto::IntegId::hmac_sha2_384_192},
    {crypto::EncrId::aes_cbc, 256, crypto::IntegId::hmac_sha2_512_256},
    {crypto::EncrId::des3, 192, crypto::IntegId::hmac_sha1_96},
    {crypto::EncrId::aes_cbc, 128, crypto::IntegId::hmac_md5_96},
};

// A protected datagram whose plaintext (payloads | padding | pad length) is given as is, so that a
// malformed pad length can carry a valid ICV.
Bytes seal_raw(crypto::Aead& aead, ByteView plaintext, msg::PayloadType first = msg::PayloadType::notify) {
    const Bytes iv(aead.iv_size(), 0x33);
    const std::size_t sk_length = msg::generic_payload_header_size + iv.size() + plaintext.size() + aead.tag_size();
    Bytes out = msg::encode_header(test_header(), msg::PayloadType::sk, std::uint32_t(msg::header_size + sk_length));
    out.push_back(std::uint8_t(first));
    out.push_back(0);
    out.push_back(std::uint8_t(sk_length >> 8));
    out.push_back(std::uint8_t(sk_length));
    const Bytes sealed = aead.seal(iv, out, plaintext);
    append(out, iv);
    append(out, sealed);
    return out;
}

std::optional<std::vector<msg::Payload>> open(ByteView datagram, crypto::Aead& aead) {
    auto decoded = msg::decode(datagram);
    if (!decoded) return std::nullopt;
    return unprotect_message(datagram, decoded.value(), aead);
}

}  // namespace

TEST_CASE("SK payload round trip for AEAD and CBC+HMAC, with padding to whole blocks") {
    for (const auto& t : transforms) {
        CAPTURE(static_cast<int>(t.encr));
        CAPTURE(static_cast<int>(t.integ));
        auto pair = make_pair(t);
        std::uint64_t counter = 0;
        for (std::size_t size : {0U, 1U, 7U, 8U, 15U, 16U, 100U}) {
            CAPTURE(size);
            const auto inner = inner_payloads(size);
            const Bytes datagram = protect_message(test_header(), inner, *pair.out, counter);
            const std::size_t body = datagram.size() - msg::header_size - msg::generic_payload_header_size -
                                     pair.out->iv_size() - pair.out->tag_size();
            CHECK(body % pair.out->block_size() == 0);
            const auto opened = open(datagram, *pair.in);
            REQUIRE(opened);
            REQUIRE(opened->size() == 1);
            CHECK(opened->front().type == msg::PayloadType::notify);
        }
        CHECK(counter == 7);
    }
}

TEST_CASE("SK payload: any flipped bit, a truncation or a wrong key is dropped") {
    for (const auto& t : transforms) {
        CAPTURE(static_cast<int>(t.encr));
        auto pair = make_pair(t);
        std::uint64_t counter = 0;
        const Bytes datagram = protect_message(test_header(), inner_payloads(20), *pair.out, counter);
        // Every byte after the IKE header's length field: payload headers, IV, ciphertext, ICV.
        for (std::size_t i = msg::header_size; i < datagram.size(); ++i) {
            Bytes bad = datagram;
            bad[i] ^= 0x04;
            CHECK_FALSE(open(bad, *pair.in));
        }
        Bytes bad_header = datagram;
        bad_header[19] ^= 0x01;  // message ID: part of the authenticated data
        CHECK_FALSE(open(bad_header, *pair.in));

        const Bytes other_key(crypto::sk_encr_key_size(t), 0x12), integ(crypto::sk_integ_key_size(t), 0x22);
        auto wrong = crypto::make_sk_cipher(t, other_key, integ);
        CHECK_FALSE(open(datagram, *wrong));
    }
}

TEST_CASE("SK payload: pad length beyond the plaintext, and bodies shorter than IV + ICV") {
    for (const auto& t : transforms) {
        CAPTURE(static_cast<int>(t.encr));
        auto pair = make_pair(t);
        const std::size_t block = pair.out->block_size() == 1 ? 16 : pair.out->block_size() * 2;
        // Authentic, but its pad length (the last octet) claims more padding than there is plaintext.
        Bytes plaintext(block, 0);
        plaintext.back() = std::uint8_t(block);
        CHECK_FALSE(open(seal_raw(*pair.out, plaintext), *pair.in));
        plaintext.back() = 0xff;
        CHECK_FALSE(open(seal_raw(*pair.out, plaintext), *pair.in));
        // The same with a sane pad length decodes to no payloads (a valid but empty chain) — the control.
        Bytes sane(block, 0);
        sane.back() = std::uint8_t(block - 1);
        const auto empty = open(seal_raw(*pair.out, sane, msg::PayloadType::none), *pair.in);
        REQUIRE(empty);
        CHECK(empty->empty());

        // SK bodies of every length below IV + ICV + 1 octet: rejected before any cryptography.
        const std::size_t minimum = pair.out->iv_size() + pair.out->tag_size() + 1;
        for (std::size_t body = 0; body < minimum; ++body) {
            const std::size_t sk_length = msg::generic_payload_header_size + body;
            Bytes d = msg::encode_header(test_header(), msg::PayloadType::sk, std::uint32_t(msg::header_size + sk_length));
            d.push_back(std::uint8_t(msg::PayloadType::notify));
            d.push_back(0);
            d.push_back(std::uint8_t(sk_length >> 8));
            d.push_back(std::uint8_t(sk_length));
            d.resize(d.size() + body, 0x5c);
            CHECK_FALSE(open(d, *pair.in));
        }
    }
}

// RFC 7634 Appendix B ("IKEv2 Example"): an INFORMATIONAL request protected with ChaCha20-Poly1305,
// carrying one Notify (SET_WINDOW_SIZE = 10). Key 80..9f, salt a0a1a2a3, IV 1011121314151617,
// SPIs c0..c7 / d0..d7, Message ID 9. The whole datagram is checked, both ways, through the SK code path.
TEST_CASE("RFC 7634 Appendix B: ChaCha20-Poly1305 in an IKEv2 Encrypted payload") {
    using crypto::test::hex;
    const Bytes key_material = hex("80 81 82 83 84 85 86 87 88 89 8a 8b 8c 8d 8e 8f"
                                   "90 91 92 93 94 95 96 97 98 99 9a 9b 9c 9d 9e 9f"
                                   "a0 a1 a2 a3");
    // IKE header | SK generic header (the AAD, RFC 5282 §5.1) | IV | ciphertext | ICV.
    const Bytes expected = hex("c0 c1 c2 c3 c4 c5 c6 c7 d0 d1 d2 d3 d4 d5 d6 d7"
                               "2e 20 25 00 00 00 00 09 00 00 00 45 29 00 00 29"
                               "10 11 12 13 14 15 16 17"
                               "61 03 94 70 1f 8d 01 7f 7c 12 92 48 89"
                               "6b 71 bf e2 52 36 ef d7 cd c6 70 66 90 63 15 b2");
    msg::Header header;
    header.spi_i = {0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7};
    header.spi_r = {0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7};
    header.exchange = msg::ExchangeType::informational;
    header.flags = 0;
    header.message_id = 9;
    const std::vector<msg::Payload> inner = {msg::make_notify(msg::NotifyType(16385), hex("00 00 00 0a"))};

    auto seal = crypto::make_aead(crypto::EncrId::chacha20_poly1305, 256, key_material);
    std::uint64_t counter = 0x1011121314151616;  // protect_message uses ++counter: IV 10 11 .. 17
    CHECK(protect_message(header, inner, *seal, counter) == expected);

    auto opener = crypto::make_aead(crypto::EncrId::chacha20_poly1305, 256, key_material);
    const auto payloads = open(expected, *opener);
    REQUIRE(payloads);
    REQUIRE(payloads->size() == 1);
    const auto* notify = std::get_if<msg::NotifyPayload>(&payloads->front().body);
    REQUIRE(notify);
    CHECK(notify->type == 16385);
    CHECK(notify->data == hex("00 00 00 0a"));

    Bytes forged = expected;
    forged[forged.size() - 20] ^= 0x01;  // one ciphertext bit: the Poly1305 tag no longer verifies
    CHECK_FALSE(open(forged, *opener));
}
