#include "core/message/fragment.hpp"

#include "core/message/buffer.hpp"

#include <stdexcept>
#include <string>

namespace ikevpn::msg {
namespace {

DecodeError fragment_error(std::string reason) { return DecodeError{"SKF payload: " + std::move(reason), {}, 0}; }

}  // namespace

bool is_fragment(const Message& message) {
    return !message.payloads.empty() && message.payloads.back().type == PayloadType::skf;
}

DecodeResult<SkfFragment> read_fragment(const Message& message, ByteView datagram) {
    if (!is_fragment(message)) return fragment_error("missing");
    const auto* skf = std::get_if<SkPayload>(&message.payloads.back().body);
    if (!skf) return fragment_error("not decoded as an encrypted payload");
    // The SKF payload is the last one, so its body ends the datagram (message.cpp checks that).
    const std::size_t body_size = skf->body.size();
    if (body_size < 4 || datagram.size() < header_size + generic_payload_header_size + body_size)
        return fragment_error("too short for Fragment Number and Total Fragments");
    const std::size_t body_at = datagram.size() - body_size;
    Reader r(datagram.subspan(body_at, 4));
    SkfFragment f;
    r.u16(f.number);
    r.u16(f.total);
    if (f.total == 0) return fragment_error("Total Fragments is zero");
    if (f.number == 0 || f.number > f.total)
        return fragment_error("Fragment Number " + std::to_string(f.number) + " outside 1.." + std::to_string(f.total));
    // RFC 7383 §2.5: "In the very first fragment ... set to the payload type of the first inner payload.
    // In the other fragments ... MUST be set to zero".
    if (f.number > 1 && skf->inner_first != PayloadType::none)
        return fragment_error("Next Payload set in fragment " + std::to_string(f.number));
    if (f.number == 1 && skf->inner_first == PayloadType::none) return fragment_error("fragment 1 names no inner payload");
    f.inner_first = skf->inner_first;
    f.aad_size = body_at + 4;
    f.encrypted = datagram.subspan(body_at + 4);
    return f;
}

Bytes encode_fragment_head(const Header& header, PayloadType inner_first, std::uint16_t number,
                           std::uint16_t total, std::size_t encrypted_size) {
    const std::size_t payload_length = skf_header_size + encrypted_size;
    if (payload_length > 0xffff) throw std::length_error("SKF payload too long");
    Bytes out = encode_header(header, PayloadType::skf, std::uint32_t(header_size + payload_length));
    Writer w(out);
    w.u8(std::uint8_t(number == 1 ? inner_first : PayloadType::none));
    w.u8(0);  // critical bit clear, reserved
    w.u16(std::uint16_t(payload_length));
    w.u16(number);
    w.u16(total);
    return out;
}

}  // namespace ikevpn::msg
