// The Encrypted Fragment payload codec (RFC 7383 §2.5): a hand-built fragment message, every rule of
// §2.5 on Fragment Number / Total Fragments / Next Payload, and truncation at every offset.
#include "core/message/fragment.hpp"

#include <doctest/doctest.h>

using namespace ikevpn;
using namespace ikevpn::msg;

namespace {

// IKE header (RFC 7296 §3.1) + SKF (RFC 7383 §2.5) built byte by byte, not by our encoder:
// next = SKF(53), IKE_AUTH(35), flags I, message ID 1; SKF with the given Next Payload, Number, Total and
// a 24-byte opaque IV | ciphertext | ICV.
Bytes fragment(std::uint8_t next, std::uint16_t number, std::uint16_t total) {
    Bytes m = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
               53, 0x20, 35, 0x08, 0, 0, 0, 1, 0, 0, 0, 28 + 8 + 24,
               next, 0, 0, 8 + 24,
               std::uint8_t(number >> 8), std::uint8_t(number), std::uint8_t(total >> 8), std::uint8_t(total)};
    for (std::uint8_t i = 0; i < 24; ++i) m.push_back(i);
    return m;
}

DecodeResult<SkfFragment> read(const Bytes& datagram, Message& keep) {
    auto decoded = decode(datagram);
    REQUIRE(decoded);
    keep = decoded.value();
    return read_fragment(keep, datagram);
}

}  // namespace

TEST_CASE("a first fragment is read: counters, inner Next Payload, AAD up to the IV") {
    const Bytes d = fragment(35 /* IDi */, 1, 3);
    Message m;
    auto f = read(d, m);
    REQUIRE(f);
    CHECK(is_fragment(m));
    CHECK(f.value().number == 1);
    CHECK(f.value().total == 3);
    CHECK(f.value().inner_first == PayloadType::id_i);
    CHECK(f.value().aad_size == 28 + 8);
    CHECK(f.value().encrypted.size() == 24);
    CHECK(f.value().encrypted[0] == 0);
    CHECK(f.value().encrypted[23] == 23);
}

TEST_CASE("a later fragment has Next Payload zero") {
    Message m;
    auto f = read(fragment(0, 3, 3), m);
    REQUIRE(f);
    CHECK(f.value().number == 3);
    CHECK(f.value().inner_first == PayloadType::none);
}

TEST_CASE("RFC 7383 §2.5 violations are errors") {
    Message m;
    CHECK_FALSE(read(fragment(35, 0, 3), m));  // Fragment Number zero
    CHECK_FALSE(read(fragment(35, 1, 0), m));  // Total Fragments zero
    CHECK_FALSE(read(fragment(0, 4, 3), m));   // number above total
    CHECK_FALSE(read(fragment(35, 2, 3), m));  // Next Payload in a fragment other than the first
    CHECK_FALSE(read(fragment(0, 1, 3), m));   // first fragment naming no inner payload
    CHECK(read(fragment(0, 65535, 65535), m));  // the largest valid numbers
}

TEST_CASE("an SK message is not a fragment") {
    Bytes d = fragment(35, 1, 1);
    d[16] = 46;  // next payload SK instead of SKF
    auto decoded = decode(d);
    REQUIRE(decoded);
    CHECK_FALSE(is_fragment(decoded.value()));
    CHECK_FALSE(read_fragment(decoded.value(), d));
}

TEST_CASE("an SKF body too short for the counters is an error, never a crash") {
    Bytes d = fragment(35, 1, 1);
    d.resize(28 + 4 + 2);  // two of the four counter bytes
    d[27] = std::uint8_t(d.size());
    d[31] = 6;  // SKF payload length
    auto decoded = decode(d);
    if (decoded) CHECK_FALSE(read_fragment(decoded.value(), d));
}

TEST_CASE("truncation at every offset and bit flips never crash") {
    const Bytes good = fragment(35, 2, 7);
    for (std::size_t n = 0; n < good.size(); ++n) {
        Bytes d(good.begin(), good.begin() + std::ptrdiff_t(n));
        if (d.size() >= 28) {  // keep the header length consistent so the payload parser runs
            d[24] = d[25] = d[26] = 0;
            d[27] = std::uint8_t(d.size());
        }
        auto decoded = decode(d);
        if (decoded) (void)read_fragment(decoded.value(), d);
    }
    for (std::size_t bit = 0; bit < good.size() * 8; ++bit) {
        Bytes d = good;
        d[bit / 8] ^= std::uint8_t(1u << (bit % 8));
        auto decoded = decode(d);
        if (decoded) (void)read_fragment(decoded.value(), d);
    }
}

TEST_CASE("the encoded head matches the hand-built bytes") {
    Header h;
    h.spi_i = {1, 2, 3, 4, 5, 6, 7, 8};
    h.spi_r = {9, 10, 11, 12, 13, 14, 15, 16};
    h.exchange = ExchangeType::ike_auth;
    h.flags = flag_initiator;
    h.message_id = 1;
    const Bytes expected = fragment(35, 1, 3);
    CHECK(encode_fragment_head(h, PayloadType::id_i, 1, 3, 24) == Bytes(expected.begin(), expected.begin() + 36));
    const Bytes later = fragment(0, 2, 3);
    // Fragments after the first carry Next Payload zero whatever the caller passes.
    CHECK(encode_fragment_head(h, PayloadType::id_i, 2, 3, 24) == Bytes(later.begin(), later.begin() + 36));
}
