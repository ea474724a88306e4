#include "dataplane/replay_window.hpp"

#include <bit>

namespace ikevpn::dataplane {

ReplayWindow::ReplayWindow(std::uint32_t size) {
    if (size < block_bits) size = block_bits;
    if (size > (1U << 20)) size = 1U << 20;  // 1M packets is far beyond any useful reordering
    size_ = (size + block_bits - 1) / block_bits * block_bits;
    // RFC 6479 §2: one block more than the window needs, so the block holding the oldest acceptable
    // number is never the one being cleared for new numbers. Power of two so the index is a mask.
    const std::uint32_t ring = std::bit_ceil(size_ / block_bits + 1);
    block_mask_ = ring - 1;
    blocks_ = std::make_unique<std::uint64_t[]>(ring);  // value-initialised: all zero
}

bool ReplayWindow::bit(std::uint64_t seq) const {
    const std::uint64_t block = blocks_[(seq / block_bits) & block_mask_];
    return ((block >> (seq % block_bits)) & 1U) != 0;
}

ReplayWindow::Verdict ReplayWindow::check(std::uint64_t seq) const {
    // RFC 4303 §2.2: the first packet sent on an SA carries sequence number 1, so 0 is never valid.
    if (seq == 0) return Verdict::zero;
    if (seq > highest_) return Verdict::ok;
    if (highest_ - seq >= size_) return Verdict::too_old;
    return bit(seq) ? Verdict::duplicate : Verdict::ok;
}

std::uint64_t ReplayWindow::infer_esn(std::uint32_t seq_low) const {
    // RFC 4303 A2.2, with T = highest_ (Tl, Th its halves) and W = size_. The window's bottom is
    // B = T - W + 1; its low half Bl = Tl - W + 1 (mod 2^32).
    const std::uint32_t tl = static_cast<std::uint32_t>(highest_);
    const std::uint32_t th = static_cast<std::uint32_t>(highest_ >> 32);
    const std::uint32_t bl = tl - size_ + 1;  // unsigned wrap intended
    std::uint64_t high;
    if (tl >= size_ - 1) {
        // Case A, Tl >= W - 1: the window lies within one subspace. Seql >= Tl - W + 1 → Seqh = Th,
        // else Seqh = Th + 1 (the peer has moved into the next subspace). Th + 1 = 2^32 would mean a
        // wrapped 64-bit counter, which no sender may produce; the shift then drops it and the number
        // lands far below the window: too_old.
        high = seq_low >= bl ? th : std::uint64_t{th} + 1;
    } else {
        // Case B, Tl < W - 1: the window spans two subspaces. Seql >= Tl - W + 1 → Seqh = Th - 1 (a late
        // packet from the previous subspace), else Seqh = Th. Before the first wrap there is no subspace
        // Th - 1: such a number is a jump forward within subspace 0.
        if (seq_low >= bl) {
            high = th == 0 ? 0 : th - 1;
        } else {
            high = th;
        }
    }
    return (high << 32) | seq_low;
}

void ReplayWindow::commit(std::uint64_t seq) {
    if (check(seq) != Verdict::ok) return;
    if (seq > highest_) {
        // Clear every block after the current highest one up to the block of `seq`; a jump of a whole
        // ring or more clears them all.
        const std::uint64_t current_block = highest_ / block_bits;
        const std::uint64_t new_block = seq / block_bits;
        const std::uint64_t ring = std::uint64_t{block_mask_} + 1;
        const std::uint64_t to_clear = (new_block - current_block) < ring ? (new_block - current_block) : ring;
        for (std::uint64_t i = 1; i <= to_clear; ++i) blocks_[(current_block + i) & block_mask_] = 0;
        highest_ = seq;
    }
    blocks_[(seq / block_bits) & block_mask_] |= std::uint64_t{1} << (seq % block_bits);
}

}  // namespace ikevpn::dataplane
