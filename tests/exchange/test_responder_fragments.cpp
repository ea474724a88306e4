// IKE fragmentation (RFC 7383) for the scripted gateway, written independently of core/ike_fragment so the
// exchange tests check the initiator against a second reading of the RFC: fragments of a request are
// verified and collected by number; a long response is split into SKF messages built byte by byte.
#include "test_responder.hpp"

#include "core/sk_payload.hpp"

#include <algorithm>

namespace ikevpn::test {
namespace {

constexpr std::size_t iv_size = 8, icv_size = 16;  // AES-GCM in IKEv2 (RFC 5282)

}  // namespace

std::vector<Bytes> TestResponder::handle_datagrams(ByteView request) {
    auto decoded = msg::decode(request);
    if (!decoded) return {};
    const auto& m = decoded.value();
    Bytes reply;
    if (!m.payloads.empty() && m.payloads.back().type == msg::PayloadType::skf) {
        auto whole = reassemble(m, request);
        if (!whole) return {};
        reply = handle(*whole);
    } else {
        reply = handle(request);
    }
    if (reply.empty()) return {};
    return split(reply);
}

std::optional<Bytes> TestResponder::reassemble(const msg::Message& m, ByteView raw) {
    ++fragments_seen;
    const auto* skf = std::get_if<msg::SkPayload>(&m.payloads.back().body);
    if (!fragmentation_negotiated || !aead_in_ || !skf || skf->body.size() < 4 + iv_size + icv_size + 1) {
        ++fragments_rejected;
        return std::nullopt;
    }
    // SKF body: Fragment Number (2) | Total Fragments (2) | IV | ciphertext | ICV (RFC 7383 §2.5).
    const ByteView body = raw.last(skf->body.size());
    const std::uint16_t number = std::uint16_t(body[0] << 8 | body[1]);
    const std::uint16_t total = std::uint16_t(body[2] << 8 | body[3]);
    const std::size_t aad_size = raw.size() - body.size() + 4;  // IKE header .. Total Fragments
    auto plain = aead_in_->open(body.subspan(4, iv_size), raw.first(aad_size), body.subspan(4 + iv_size));
    if (!plain || number == 0 || number > total || plain->empty() || std::size_t(plain->back()) + 1 > plain->size()) {
        ++fragments_rejected;
        return std::nullopt;
    }
    plain->resize(plain->size() - 1 - plain->back());
    if (m.header.message_id != fragment_id_ || total != fragment_total_) {
        fragment_parts_.clear();
        fragment_id_ = m.header.message_id;
        fragment_total_ = total;
    }
    if (number == 1) fragment_first_ = skf->inner_first;
    fragment_parts_[number] = std::move(*plain);
    if (fragment_parts_.size() < total) return std::nullopt;
    Bytes all;
    for (const auto& [n, part] : fragment_parts_) append(all, part);
    fragment_parts_.clear();
    fragment_total_ = 0;
    auto inner = msg::decode_payloads(fragment_first_, all);
    if (!inner) return std::nullopt;
    ++requests_reassembled;
    // The handlers take a whole SK message: rebuild one under the initiator's key (a test shortcut only).
    return core::protect_message(m.header, inner.value(), *aead_in_, rebuild_iv_);
}

std::vector<Bytes> TestResponder::split(const Bytes& whole) {
    auto decoded = msg::decode(whole);
    const std::size_t limit = options_.fragment_limit;
    const std::size_t overhead = msg::header_size + 8 + iv_size + icv_size + 1;
    if (!decoded || !fragmentation_negotiated || limit <= overhead || whole.size() <= limit ||
        decoded.value().header.exchange == msg::ExchangeType::ike_sa_init)
        return {whole};
    auto inner = core::unprotect_message(whole, decoded.value(), *aead_out_);  // our own message, our key
    if (!inner) return {whole};
    msg::PayloadType first = msg::PayloadType::none;
    const Bytes plain = msg::encode_payloads(*inner, &first);
    const std::size_t chunk = limit - overhead;
    const std::size_t total = (plain.size() + chunk - 1) / chunk;
    std::vector<Bytes> out;
    for (std::size_t i = 0; i < total; ++i) {
        Bytes content(plain.begin() + std::ptrdiff_t(i * chunk),
                      plain.begin() + std::ptrdiff_t(std::min(plain.size(), (i + 1) * chunk)));
        content.push_back(0);  // Pad Length
        Bytes iv(iv_size);
        std::uint64_t counter = ++iv_counter_;
        for (std::size_t k = iv_size; k-- > 0; counter >>= 8) iv[k] = std::uint8_t(counter);
        const std::size_t skf_length = 8 + iv_size + content.size() + icv_size;
        Bytes d = msg::encode_header(decoded.value().header, msg::PayloadType::skf,
                                     std::uint32_t(msg::header_size + skf_length));
        const std::size_t number = i + 1;
        append(d, Bytes{std::uint8_t(i == 0 ? std::uint8_t(first) : 0), 0, std::uint8_t(skf_length >> 8),
                        std::uint8_t(skf_length), std::uint8_t(number >> 8), std::uint8_t(number),
                        std::uint8_t(total >> 8), std::uint8_t(total)});
        const Bytes sealed = aead_out_->seal(iv, d, content);  // AAD: IKE header | SKF header
        append(d, iv);
        append(d, sealed);
        out.push_back(std::move(d));
    }
    ++fragmented_responses;
    return out;
}

}  // namespace ikevpn::test
