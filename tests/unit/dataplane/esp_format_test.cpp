#include "dataplane/esp_format.hpp"

#include "dp_test_util.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace ikevpn::dataplane;
using ikevpn::dataplane::esp::Udp4500Kind;

TEST_CASE("classify_udp4500: RFC 3948 non-ESP marker, keepalive, ESP, malformed") {
    using esp::classify_udp4500;
    const std::vector<std::uint8_t> keepalive{0xff};
    const std::vector<std::uint8_t> ike{0, 0, 0, 0, 0x12, 0x34};
    const std::vector<std::uint8_t> marker_only{0, 0, 0, 0};
    const std::vector<std::uint8_t> esp_pkt{0xc0, 0x01, 0x02, 0x03, 0, 0, 0, 1, 0xaa};
    const std::vector<std::uint8_t> short_esp{0xc0, 0x01, 0x02, 0x03, 0, 0};
    const std::vector<std::uint8_t> one_zero{0x00};
    const std::vector<std::uint8_t> empty;
    CHECK(classify_udp4500(keepalive) == Udp4500Kind::keepalive);
    CHECK(classify_udp4500(ike) == Udp4500Kind::ike);
    CHECK(classify_udp4500(marker_only) == Udp4500Kind::malformed);
    CHECK(classify_udp4500(esp_pkt) == Udp4500Kind::esp);
    CHECK(classify_udp4500(short_esp) == Udp4500Kind::malformed);
    CHECK(classify_udp4500(one_zero) == Udp4500Kind::malformed);
    CHECK(classify_udp4500(empty) == Udp4500Kind::malformed);
    const std::vector<std::uint8_t> two_ff{0xff, 0xff};
    CHECK(classify_udp4500(two_ff) == Udp4500Kind::malformed);
}

TEST_CASE("padding aligns Pad Length and Next Header to 4 octets (RFC 4303 §2.4)") {
    CHECK(esp::padding_for(0) == 2);
    CHECK(esp::padding_for(1) == 1);
    CHECK(esp::padding_for(2) == 0);
    CHECK(esp::padding_for(3) == 3);
    CHECK(esp::padding_for(62) == 0);
    CHECK(esp::padding_for(48) == 2);
    for (std::size_t len = 0; len < 300; ++len) {
        std::vector<std::uint8_t> buf(len + esp::max_trailer_size, 0xaa);
        const std::size_t written = esp::write_trailer(buf.data() + len, len, 4);
        REQUIRE((len + written) % 4 == 0);
        REQUIRE(written <= esp::max_trailer_size);
        const auto t = esp::parse_trailer(std::span<const std::uint8_t>(buf.data(), len + written));
        REQUIRE(t.result == PacketResult::ok);
        REQUIRE(t.payload_length == len);
        REQUIRE(t.next_header == 4);
    }
}

TEST_CASE("padding to the 16-octet AES-CBC block (RFC 3602 §2.4, RFC 4303 §2.4)") {
    CHECK(esp::padding_for(0, 16) == 14);
    CHECK(esp::padding_for(14, 16) == 0);
    CHECK(esp::padding_for(15, 16) == 15);
    CHECK(esp::padding_for(84, 16) == 10);
    CHECK(esp::padding_for(84, 4) == esp::padding_for(84));
    for (std::size_t len = 0; len < 300; ++len) {
        std::vector<std::uint8_t> buf(len + esp::max_block_trailer_size, 0xaa);
        const std::size_t written = esp::write_trailer(buf.data() + len, len, 41, 16);
        REQUIRE((len + written) % 16 == 0);
        REQUIRE(written <= esp::max_block_trailer_size);
        const auto t = esp::parse_trailer(std::span<const std::uint8_t>(buf.data(), len + written));
        REQUIRE(t.result == PacketResult::ok);
        REQUIRE(t.payload_length == len);
        REQUIRE(t.next_header == 41);
    }
}

TEST_CASE("write_trailer reproduces the trailers of draft-mcgrew-gcm-test-01 §4 test cases 2 and 3") {
    // Test Case #2: 62-octet payload, no padding, Pad Length 0, Next Header 1 → "00 01".
    std::vector<std::uint8_t> t2(8, 0xaa);
    CHECK(esp::write_trailer(t2.data(), 62, 1) == 2);
    CHECK(t2[0] == 0x00);
    CHECK(t2[1] == 0x01);
    // Test Case #3: 48-octet payload → "01 02 02 01".
    std::vector<std::uint8_t> t3(8, 0xaa);
    CHECK(esp::write_trailer(t3.data(), 48, 1) == 4);
    CHECK(std::vector<std::uint8_t>(t3.begin(), t3.begin() + 4) == test::hex("01020201"));
}

TEST_CASE("parse_trailer rejects bad pad length and bad padding octets") {
    using esp::parse_trailer;
    // payload "aa bb" + padding 01 02 + pad length 2 + next header 4
    auto good = test::hex("aabb01020204");
    CHECK(parse_trailer(good).result == PacketResult::ok);
    CHECK(parse_trailer(good).payload_length == 2);

    auto wrong_octet = test::hex("aabb01030204");
    CHECK(parse_trailer(wrong_octet).result == PacketResult::bad_padding);
    auto zero_padding = test::hex("aabb00000204");
    CHECK(parse_trailer(zero_padding).result == PacketResult::bad_padding);
    auto too_long = test::hex("01020504");  // pad length 5 > 2 octets available
    CHECK(parse_trailer(too_long).result == PacketResult::bad_padding);
    auto exact = test::hex("01020204");  // pad length 2, empty payload: valid
    CHECK(parse_trailer(exact).result == PacketResult::ok);
    CHECK(parse_trailer(exact).payload_length == 0);
    auto max_pad = std::vector<std::uint8_t>(257);
    for (std::size_t i = 0; i < 255; ++i) max_pad[i] = static_cast<std::uint8_t>(i + 1);
    max_pad[255] = 255;
    max_pad[256] = 41;
    CHECK(parse_trailer(max_pad).result == PacketResult::ok);
    max_pad[100] ^= 1;
    CHECK(parse_trailer(max_pad).result == PacketResult::bad_padding);
    auto one = test::hex("04");
    CHECK(parse_trailer(one).result == PacketResult::malformed);
}

TEST_CASE("inner packet version and addresses") {
    const auto p4 = test::ipv4_packet({10, 0, 0, 1}, {10, 0, 0, 2}, 60);
    CHECK(esp::next_header_for_inner(p4) == 4);
    auto a = esp::inner_addresses(p4);
    REQUIRE(a.valid);
    CHECK_FALSE(a.v6);
    CHECK(a.source[3] == 1);
    CHECK(a.destination[3] == 2);

    const auto p6 = test::ipv6_packet(test::v6(1), test::v6(2), 80);
    CHECK(esp::next_header_for_inner(p6) == 41);
    a = esp::inner_addresses(p6);
    REQUIRE(a.valid);
    CHECK(a.v6);
    CHECK(a.source[15] == 1);
    CHECK(a.destination[15] == 2);

    const std::vector<std::uint8_t> short4(19, 0x45);
    CHECK(esp::next_header_for_inner(short4) == 0);
    CHECK_FALSE(esp::inner_addresses(short4).valid);
    const std::vector<std::uint8_t> short6(39, 0x60);
    CHECK(esp::next_header_for_inner(short6) == 0);
    std::vector<std::uint8_t> v5(60, 0x55);
    CHECK(esp::next_header_for_inner(v5) == 0);
    CHECK(esp::next_header_for_inner(std::span<const std::uint8_t>()) == 0);
}

TEST_CASE("traffic selector ranges") {
    const auto ts = TrafficSelector::v4_range({10, 0, 0, 0}, {10, 0, 0, 255});
    const std::uint8_t in[4] = {10, 0, 0, 7};
    const std::uint8_t below[4] = {9, 255, 255, 255};
    const std::uint8_t above[4] = {10, 0, 1, 0};
    CHECK(ts.contains(in, false));
    CHECK_FALSE(ts.contains(below, false));
    CHECK_FALSE(ts.contains(above, false));
    CHECK_FALSE(ts.contains(in, true));  // family must match
    CHECK(TrafficSelector::any_v6().contains(test::v6(9).data(), true));
    CHECK_FALSE(TrafficSelector::any_v6().contains(in, false));
}
