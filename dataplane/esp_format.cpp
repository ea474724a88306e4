#include "dataplane/esp_format.hpp"

namespace ikevpn::dataplane::esp {

namespace {
constexpr std::size_t ipv4_min_header = 20;
constexpr std::size_t ipv6_header = 40;
}  // namespace

Udp4500Kind classify_udp4500(std::span<const std::uint8_t> payload) {
    if (payload.size() == 1 && payload[0] == 0xff) return Udp4500Kind::keepalive;
    if (payload.size() < 4) return Udp4500Kind::malformed;
    if (read_be32(payload.data()) == 0) {
        // Non-ESP marker followed by at least an IKE header's worth is checked by the IKE decoder; here
        // only the demultiplexing decision is made.
        return payload.size() > 4 ? Udp4500Kind::ike : Udp4500Kind::malformed;
    }
    return payload.size() >= header_size ? Udp4500Kind::esp : Udp4500Kind::malformed;
}

std::size_t write_trailer(std::uint8_t* at, std::size_t payload_length, std::uint8_t next_header) {
    return write_trailer(at, payload_length, next_header, 4);
}

std::size_t write_trailer(std::uint8_t* at, std::size_t payload_length, std::uint8_t next_header,
                          std::size_t alignment) {
    const std::size_t pad = padding_for(payload_length, alignment);
    // RFC 4303 §2.4 default padding: the octets count up from 1.
    for (std::size_t i = 0; i < pad; ++i) at[i] = static_cast<std::uint8_t>(i + 1);
    at[pad] = static_cast<std::uint8_t>(pad);
    at[pad + 1] = next_header;
    return pad + 2;
}

Trailer parse_trailer(std::span<const std::uint8_t> plaintext) {
    Trailer t;
    if (plaintext.size() < 2) return t;  // malformed
    const std::size_t n = plaintext.size();
    const std::size_t pad = plaintext[n - 2];
    t.next_header = plaintext[n - 1];
    if (pad > n - 2) {
        t.result = PacketResult::bad_padding;
        return t;
    }
    const std::size_t payload_length = n - 2 - pad;
    for (std::size_t i = 0; i < pad; ++i) {
        if (plaintext[payload_length + i] != static_cast<std::uint8_t>(i + 1)) {
            t.result = PacketResult::bad_padding;
            return t;
        }
    }
    t.payload_length = payload_length;
    t.result = PacketResult::ok;
    return t;
}

std::uint8_t next_header_for_inner(std::span<const std::uint8_t> inner) {
    if (inner.empty()) return 0;
    const unsigned version = inner[0] >> 4;
    if (version == 4 && inner.size() >= ipv4_min_header) return next_header_ipv4;
    if (version == 6 && inner.size() >= ipv6_header) return next_header_ipv6;
    return 0;
}

InnerAddresses inner_addresses(std::span<const std::uint8_t> inner) {
    InnerAddresses a;
    switch (next_header_for_inner(inner)) {
    case next_header_ipv4:
        // RFC 791 §3.1: source address at octet 12, destination at 16.
        a = {true, false, inner.data() + 12, inner.data() + 16};
        break;
    case next_header_ipv6:
        // RFC 8200 §3: source address at octet 8, destination at 24.
        a = {true, true, inner.data() + 8, inner.data() + 24};
        break;
    default:
        break;
    }
    return a;
}

}  // namespace ikevpn::dataplane::esp
