// IKEv2 header and payload codec (RFC 7296 §3). Every payload is first framed by its generic header
// (length checked against the data left), then its body is validated by the codec of its type before any
// field is given meaning. Decoding never throws; encoding throws std::length_error only for a field that
// cannot hold what we built ourselves (e.g. a payload over 64 KiB), which is a bug on our side.
#include "core/message/message.hpp"

#include "core/message/buffer.hpp"

#include <algorithm>
#include <type_traits>

namespace ikevpn::msg {

namespace {

// A body decoder returns a reason on failure; every such failure is INVALID_SYNTAX.
using Failure = std::optional<std::string>;
using DecodeFn = Failure (*)(ByteView body, Payload& out);

DecodeError syntax_error(std::string reason) {
    return DecodeError{std::move(reason), NotifyType::invalid_syntax, 0};
}

// --- SA payload (RFC 7296 §3.3) ---
//
// Proposal substructure (§3.3.1):
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Last Substruc |   RESERVED    |         Proposal Length       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                        SPI (variable)                         ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                        <Transforms>                           ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Transform substructure (§3.3.2):
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Last Substruc |   RESERVED    |        Transform Length       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |Transform Type |   RESERVED    |          Transform ID         |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                      Transform Attributes                     ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Transform attribute (§3.3.5), only Key Length (14) is defined, always TV format (AF = 1):
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |A|       Attribute Type        |    AF=0  Attribute Length     |
// |F|                             |    AF=1  Attribute Value      |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                   AF=0  Attribute Value                       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
constexpr std::uint8_t last_proposal = 0, more_proposals = 2;
constexpr std::uint8_t last_transform = 0, more_transforms = 3;
constexpr std::uint16_t attr_tv_flag = 0x8000;
constexpr std::uint16_t attr_key_length = 14;
constexpr std::size_t substructure_header_size = 8;

// Returns false (not an error) for a transform carrying an attribute we do not understand: RFC 7296
// §3.3.6 says to reject the proposal holding it, not the message.
Failure decode_transform_attributes(Reader& r, Transform& t, bool& understood) {
    while (!r.empty()) {
        std::uint16_t type_field = 0, value = 0;
        if (!r.u16(type_field) || !r.u16(value)) return "truncated transform attribute";
        const std::uint16_t type = type_field & 0x7fff;
        if (!(type_field & attr_tv_flag)) {
            // TLV: `value` is the length of the value that follows.
            if (!r.skip(value)) return "transform attribute length exceeds the transform";
            understood = false;
        } else if (type == attr_key_length) {
            if (t.key_length) return "duplicate Key Length attribute";
            t.key_length = value;
        } else {
            understood = false;
        }
    }
    return std::nullopt;
}

Failure decode_transforms(Reader& r, std::uint8_t count, Proposal& p, bool& understood) {
    for (unsigned i = 0; i < count; ++i) {
        std::uint8_t last = 0, reserved = 0, type = 0, reserved2 = 0;
        std::uint16_t length = 0, id = 0;
        if (!r.u8(last) || !r.u8(reserved) || !r.u16(length)) return "truncated transform";
        const bool is_last = i + 1 == count;
        if (last != (is_last ? last_transform : more_transforms))
            return "transform 'last' marker " + std::to_string(last) + " does not match the transform count";
        ByteView body;
        if (length < substructure_header_size || !r.view(length - 4u, body))
            return "bad transform length " + std::to_string(length);
        Reader tr(body);
        tr.u8(type);
        tr.u8(reserved2);
        tr.u16(id);
        Transform t{static_cast<TransformType>(type), id, std::nullopt};
        if (auto f = decode_transform_attributes(tr, t, understood)) return f;
        p.transforms.push_back(t);
    }
    if (!r.empty()) return "proposal holds more data than its transforms";
    return std::nullopt;
}

Failure decode_sa(ByteView body, Payload& out) {
    SaPayload sa;
    Reader r(body);
    while (!r.empty()) {
        std::uint8_t last = 0, reserved = 0;
        std::uint16_t length = 0;
        if (!r.u8(last) || !r.u8(reserved) || !r.u16(length)) return "truncated proposal";
        if (length < substructure_header_size) return "bad proposal length " + std::to_string(length);
        ByteView pbody;
        if (!r.view(length - 4u, pbody)) return "proposal length exceeds the SA payload";
        if (last != last_proposal && last != more_proposals)
            return "bad proposal 'last' marker " + std::to_string(last);
        if ((last == last_proposal) != r.empty()) return "proposal 'last' marker does not match the data";
        Reader pr(pbody);
        Proposal p;
        std::uint8_t protocol = 0, spi_size = 0, count = 0;
        pr.u8(p.number);
        pr.u8(protocol);
        pr.u8(spi_size);
        pr.u8(count);
        p.protocol = static_cast<ProtocolId>(protocol);
        if (!pr.bytes(spi_size, p.spi)) return "proposal SPI size exceeds the proposal";
        bool understood = true;
        if (auto f = decode_transforms(pr, count, p, understood)) return f;
        if (understood) sa.proposals.push_back(std::move(p));
    }
    // Every proposal may have been dropped for an unknown attribute: the exchange then finds nothing it
    // can accept, which is the right outcome.
    out.body = std::move(sa);
    return std::nullopt;
}

void encode_sa(Writer& w, const SaPayload& sa) {
    for (std::size_t i = 0; i < sa.proposals.size(); ++i) {
        const Proposal& p = sa.proposals[i];
        const std::size_t start = w.size();
        w.u8(i + 1 == sa.proposals.size() ? last_proposal : more_proposals);
        w.u8(0);
        const std::size_t len_at = w.reserve_u16();
        if (p.spi.size() > 0xff || p.transforms.size() > 0xff)
            throw std::length_error("proposal SPI or transform list too long");
        w.u8(p.number);
        w.u8(static_cast<std::uint8_t>(p.protocol));
        w.u8(static_cast<std::uint8_t>(p.spi.size()));
        w.u8(static_cast<std::uint8_t>(p.transforms.size()));
        w.bytes(p.spi);
        for (std::size_t j = 0; j < p.transforms.size(); ++j) {
            const Transform& t = p.transforms[j];
            const std::size_t tstart = w.size();
            w.u8(j + 1 == p.transforms.size() ? last_transform : more_transforms);
            w.u8(0);
            const std::size_t tlen_at = w.reserve_u16();
            w.u8(static_cast<std::uint8_t>(t.type));
            w.u8(0);
            w.u16(t.id);
            if (t.key_length) {
                w.u16(attr_tv_flag | attr_key_length);
                w.u16(*t.key_length);
            }
            w.patch_length16(tlen_at, tstart);
        }
        w.patch_length16(len_at, start);
    }
}

// --- KE payload (RFC 7296 §3.4) ---
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   Diffie-Hellman Group Num    |           RESERVED            |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                       Key Exchange Data                       ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
Failure decode_ke(ByteView body, Payload& out) {
    Reader r(body);
    KePayload ke;
    r.u16(ke.group);
    r.skip(2);
    ByteView rest = r.rest();
    ke.data.assign(rest.begin(), rest.end());
    if (ke.data.empty()) return "KE payload without key exchange data";
    out.body = std::move(ke);
    return std::nullopt;
}

void encode_ke(Writer& w, const KePayload& ke) {
    w.u16(ke.group);
    w.u16(0);
    w.bytes(ke.data);
}

// --- Nonce payload (RFC 7296 §3.9) ---
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                            Nonce Data                         ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// "The size of the Nonce Data MUST be between 16 and 256 octets, inclusive."
Failure decode_nonce(ByteView body, Payload& out) {
    if (body.size() < 16 || body.size() > 256)
        return "nonce of " + std::to_string(body.size()) + " bytes (must be 16..256)";
    out.body = NoncePayload{Bytes(body.begin(), body.end())};
    return std::nullopt;
}

void encode_nonce(Writer& w, const NoncePayload& n) { w.bytes(n.data); }

// --- Notify payload (RFC 7296 §3.10) ---
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Protocol ID  |   SPI Size    |      Notify Message Type      |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                Security Parameter Index (SPI)                 ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                       Notification Data                       ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
Failure decode_notify(ByteView body, Payload& out) {
    Reader r(body);
    NotifyPayload n;
    std::uint8_t protocol = 0, spi_size = 0;
    r.u8(protocol);
    r.u8(spi_size);
    r.u16(n.type);
    n.protocol = static_cast<ProtocolId>(protocol);
    if (!r.bytes(spi_size, n.spi)) return "notify SPI size exceeds the payload";
    ByteView rest = r.rest();
    n.data.assign(rest.begin(), rest.end());
    out.body = std::move(n);
    return std::nullopt;
}

void encode_notify(Writer& w, const NotifyPayload& n) {
    if (n.spi.size() > 0xff) throw std::length_error("notify SPI too long");
    w.u8(static_cast<std::uint8_t>(n.protocol));
    w.u8(static_cast<std::uint8_t>(n.spi.size()));
    w.u16(n.type);
    w.bytes(n.spi);
    w.bytes(n.data);
}

// --- Identification payloads IDi/IDr (RFC 7296 §3.5), AUTH (§3.8) has the same shape ---
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   ID Type     |                 RESERVED                      |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                   Identification Data                         ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
Failure decode_id(ByteView body, Payload& out) {
    IdPayload id;
    id.id_type = static_cast<IdType>(body[0]);
    id.data.assign(body.begin() + 4, body.end());
    if (id.id_type == IdType::ipv4_addr && id.data.size() != 4) return "ID_IPV4_ADDR not 4 bytes";
    if (id.id_type == IdType::ipv6_addr && id.data.size() != 16) return "ID_IPV6_ADDR not 16 bytes";
    if (id.data.empty()) return "empty identification data";
    out.body = std::move(id);
    return std::nullopt;
}

void encode_id(Writer& w, const IdPayload& id) { w.bytes(id.body()); }

// AUTH (§3.8): Auth Method (1) | RESERVED (3) | Authentication Data.
Failure decode_auth(ByteView body, Payload& out) {
    AuthPayload a;
    a.method = static_cast<AuthMethod>(body[0]);
    a.data.assign(body.begin() + 4, body.end());
    if (a.data.empty()) return "empty authentication data";
    out.body = std::move(a);
    return std::nullopt;
}

void encode_auth(Writer& w, const AuthPayload& a) {
    w.u8(static_cast<std::uint8_t>(a.method));
    w.zeros(3);
    w.bytes(a.data);
}

// --- Traffic Selector payloads TSi/TSr (RFC 7296 §3.13) ---
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Number of TSs |                 RESERVED                      |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                       <Traffic Selectors>                     ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// Traffic selector (§3.13.1):
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   TS Type     |IP Protocol ID*|       Selector Length         |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |           Start Port*         |           End Port*           |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                         Starting Address*                     ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                         Ending Address*                       ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
Failure decode_selector(Reader& r, TrafficSelector& ts) {
    std::uint8_t type = 0;
    std::uint16_t length = 0;
    if (!r.u8(type) || !r.u8(ts.ip_protocol) || !r.u16(length) || !r.u16(ts.start_port) ||
        !r.u16(ts.end_port))
        return "truncated traffic selector";
    std::size_t addr_size = 0;
    if (type == static_cast<std::uint8_t>(TsType::ipv4_addr_range)) addr_size = 4;
    else if (type == static_cast<std::uint8_t>(TsType::ipv6_addr_range)) addr_size = 16;
    else return "unsupported traffic selector type " + std::to_string(type);
    ts.type = static_cast<TsType>(type);
    if (length != 8 + 2 * addr_size) return "bad traffic selector length " + std::to_string(length);
    if (!r.bytes(addr_size, ts.start_address) || !r.bytes(addr_size, ts.end_address))
        return "truncated traffic selector";
    // "start 65535, end 0" is how §3.13.1 spells OPAQUE ports; any other inverted range is nonsense.
    const bool opaque = ts.start_port == 65535 && ts.end_port == 0;
    if (ts.start_port > ts.end_port && !opaque) return "traffic selector start port above end port";
    if (ts.start_address > ts.end_address) return "traffic selector start address above end address";
    return std::nullopt;
}

Failure decode_ts(ByteView body, Payload& out) {
    Reader r(body);
    TsPayload tsp;
    std::uint8_t count = 0;
    r.u8(count);
    r.skip(3);
    for (unsigned i = 0; i < count; ++i) {
        TrafficSelector ts;
        if (auto f = decode_selector(r, ts)) return f;
        tsp.selectors.push_back(std::move(ts));
    }
    if (!r.empty()) return "TS payload holds more data than its selectors";
    out.body = std::move(tsp);
    return std::nullopt;
}

void encode_ts(Writer& w, const TsPayload& tsp) {
    if (tsp.selectors.size() > 0xff) throw std::length_error("more than 255 traffic selectors");
    w.u8(static_cast<std::uint8_t>(tsp.selectors.size()));
    w.zeros(3);
    for (const auto& ts : tsp.selectors) {
        w.u8(static_cast<std::uint8_t>(ts.type));
        w.u8(ts.ip_protocol);
        w.u16(static_cast<std::uint16_t>(8 + ts.start_address.size() + ts.end_address.size()));
        w.u16(ts.start_port);
        w.u16(ts.end_port);
        w.bytes(ts.start_address);
        w.bytes(ts.end_address);
    }
}

// --- Configuration payload (RFC 7296 §3.15) ---
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C| RESERVED    |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   CFG Type    |                    RESERVED                   |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                   Configuration Attributes                    ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// Attribute (§3.15.1):
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |R|         Attribute Type      |            Length             |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                             Value                             ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// Attribute values are kept raw: their sizes vary in the wild (see LAB-NOTES) and are judged by the
// configuration code.
Failure decode_cp(ByteView body, Payload& out) {
    Reader r(body);
    CpPayload cp;
    std::uint8_t type = 0;
    r.u8(type);
    r.skip(3);
    cp.cfg_type = static_cast<CfgType>(type);
    while (!r.empty()) {
        CpAttribute a;
        std::uint16_t length = 0;
        if (!r.u16(a.type) || !r.u16(length)) return "truncated configuration attribute";
        a.type &= 0x7fff;  // R bit is reserved
        if (!r.bytes(length, a.value)) return "configuration attribute length exceeds the payload";
        cp.attributes.push_back(std::move(a));
    }
    out.body = std::move(cp);
    return std::nullopt;
}

void encode_cp(Writer& w, const CpPayload& cp) {
    w.u8(static_cast<std::uint8_t>(cp.cfg_type));
    w.zeros(3);
    for (const auto& a : cp.attributes) {
        if (a.value.size() > 0xffff) throw std::length_error("configuration attribute too long");
        w.u16(a.type & 0x7fff);
        w.u16(static_cast<std::uint16_t>(a.value.size()));
        w.bytes(a.value);
    }
}

// --- Delete payload (RFC 7296 §3.11) ---
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Protocol ID   |   SPI Size    |          Num of SPIs          |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~               Security Parameter Index(es) (SPI)              ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// "For an IKE SA, the SPI Size MUST be zero"; ESP and AH SPIs are four octets.
Failure decode_delete(ByteView body, Payload& out) {
    Reader r(body);
    DeletePayload d;
    std::uint8_t protocol = 0;
    std::uint16_t count = 0;
    r.u8(protocol);
    r.u8(d.spi_size);
    r.u16(count);
    d.protocol = static_cast<ProtocolId>(protocol);
    if (d.protocol == ProtocolId::ike && (d.spi_size != 0 || count != 0))
        return "IKE SA delete with SPIs";
    if ((d.protocol == ProtocolId::esp || d.protocol == ProtocolId::ah) && d.spi_size != 4)
        return "child SA delete with SPI size " + std::to_string(d.spi_size);
    if (r.remaining() != std::size_t{d.spi_size} * count) return "delete payload SPI count does not match";
    for (unsigned i = 0; i < count; ++i) {
        Bytes spi;
        r.bytes(d.spi_size, spi);
        d.spis.push_back(std::move(spi));
    }
    out.body = std::move(d);
    return std::nullopt;
}

void encode_delete(Writer& w, const DeletePayload& d) {
    if (d.spis.size() > 0xffff) throw std::length_error("too many SPIs in a delete payload");
    w.u8(static_cast<std::uint8_t>(d.protocol));
    w.u8(d.spi_size);
    w.u16(static_cast<std::uint16_t>(d.spis.size()));
    for (const auto& spi : d.spis) w.bytes(spi);
}

// --- Encrypted payloads SK (RFC 7296 §3.14) and SKF (RFC 7383 §2.5) ---
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  (SKF only:) Fragment Number  |        Total Fragments        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                     Initialization Vector                     |
// ~                    Encrypted IKE Payloads | Padding | Pad Len ~
// ~                    Integrity Checksum Data                    ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// Opaque here; Next Payload names the first payload inside (filled in by decode_chain).
Failure decode_sk(ByteView body, Payload& out) {
    out.body = SkPayload{PayloadType::none, Bytes(body.begin(), body.end())};
    return std::nullopt;
}

// CERT, CERTREQ, Vendor ID and EAP are interpreted by their users, if any.
Failure decode_raw(ByteView body, Payload& out) {
    out.body = RawPayload{Bytes(body.begin(), body.end())};
    return std::nullopt;
}

// --- The table: payload type → name, smallest valid body, decoder ---
struct Codec {
    PayloadType type;
    const char* name;
    std::size_t min_body;
    DecodeFn decode;
};

constexpr Codec codecs[] = {
    {PayloadType::sa, "SA", 8, decode_sa},
    {PayloadType::ke, "KE", 4, decode_ke},
    {PayloadType::id_i, "IDi", 4, decode_id},
    {PayloadType::id_r, "IDr", 4, decode_id},
    {PayloadType::cert, "CERT", 1, decode_raw},        // Cert Encoding (1)
    {PayloadType::certreq, "CERTREQ", 1, decode_raw},  // Cert Encoding (1)
    {PayloadType::auth, "AUTH", 4, decode_auth},
    {PayloadType::nonce, "Nonce", 16, decode_nonce},
    {PayloadType::notify, "Notify", 4, decode_notify},
    {PayloadType::del, "Delete", 4, decode_delete},
    {PayloadType::vendor, "VendorID", 0, decode_raw},
    {PayloadType::ts_i, "TSi", 4, decode_ts},
    {PayloadType::ts_r, "TSr", 4, decode_ts},
    {PayloadType::sk, "SK", 0, decode_sk},
    {PayloadType::cp, "CP", 4, decode_cp},
    {PayloadType::eap, "EAP", 4, decode_raw},   // Code, Identifier, Length (RFC 3748 §4)
    {PayloadType::skf, "SKF", 4, decode_sk},    // Fragment Number, Total Fragments
};

const Codec* find_codec(PayloadType type) {
    for (const auto& c : codecs)
        if (c.type == type) return &c;
    return nullptr;
}

// Generic payload header (RFC 7296 §3.2):
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
constexpr std::uint8_t critical_bit = 0x80;

DecodeResult<std::vector<Payload>> decode_chain(PayloadType first, ByteView data) {
    std::vector<Payload> out;
    Reader r(data);
    PayloadType type = first;
    while (type != PayloadType::none) {
        const std::string name = payload_name(type);
        std::uint8_t next = 0, flags = 0;
        std::uint16_t length = 0;
        if (!r.u8(next) || !r.u8(flags) || !r.u16(length))
            return syntax_error("truncated " + name + " payload header");
        ByteView body;
        if (length < generic_payload_header_size || !r.view(length - generic_payload_header_size, body))
            return syntax_error(name + " payload length " + std::to_string(length) + " is invalid");
        Payload p;
        p.type = type;
        p.critical = flags & critical_bit;
        if (const Codec* codec = find_codec(type)) {
            if (body.size() < codec->min_body) return syntax_error(name + " payload too short");
            if (auto f = codec->decode(body, p)) return syntax_error(name + " payload: " + *f);
        } else if (p.critical) {
            // §2.5: "the response ... MUST include a Notify payload UNSUPPORTED_CRITICAL_PAYLOAD".
            return DecodeError{"unsupported critical " + name, NotifyType::unsupported_critical_payload,
                               static_cast<std::uint8_t>(type)};
        } else {
            decode_raw(body, p);  // §2.5: unknown and not critical: "MUST be ignored" by its users
        }
        if (type == PayloadType::sk || type == PayloadType::skf) {
            std::get<SkPayload>(p.body).inner_first = static_cast<PayloadType>(next);
            if (!r.empty()) return syntax_error(name + " payload is not the last payload");
            out.push_back(std::move(p));
            return out;
        }
        out.push_back(std::move(p));
        type = static_cast<PayloadType>(next);
    }
    if (!r.empty()) return syntax_error(std::to_string(r.remaining()) + " bytes after the last payload");
    return out;
}

template <class... F>
struct Overloaded : F... {
    using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

void encode_body(Writer& w, const Payload& p) {
    std::visit(Overloaded{
                   [&](const SaPayload& b) { encode_sa(w, b); },
                   [&](const KePayload& b) { encode_ke(w, b); },
                   [&](const NoncePayload& b) { encode_nonce(w, b); },
                   [&](const NotifyPayload& b) { encode_notify(w, b); },
                   [&](const IdPayload& b) { encode_id(w, b); },
                   [&](const AuthPayload& b) { encode_auth(w, b); },
                   [&](const TsPayload& b) { encode_ts(w, b); },
                   [&](const CpPayload& b) { encode_cp(w, b); },
                   [&](const DeletePayload& b) { encode_delete(w, b); },
                   [&](const SkPayload& b) { w.bytes(b.body); },
                   [&](const RawPayload& b) { w.bytes(b.body); },
               },
               p.body);
}

// Header (RFC 7296 §3.1):
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                       IKE SA Initiator's SPI                  |
// |                                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                       IKE SA Responder's SPI                  |
// |                                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                          Message ID                           |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                            Length                             |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
void write_header(Writer& w, const Header& h, PayloadType next, std::uint32_t length) {
    w.bytes(h.spi_i);
    w.bytes(h.spi_r);
    w.u8(static_cast<std::uint8_t>(next));
    w.u8(h.version);
    w.u8(static_cast<std::uint8_t>(h.exchange));
    w.u8(h.flags);
    w.u32(h.message_id);
    w.u32(length);
}

}  // namespace

Bytes IdPayload::body() const {
    Bytes out;
    out.reserve(4 + data.size());
    out.push_back(static_cast<std::uint8_t>(id_type));
    out.insert(out.end(), 3, 0);
    append(out, data);
    return out;
}

DecodeResult<Header> decode_header(ByteView datagram) {
    Reader r(datagram);
    Header h;
    std::uint8_t next = 0, exchange = 0;
    ByteView spi_i, spi_r;
    if (!r.view(8, spi_i) || !r.view(8, spi_r) || !r.u8(next) || !r.u8(h.version) || !r.u8(exchange) ||
        !r.u8(h.flags) || !r.u32(h.message_id) || !r.u32(h.length))
        return syntax_error("datagram shorter than the IKE header");
    std::copy(spi_i.begin(), spi_i.end(), h.spi_i.begin());
    std::copy(spi_r.begin(), spi_r.end(), h.spi_r.begin());
    h.next_payload = static_cast<PayloadType>(next);
    h.exchange = static_cast<ExchangeType>(exchange);
    if (h.length != datagram.size())
        return syntax_error("header length " + std::to_string(h.length) + " but datagram of " +
                            std::to_string(datagram.size()) + " bytes");
    if ((h.version >> 4) != 2)
        return DecodeError{"IKE major version " + std::to_string(h.version >> 4),
                           NotifyType::invalid_major_version, 0};
    return h;
}

DecodeResult<Message> decode(ByteView datagram) {
    auto header = decode_header(datagram);
    if (!header) return header.error();
    auto payloads = decode_chain(header.value().next_payload, datagram.subspan(header_size));
    if (!payloads) return payloads.error();
    return Message{header.value(), std::move(payloads.value())};
}

DecodeResult<std::vector<Payload>> decode_payloads(PayloadType first, ByteView data) {
    return decode_chain(first, data);
}

Bytes encode_payloads(const std::vector<Payload>& payloads, PayloadType* first) {
    Bytes out;
    Writer w(out);
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        const Payload& p = payloads[i];
        PayloadType next = i + 1 < payloads.size() ? payloads[i + 1].type : PayloadType::none;
        if (const auto* sk = std::get_if<SkPayload>(&p.body)) next = sk->inner_first;
        const std::size_t start = w.size();
        w.u8(static_cast<std::uint8_t>(next));
        w.u8(p.critical ? critical_bit : 0);
        const std::size_t len_at = w.reserve_u16();
        encode_body(w, p);
        w.patch_length16(len_at, start);
    }
    if (first) *first = payloads.empty() ? PayloadType::none : payloads.front().type;
    return out;
}

Bytes encode(const Message& message) {
    PayloadType first = PayloadType::none;
    const Bytes body = encode_payloads(message.payloads, &first);
    const std::size_t total = header_size + body.size();
    if (total > 0xffffffffu) throw std::length_error("IKE message too long");
    Bytes out;
    out.reserve(total);
    Writer w(out);
    write_header(w, message.header, first, static_cast<std::uint32_t>(total));
    w.bytes(body);
    return out;
}

Bytes encode_header(const Header& header, PayloadType next_payload, std::uint32_t total_length) {
    Bytes out;
    Writer w(out);
    write_header(w, header, next_payload, total_length);
    return out;
}

Payload make_notify(NotifyType type, Bytes data, ProtocolId protocol, Bytes spi) {
    Payload p;
    p.type = PayloadType::notify;
    p.body = NotifyPayload{protocol, std::move(spi), static_cast<std::uint16_t>(type), std::move(data)};
    return p;
}

const NotifyPayload* find_notify(const std::vector<Payload>& payloads, NotifyType type) {
    for (const auto& p : payloads)
        if (p.type == PayloadType::notify)
            if (const auto* n = std::get_if<NotifyPayload>(&p.body))
                if (n->type == static_cast<std::uint16_t>(type)) return n;
    return nullptr;
}

std::string payload_name(PayloadType type) {
    if (const Codec* c = find_codec(type)) return c->name;
    return "payload " + std::to_string(static_cast<unsigned>(type));
}

bool is_known_payload(PayloadType type) { return find_codec(type) != nullptr; }

std::string exchange_name(ExchangeType exchange) {
    switch (exchange) {
        case ExchangeType::ike_sa_init: return "IKE_SA_INIT";
        case ExchangeType::ike_auth: return "IKE_AUTH";
        case ExchangeType::create_child_sa: return "CREATE_CHILD_SA";
        case ExchangeType::informational: return "INFORMATIONAL";
    }
    return "exchange " + std::to_string(static_cast<unsigned>(exchange));
}

}  // namespace ikevpn::msg
