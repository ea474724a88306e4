#include "dataplane/esp_sa.hpp"

#include "dataplane/esp_format.hpp"

#include <stdexcept>

namespace ikevpn::dataplane {

namespace {

constexpr std::uint64_t max_sequence_32 = 0xffffffffULL;

const SaParams& validated(const SaParams& p) {
    if (p.spi == 0) throw std::invalid_argument("ESP SA: SPI 0 is reserved (RFC 4303 §2.1)");
    if (p.cipher != EspCipher::aes_gcm_16) throw std::invalid_argument("ESP SA: unsupported cipher");
    if (p.key_bits != 128 && p.key_bits != 256) throw std::invalid_argument("ESP SA: key size must be 128 or 256");
    if (p.key_material.size() != p.key_bits / 8 + AesGcmEsp::salt_size) {
        throw std::invalid_argument("ESP SA: KEYMAT length does not match the key size");
    }
    if (p.esn) throw std::invalid_argument("ESP SA: extended sequence numbers are not supported yet");
    return p;
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
      transform_(params.key_material, params.direction),
      local_ts_(std::move(params.local_ts)),
      remote_ts_(std::move(params.remote_ts)) {
    SecureBytes().swap(params.key_material);  // the key now lives only inside Botan
    if (direction_ == Direction::inbound) replay_.emplace(params.replay_window);
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
    if (next < next_sequence_) return false;
    next_sequence_ = next;
    return true;
}

PacketResult EspSa::encapsulate(Packet& packet) { return packet.result = seal_packet(packet); }

PacketResult EspSa::seal_packet(Packet& packet) {
    if (direction_ != Direction::outbound || !packet.valid()) return count_drop(PacketResult::malformed);
    const std::size_t inner_length = packet.length;
    const std::uint8_t next_header = esp::next_header_for_inner(packet.span());
    if (next_header == 0) return count_drop(PacketResult::malformed);
    // RFC 4303 §3.3.3: the sender must not send a packet that would make the counter cycle; the control
    // plane rekeys instead.
    if (next_sequence_ > max_sequence_32) return count_drop(PacketResult::seq_exhausted);
    const std::size_t trailer = esp::padding_for(inner_length) + 2;
    if (packet.headroom() < esp::gcm_overhead_front || packet.tailroom() < trailer + esp::gcm_icv_size) {
        return count_drop(PacketResult::no_room);
    }

    const std::uint64_t seq = next_sequence_++;
    std::uint8_t* inner = packet.data();
    esp::write_trailer(inner + inner_length, inner_length, next_header);
    std::uint8_t* header = inner - esp::gcm_overhead_front;
    esp::write_be32(header, spi_);
    esp::write_be32(header + 4, static_cast<std::uint32_t>(seq));
    // RFC 4106 §3.1: the IV must be unique per key; the 64-bit packet counter is, and never repeats.
    esp::write_be64(header + esp::header_size, seq);
    const std::span<std::uint8_t> text(inner, inner_length + trailer);
    // RFC 4106 §5: AAD = SPI | 32-bit Sequence Number, i.e. the first 8 octets of the ESP header.
    if (!transform_.seal({header, esp::header_size}, header + esp::header_size, text, inner + text.size())) {
        return count_drop(PacketResult::malformed);
    }
    packet.offset -= static_cast<std::uint32_t>(esp::gcm_overhead_front);
    packet.length = static_cast<std::uint32_t>(esp::gcm_overhead_front + text.size() + esp::gcm_icv_size);
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
    // Smallest valid packet: header, IV, Pad Length + Next Header, ICV.
    if (packet.length < esp::gcm_overhead_front + 2 + esp::gcm_icv_size) return count_drop(PacketResult::malformed);
    std::uint8_t* header = packet.data();
    if (esp::read_be32(header) != spi_) return count_drop(PacketResult::malformed);
    const std::uint64_t seq = esp::read_be32(header + 4);
    // RFC 4303 §3.4.3: the replay check comes first, to reject duplicates before spending a decryption.
    if (replay_->check(seq) != ReplayWindow::Verdict::ok) return count_drop(PacketResult::replay);

    const std::size_t text_length = packet.length - esp::gcm_overhead_front - esp::gcm_icv_size;
    const std::span<std::uint8_t> text(header + esp::gcm_overhead_front, text_length);
    if (!transform_.open({header, esp::header_size}, header + esp::header_size, text, text.data() + text_length)) {
        return count_drop(PacketResult::icv);
    }
    // Only an authenticated packet may move the window.
    replay_->commit(seq);

    const esp::Trailer trailer = esp::parse_trailer(text);
    if (trailer.result != PacketResult::ok) return count_drop(trailer.result);
    packet.offset += static_cast<std::uint32_t>(esp::gcm_overhead_front);
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

}  // namespace ikevpn::dataplane
