// IKEv2 codec: a hand-built golden IKE_SA_INIT request, round trips for every payload, and malformed input
// (truncation at every offset, bad lengths, bit flips) that must give a DecodeError and never crash.
#include "core/message/message.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <random>

using namespace ikevpn;
using namespace ikevpn::msg;

namespace {

Bytes repeat(std::uint8_t byte, std::size_t n) { return Bytes(n, byte); }

// IKE_SA_INIT request built byte by byte from the RFC 7296 §3 diagrams (not produced by our encoder):
// HDR, SA{1 proposal: ENCR_AES_GCM_16/256, PRF_HMAC_SHA2_384, DH 31}, KE(31, 32 bytes), Ni(16 bytes),
// N(NAT_DETECTION_SOURCE_IP, 20 bytes).
Bytes golden_sa_init() {
    Bytes m = {
        // Header (§3.1): SPIi, SPIr, next=SA(33), version 2.0, IKE_SA_INIT(34), flags I, msg id 0, length
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  //
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  //
        33, 0x20, 34, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 156,
        // SA (§3.3): next=KE(34), length 40
        34, 0x00, 0x00, 40,
        // Proposal: last, length 36, number 1, IKE, SPI size 0, 3 transforms
        0x00, 0x00, 0x00, 36, 1, 1, 0, 3,
        // Transform ENCR(1) id 20, length 12, more; attribute Key Length (0x800E) = 256
        3, 0x00, 0x00, 12, 1, 0x00, 0x00, 20, 0x80, 0x0e, 0x01, 0x00,
        // Transform PRF(2) id 6, more
        3, 0x00, 0x00, 8, 2, 0x00, 0x00, 6,
        // Transform DH(4) id 31, last
        0, 0x00, 0x00, 8, 4, 0x00, 0x00, 31,
        // KE (§3.4): next=Nonce(40), length 40, group 31, reserved
        40, 0x00, 0x00, 40, 0x00, 31, 0x00, 0x00};
    append(m, repeat(0xaa, 32));
    // Nonce (§3.9): next=Notify(41), length 20
    append(m, Bytes{41, 0x00, 0x00, 20});
    append(m, repeat(0xbb, 16));
    // Notify (§3.10): next=none, length 28, protocol 0, SPI size 0, type 16388 (0x4004)
    append(m, Bytes{0, 0x00, 0x00, 28, 0x00, 0x00, 0x40, 0x04});
    append(m, repeat(0xcc, 20));
    return m;
}

Message golden_model() {
    Message m;
    m.header.spi_i = {1, 2, 3, 4, 5, 6, 7, 8};
    m.header.exchange = ExchangeType::ike_sa_init;
    m.header.flags = flag_initiator;
    Proposal p{1, ProtocolId::ike, {},
               {{TransformType::encr, 20, 256}, {TransformType::prf, 6, {}}, {TransformType::dh, 31, {}}}};
    m.payloads.push_back({PayloadType::sa, false, SaPayload{{p}}});
    m.payloads.push_back({PayloadType::ke, false, KePayload{31, repeat(0xaa, 32)}});
    m.payloads.push_back({PayloadType::nonce, false, NoncePayload{repeat(0xbb, 16)}});
    m.payloads.push_back(make_notify(NotifyType::nat_detection_source_ip, repeat(0xcc, 20)));
    return m;
}

void set_length(Bytes& m) {
    const auto n = static_cast<std::uint32_t>(m.size());
    m[24] = static_cast<std::uint8_t>(n >> 24);
    m[25] = static_cast<std::uint8_t>(n >> 16);
    m[26] = static_cast<std::uint8_t>(n >> 8);
    m[27] = static_cast<std::uint8_t>(n);
}

// Decodes a chain holding one payload of `type` with `body`, wrapped in a generic header.
DecodeResult<std::vector<Payload>> decode_one(PayloadType type, const Bytes& body, std::uint8_t flags = 0) {
    Bytes chain = {0, flags, static_cast<std::uint8_t>((body.size() + 4) >> 8),
                   static_cast<std::uint8_t>(body.size() + 4)};
    append(chain, body);
    return decode_payloads(type, chain);
}

std::vector<Payload> round_trip(const std::vector<Payload>& in) {
    PayloadType first = PayloadType::none;
    const Bytes wire = encode_payloads(in, &first);
    auto out = decode_payloads(first, wire);
    REQUIRE_MESSAGE(out.ok(), (out.ok() ? "" : out.error().reason));
    PayloadType first2 = PayloadType::none;
    CHECK(encode_payloads(out.value(), &first2) == wire);
    CHECK(first2 == first);
    REQUIRE(out.value().size() == in.size());
    return out.value();
}

TrafficSelector ts4(Bytes a, Bytes b) {
    return {TsType::ipv4_addr_range, 0, 0, 65535, std::move(a), std::move(b)};
}

}  // namespace

TEST_CASE("golden IKE_SA_INIT request decodes to the expected fields") {
    const Bytes wire = golden_sa_init();
    REQUIRE(wire.size() == 156);
    auto r = decode(wire);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().reason));
    const Message& m = r.value();
    CHECK(m.header.spi_i == Spi8{1, 2, 3, 4, 5, 6, 7, 8});
    CHECK(m.header.spi_r == Spi8{});
    CHECK(m.header.exchange == ExchangeType::ike_sa_init);
    CHECK(m.header.is_initiator());
    CHECK_FALSE(m.header.is_response());
    CHECK(m.header.length == 156);
    REQUIRE(m.payloads.size() == 4);

    const auto* sa = find<SaPayload>(m.payloads, PayloadType::sa);
    REQUIRE(sa);
    REQUIRE(sa->proposals.size() == 1);
    const Proposal& p = sa->proposals[0];
    CHECK(p.number == 1);
    CHECK(p.protocol == ProtocolId::ike);
    CHECK(p.spi.empty());
    REQUIRE(p.transforms.size() == 3);
    CHECK(p.transforms[0] == Transform{TransformType::encr, 20, 256});
    CHECK(p.transforms[1] == Transform{TransformType::prf, 6, std::nullopt});
    CHECK(p.transforms[2] == Transform{TransformType::dh, 31, std::nullopt});

    const auto* ke = find<KePayload>(m.payloads, PayloadType::ke);
    REQUIRE(ke);
    CHECK(ke->group == 31);
    CHECK(ke->data == repeat(0xaa, 32));
    const auto* nonce = find<NoncePayload>(m.payloads, PayloadType::nonce);
    REQUIRE(nonce);
    CHECK(nonce->data == repeat(0xbb, 16));
    const auto* n = find_notify(m.payloads, NotifyType::nat_detection_source_ip);
    REQUIRE(n);
    CHECK(n->data == repeat(0xcc, 20));
    CHECK(find_notify(m.payloads, NotifyType::cookie) == nullptr);
}

TEST_CASE("encoding the model gives the golden bytes, and decode/encode is the identity") {
    CHECK(encode(golden_model()) == golden_sa_init());
    auto r = decode(golden_sa_init());
    REQUIRE(r.ok());
    CHECK(encode(r.value()) == golden_sa_init());
}

TEST_CASE("encode_header writes the given next payload and length") {
    Header h;
    h.spi_i = {9, 9, 9, 9, 9, 9, 9, 9};
    h.exchange = ExchangeType::ike_auth;
    h.flags = flag_initiator;
    h.message_id = 0x01020304;
    const Bytes b = encode_header(h, PayloadType::sk, 0x11223344);
    REQUIRE(b.size() == header_size);
    CHECK(b[16] == 46);
    CHECK(b[17] == 0x20);
    CHECK(b[18] == 35);
    CHECK(b[19] == 0x08);
    CHECK(Bytes(b.begin() + 20, b.end()) == Bytes{1, 2, 3, 4, 0x11, 0x22, 0x33, 0x44});
}

TEST_CASE("header checks") {
    SUBCASE("shorter than 28 bytes") {
        Bytes b(27, 0);
        CHECK_FALSE(decode_header(b).ok());
    }
    SUBCASE("declared length differs from the datagram") {
        Bytes b = golden_sa_init();
        b.push_back(0);
        auto r = decode_header(b);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().notify == NotifyType::invalid_syntax);
    }
    SUBCASE("major version 3") {
        Bytes b = golden_sa_init();
        b[17] = 0x30;
        auto r = decode(b);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().notify == NotifyType::invalid_major_version);
    }
    SUBCASE("minor version is ignored") {
        Bytes b = golden_sa_init();
        b[17] = 0x21;
        CHECK(decode(b).ok());
    }
}

TEST_CASE("round trip of every payload type") {
    std::vector<Payload> in;
    Proposal esp{2, ProtocolId::esp, {0xde, 0xad, 0xbe, 0xef},
                 {{TransformType::encr, 20, 128}, {TransformType::esn, 0, {}}}};
    Proposal ike{1, ProtocolId::ike, {}, {{TransformType::encr, 20, 256}, {TransformType::prf, 7, {}},
                                          {TransformType::dh, 19, {}}}};
    in.push_back({PayloadType::sa, false, SaPayload{{ike, esp}}});
    in.push_back({PayloadType::ke, false, KePayload{19, repeat(0x11, 64)}});
    in.push_back({PayloadType::nonce, false, NoncePayload{repeat(0x22, 256)}});
    in.push_back(make_notify(NotifyType::rekey_sa, {}, ProtocolId::esp, {1, 2, 3, 4}));
    in.push_back({PayloadType::id_i, false, IdPayload{IdType::rfc822_addr, {'a', '@', 'b'}}});
    in.push_back({PayloadType::id_r, false, IdPayload{IdType::ipv4_addr, {192, 0, 2, 1}}});
    in.push_back({PayloadType::auth, false, AuthPayload{AuthMethod::shared_key_mic, repeat(0x33, 48)}});
    TrafficSelector v6{TsType::ipv6_addr_range, 6, 80, 443, repeat(0x00, 16), repeat(0xff, 16)};
    in.push_back({PayloadType::ts_i, false, TsPayload{{ts4({10, 0, 0, 1}, {10, 0, 0, 1}), v6}}});
    in.push_back({PayloadType::ts_r, false, TsPayload{{ts4({0, 0, 0, 0}, {255, 255, 255, 255})}}});
    CpPayload cp{CfgType::reply, {{1, {10, 1, 2, 3}}, {3, {192, 0, 2, 53}}, {25, {}}}};
    in.push_back({PayloadType::cp, false, cp});
    in.push_back({PayloadType::del, false, DeletePayload{ProtocolId::esp, 4, {{1, 2, 3, 4}, {5, 6, 7, 8}}}});
    in.push_back({PayloadType::del, false, DeletePayload{ProtocolId::ike, 0, {}}});
    in.push_back({PayloadType::vendor, false, RawPayload{{'i', 'k', 'e'}}});
    in.push_back({PayloadType::certreq, false, RawPayload{{4}}});
    in.push_back({PayloadType::cert, false, RawPayload{{4, 0x30, 0x00}}});
    in.push_back({PayloadType::eap, false, RawPayload{{1, 7, 0, 5, 1}}});
    in.push_back({static_cast<PayloadType>(200), false, RawPayload{{1, 2, 3}}});  // unknown, not critical
    in.push_back({PayloadType::sk, false, SkPayload{PayloadType::id_i, repeat(0x44, 40)}});

    const auto out = round_trip(in);
    CHECK(std::get<SaPayload>(out[0].body).proposals[0] == ike);
    CHECK(std::get<SaPayload>(out[0].body).proposals[1] == esp);
    CHECK(std::get<KePayload>(out[1].body).group == 19);
    CHECK(std::get<NoncePayload>(out[2].body).data.size() == 256);
    const auto& n = std::get<NotifyPayload>(out[3].body);
    CHECK(n.type == 16393);
    CHECK(n.protocol == ProtocolId::esp);
    CHECK(n.spi == Bytes{1, 2, 3, 4});
    CHECK(std::get<IdPayload>(out[4].body).data == Bytes{'a', '@', 'b'});
    CHECK(std::get<IdPayload>(out[5].body).id_type == IdType::ipv4_addr);
    CHECK(std::get<IdPayload>(out[5].body).body() == Bytes{1, 0, 0, 0, 192, 0, 2, 1});
    CHECK(std::get<AuthPayload>(out[6].body).method == AuthMethod::shared_key_mic);
    CHECK(std::get<TsPayload>(out[7].body).selectors[1] == v6);
    CHECK(std::get<TsPayload>(out[8].body).selectors.size() == 1);
    const auto& cp_out = std::get<CpPayload>(out[9].body);
    CHECK(cp_out.cfg_type == CfgType::reply);
    REQUIRE(cp_out.attributes.size() == 3);
    CHECK(cp_out.attributes[1].value == Bytes{192, 0, 2, 53});
    CHECK(cp_out.attributes[2].value.empty());
    CHECK(std::get<DeletePayload>(out[10].body).spis[1] == Bytes{5, 6, 7, 8});
    CHECK(std::get<DeletePayload>(out[11].body).spis.empty());
    CHECK(std::get<RawPayload>(out[12].body).body == Bytes{'i', 'k', 'e'});
    CHECK(out[16].type == static_cast<PayloadType>(200));
    const auto& sk = std::get<SkPayload>(out[17].body);
    CHECK(sk.inner_first == PayloadType::id_i);
    CHECK(sk.body == repeat(0x44, 40));
}

TEST_CASE("critical bit round trips on a known payload; the SKF body stays opaque") {
    std::vector<Payload> in;
    in.push_back({PayloadType::notify, true, NotifyPayload{ProtocolId::none, {}, 16396, {}}});
    in.push_back({PayloadType::skf, false, SkPayload{PayloadType::none, {0, 2, 0, 3, 9, 9, 9}}});
    const auto out = round_trip(in);
    CHECK(out[0].critical);
    CHECK(std::get<SkPayload>(out[1].body).body == Bytes{0, 2, 0, 3, 9, 9, 9});
}

TEST_CASE("empty chain") {
    PayloadType first = PayloadType::sa;
    CHECK(encode_payloads({}, &first).empty());
    CHECK(first == PayloadType::none);
    auto r = decode_payloads(PayloadType::none, {});
    REQUIRE(r.ok());
    CHECK(r.value().empty());
    const Bytes junk = {0};
    CHECK_FALSE(decode_payloads(PayloadType::none, junk).ok());
}

TEST_CASE("every truncation of a valid message is a DecodeError") {
    const Bytes wire = golden_sa_init();
    for (std::size_t n = 0; n < wire.size(); ++n) {
        Bytes cut(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(n));
        CHECK_FALSE(decode(cut).ok());
        // With the header length fixed up, the payload parser itself must notice.
        if (n >= header_size) {
            set_length(cut);
            CHECK_MESSAGE(!decode(cut).ok(), "truncated at " << n);
        }
    }
}

TEST_CASE("every truncation of a payload chain is a DecodeError") {
    std::vector<Payload> in = golden_model().payloads;
    in.push_back({PayloadType::ts_i, false, TsPayload{{ts4({10, 0, 0, 0}, {10, 0, 0, 255})}}});
    in.push_back({PayloadType::cp, false, CpPayload{CfgType::request, {{1, {}}, {3, {}}}}});
    in.push_back({PayloadType::del, false, DeletePayload{ProtocolId::esp, 4, {{1, 2, 3, 4}}}});
    PayloadType first = PayloadType::none;
    const Bytes wire = encode_payloads(in, &first);
    REQUIRE(decode_payloads(first, wire).ok());
    for (std::size_t n = 0; n < wire.size(); ++n)
        CHECK_FALSE(decode_payloads(first, ByteView(wire.data(), n)).ok());
}

TEST_CASE("bad lengths and markers") {
    Bytes b = golden_sa_init();
    auto fails = [](const Bytes& m) {
        auto r = decode(m);
        return !r.ok() && r.error().notify == NotifyType::invalid_syntax;
    };
    SUBCASE("payload length below 4") {
        for (std::uint8_t len : {0, 1, 2, 3}) {
            b[31] = len;
            CHECK(fails(b));
        }
    }
    SUBCASE("payload length past the end") {
        b[28 + 40 + 40 + 20 + 3] = 29;  // Notify claims one byte more than there is
        CHECK(fails(b));
    }
    SUBCASE("trailing garbage after the last payload") {
        append(b, Bytes{0, 0, 0, 0});
        set_length(b);
        CHECK(fails(b));
    }
    SUBCASE("proposal 'last' marker 2 on the only proposal") {
        b[32] = 2;
        CHECK(fails(b));
    }
    SUBCASE("proposal 'last' marker 1 is not defined") {
        b[32] = 1;
        CHECK(fails(b));
    }
    SUBCASE("transform 'last' marker 0 before the last transform") {
        b[40] = 0;
        CHECK(fails(b));
    }
    SUBCASE("transform count larger than the transforms") {
        b[39] = 4;
        CHECK(fails(b));
    }
    SUBCASE("transform count smaller than the transforms") {
        b[39] = 2;
        CHECK(fails(b));
    }
    SUBCASE("proposal length shorter than its transforms") {
        b[35] = 28;
        CHECK(fails(b));
    }
    SUBCASE("transform length below 8") {
        b[43] = 7;
        CHECK(fails(b));
    }
    SUBCASE("SPI size larger than the proposal") {
        b[38] = 40;
        CHECK(fails(b));
    }
}

TEST_CASE("nonce size limits (RFC 7296 §3.9: 16..256)") {
    CHECK_FALSE(decode_one(PayloadType::nonce, repeat(1, 15)).ok());
    CHECK(decode_one(PayloadType::nonce, repeat(1, 16)).ok());
    CHECK(decode_one(PayloadType::nonce, repeat(1, 256)).ok());
    CHECK_FALSE(decode_one(PayloadType::nonce, repeat(1, 257)).ok());
}

TEST_CASE("traffic selector validation") {
    auto ts_body = [](std::uint8_t type, std::uint16_t len, Bytes addrs, std::uint16_t sp = 0,
                      std::uint16_t ep = 65535) {
        Bytes b = {1, 0, 0, 0, type, 0, static_cast<std::uint8_t>(len >> 8), static_cast<std::uint8_t>(len),
                   static_cast<std::uint8_t>(sp >> 8), static_cast<std::uint8_t>(sp),
                   static_cast<std::uint8_t>(ep >> 8), static_cast<std::uint8_t>(ep)};
        append(b, addrs);
        return b;
    };
    const Bytes v4 = {10, 0, 0, 1, 10, 0, 0, 9};
    CHECK(decode_one(PayloadType::ts_i, ts_body(7, 16, v4)).ok());
    CHECK_FALSE(decode_one(PayloadType::ts_i, ts_body(7, 40, v4)).ok());         // type 7 must be 16
    CHECK_FALSE(decode_one(PayloadType::ts_i, ts_body(8, 16, v4)).ok());         // type 8 must be 40
    CHECK_FALSE(decode_one(PayloadType::ts_i, ts_body(9, 16, v4)).ok());         // unknown TS type
    CHECK_FALSE(decode_one(PayloadType::ts_i, ts_body(7, 16, {10, 0, 0, 9, 10, 0, 0, 1})).ok());
    CHECK_FALSE(decode_one(PayloadType::ts_i, ts_body(7, 16, v4, 90, 80)).ok());  // ports inverted
    CHECK(decode_one(PayloadType::ts_i, ts_body(7, 16, v4, 65535, 0)).ok());      // OPAQUE (§3.13.1)
    Bytes v6 = repeat(0, 16);
    append(v6, repeat(0xff, 16));
    CHECK(decode_one(PayloadType::ts_r, ts_body(8, 40, v6)).ok());
    Bytes two = ts_body(7, 16, v4);
    two[0] = 2;  // says two selectors, holds one
    CHECK_FALSE(decode_one(PayloadType::ts_i, two).ok());
}

TEST_CASE("other payload validation") {
    CHECK_FALSE(decode_one(PayloadType::ke, {0, 31, 0, 0}).ok());           // no key exchange data
    CHECK_FALSE(decode_one(PayloadType::ke, {0, 31, 0}).ok());              // below minimum size
    CHECK_FALSE(decode_one(PayloadType::id_i, {1, 0, 0, 0, 10, 0, 0}).ok());  // IPv4 ID of 3 bytes
    CHECK_FALSE(decode_one(PayloadType::notify, {3, 4, 0x40, 0x09, 1, 2}).ok());  // SPI size past end
    CHECK_FALSE(decode_one(PayloadType::del, {1, 0, 0, 1}).ok());  // IKE delete with a SPI count
    CHECK_FALSE(decode_one(PayloadType::del, {3, 4, 0, 2, 1, 2, 3, 4}).ok());  // 2 SPIs, 1 present
    CHECK_FALSE(decode_one(PayloadType::del, {3, 8, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8}).ok());  // ESP SPI of 8
    CHECK_FALSE(decode_one(PayloadType::cp, {1, 0, 0, 0, 0, 1, 0, 4, 10}).ok());  // attribute past end
    CHECK_FALSE(decode_one(PayloadType::skf, {0, 1, 0}).ok());
    auto cp = decode_one(PayloadType::cp, {2, 0, 0, 0, 0x80, 0x01, 0, 0});  // R bit set: masked off
    REQUIRE(cp.ok());
    CHECK(std::get<CpPayload>(cp.value()[0].body).attributes[0].type == 1);
}

TEST_CASE("a proposal with an attribute we do not understand is dropped, not the message") {
    // Two proposals; the first's transform has an unknown TV attribute 15.
    const Bytes sa = {2, 0, 0, 20, 1, 1, 0, 1, 0, 0, 0, 12, 1, 0, 0, 20, 0x80, 0x0f, 0, 1,
                      0, 0, 0, 16, 2, 1, 0, 1, 0, 0, 0, 8, 2, 0, 0, 5};
    auto r = decode_one(PayloadType::sa, sa);
    REQUIRE(r.ok());
    const auto& props = std::get<SaPayload>(r.value()[0].body).proposals;
    REQUIRE(props.size() == 1);
    CHECK(props[0].number == 2);
    Bytes dup = {0, 0, 0, 16, 1, 1, 0, 1, 0, 0, 0, 16, 1, 0, 0, 20, 0x80, 0x0e, 0, 128, 0x80, 0x0e, 0, 128};
    dup[3] = 24;
    CHECK_FALSE(decode_one(PayloadType::sa, dup).ok());  // Key Length twice
}

TEST_CASE("unknown payloads: critical → UNSUPPORTED_CRITICAL_PAYLOAD, otherwise kept raw") {
    Bytes b = golden_sa_init();
    // Nonce (at offset 108) names an unknown type 99 as next, so the Notify bytes that follow are
    // read as payload 99; then set the critical bit in that payload's header (offset 129).
    b[108] = 99;
    b[129] = 0x80;
    auto r = decode(b);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().notify == NotifyType::unsupported_critical_payload);
    CHECK(r.error().unsupported_payload == 99);

    auto chain = decode_one(static_cast<PayloadType>(99), {1, 2, 3}, 0x80);
    REQUIRE_FALSE(chain.ok());
    CHECK(chain.error().unsupported_payload == 99);
    auto kept = decode_one(static_cast<PayloadType>(99), {1, 2, 3}, 0x00);
    REQUIRE(kept.ok());
    CHECK(std::get<RawPayload>(kept.value()[0].body).body == Bytes{1, 2, 3});
    CHECK(payload_name(static_cast<PayloadType>(99)) == "payload 99");
    CHECK_FALSE(is_known_payload(static_cast<PayloadType>(99)));
    CHECK(is_known_payload(PayloadType::skf));
}

TEST_CASE("SK must be the last payload") {
    std::vector<Payload> in;
    in.push_back(make_notify(NotifyType::cookie, {1, 2, 3, 4}));
    in.push_back({PayloadType::sk, false, SkPayload{PayloadType::id_i, repeat(0x55, 32)}});
    Message m;
    m.header.exchange = ExchangeType::ike_auth;
    m.payloads = in;
    Bytes wire = encode(m);
    REQUIRE(decode(wire).ok());
    append(wire, Bytes{0, 0, 0, 4});  // a payload after SK
    set_length(wire);
    auto r = decode(wire);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().reason.find("SK") != std::string::npos);
}

TEST_CASE("bit flips over the golden message never crash") {
    const Bytes golden = golden_sa_init();
    std::size_t accepted = 0;
    for (std::size_t i = 0; i < golden.size() * 8; ++i) {
        Bytes b = golden;
        b[i / 8] ^= static_cast<std::uint8_t>(1u << (i % 8));
        auto r = decode(b);
        if (r.ok()) {
            ++accepted;
            (void)encode(r.value());  // what decodes must encode again
        }
    }
    // Flips in SPIs, flags, message ID, key/nonce data are legitimately accepted; length fields are not.
    CHECK(accepted > 0);
    CHECK(accepted < golden.size() * 8);

    std::mt19937 rng(7);  // fixed seed: deterministic
    for (int i = 0; i < 20000; ++i) {
        Bytes b = golden;
        const int edits = 1 + static_cast<int>(rng() % 6);
        for (int e = 0; e < edits; ++e) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
        auto r = decode(b);
        if (r.ok()) (void)encode(r.value());
        (void)decode_payloads(static_cast<PayloadType>(b[16]), ByteView(b).subspan(header_size));
    }
}
