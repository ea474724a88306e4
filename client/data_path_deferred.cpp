// The gateway's CHILD SA rekeys, as their responder (RFC 7296 §1.3.3, §2.8): when to start sending on the
// new pair. The gateway can decrypt the new pair only once our CREATE_CHILD_SA answer has reached it and it
// has installed the SAs — our answer may be late, lost (then the gateway's retransmission brings the same
// answer again, seconds later), or simply overtaken by our ESP while a gateway installs the SA in another
// thread. So the new inbound SA is installed at once (the gateway may use it as soon as it has it), but its
// outbound SA waits on standby while our traffic stays on the pair being replaced, which the gateway keeps
// until it deletes it. We switch, in one step on the data path's thread, at the first of:
//   - an ESP packet that authenticates on the new inbound SA: the gateway has installed the new pair;
//   - the removal of the replaced pair (core's RemoveChildSa after the gateway's Delete, the normal end of
//     a rekey it started: it deletes the old pair only after it installed the new one);
//   - promote() (explicit);
//   - deferred_send_limit_ (15 s): a backstop for a gateway that neither sends to us nor deletes the old
//     pair. Until it deletes the old pair the gateway still accepts it, so waiting costs nothing, while
//     switching too early loses every packet until the gateway's answer arrives: the limit outlasts
//     strongSwan's first two retransmissions (4 s, then 7.2 s more) and libreswan's first four.
// A pair installed to send afterwards (our own rekey winning a collision, a reauthentication) supersedes
// the waiting one, which then only receives until its Delete: a rekey collision's redundant pair must
// never become the sending pair.
#include "client/data_path.hpp"

#include <algorithm>

namespace ikevpn::client {

void DataPath::install_deferred(const core::ChildSaKeys& child) {
    if (pairs_.empty()) return install(child);  // nothing to keep sending on
    retire_deferred();
    deferred_ = DeferredPair{child.spi_in, child.spi_out, pairs_.back().spi_in};
    installing_deferred_ = true;
    try {
        install(child);  // may already promote it: ESP on the new SPI was parked before the install
    } catch (...) {
        installing_deferred_ = false;
        if (deferred_ && deferred_->spi_in == child.spi_in) deferred_.reset();
        throw;
    }
    installing_deferred_ = false;
    if (!deferred_ || deferred_->spi_in != child.spi_in) return;
    if (!deferred_timer_) deferred_timer_.emplace(io_);
    deferred_timer_->expires_after(deferred_send_limit_);
    deferred_timer_->async_wait([this, alive = alive_, spi_in = child.spi_in](std::error_code ec) {
        if (ec || !*alive || !deferred_ || deferred_->spi_in != spi_in) return;
        promote_deferred(&DeferredCounters::timeout);
    });
}

bool DataPath::promote(std::uint32_t spi_in) {
    if (!deferred_ || deferred_->spi_in != spi_in) return false;
    promote_deferred(&DeferredCounters::promoted);
    return true;
}

void DataPath::note_deferred_inbound(std::span<const dataplane::Packet> batch) {
    // result ok: the ICV verified, so the packet is the gateway's and it holds the new keys.
    const bool used = std::any_of(batch.begin(), batch.end(), [&](const dataplane::Packet& p) {
        return p.result == dataplane::PacketResult::ok && p.spi == deferred_->spi_in;
    });
    if (used) promote_deferred(&DeferredCounters::first_packet);
}

void DataPath::promote_deferred(std::uint64_t DeferredCounters::*reason) {
    const DeferredPair d = *deferred_;
    deferred_.reset();
    if (deferred_timer_) deferred_timer_->cancel();
    // One step between batches: the new outbound SA becomes the most recent one, which route_outbound()
    // picks; the old one stays installed until its own removal.
    if (!engine_.sas().promote(d.spi_out)) return;
    ++(deferred_counters_.*reason);
    const auto it = std::find_if(pairs_.begin(), pairs_.end(), [&](const InstalledPair& p) { return p.spi_in == d.spi_in; });
    if (it != pairs_.end()) std::rotate(it, it + 1, pairs_.end());  // the last pair is the sending one
}

void DataPath::retire_deferred() {
    if (!deferred_) return;
    engine_.sas().remove(deferred_->spi_out, dataplane::Direction::outbound);
    deferred_.reset();
    if (deferred_timer_) deferred_timer_->cancel();
    ++deferred_counters_.superseded;
}

std::uint32_t DataPath::routed_spi_out(const IpAddress& source, const IpAddress& destination) {
    if (source.family() != destination.family()) return 0;
    const auto* sa = engine_.sas().route_outbound(source.bytes().data(), destination.bytes().data(), !source.is_v4());
    return sa ? sa->spi() : 0;
}

nlohmann::json DataPath::deferred_status() const {
    const auto& c = deferred_counters_;
    return {{"first_packet", c.first_packet}, {"old_pair_removed", c.old_pair_removed}, {"promoted", c.promoted},
            {"timeout", c.timeout}, {"superseded", c.superseded}, {"waiting", deferred_.has_value()}};
}

}  // namespace ikevpn::client
