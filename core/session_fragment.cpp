// IKE fragmentation in the task manager (RFC 7383): which requests go out as fragments, how the gateway's
// fragments reach the normal message handling, and the counters `ikevpn status` shows. The splitting and
// reassembly themselves are core/ike_fragment.cpp.
#include "core/session_state.hpp"

#include <string>
#include <utility>

namespace ikevpn::core {

void IkeSession::State::send_protected(Actions& out, msg::ExchangeType exchange, const std::vector<msg::Payload>& inner,
                                       TimePoint now, unsigned retransmits) {
    PendingRequest r;
    r.bytes = sa.protect(exchange, false, next_message_id, inner);
    // RFC 7383 §2.5: only messages that would not fit in one datagram are fragmented.
    const IpAddress& to = path ? path->remote.address : config.gateway;
    const std::size_t limit = ike_message_limit(config.fragment_size, !to.is_v4(), true);
    if (fragmentation && r.bytes.size() > limit) {
        r.fragments = protect_fragments(sa.header(exchange, false, next_message_id), inner, *sa.aead_out,
                                        sa.iv_counter, limit);
        if (!r.fragments.empty()) {
            ++messages_fragmented;
            out.push_back(Progress{msg::exchange_name(exchange) + " request of " + std::to_string(r.bytes.size()) +
                                   " bytes sent as " + std::to_string(r.fragments.size()) +
                                   " IKE fragments of at most " + std::to_string(limit) + " bytes"});
        }
    }
    r.nat_t = true;
    r.message_id = next_message_id++;
    r.exchange = exchange;
    r.retransmits_left = retransmits;
    arm_request(out, std::move(r), now);
}

void IkeSession::State::emit_request(Actions& out, const PendingRequest& r) {
    if (r.fragments.empty()) {
        out.push_back(SendDatagram{r.bytes, r.nat_t, r.path});
        return;
    }
    // RFC 7383 §2.6.1: a retransmission resends every fragment (the receiver may have lost any of them).
    for (const auto& fragment : r.fragments) out.push_back(SendDatagram{fragment, r.nat_t, r.path});
    fragments_sent += r.fragments.size();
}

bool IkeSession::State::on_fragment(const msg::Message& m, ByteView raw, TimePoint now) {
    // Fragments exist only after IKE_SA_INIT and only when both ends announced them (RFC 7383 §2.3, §2.5).
    FragmentReassembler& reassembler = m.header.is_response() ? response_fragments : request_fragments;
    if (!fragmentation || !sa.aead_in || m.header.exchange == msg::ExchangeType::ike_sa_init) {
        reassembler.note_dropped();
        return false;
    }
    std::uint32_t expected = 0;
    if (m.header.is_response()) {
        if (!pending || pending->on_old_sa || m.header.exchange != pending->exchange) {
            reassembler.note_dropped();
            return false;
        }
        expected = pending->message_id;
    } else {
        // A request we answered already: RFC 7383 §2.6.1 lets only its fragment number 1 trigger the cached
        // response again (on_peer_request sends it); the other fragments are ignored.
        if (m.header.message_id + 1 == peer.next_id) {
            auto f = msg::read_fragment(m, raw);
            return f && f.value().number == 1;
        }
        expected = peer.next_id;
    }
    auto inner = reassembler.add(m, raw, *sa.aead_in, expected, now);
    if (!inner) return false;
    reassembled = std::move(inner);
    return true;
}

std::optional<std::vector<msg::Payload>> IkeSession::State::unprotect(ByteView raw, const msg::Message& m) {
    if (reassembled) {
        authenticated_in = true;  // every fragment was verified (core/session_liveness.cpp)
        return std::exchange(reassembled, std::nullopt);
    }
    if (msg::is_fragment(m)) return std::nullopt;
    auto inner = sa.unprotect(raw, m);
    if (inner) authenticated_in = true;
    return inner;
}

IkeSaInfo::Fragmentation IkeSession::State::fragment_info() const {
    IkeSaInfo::Fragmentation f;
    f.negotiated = fragmentation;
    f.messages_fragmented = messages_fragmented;
    f.fragments_sent = fragments_sent;
    for (const auto* r : {&response_fragments, &request_fragments}) {
        const auto& c = r->counters();
        f.fragments_received += c.received + c.duplicates;
        f.messages_reassembled += c.reassembled;
        f.fragments_dropped += c.dropped;
    }
    return f;
}

}  // namespace ikevpn::core
