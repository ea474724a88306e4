#include "platform/udp_batch.hpp"

#include <algorithm>
#include <cerrno>

namespace ikevpn::platform {

std::size_t UdpBatch::receive(std::span<PacketSlot> slots) noexcept {
    last_error_ = 0;
    const std::size_t want = std::min(slots.size(), max_batch);
    for (std::size_t i = 0; i < want; ++i) {
        iovecs_[i] = {slots[i].data, slots[i].capacity};
        messages_[i] = {};
        messages_[i].msg_hdr.msg_iov = &iovecs_[i];
        messages_[i].msg_hdr.msg_iovlen = 1;
    }
    while (want > 0) {
        // MSG_DONTWAIT as well as O_NONBLOCK: the reactor told us the socket is readable, and a receive
        // must never block the event loop even if a caller hands in a blocking fd.
        const int n = ::recvmmsg(fd_, messages_.data(), static_cast<unsigned>(want), MSG_DONTWAIT, nullptr);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                last_error_ = errno;
                ++counters_.receive_errors;
            }
            return 0;
        }
        for (int i = 0; i < n; ++i) {
            const bool truncated = (messages_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
            slots[i].length = truncated ? 0 : messages_[i].msg_len;
            if (truncated) ++counters_.truncated;
        }
        counters_.received += static_cast<std::uint64_t>(n);
        return static_cast<std::size_t>(n);
    }
    return 0;
}

std::size_t UdpBatch::send(std::span<const PacketSlot> slots) noexcept {
    last_error_ = 0;
    std::size_t done = 0;
    while (done < slots.size()) {
        const std::size_t chunk = std::min(slots.size() - done, max_batch);
        for (std::size_t i = 0; i < chunk; ++i) {
            const PacketSlot& slot = slots[done + i];
            iovecs_[i] = {slot.data, slot.length};
            messages_[i] = {};
            messages_[i].msg_hdr.msg_iov = &iovecs_[i];
            messages_[i].msg_hdr.msg_iovlen = 1;
        }
        const int n = ::sendmmsg(fd_, messages_.data(), static_cast<unsigned>(chunk), MSG_DONTWAIT);
        if (n > 0) {
            // A short count means the next datagram failed; the next call reports why (sendmmsg(2)).
            done += static_cast<std::size_t>(n);
            counters_.sent += static_cast<std::uint64_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            last_error_ = errno;
            break;
        }
        // Refused (or n == 0, which a non-empty batch should not produce): drop this datagram and go on,
        // as a full link would; UDP callers expect loss, not a stalled queue.
        last_error_ = n < 0 ? errno : EIO;
        ++counters_.send_errors;
        ++done;
    }
    return done;
}

}  // namespace ikevpn::platform
