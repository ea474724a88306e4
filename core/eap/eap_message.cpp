#include "core/eap/eap_message.hpp"

namespace ikevpn::core::eap {

namespace {

std::uint16_t read16(ByteView b, std::size_t at) { return std::uint16_t(b[at] << 8 | b[at + 1]); }

void put16(Bytes& out, std::size_t value) {
    out.push_back(std::uint8_t(value >> 8));
    out.push_back(std::uint8_t(value));
}

}  // namespace

std::optional<Packet> decode(ByteView bytes, std::string& error) {
    if (bytes.size() < 4) {
        error = "EAP packet of " + std::to_string(bytes.size()) + " bytes (at least 4 needed)";
        return std::nullopt;
    }
    Packet p;
    const std::uint8_t code = bytes[0];
    p.identifier = bytes[1];
    const std::size_t length = read16(bytes, 2);
    if (length < 4 || length > bytes.size()) {
        error = "EAP Length " + std::to_string(length) + " does not fit the " + std::to_string(bytes.size()) + " bytes received";
        return std::nullopt;
    }
    if (code < 1 || code > 4) {
        error = "unknown EAP Code " + std::to_string(code);
        return std::nullopt;
    }
    p.code = Code(code);
    if (p.code == Code::success || p.code == Code::failure) {
        if (length != 4) {
            error = "EAP Success/Failure with Length " + std::to_string(length) + " (must be 4)";
            return std::nullopt;
        }
        return p;
    }
    if (length < 5) {
        error = "EAP Request/Response without a Type";
        return std::nullopt;
    }
    p.type = bytes[4];
    p.data.assign(bytes.begin() + 5, bytes.begin() + std::ptrdiff_t(length));
    return p;
}

Bytes encode(const Packet& packet) {
    Bytes out{std::uint8_t(packet.code), packet.identifier};
    const bool typed = packet.code == Code::request || packet.code == Code::response;
    put16(out, 4 + (typed ? 1 + packet.data.size() : 0));
    if (typed) {
        out.push_back(packet.type);
        append(out, packet.data);
    }
    return out;
}

std::optional<MsChapV2Request> decode_mschapv2_request(ByteView d, std::string& error) {
    if (d.size() < 4) {
        error = "EAP-MSCHAPv2 request of " + std::to_string(d.size()) + " bytes (at least 4 needed)";
        return std::nullopt;
    }
    MsChapV2Request r;
    r.opcode = MsOpCode(d[0]);
    r.ms_id = d[1];
    const std::size_t ms_length = read16(d, 2);
    // MS-Length should equal the Type-Data size; strongSwan and Windows agree, but a longer buffer is
    // only padding, so we take MS-Length as the end when it fits.
    if (ms_length < 4 || ms_length > d.size()) {
        error = "EAP-MSCHAPv2 MS-Length " + std::to_string(ms_length) + " does not fit the " + std::to_string(d.size()) + " bytes";
        return std::nullopt;
    }
    d = d.first(ms_length);
    switch (r.opcode) {
    case MsOpCode::challenge: {
        if (d.size() < 5 || d[4] != 16 || d.size() < 5 + std::size_t(16)) {
            error = "EAP-MSCHAPv2 Challenge without a 16-byte challenge value";
            return std::nullopt;
        }
        r.value.assign(d.begin() + 5, d.begin() + 21);
        r.text.assign(d.begin() + 21, d.end());
        return r;
    }
    case MsOpCode::success:
    case MsOpCode::failure:
        r.text.assign(d.begin() + 4, d.end());
        return r;
    default:
        error = "EAP-MSCHAPv2 request with OpCode " + std::to_string(int(r.opcode)) + " (only Challenge, Success and Failure are expected)";
        return std::nullopt;
    }
}

Bytes encode_mschapv2_response(std::uint8_t ms_id, ByteView peer_challenge, ByteView nt_response, const std::string& name) {
    Bytes out{std::uint8_t(MsOpCode::response), ms_id};
    put16(out, 4 + 1 + 49 + name.size());
    out.push_back(49);
    append(out, peer_challenge);
    out.insert(out.end(), 8, 0);  // Reserved
    append(out, nt_response);
    out.push_back(0);  // Flags
    out.insert(out.end(), name.begin(), name.end());
    return out;
}

}  // namespace ikevpn::core::eap
