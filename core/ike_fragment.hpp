// IKE fragmentation (RFC 7383): a protected message too large for the path is sent as several Encrypted
// Fragment (SKF) messages, each encrypted and authenticated on its own with the IKE SA's SK cipher, so
// that no IKE datagram needs IP fragmentation (which many networks drop). The peer's fragments are
// verified one by one and reassembled into the inner payloads of one message. No I/O; time is injected.
#pragma once
#include "core/bytes.hpp"
#include "core/crypto/crypto.hpp"
#include "core/message/fragment.hpp"
#include "core/message/message.hpp"
#include "core/session.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace ikevpn::core {

// RFC 7383 §2.5.1 suggests 1280 octets for IPv6 and 576 for IPv4 as safe sizes of a whole fragment IP
// datagram. Like strongSwan (charon.fragment_size = 1280) we use 1280 for both families by default:
// 576 would split a typical certificate chain into many more fragments, and IPv4 paths narrower than
// 1280 are rare; a profile can lower it ("fragment_size", down to 576).
inline constexpr std::size_t default_fragment_size = 1280;
inline constexpr std::size_t min_fragment_size = 576;

// The largest IKE message (from the IKE header on, without the non-ESP marker) that fits in one IP
// datagram of `fragment_size` octets: minus IPv4 (20) or IPv6 (40), UDP (8) and the non-ESP marker (4)
// when the message goes to port 4500 (RFC 3948 §2.2).
std::size_t ike_message_limit(std::size_t fragment_size, bool ipv6, bool nat_t);

// How many octets of the inner payloads' encoding one fragment of at most `message_limit` octets carries:
// minus the IKE header (28), the SKF header (8), the IV, the ICV and the Pad Length octet. The SK
// ciphers are AEADs here (RFC 5282 §3: no padding needed); 0 when nothing fits.
std::size_t fragment_content_size(std::size_t message_limit, const crypto::Aead& aead);

// The message `header` | SK(inner) as SKF fragment messages of at most `message_limit` octets each
// (RFC 7383 §2.5: same header and message ID in every fragment; the AAD of each is its IKE header and
// SKF header). Empty when the whole message fits in `message_limit` (send it unfragmented) or when it
// cannot be split (more than 65535 fragments).
std::vector<Bytes> protect_fragments(const msg::Header& header, const std::vector<msg::Payload>& inner,
                                     crypto::Aead& aead, std::uint64_t& iv_counter, std::size_t message_limit);

// Reassembly of the peer's fragmented messages (RFC 7383 §2.6), one message at a time (the window size
// is 1 in each direction). Every malformed, unauthentic, unexpected or excess fragment is dropped and
// counted, never fatal.
class FragmentReassembler {
public:
    struct Limits {
        unsigned max_fragments = 128;         // Total Fragments above this: dropped
        std::size_t max_bytes = 64 * 1024;    // reassembled inner payloads above this: the message is dropped
        Duration timeout = std::chrono::seconds(30);  // a partial message older than this is discarded
    };
    struct Counters {
        std::uint64_t received = 0;     // fragments verified and stored
        std::uint64_t dropped = 0;      // malformed, failed ICV, wrong message ID, too many/large, undecodable
        std::uint64_t duplicates = 0;   // verified fragments we already had
        std::uint64_t reassembled = 0;  // messages completed
        std::uint64_t timed_out = 0;    // partial messages discarded after `timeout`
    };

    FragmentReassembler() = default;
    explicit FragmentReassembler(Limits limits) : limits_(limits) {}

    // One SKF message of the peer (`m` decoded from `datagram`), protected with `aead`; only message ID
    // `expected_id` is reassembled, other IDs are dropped. Returns the inner payloads of the message once
    // its last missing fragment arrived (the caller processes them as the content of an SK payload).
    std::optional<std::vector<msg::Payload>> add(const msg::Message& m, ByteView datagram, crypto::Aead& aead,
                                                 std::uint32_t expected_id, TimePoint now);
    void reset();
    void note_dropped() { ++counters_.dropped; }  // a fragment refused before reaching add()
    bool in_progress() const { return id_.has_value(); }
    const Counters& counters() const { return counters_; }

private:
    std::optional<Bytes> open_fragment(const msg::SkfFragment& f, ByteView datagram, crypto::Aead& aead) const;
    void start(const msg::Message& m, const msg::SkfFragment& f, TimePoint now);
    std::optional<std::vector<msg::Payload>> complete();

    Limits limits_;
    Counters counters_;
    std::optional<std::uint32_t> id_;  // the message being reassembled
    bool response_ = false;
    msg::ExchangeType exchange_ = msg::ExchangeType::ike_auth;
    std::uint16_t total_ = 0;
    unsigned have_ = 0;
    std::size_t bytes_ = 0;
    msg::PayloadType inner_first_ = msg::PayloadType::none;
    std::vector<std::optional<Bytes>> chunks_;
    TimePoint started_{};
};

}  // namespace ikevpn::core
