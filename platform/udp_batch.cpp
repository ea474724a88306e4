#include "platform/udp_batch.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/udp.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103  // <linux/udp.h>; glibc's <netinet/udp.h> has it from 2.29
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace ikevpn::platform {

bool UdpBatch::set_gro(bool enabled) noexcept {
    const int value = enabled ? 1 : 0;
    if (::setsockopt(fd_, SOL_UDP, UDP_GRO, &value, sizeof value) != 0) return false;
    gro_ = enabled;
    return true;
}

namespace {

// The segment size of a GRO buffer: a UDP_GRO control message carrying an int (udp_cmsg_recv).
std::size_t gro_segment_size(::msghdr& header) {
    for (::cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c)) {
        if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO || c->cmsg_len < CMSG_LEN(sizeof(int))) continue;
        int size = 0;
        std::memcpy(&size, CMSG_DATA(c), sizeof size);
        return size > 0 ? static_cast<std::size_t>(size) : 0;
    }
    return 0;
}

}  // namespace

std::size_t UdpBatch::receive(std::span<PacketSlot> slots) noexcept {
    last_error_ = 0;
    const std::size_t want = std::min(slots.size(), max_batch);
    for (std::size_t i = 0; i < want; ++i) {
        iovecs_[i] = {slots[i].data, slots[i].capacity};
        messages_[i] = {};
        messages_[i].msg_hdr.msg_iov = &iovecs_[i];
        messages_[i].msg_hdr.msg_iovlen = 1;
        if (gro_) {
            messages_[i].msg_hdr.msg_control = controls_[i].data();
            messages_[i].msg_hdr.msg_controllen = control_size;
        }
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
            slots[i].segment_size = gro_ && !truncated ? gro_segment_size(messages_[i].msg_hdr) : 0;
            if (slots[i].segment_size != 0) ++counters_.gro_trains;
            if (truncated) ++counters_.truncated;
        }
        counters_.received += static_cast<std::uint64_t>(n);
        return static_cast<std::size_t>(n);
    }
    return 0;
}

static_assert(CMSG_SPACE(sizeof(std::uint16_t)) <= 24 && CMSG_SPACE(sizeof(int)) <= 24,
              "control_size too small for UDP_SEGMENT or UDP_GRO");

std::size_t UdpBatch::build_send_messages(std::span<const PacketSlot> slots, std::size_t first) noexcept {
    std::size_t messages = 0, iovecs = 0;
    while (first < slots.size() && messages < max_batch && iovecs < max_batch) {
        const std::size_t size = slots[first].length;
        std::size_t count = 1, bytes = size;
        if (gso_ && size > 0) {
            while (first + count < slots.size() && iovecs + count < max_batch) {
                const std::size_t next = slots[first + count].length;
                if (next == 0 || next > size || bytes + next > max_gso_bytes) break;
                bytes += next;
                ++count;
                if (next < size) break;  // only the last datagram of a train may be shorter
            }
        }
        for (std::size_t k = 0; k < count; ++k) iovecs_[iovecs + k] = {slots[first + k].data, slots[first + k].length};
        ::mmsghdr& m = messages_[messages];
        m = {};
        m.msg_hdr.msg_iov = &iovecs_[iovecs];
        m.msg_hdr.msg_iovlen = count;
        if (count > 1) {
            m.msg_hdr.msg_control = controls_[messages].data();
            m.msg_hdr.msg_controllen = CMSG_SPACE(sizeof(std::uint16_t));
            ::cmsghdr* c = CMSG_FIRSTHDR(&m.msg_hdr);
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
            const auto segment = static_cast<std::uint16_t>(size);
            std::memcpy(CMSG_DATA(c), &segment, sizeof segment);
        }
        datagrams_in_message_[messages++] = count;
        iovecs += count;
        first += count;
    }
    return messages;
}

std::size_t UdpBatch::send(std::span<const PacketSlot> slots) noexcept {
    last_error_ = 0;
    std::size_t done = 0;
    while (done < slots.size()) {
        const std::size_t messages = build_send_messages(slots, done);
        const int n = ::sendmmsg(fd_, messages_.data(), static_cast<unsigned>(messages), MSG_DONTWAIT);
        if (n > 0) {
            // A short count means the next message failed; the next call reports why (sendmmsg(2)).
            for (int i = 0; i < n; ++i) {
                done += datagrams_in_message_[i];
                counters_.sent += datagrams_in_message_[i];
                if (datagrams_in_message_[i] > 1) ++counters_.gso_trains;
            }
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            last_error_ = errno;
            break;
        }
        if (n < 0 && errno == EIO && gso_ && datagrams_in_message_[0] > 1) {
            gso_ = false;  // no segmentation offload on this path (udp_send_skb's EIO): plain sends from now on
            continue;
        }
        // Refused (or n == 0, which a non-empty batch should not produce): drop this message's datagrams
        // and go on, as a full link would; UDP callers expect loss, not a stalled queue.
        last_error_ = n < 0 ? errno : EIO;
        counters_.send_errors += datagrams_in_message_[0];
        done += datagrams_in_message_[0];
    }
    return done;
}

}  // namespace ikevpn::platform
