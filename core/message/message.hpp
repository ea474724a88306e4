// IKEv2 message and payload model (RFC 7296 §3). Decoding validates every length before any field is
// given meaning; encoding computes every length. The SK payload's body is carried opaque here: protecting
// and unprotecting it is core/sk_payload's job, and its decrypted content is decoded with decode_payloads().
#pragma once
#include "core/bytes.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace ikevpn::msg {

enum class ExchangeType : std::uint8_t {
    ike_sa_init = 34, ike_auth = 35, create_child_sa = 36, informational = 37,
};

enum class PayloadType : std::uint8_t {
    none = 0, sa = 33, ke = 34, id_i = 35, id_r = 36, cert = 37, certreq = 38, auth = 39, nonce = 40,
    notify = 41, del = 42, vendor = 43, ts_i = 44, ts_r = 45, sk = 46, cp = 47, eap = 48, skf = 53,
};

// Header flags (RFC 7296 §3.1).
inline constexpr std::uint8_t flag_initiator = 0x08;
inline constexpr std::uint8_t flag_version = 0x10;
inline constexpr std::uint8_t flag_response = 0x20;

using Spi8 = std::array<std::uint8_t, 8>;

struct Header {
    Spi8 spi_i{};
    Spi8 spi_r{};
    PayloadType next_payload = PayloadType::none;
    std::uint8_t version = 0x20;  // major 2, minor 0
    ExchangeType exchange = ExchangeType::ike_sa_init;
    std::uint8_t flags = 0;
    std::uint32_t message_id = 0;
    std::uint32_t length = 0;  // filled by encode()
    bool is_response() const { return flags & flag_response; }
    bool is_initiator() const { return flags & flag_initiator; }
};
inline constexpr std::size_t header_size = 28;
inline constexpr std::size_t generic_payload_header_size = 4;

// --- SA payload (RFC 7296 §3.3) ---
enum class TransformType : std::uint8_t { encr = 1, prf = 2, integ = 3, dh = 4, esn = 5 };
enum class ProtocolId : std::uint8_t { none = 0, ike = 1, ah = 2, esp = 3 };
struct Transform {
    TransformType type = TransformType::encr;
    std::uint16_t id = 0;
    std::optional<std::uint16_t> key_length;  // attribute 14 (Key Length, TV format), in bits
    bool operator==(const Transform&) const = default;
};
struct Proposal {
    std::uint8_t number = 1;
    ProtocolId protocol = ProtocolId::ike;
    Bytes spi;  // empty in an initial IKE_SA_INIT, 4 bytes for ESP
    std::vector<Transform> transforms;
    bool operator==(const Proposal&) const = default;
};
struct SaPayload { std::vector<Proposal> proposals; };

struct KePayload { std::uint16_t group = 0; Bytes data; };
struct NoncePayload { Bytes data; };

// Notify message types used so far (RFC 7296 §3.10.1 and IANA).
enum class NotifyType : std::uint16_t {
    unsupported_critical_payload = 1, invalid_ike_spi = 4, invalid_major_version = 5, invalid_syntax = 7,
    invalid_message_id = 9, invalid_spi = 11, no_proposal_chosen = 14, invalid_ke_payload = 17,
    authentication_failed = 24, single_pair_required = 34, no_additional_sas = 35,
    internal_address_failure = 36, failed_cp_required = 37, ts_unacceptable = 38, invalid_selectors = 39,
    temporary_failure = 43, child_sa_not_found = 44,
    unacceptable_addresses = 40, unexpected_nat_detected = 41,  // RFC 4555 §4.2.4
    initial_contact = 16384, set_window_size = 16385, additional_ts_possible = 16386,
    ipcomp_supported = 16387, nat_detection_source_ip = 16388, nat_detection_destination_ip = 16389,
    cookie = 16390, use_transport_mode = 16391, rekey_sa = 16393, esp_tfc_padding_not_supported = 16394,
    non_first_fragments_also = 16395, mobike_supported = 16396, fragmentation_supported = 16430,
    signature_hash_algorithms = 16431,
    // MOBIKE (RFC 4555 §4.2)
    additional_ip4_address = 16397, additional_ip6_address = 16398, no_additional_addresses = 16399,
    update_sa_addresses = 16400, cookie2 = 16401, no_nats_allowed = 16402,
    auth_lifetime = 16403,  // RFC 4478 §3
};
// Types below 16384 report errors (RFC 7296 §3.10.1).
inline bool is_error_notify(std::uint16_t type) { return type < 16384; }
struct NotifyPayload {
    ProtocolId protocol = ProtocolId::none;
    Bytes spi;
    std::uint16_t type = 0;
    Bytes data;
};

// ID payload (RFC 7296 §3.5). body() = ID type | 3 reserved bytes | data: the bytes AUTH is computed over.
enum class IdType : std::uint8_t { ipv4_addr = 1, fqdn = 2, rfc822_addr = 3, ipv6_addr = 5,
                                   der_asn1_dn = 9, der_asn1_gn = 10, key_id = 11 };
struct IdPayload {
    IdType id_type = IdType::fqdn;
    Bytes data;
    Bytes body() const;
};

enum class AuthMethod : std::uint8_t { rsa_sig = 1, shared_key_mic = 2, dss_sig = 3, digital_signature = 14 };
struct AuthPayload { AuthMethod method = AuthMethod::shared_key_mic; Bytes data; };

// Traffic selectors (RFC 7296 §3.13.1).
enum class TsType : std::uint8_t { ipv4_addr_range = 7, ipv6_addr_range = 8 };
struct TrafficSelector {
    TsType type = TsType::ipv4_addr_range;
    std::uint8_t ip_protocol = 0;  // 0 = any
    std::uint16_t start_port = 0;
    std::uint16_t end_port = 65535;
    Bytes start_address;  // 4 or 16 bytes, per type
    Bytes end_address;
    bool operator==(const TrafficSelector&) const = default;
};
struct TsPayload { std::vector<TrafficSelector> selectors; };

// Configuration payload (RFC 7296 §3.15).
enum class CfgType : std::uint8_t { request = 1, reply = 2, set = 3, ack = 4 };
enum class CfgAttr : std::uint16_t {
    internal_ip4_address = 1, internal_ip4_netmask = 2, internal_ip4_dns = 3, internal_ip4_nbns = 4,
    internal_ip4_dhcp = 6, application_version = 7, internal_ip6_address = 8, internal_ip6_dns = 10,
    internal_ip6_dhcp = 12, internal_ip4_subnet = 13, supported_attributes = 14, internal_ip6_subnet = 15,
    internal_dns_domain = 25,
};
struct CpAttribute { std::uint16_t type = 0; Bytes value; };
struct CpPayload { CfgType cfg_type = CfgType::request; std::vector<CpAttribute> attributes; };

struct DeletePayload {
    ProtocolId protocol = ProtocolId::ike;
    std::uint8_t spi_size = 0;
    std::vector<Bytes> spis;  // each spi_size bytes
};

// SK payload (RFC 7296 §3.14): body = IV | ciphertext | ICV, opaque at this layer. next_payload of its
// generic header names the first payload inside; it is kept in Payload::inner_first.
struct SkPayload { PayloadType inner_first = PayloadType::none; Bytes body; };

// Any payload this codec does not interpret (vendor ID, CERTREQ, EAP, ...): kept as raw body.
struct RawPayload { Bytes body; };

struct Payload {
    PayloadType type = PayloadType::none;
    bool critical = false;
    std::variant<SaPayload, KePayload, NoncePayload, NotifyPayload, IdPayload, AuthPayload, TsPayload,
                 CpPayload, DeletePayload, SkPayload, RawPayload>
        body;
};

struct Message {
    Header header;
    std::vector<Payload> payloads;  // for a protected message: the unencrypted ones, SK last
};

// A decode failure with a short reason for logs and a Notify to answer with where one applies.
struct DecodeError {
    std::string reason;
    std::optional<NotifyType> notify;  // invalid_syntax, unsupported_critical_payload (data = payload type)
    std::uint8_t unsupported_payload = 0;
};

template <class T>
class DecodeResult {
public:
    DecodeResult(T value) : v_(std::move(value)) {}
    DecodeResult(DecodeError error) : v_(std::move(error)) {}
    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() { return std::get<0>(v_); }
    const T& value() const { return std::get<0>(v_); }
    const DecodeError& error() const { return std::get<1>(v_); }
private:
    std::variant<T, DecodeError> v_;
};

// Header only (to route a datagram to its SA before anything else). Checks length >= 28, the declared
// length matches the datagram, major version 2.
DecodeResult<Header> decode_header(ByteView datagram);

// Whole message. Unknown non-critical payloads become RawPayload; an unknown critical payload is a
// DecodeError with notify = unsupported_critical_payload. The SK/SKF payload must be the last one.
DecodeResult<Message> decode(ByteView datagram);

// A chain of payloads (the decrypted content of SK), starting with payload type `first`.
DecodeResult<std::vector<Payload>> decode_payloads(PayloadType first, ByteView data);

// Encodes payloads as a chain; *first is set to the type of the first payload (none when empty).
// An SK/SKF payload must come last: its Next Payload field carries SkPayload::inner_first instead.
Bytes encode_payloads(const std::vector<Payload>& payloads, PayloadType* first);

// Encodes header + payloads, filling header.next_payload and header.length.
Bytes encode(const Message& message);

// Header bytes alone with the given total length (used to build the AAD of an SK payload).
Bytes encode_header(const Header& header, PayloadType next_payload, std::uint32_t total_length);

// Convenience constructors.
Payload make_notify(NotifyType type, Bytes data = {}, ProtocolId protocol = ProtocolId::none, Bytes spi = {});

// Finds the first payload of a type and returns its body, or nullptr.
template <class Body>
const Body* find(const std::vector<Payload>& payloads, PayloadType type) {
    for (const auto& p : payloads)
        if (p.type == type)
            if (auto* b = std::get_if<Body>(&p.body)) return b;
    return nullptr;
}
const NotifyPayload* find_notify(const std::vector<Payload>& payloads, NotifyType type);

// Short names for logs and rule violations ("SA", "IDi", "Notify"; "payload 99" for unknown types).
std::string payload_name(PayloadType type);
std::string exchange_name(ExchangeType exchange);  // "IKE_SA_INIT", ...; "exchange 40" for unknown ones
// True for the payload types this codec knows (every PayloadType enumerator except none).
bool is_known_payload(PayloadType type);

}  // namespace ikevpn::msg
