// One ESP SA in one direction: its transform, sequence counter (outbound) or replay window (inbound),
// traffic selectors and counters. Tunnel mode only; the packets handed in and out are whole inner IP
// packets. Not thread-safe (see engine.hpp for the threading contract).
#pragma once
#include "dataplane/aes_gcm_esp.hpp"
#include "dataplane/packet.hpp"
#include "dataplane/replay_window.hpp"
#include "dataplane/sa_params.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace ikevpn::dataplane {

// Per-SA counters. bytes_* count inner IP packet octets (what the user sent or received), packets_* the
// packets that made it through; every drop is counted under exactly one reason.
struct SaCounters {
    std::uint64_t packets_in = 0;
    std::uint64_t bytes_in = 0;
    std::uint64_t packets_out = 0;
    std::uint64_t bytes_out = 0;
    std::uint64_t replay = 0;
    std::uint64_t icv = 0;
    std::uint64_t bad_padding = 0;
    std::uint64_t bad_next_header = 0;
    std::uint64_t dummy = 0;
    std::uint64_t ts_mismatch = 0;
    std::uint64_t malformed = 0;
    std::uint64_t no_room = 0;
    std::uint64_t seq_exhausted = 0;
};

class EspSa {
public:
    // Takes the key material (it is handed to Botan and the copy in `params` is wiped). Throws
    // std::invalid_argument when the parameters are unusable: SPI 0, unsupported cipher or key size,
    // KEYMAT of the wrong length, ESN requested.
    explicit EspSa(SaParams params);

    std::uint32_t spi() const { return spi_; }
    Direction direction() const { return direction_; }
    const SaCounters& counters() const { return counters_; }
    const std::vector<TrafficSelector>& local_ts() const { return local_ts_; }
    const std::vector<TrafficSelector>& remote_ts() const { return remote_ts_; }

    // --- outbound ---
    // Wraps the inner IP packet in `packet` into ESP in place: header into the headroom, trailer and ICV
    // into the tailroom (needs 16 octets in front and up to 21 behind). On ok, `packet` holds the ESP
    // packet to send as the UDP payload. Sequence numbers start at 1 and never wrap: after 2^32 - 1 every
    // packet fails with seq_exhausted until the control plane rekeys.
    PacketResult encapsulate(Packet& packet);
    // Whether an inner packet from `source` to `destination` belongs to this SA (local → remote).
    bool covers_outbound(const std::uint8_t* source, const std::uint8_t* destination, bool v6) const;
    std::uint64_t next_sequence() const { return next_sequence_; }
    // Moves the counter forward (never back: a sequence number, hence an IV, must never repeat under one
    // key). For tests of exhaustion and for handing over a counter. False if `next` is behind.
    bool skip_sequence_to(std::uint64_t next);

    // --- inbound ---
    // Unwraps the ESP packet in `packet` (data starting at the SPI) in place: replay check, ICV check and
    // decryption, replay commit, trailer check, next header (IPv4/IPv6; 59 = dummy, dropped), traffic
    // selector check. On ok, `packet` holds the inner IP packet.
    PacketResult decapsulate(Packet& packet);

    // The part of decapsulate() up to and including the trailer check, without next-header or traffic
    // selector policy: on ok, `packet` holds the payload and `next_header` the Next Header octet.
    // Exposed for known-answer tests whose payloads are not IP packets.
    PacketResult open(Packet& packet, std::uint8_t& next_header);

    const ReplayWindow* replay_window() const { return replay_ ? &*replay_ : nullptr; }

private:
    PacketResult seal_packet(Packet& packet);
    PacketResult open_packet(Packet& packet, std::uint8_t& next_header);
    PacketResult count_drop(PacketResult result);
    bool inbound_ts_ok(std::span<const std::uint8_t> inner) const;

    std::uint32_t spi_;
    Direction direction_;
    AesGcmEsp transform_;
    std::optional<ReplayWindow> replay_;
    std::uint64_t next_sequence_ = 1;
    std::vector<TrafficSelector> local_ts_;
    std::vector<TrafficSelector> remote_ts_;
    SaCounters counters_;
};

}  // namespace ikevpn::dataplane
