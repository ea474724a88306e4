// One ESP SA in one direction: its transform (behind EspTransform, so no per-cipher branches here), sequence
// counter (outbound) or replay window with ESN inference (inbound), traffic selectors and counters. Tunnel
// mode only; the packets handed in and out are whole inner IP packets. Not thread-safe (see engine.hpp for
// the threading contract).
#pragma once
#include "dataplane/esp_transform.hpp"
#include "dataplane/packet.hpp"
#include "dataplane/replay_window.hpp"
#include "dataplane/sa_params.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
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
    // Soft limits for needs_rekey(): the control plane rekeys when the counter passes them, long before
    // the hard limit (2^32 - 1 without ESN, 2^64 - 1 with ESN) makes every packet fail.
    static constexpr std::uint64_t soft_limit_32 = (std::uint64_t{1} << 32) - (std::uint64_t{1} << 24);
    static constexpr std::uint64_t soft_limit_64 = ~std::uint64_t{0} - (std::uint64_t{1} << 32) + 1;

    // Takes the keys (they are handed to Botan and the copies in `params` are wiped). Throws
    // std::invalid_argument when the parameters are unusable: SPI 0, unsupported cipher, key size or
    // cipher/integrity combination, KEYMAT or integrity key of the wrong length (see sa_params.hpp).
    explicit EspSa(SaParams params);
    ~EspSa();
    EspSa(const EspSa&) = delete;
    EspSa& operator=(const EspSa&) = delete;

    std::uint32_t spi() const { return spi_; }
    Direction direction() const { return direction_; }
    bool esn() const { return esn_; }
    const SaCounters& counters() const { return counters_; }
    const std::vector<TrafficSelector>& local_ts() const { return local_ts_; }
    const std::vector<TrafficSelector>& remote_ts() const { return remote_ts_; }
    // The per-packet overhead of this SA's transform: octets in front of the inner packet (SPI, Seq, IV),
    // and the most behind it (padding, Pad Length, Next Header, ICV).
    std::size_t overhead_front() const;
    std::size_t max_overhead_back() const;
    // The largest inner packet whose ESP packet fits `esp_room` octets (RFC 4303 §2.4: the payload plus
    // the 2 trailer octets are padded to the transform's alignment, then the ICV follows); 0 if none fits.
    // Exact, unlike front + max back: the TUN MTU derived from it wastes no octet of the path MTU.
    std::size_t max_inner_length(std::size_t esp_room) const;

    // True once the sequence counter (outbound: the last number sent; inbound: the highest received) has
    // passed the soft limit, or the outbound counter is exhausted: time to rekey the CHILD SA.
    bool needs_rekey() const;

    // --- outbound ---
    // Wraps the inner IP packet in `packet` into ESP in place: header and IV into the headroom, trailer and
    // ICV into the tailroom (at most overhead_front() in front, max_overhead_back() behind: 24 and 49 octets
    // for the largest transform). On ok, `packet` holds the ESP packet to send as the UDP payload. Sequence
    // numbers start at 1 and never wrap (RFC 4303 §3.3.3): after 2^32 - 1 (2^64 - 1 with ESN) every packet
    // fails with seq_exhausted until the control plane rekeys.
    PacketResult encapsulate(Packet& packet);
    // The same with the IV given by the caller (iv_length octets of the transform) instead of generated.
    // For known-answer tests that reproduce published packets only: an IV chosen this way must never repeat
    // under a key (and for CBC must be unpredictable). A wrong-sized `iv` is malformed.
    PacketResult encapsulate_with_iv(Packet& packet, std::span<const std::uint8_t> iv);
    // Whether an inner packet from `source` to `destination` belongs to this SA (local → remote).
    bool covers_outbound(const std::uint8_t* source, const std::uint8_t* destination, bool v6) const;
    std::uint64_t next_sequence() const { return next_sequence_; }
    // Moves the counter forward (never back: a sequence number, hence an IV, must never repeat under one
    // key). For tests of exhaustion and for handing over a counter. False if `next` is behind.
    bool skip_sequence_to(std::uint64_t next);

    // --- inbound ---
    // Unwraps the ESP packet in `packet` (data starting at the SPI) in place: ESN inference, replay check,
    // ICV check and decryption, replay commit, trailer check, next header (IPv4/IPv6; 59 = dummy,
    // dropped), traffic selector check. On ok, `packet` holds the inner IP packet.
    PacketResult decapsulate(Packet& packet);

    // The part of decapsulate() up to and including the trailer check, without next-header or traffic
    // selector policy: on ok, `packet` holds the payload and `next_header` the Next Header octet.
    // Exposed for known-answer tests whose payloads are not IP packets.
    PacketResult open(Packet& packet, std::uint8_t& next_header);

    const ReplayWindow* replay_window() const { return replay_ ? &*replay_ : nullptr; }

private:
    PacketResult seal_packet(Packet& packet, const std::uint8_t* iv_override);
    PacketResult open_packet(Packet& packet, std::uint8_t& next_header);
    PacketResult count_drop(PacketResult result);
    bool inbound_ts_ok(std::span<const std::uint8_t> inner) const;
    bool exhausted() const { return wrapped_ || next_sequence_ > max_sequence_; }

    std::uint32_t spi_;
    Direction direction_;
    bool esn_;
    std::unique_ptr<EspTransform> transform_;
    std::optional<ReplayWindow> replay_;
    std::uint64_t next_sequence_ = 1;
    std::uint64_t max_sequence_;  // the last number that may be sent
    std::uint64_t soft_limit_;
    bool wrapped_ = false;  // ESN only: 2^64 - 1 has been sent
    std::vector<TrafficSelector> local_ts_;
    std::vector<TrafficSelector> remote_ts_;
    SaCounters counters_;
};

// Whether a CHILD SA pair (our inbound and outbound SA) is due for a rekey: either direction passed its
// sequence-number soft limit (needs_rekey()), or the pair carried `byte_limit` inner octets in both
// directions together (0 = no byte limit). The control plane polls this and starts the rekey.
bool pair_needs_rekey(const EspSa& in, const EspSa& out, std::uint64_t byte_limit);

}  // namespace ikevpn::dataplane
