// Bounds-checked big-endian reading and writing for the IKEv2 codec. The reader never reads past its view:
// every read reports failure instead, and a failed reader stays failed, so a decoder may do several reads
// and check once. Fields are assembled byte by byte (network order), never by casting memory.
#pragma once
#include "core/bytes.hpp"

#include <cstddef>
#include <cstdint>
#include <stdexcept>

namespace ikevpn::msg {

class Reader {
public:
    explicit Reader(ByteView data) : data_(data) {}

    std::size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }
    bool empty() const { return remaining() == 0; }
    bool ok() const { return ok_; }

    bool u8(std::uint8_t& out) {
        if (!need(1)) return false;
        out = data_[pos_++];
        return true;
    }
    bool u16(std::uint16_t& out) {
        if (!need(2)) return false;
        out = static_cast<std::uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
        pos_ += 2;
        return true;
    }
    bool u32(std::uint32_t& out) {
        if (!need(4)) return false;
        out = (std::uint32_t{data_[pos_]} << 24) | (std::uint32_t{data_[pos_ + 1]} << 16) |
              (std::uint32_t{data_[pos_ + 2]} << 8) | std::uint32_t{data_[pos_ + 3]};
        pos_ += 4;
        return true;
    }
    // A view of the next n bytes (valid as long as the underlying data is).
    bool view(std::size_t n, ByteView& out) {
        if (!need(n)) return false;
        out = data_.subspan(pos_, n);
        pos_ += n;
        return true;
    }
    bool bytes(std::size_t n, Bytes& out) {
        ByteView v;
        if (!view(n, v)) return false;
        out.assign(v.begin(), v.end());
        return true;
    }
    bool skip(std::size_t n) {
        if (!need(n)) return false;
        pos_ += n;
        return true;
    }
    // Everything not read yet.
    ByteView rest() {
        ByteView v;
        view(remaining(), v);
        return v;
    }

private:
    bool need(std::size_t n) {
        if (!ok_ || n > data_.size() - pos_) ok_ = false;
        return ok_;
    }
    ByteView data_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

// Appends to a byte vector. Length fields are written as placeholders and patched once the content is
// known. A length that does not fit its field is a programming error on our side (we only encode what we
// built), reported with std::length_error rather than truncated on the wire.
class Writer {
public:
    explicit Writer(Bytes& out) : out_(out) {}

    std::size_t size() const { return out_.size(); }
    void u8(std::uint8_t v) { out_.push_back(v); }
    void u16(std::uint16_t v) {
        out_.push_back(static_cast<std::uint8_t>(v >> 8));
        out_.push_back(static_cast<std::uint8_t>(v));
    }
    void u32(std::uint32_t v) {
        for (int shift = 24; shift >= 0; shift -= 8) out_.push_back(static_cast<std::uint8_t>(v >> shift));
    }
    void bytes(ByteView v) { append(out_, v); }
    void zeros(std::size_t n) { out_.insert(out_.end(), n, 0); }

    // Writes a 16-bit placeholder and returns its offset.
    std::size_t reserve_u16() {
        const std::size_t at = out_.size();
        u16(0);
        return at;
    }
    // Patches the placeholder at `at` with the number of bytes from `from` to the current end.
    void patch_length16(std::size_t at, std::size_t from) {
        const std::size_t len = out_.size() - from;
        if (len > 0xffff) throw std::length_error("IKEv2 payload longer than 65535 bytes");
        out_[at] = static_cast<std::uint8_t>(len >> 8);
        out_[at + 1] = static_cast<std::uint8_t>(len);
    }
    void patch_u8(std::size_t at, std::uint8_t v) { out_[at] = v; }

private:
    Bytes& out_;
};

}  // namespace ikevpn::msg
