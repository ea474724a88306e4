#include "dataplane/esp_sa.hpp"

#include "dataplane/esp_format.hpp"

#include <algorithm>
#include <stdexcept>

namespace ikevpn::dataplane {

namespace {

constexpr std::uint64_t max_sequence_32 = 0xffffffffULL;
constexpr std::uint64_t max_sequence_64 = ~std::uint64_t{0};

const SaParams& validated(const SaParams& p) {
    if (p.spi == 0) throw std::invalid_argument("ESP SA: SPI 0 is reserved (RFC 4303 §2.1)");
    return p;  // the transform checks cipher, key sizes and the integrity combination
}

bool any_contains(const std::vector<TrafficSelector>& list, const std::uint8_t* address, bool v6) {
    for (const auto& ts : list) {
        if (ts.contains(address, v6)) return true;
    }
    return false;
}

}  // namespace

EspSa::EspSa(SaParams params)
    : spi_(validated(params).spi),
      direction_(params.direction),
      esn_(params.esn),
      transform_(make_esp_transform(params)),
      max_sequence_(params.esn ? max_sequence_64 : max_sequence_32),
      soft_limit_(params.esn ? soft_limit_64 : soft_limit_32),
      local_ts_(std::move(params.local_ts)),
      remote_ts_(std::move(params.remote_ts)) {
    // The keys now live only inside Botan (SecureBytes zeroes its memory when released).
    SecureBytes().swap(params.key_material);
    SecureBytes().swap(params.integ_key);
    if (direction_ == Direction::inbound) replay_.emplace(params.replay_window);
}

EspSa::~EspSa() = default;

std::size_t EspSa::overhead_front() const { return esp::header_size + transform_->iv_length(); }

std::size_t EspSa::max_overhead_back() const {
    return transform_->alignment() - 1 + 2 + transform_->icv_length();
}

std::size_t EspSa::max_inner_length(std::size_t esp_room) const {
    const std::size_t fixed = overhead_front() + transform_->icv_length();
    constexpr std::size_t trailer = 2;  // Pad Length, Next Header
    if (esp_room < fixed) return 0;
    const std::size_t alignment = transform_->alignment();
    const std::size_t padded = (esp_room - fixed) / alignment * alignment;
    return padded > trailer ? padded - trailer : 0;
}

bool EspSa::needs_rekey() const {
    if (direction_ == Direction::outbound) return exhausted() || next_sequence_ - 1 >= soft_limit_;
    return replay_->highest() >= soft_limit_;
}

PacketResult EspSa::count_drop(PacketResult result) {
    switch (result) {
    case PacketResult::replay: ++counters_.replay; break;
    case PacketResult::icv: ++counters_.icv; break;
    case PacketResult::bad_padding: ++counters_.bad_padding; break;
    case PacketResult::bad_next_header: ++counters_.bad_next_header; break;
    case PacketResult::dummy: ++counters_.dummy; break;
    case PacketResult::ts_mismatch: ++counters_.ts_mismatch; break;
    case PacketResult::no_room: ++counters_.no_room; break;
    case PacketResult::seq_exhausted: ++counters_.seq_exhausted; break;
    case PacketResult::ok: break;
    default: ++counters_.malformed; break;
    }
    return result;
}

bool EspSa::covers_outbound(const std::uint8_t* source, const std::uint8_t* destination, bool v6) const {
    return any_contains(local_ts_, source, v6) && any_contains(remote_ts_, destination, v6);
}

bool EspSa::skip_sequence_to(std::uint64_t next) {
    if (wrapped_ || next < next_sequence_) return false;
    next_sequence_ = next;
    return true;
}

PacketResult EspSa::encapsulate(Packet& packet) { return packet.result = seal_packet(packet, nullptr); }

PacketResult EspSa::encapsulate_with_iv(Packet& packet, std::span<const std::uint8_t> iv) {
    if (iv.size() != transform_->iv_length()) return packet.result = count_drop(PacketResult::malformed);
    return packet.result = seal_packet(packet, iv.data());
}

PacketResult EspSa::seal_packet(Packet& packet, const std::uint8_t* iv_override) {
    if (direction_ != Direction::outbound || !packet.valid()) return count_drop(PacketResult::malformed);
    const std::size_t inner_length = packet.length;
    const std::uint8_t next_header = esp::next_header_for_inner(packet.span());
    if (next_header == 0) return count_drop(PacketResult::malformed);
    // RFC 4303 §3.3.3: the sender must not send a packet that would make the counter cycle; the control
    // plane rekeys instead.
    if (exhausted()) return count_drop(PacketResult::seq_exhausted);
    const std::size_t front = overhead_front();
    const std::size_t trailer = esp::padding_for(inner_length, transform_->alignment()) + 2;
    const std::size_t icv_length = transform_->icv_length();
    if (packet.headroom() < front || packet.tailroom() < trailer + icv_length) {
        return count_drop(PacketResult::no_room);
    }

    const std::uint64_t seq = next_sequence_++;
    if (next_sequence_ == 0) wrapped_ = true;  // ESN: 2^64 - 1 was the last one
    std::uint8_t* inner = packet.data();
    esp::write_trailer(inner + inner_length, inner_length, next_header, transform_->alignment());
    std::uint8_t* header = inner - front;
    esp::write_be32(header, spi_);
    // RFC 4303 §2.2.1: with ESN only the low-order 32 bits are transmitted.
    esp::write_be32(header + 4, static_cast<std::uint32_t>(seq));
    if (iv_override != nullptr) {
        std::copy(iv_override, iv_override + transform_->iv_length(), header + esp::header_size);
    } else {
        transform_->make_iv(seq, header + esp::header_size);
    }
    const std::span<std::uint8_t> text(inner, inner_length + trailer);
    const EspFrame frame{header, text, inner + text.size(), esn_, static_cast<std::uint32_t>(seq >> 32)};
    if (!transform_->seal(frame)) return count_drop(PacketResult::malformed);
    packet.offset -= static_cast<std::uint32_t>(front);
    packet.length = static_cast<std::uint32_t>(front + text.size() + icv_length);
    packet.spi = spi_;
    ++counters_.packets_out;
    counters_.bytes_out += inner_length;
    return PacketResult::ok;
}

PacketResult EspSa::open(Packet& packet, std::uint8_t& next_header) {
    return packet.result = open_packet(packet, next_header);
}

PacketResult EspSa::open_packet(Packet& packet, std::uint8_t& next_header) {
    if (direction_ != Direction::inbound || !packet.valid()) return count_drop(PacketResult::malformed);
    const std::size_t front = overhead_front();
    const std::size_t icv_length = transform_->icv_length();
    const std::size_t block = transform_->block_size();
    // Smallest valid packet: header, IV, one cipher block (at least Pad Length + Next Header), ICV.
    const std::size_t min_text = block > 2 ? block : 2;
    if (packet.length < front + min_text + icv_length) return count_drop(PacketResult::malformed);
    const std::size_t text_length = packet.length - front - icv_length;
    if (text_length % block != 0) return count_drop(PacketResult::malformed);
    std::uint8_t* header = packet.data();
    if (esp::read_be32(header) != spi_) return count_drop(PacketResult::malformed);
    const std::uint32_t seq_low = esp::read_be32(header + 4);
    const std::uint64_t seq = esn_ ? replay_->infer_esn(seq_low) : seq_low;
    // RFC 4303 §3.4.3: the replay check comes first, to reject duplicates before spending a decryption.
    if (replay_->check(seq) != ReplayWindow::Verdict::ok) return count_drop(PacketResult::replay);

    const std::span<std::uint8_t> text(header + front, text_length);
    const EspFrame frame{header, text, text.data() + text_length, esn_, static_cast<std::uint32_t>(seq >> 32)};
    if (!transform_->open(frame)) return count_drop(PacketResult::icv);
    // Only an authenticated packet may move the window (RFC 4303 §3.4.3; with ESN this is also what
    // confirms the inferred high half, A2.2).
    replay_->commit(seq);

    const esp::Trailer trailer = esp::parse_trailer(text);
    if (trailer.result != PacketResult::ok) return count_drop(trailer.result);
    packet.offset += static_cast<std::uint32_t>(front);
    packet.length = static_cast<std::uint32_t>(trailer.payload_length);
    packet.spi = spi_;
    next_header = trailer.next_header;
    return PacketResult::ok;
}

bool EspSa::inbound_ts_ok(std::span<const std::uint8_t> inner) const {
    const esp::InnerAddresses a = esp::inner_addresses(inner);
    return a.valid && any_contains(remote_ts_, a.source, a.v6) && any_contains(local_ts_, a.destination, a.v6);
}

PacketResult EspSa::decapsulate(Packet& packet) {
    std::uint8_t next_header = 0;
    PacketResult result = open(packet, next_header);
    if (result != PacketResult::ok) return packet.result = result;
    // RFC 4303 §2.6: a receiver must be prepared to discard dummy packets (Next Header 59).
    if (next_header == esp::next_header_none) return packet.result = count_drop(PacketResult::dummy);
    if (next_header != esp::next_header_ipv4 && next_header != esp::next_header_ipv6) {
        return packet.result = count_drop(PacketResult::bad_next_header);
    }
    if (esp::next_header_for_inner(packet.span()) != next_header) {
        return packet.result = count_drop(PacketResult::malformed);
    }
    if (!inbound_ts_ok(packet.span())) return packet.result = count_drop(PacketResult::ts_mismatch);
    ++counters_.packets_in;
    counters_.bytes_in += packet.length;
    return packet.result = PacketResult::ok;
}

bool pair_needs_rekey(const EspSa& in, const EspSa& out, std::uint64_t byte_limit) {
    if (in.needs_rekey() || out.needs_rekey()) return true;
    return byte_limit != 0 && in.counters().bytes_in + out.counters().bytes_out >= byte_limit;
}

}  // namespace ikevpn::dataplane
