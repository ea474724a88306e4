#include "core/ike_fragment.hpp"

#include <algorithm>

namespace ikevpn::core {
namespace {

constexpr std::size_t ipv4_header = 20, ipv6_header = 40, udp_header = 8, non_esp_marker = 4;

Bytes next_iv(crypto::Aead& aead, std::uint64_t& iv_counter) {
    // As protect_message(): a counter for an AEAD (RFC 5282 §3.1 wants IVs unique under the key), a random
    // IV for CBC (RFC 7296 §3.14 wants it unpredictable).
    Bytes iv(aead.iv_size());
    aead.make_iv(++iv_counter, iv);
    return iv;
}

// Payloads | Padding | Pad Length, a multiple of the cipher's block size (RFC 7296 §3.14; RFC 7383 §2.5
// encrypts each fragment's content exactly like an SK payload's). Padding octets are zero.
void pad_to_block(Bytes& content, std::size_t block) {
    const std::size_t pad = (block - (content.size() + 1) % block) % block;
    content.resize(content.size() + pad, 0);
    content.push_back(std::uint8_t(pad));
}

}  // namespace

std::size_t ike_message_limit(std::size_t fragment_size, bool ipv6, bool nat_t) {
    const std::size_t overhead = (ipv6 ? ipv6_header : ipv4_header) + udp_header + (nat_t ? non_esp_marker : 0);
    return fragment_size > overhead ? fragment_size - overhead : 0;
}

std::size_t fragment_content_size(std::size_t message_limit, const crypto::Aead& aead) {
    // Worst case: block_size - 1 octets of padding (none with an AEAD) and the Pad Length octet.
    const std::size_t overhead = msg::header_size + msg::skf_header_size + aead.iv_size() + aead.tag_size() + 1 +
                                 (aead.block_size() - 1);
    return message_limit > overhead ? message_limit - overhead : 0;
}

std::vector<Bytes> protect_fragments(const msg::Header& header, const std::vector<msg::Payload>& inner,
                                     crypto::Aead& aead, std::uint64_t& iv_counter, std::size_t message_limit) {
    msg::PayloadType first = msg::PayloadType::none;
    const Bytes plaintext = msg::encode_payloads(inner, &first);
    // The unfragmented message: IKE header | SK header | IV | payloads | Pad Length | ICV.
    const std::size_t block = aead.block_size();
    const std::size_t padded = (plaintext.size() + 1 + block - 1) / block * block;
    const std::size_t whole = msg::header_size + msg::generic_payload_header_size + aead.iv_size() + padded +
                              aead.tag_size();
    const std::size_t chunk = fragment_content_size(message_limit, aead);
    if (whole <= message_limit || chunk == 0) return {};
    const std::size_t count = (plaintext.size() + chunk - 1) / chunk;
    if (count > 0xffff) return {};
    std::vector<Bytes> out;
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t at = i * chunk, size = std::min(chunk, plaintext.size() - at);
        Bytes content(plaintext.begin() + std::ptrdiff_t(at), plaintext.begin() + std::ptrdiff_t(at + size));
        pad_to_block(content, block);
        const Bytes iv = next_iv(aead, iv_counter);
        // RFC 7383 §2.5: the AAD is the IKE header and the SKF header up to the IV, as in RFC 5282.
        Bytes message = msg::encode_fragment_head(header, first, std::uint16_t(i + 1), std::uint16_t(count),
                                                  iv.size() + content.size() + aead.tag_size());
        const Bytes sealed = aead.seal(iv, message, content);
        append(message, iv);
        append(message, sealed);
        out.push_back(std::move(message));
    }
    return out;
}

void FragmentReassembler::reset() {
    id_.reset();
    chunks_.clear();
    total_ = 0;
    have_ = 0;
    bytes_ = 0;
    inner_first_ = msg::PayloadType::none;
}

std::optional<Bytes> FragmentReassembler::open_fragment(const msg::SkfFragment& f, ByteView datagram,
                                                        crypto::Aead& aead) const {
    if (f.encrypted.size() < aead.iv_size() + aead.tag_size() + 1) return std::nullopt;
    auto plaintext = aead.open(f.encrypted.first(aead.iv_size()), datagram.first(f.aad_size),
                               f.encrypted.subspan(aead.iv_size()));
    if (!plaintext || plaintext->empty()) return std::nullopt;
    const std::size_t pad = plaintext->back();
    if (pad + 1 > plaintext->size()) return std::nullopt;
    plaintext->resize(plaintext->size() - 1 - pad);
    return plaintext;
}

void FragmentReassembler::start(const msg::Message& m, const msg::SkfFragment& f, TimePoint now) {
    reset();
    id_ = m.header.message_id;
    response_ = m.header.is_response();
    exchange_ = m.header.exchange;
    total_ = f.total;
    chunks_.resize(f.total);
    started_ = now;
}

std::optional<std::vector<msg::Payload>> FragmentReassembler::add(const msg::Message& m, ByteView datagram,
                                                                  crypto::Aead& aead, std::uint32_t expected_id,
                                                                  TimePoint now) {
    if (id_ && now - started_ > limits_.timeout) {
        ++counters_.timed_out;
        reset();
    }
    if (id_ && *id_ != expected_id) reset();  // the partial message is no longer wanted
    auto read = msg::read_fragment(m, datagram);
    if (!read || m.header.message_id != expected_id || read.value().total > limits_.max_fragments) {
        ++counters_.dropped;
        return std::nullopt;
    }
    const msg::SkfFragment& f = read.value();
    // RFC 7383 §2.6: each fragment is authenticated before anything is taken from it.
    auto content = open_fragment(f, datagram, aead);
    if (!content) {
        ++counters_.dropped;
        return std::nullopt;
    }
    const bool same = id_ && m.header.is_response() == response_ && m.header.exchange == exchange_;
    // RFC 7383 §2.6: a larger Total Fragments means the sender re-fragmented (smaller fragments after
    // PMTU discovery): start over with it; a smaller one belongs to the older attempt and is dropped.
    if (same && f.total < total_) {
        ++counters_.dropped;
        return std::nullopt;
    }
    if (!same || f.total > total_) start(m, f, now);
    auto& slot = chunks_[f.number - 1];
    if (slot) {
        ++counters_.duplicates;
        return std::nullopt;
    }
    if (bytes_ + content->size() > limits_.max_bytes) {
        ++counters_.dropped;
        reset();
        return std::nullopt;
    }
    ++counters_.received;
    bytes_ += content->size();
    if (f.number == 1) inner_first_ = f.inner_first;
    slot = std::move(*content);
    if (++have_ < total_) return std::nullopt;
    return complete();
}

std::optional<std::vector<msg::Payload>> FragmentReassembler::complete() {
    Bytes plaintext;
    plaintext.reserve(bytes_);
    for (const auto& chunk : chunks_) append(plaintext, *chunk);
    const msg::PayloadType first = inner_first_;
    reset();
    auto inner = msg::decode_payloads(first, plaintext);
    if (!inner) {
        ++counters_.dropped;
        return std::nullopt;
    }
    ++counters_.reassembled;
    return std::move(inner.value());
}

}  // namespace ikevpn::core
