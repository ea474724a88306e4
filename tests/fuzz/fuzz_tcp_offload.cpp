// libFuzzer target for the TUN offload code (dataplane/tcp_offload.hpp): the splitter gets an arbitrary
// virtio header and packet (what a misbehaving kernel or a bug elsewhere could hand it), the coalescer an
// arbitrary batch of "decrypted" packets. Neither may read or write outside the buffers it was given.
// Not built by meson (it needs clang); build and run by hand from the top of the tree:
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I. tests/fuzz/fuzz_tcp_offload.cpp \
//       dataplane/tcp_offload.cpp -o /tmp/fuzz_tcp_offload
//   /tmp/fuzz_tcp_offload -max_total_time=60
#include "dataplane/tcp_offload.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

using namespace ikevpn::dataplane;
using namespace ikevpn::dataplane::offload;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < vnet_header_size) return 0;

    // Split: the first 10 octets are the virtio header, the rest the packet; every segment is written
    // into a buffer of exactly segment_length() octets (ASan catches any overrun).
    std::vector<std::uint8_t> packet(data + vnet_header_size, data + size);
    TsoSplitter splitter;
    if (splitter.start(read_vnet_header(data), packet) == SplitResult::ok && splitter.segments() < 4096) {
        for (std::size_t i = 0; i < splitter.segments(); ++i) {
            std::vector<std::uint8_t> segment(splitter.segment_length(i));
            splitter.write_segment(i, segment.data());
        }
    }

    // Coalesce: the input cut into packets at every 0xff octet, each in its own buffer with exactly
    // vnet_header_size octets of headroom.
    std::vector<std::vector<std::uint8_t>> buffers;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= size && buffers.size() < 64; ++i) {
        if (i == size || data[i] == 0xff) {
            std::vector<std::uint8_t> b(vnet_header_size + (i - start));
            if (i > start) std::memcpy(b.data() + vnet_header_size, data + start, i - start);
            buffers.push_back(std::move(b));
            start = i + 1;
        }
    }
    std::vector<Packet> packets;
    for (auto& b : buffers)
        packets.push_back({b.data(), std::uint32_t(b.size()), std::uint32_t(vnet_header_size),
                           std::uint32_t(b.size() - vnet_header_size)});
    std::vector<Packet*> pointers;
    for (auto& p : packets) pointers.push_back(&p);
    std::vector<CoalescedRun> runs(pointers.size());
    TcpCoalescer().coalesce(pointers, runs);
    return 0;
}
