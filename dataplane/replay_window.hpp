// Anti-replay window for inbound ESP (RFC 4303 §3.4.3), kept as the bitmap ring of RFC 6479: the window is
// a ring of 64-bit blocks with one spare block, so sliding forward only clears whole blocks instead of
// shifting the bitmap.
//
// Use: check(seq) before the ICV is verified (cheap rejection of replays without spending a decryption),
// commit(seq) only after it verified — a forged packet must never move the window.
//
// Sequence numbers are 64-bit here so that ESN (RFC 4303 §3.3.3, Appendix A) only needs a step that infers
// the high 32 bits before calling check(); with 32-bit sequence numbers the high half is simply zero.
#pragma once
#include <cstdint>
#include <memory>

namespace ikevpn::dataplane {

class ReplayWindow {
public:
    enum class Verdict : std::uint8_t { ok, zero, too_old, duplicate };

    // `size` = how many sequence numbers, counting the highest one received, are still accepted.
    // Minimum 64; rounded up to a multiple of 64.
    explicit ReplayWindow(std::uint32_t size = 1024);

    // Would `seq` be accepted? Does not change the window.
    Verdict check(std::uint64_t seq) const;
    // Marks `seq` received (sliding the window when it is the new highest). Call only after check(seq)
    // returned ok and the packet authenticated; committing a rejected number is a no-op.
    void commit(std::uint64_t seq);

    // ESN (RFC 4303 Appendix A2.2): the full 64-bit sequence number a received low half most likely stands
    // for, judged by where it falls relative to the window [highest - size + 1, highest]. A wrong guess is
    // harmless: the high half is authenticated, so the ICV check fails and nothing is committed.
    std::uint64_t infer_esn(std::uint32_t seq_low) const;

    std::uint64_t highest() const { return highest_; }
    std::uint32_t size() const { return size_; }

private:
    static constexpr unsigned block_bits = 64;
    bool bit(std::uint64_t seq) const;

    std::uint32_t size_;
    std::uint32_t block_mask_;   // ring length (a power of two) - 1
    std::uint64_t highest_ = 0;  // highest committed sequence number, 0 = none yet
    std::unique_ptr<std::uint64_t[]> blocks_;
};

}  // namespace ikevpn::dataplane
