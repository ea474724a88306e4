#include "platform/udp_batch.hpp"

#include "platform/udp_socket.hpp"
#include "private_netns.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <vector>

using namespace ikevpn;
using namespace ikevpn::platform;

namespace {

// Two loopback UDP sockets connected to each other.
struct SocketPair {
    int a = -1, b = -1;
    explicit SocketPair(int buffer_bytes = 0) {
        const auto lo = IpAddress::parse("127.0.0.1");
        a = open_udp_socket(IpAddress::Family::v4, std::nullopt, buffer_bytes, lo);
        b = open_udp_socket(IpAddress::Family::v4, std::nullopt, buffer_bytes, lo);
        connect_to(a, local_port(b));
        connect_to(b, local_port(a));
    }
    ~SocketPair() {
        ::close(a);
        ::close(b);
    }
    static void connect_to(int fd, std::uint16_t port) {
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(port);
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0);
    }
};

// `count` buffers of `size` bytes; datagram i is (i + 1) * 7 bytes long, every byte i (mod 256).
struct Buffers {
    std::vector<std::vector<std::uint8_t>> storage;
    std::vector<PacketSlot> slots;
    Buffers(std::size_t count, std::size_t size) : storage(count, std::vector<std::uint8_t>(size)), slots(count) {
        for (std::size_t i = 0; i < count; ++i) slots[i] = {storage[i].data(), size, 0};
    }
    void fill_pattern() {
        for (std::size_t i = 0; i < slots.size(); ++i) {
            slots[i].length = (i + 1) * 7;
            std::fill_n(storage[i].begin(), slots[i].length, static_cast<std::uint8_t>(i));
        }
    }
};

}  // namespace

TEST_CASE("a batch of 64 datagrams goes out in one sendmmsg and comes back in one recvmmsg") {
    IKEVPN_REQUIRE_NETNS();
    SocketPair pair(1 << 20);
    UdpBatch sender(pair.a), receiver(pair.b);
    Buffers out(UdpBatch::max_batch, 2048), in(UdpBatch::max_batch, 2048);
    out.fill_pattern();

    CHECK(sender.send(out.slots) == UdpBatch::max_batch);
    CHECK(sender.counters().sent == UdpBatch::max_batch);
    CHECK(sender.counters().send_errors == 0);

    const std::size_t n = receiver.receive(in.slots);
    REQUIRE(n == UdpBatch::max_batch);
    for (std::size_t i = 0; i < n; ++i) {
        CAPTURE(i);
        REQUIRE(in.slots[i].length == (i + 1) * 7);
        CHECK(std::all_of(in.storage[i].begin(), in.storage[i].begin() + in.slots[i].length,
                          [&](std::uint8_t b) { return b == static_cast<std::uint8_t>(i); }));
    }
    CHECK(receiver.counters().received == UdpBatch::max_batch);
    // Drained: the next call finds nothing and that is not an error.
    CHECK(receiver.receive(in.slots) == 0);
    CHECK(receiver.last_error() == 0);
    CHECK(receiver.counters().receive_errors == 0);
}

TEST_CASE("a partial batch: fewer datagrams waiting than slots, and more waiting than one call takes") {
    IKEVPN_REQUIRE_NETNS();
    SocketPair pair(1 << 20);
    UdpBatch sender(pair.a), receiver(pair.b);
    Buffers out(100, 2048), in(100, 2048);
    out.fill_pattern();

    // 100 datagrams: send() splits them into sendmmsg calls of at most 64.
    CHECK(sender.send(out.slots) == 100);
    // receive() takes at most max_batch per call even when offered more slots.
    CHECK(receiver.receive(in.slots) == UdpBatch::max_batch);
    std::span<PacketSlot> rest(in.slots.data() + UdpBatch::max_batch, 100 - UdpBatch::max_batch);
    CHECK(receiver.receive(rest) == 36);  // short count: the socket is drained
    CHECK(rest[0].length == 65 * 7);
    CHECK(rest[35].length == 100 * 7);
    CHECK(receiver.receive(rest) == 0);

    // Three waiting, ten slots offered.
    CHECK(sender.send(std::span(out.slots.data(), 3)) == 3);
    CHECK(receiver.receive(std::span(in.slots.data(), 10)) == 3);
    CHECK(in.slots[2].length == 21);
}

TEST_CASE("a datagram longer than its slot is handed out with length 0 and counted") {
    IKEVPN_REQUIRE_NETNS();
    SocketPair pair;
    UdpBatch sender(pair.a), receiver(pair.b);
    Buffers out(2, 2048), in(2, 16);
    out.fill_pattern();  // 7 and 14 bytes
    out.slots[0].length = 100;
    CHECK(sender.send(out.slots) == 2);
    REQUIRE(receiver.receive(in.slots) == 2);
    CHECK(in.slots[0].length == 0);
    CHECK(in.slots[1].length == 14);
    CHECK(receiver.counters().truncated == 1);
}

TEST_CASE("a refused datagram is consumed and counted, the rest of the batch still goes out") {
    IKEVPN_REQUIRE_NETNS();
    SocketPair pair(1 << 20);
    UdpBatch sender(pair.a), receiver(pair.b);
    Buffers out(3, 70000), in(3, 2048);
    out.fill_pattern();
    out.slots[1].length = 66000;  // larger than any UDP datagram: EMSGSIZE
    CHECK(sender.send(out.slots) == 3);
    CHECK(sender.counters().sent == 2);
    CHECK(sender.counters().send_errors == 1);
    CHECK(receiver.receive(in.slots) == 2);
    CHECK(in.slots[0].length == 7);
    CHECK(in.slots[1].length == 21);
}

TEST_CASE("ECONNREFUSED from an ICMP port unreachable is counted, not thrown, and receiving goes on") {
    IKEVPN_REQUIRE_NETNS();
    const auto lo = IpAddress::parse("127.0.0.1");
    int fd = open_udp_socket(IpAddress::Family::v4, std::nullopt, 0, lo);
    int gone = open_udp_socket(IpAddress::Family::v4, std::nullopt, 0, lo);
    const std::uint16_t port = local_port(gone);
    ::close(gone);  // nothing listens on `port` any more
    SocketPair::connect_to(fd, port);
    UdpBatch batch(fd);
    Buffers out(1, 64), in(4, 64);
    out.fill_pattern();
    CHECK(batch.send(out.slots) == 1);  // the kernel accepts it; the ICMP error comes back afterwards
    CHECK(batch.receive(in.slots) == 0);
    CHECK(batch.last_error() == ECONNREFUSED);
    CHECK(batch.counters().receive_errors == 1);
    CHECK(batch.receive(in.slots) == 0);  // the error was reported once
    CHECK(batch.last_error() == 0);
    ::close(fd);
}

// UDP GSO: 40 datagrams of 1400 octets, a shorter one, then 10 of 900 (each a train) leave in a few
// messages and the receiver (no UDP_GRO) gets every datagram back, separately, in order and intact.
TEST_CASE("with GSO, trains of equal-sized datagrams are sent as one message each and arrive as sent") {
    IKEVPN_REQUIRE_NETNS();
    SocketPair pair(1 << 22);
    UdpBatch sender(pair.a), receiver(pair.b);
    sender.set_gso(true);
    Buffers out(UdpBatch::max_batch, 2048), in(UdpBatch::max_batch, 2048);
    std::vector<std::size_t> sizes(40, 1400);
    sizes.push_back(300);
    sizes.insert(sizes.end(), 10, 900);
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        out.slots[i].length = sizes[i];
        std::fill_n(out.storage[i].begin(), sizes[i], static_cast<std::uint8_t>(i));
    }
    CHECK(sender.send(std::span(out.slots.data(), sizes.size())) == sizes.size());
    CHECK(sender.counters().sent == sizes.size());
    CHECK(sender.counters().send_errors == 0);
    if (!sender.gso()) {
        MESSAGE("this kernel refused UDP_SEGMENT (EIO): GSO fell back to plain sends");
    } else {
        CHECK(sender.counters().gso_trains == 2);  // 40 x 1400 + 300, then 10 x 900
    }
    std::size_t got = 0;
    while (got < sizes.size()) {
        const std::size_t n = receiver.receive(std::span(in.slots.data() + got, in.slots.size() - got));
        REQUIRE(n > 0);
        got += n;
    }
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        CAPTURE(i);
        REQUIRE(in.slots[i].length == sizes[i]);
        CHECK(std::all_of(in.storage[i].begin(), in.storage[i].begin() + in.slots[i].length,
                          [&](std::uint8_t b) { return b == static_cast<std::uint8_t>(i); }));
    }
}

// GSO out, GRO in: the receiver gets whole trains as single buffers with their segment size, and cutting
// them at that size gives back exactly the datagrams that were sent, in order.
TEST_CASE("with GRO, a GSO train arrives as one buffer that splits into the datagrams sent") {
    IKEVPN_REQUIRE_NETNS();
    SocketPair pair(1 << 22);
    UdpBatch sender(pair.a), receiver(pair.b);
    sender.set_gso(true);
    REQUIRE(receiver.set_gro(true));
    Buffers out(UdpBatch::max_batch, 2048), in(8, 65536);
    std::vector<std::size_t> sizes(40, 1400);
    sizes.push_back(300);
    sizes.insert(sizes.end(), 10, 900);
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        out.slots[i].length = sizes[i];
        std::fill_n(out.storage[i].begin(), sizes[i], static_cast<std::uint8_t>(i));
    }
    REQUIRE(sender.send(std::span(out.slots.data(), sizes.size())) == sizes.size());
    std::vector<std::vector<std::uint8_t>> datagrams;
    std::size_t coalesced = 0;
    while (datagrams.size() < sizes.size()) {
        const std::size_t n = receiver.receive(in.slots);
        REQUIRE(n > 0);
        for (std::size_t m = 0; m < n; ++m) {
            const PacketSlot& slot = in.slots[m];
            const std::size_t step = slot.segment_size ? slot.segment_size : slot.length;
            if (slot.segment_size) ++coalesced;
            for (std::size_t at = 0; at < slot.length; at += step)
                datagrams.emplace_back(slot.data + at, slot.data + std::min(slot.length, at + step));
        }
    }
    REQUIRE(datagrams.size() == sizes.size());
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        CAPTURE(i);
        REQUIRE(datagrams[i].size() == sizes[i]);
        CHECK(std::all_of(datagrams[i].begin(), datagrams[i].end(),
                          [&](std::uint8_t b) { return b == static_cast<std::uint8_t>(i); }));
    }
    if (sender.gso()) CHECK(coalesced == 2);
}
