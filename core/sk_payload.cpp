#include "core/sk_payload.hpp"

namespace ikevpn::core {

Bytes protect_message(const msg::Header& header, const std::vector<msg::Payload>& inner,
                      crypto::Aead& aead, std::uint64_t& iv_counter) {
    msg::PayloadType first = msg::PayloadType::none;
    Bytes plaintext = msg::encode_payloads(inner, &first);
    // RFC 7296 §3.14: padding makes payloads | padding | pad length a multiple of the cipher's block size
    // (none for an AEAD); the Pad Length octet is always present. Padding octets are zero here.
    const std::size_t block = aead.block_size();
    const std::size_t pad = (block - (plaintext.size() + 1) % block) % block;
    plaintext.resize(plaintext.size() + pad, 0);
    plaintext.push_back(std::uint8_t(pad));

    Bytes iv(aead.iv_size());
    aead.make_iv(++iv_counter, iv);

    const std::size_t sk_length = msg::generic_payload_header_size + iv.size() + plaintext.size() + aead.tag_size();
    const auto total = std::uint32_t(msg::header_size + sk_length);
    Bytes out = msg::encode_header(header, msg::PayloadType::sk, total);
    out.push_back(std::uint8_t(first));
    out.push_back(0);  // critical bit clear, reserved
    out.push_back(std::uint8_t(sk_length >> 8));
    out.push_back(std::uint8_t(sk_length));
    Bytes sealed = aead.seal(iv, out, plaintext);  // AAD = header | SK generic header
    append(out, iv);
    append(out, sealed);
    return out;
}

std::optional<std::vector<msg::Payload>> unprotect_message(ByteView datagram, const msg::Message& decoded,
                                                           crypto::Aead& aead) {
    if (decoded.payloads.empty()) return std::nullopt;
    const auto* sk = std::get_if<msg::SkPayload>(&decoded.payloads.back().body);
    if (!sk || decoded.payloads.back().type != msg::PayloadType::sk) return std::nullopt;
    // The SK payload is last, so its body ends the datagram and its generic header precedes the body.
    const std::size_t body_size = sk->body.size();
    if (body_size < aead.iv_size() + aead.tag_size() + 1 ||
        datagram.size() < msg::header_size + msg::generic_payload_header_size + body_size)
        return std::nullopt;
    const std::size_t body_offset = datagram.size() - body_size;
    ByteView aad = datagram.first(body_offset);
    ByteView iv = datagram.subspan(body_offset, aead.iv_size());
    ByteView sealed = datagram.subspan(body_offset + aead.iv_size());
    auto plaintext = aead.open(iv, aad, sealed);  // CBC: the ICV is checked before anything is decrypted
    if (!plaintext || plaintext->empty()) return std::nullopt;
    const std::size_t pad_length = plaintext->back();
    if (pad_length + 1 > plaintext->size()) return std::nullopt;
    ByteView payloads(plaintext->data(), plaintext->size() - 1 - pad_length);
    auto inner = msg::decode_payloads(sk->inner_first, payloads);
    if (!inner) return std::nullopt;
    return std::move(inner.value());
}

}  // namespace ikevpn::core
