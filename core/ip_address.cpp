#include "core/ip_address.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <vector>

namespace ikevpn {
namespace {

std::optional<std::array<std::uint8_t, 4>> parse_v4(std::string_view text) {
    std::array<std::uint8_t, 4> out{};
    std::size_t pos = 0;
    for (int i = 0; i < 4; ++i) {
        if (i > 0) {
            if (pos >= text.size() || text[pos] != '.') return std::nullopt;
            ++pos;
        }
        std::size_t start = pos;
        unsigned value = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && pos - start < 3)
            value = value * 10 + unsigned(text[pos++] - '0');
        // Leading zeros are refused: "010" is octal to some parsers and decimal to others.
        if (pos == start || value > 255 || (pos - start > 1 && text[start] == '0')) return std::nullopt;
        out[i] = std::uint8_t(value);
    }
    if (pos != text.size()) return std::nullopt;
    return out;
}

std::optional<std::vector<std::uint16_t>> parse_groups(std::string_view text, bool allow_v4_tail,
                                                       std::vector<std::uint8_t>& v4_tail) {
    std::vector<std::uint16_t> groups;
    if (text.empty()) return groups;
    std::size_t pos = 0;
    while (true) {
        std::size_t end = text.find(':', pos);
        std::string_view part = text.substr(pos, end == std::string_view::npos ? end : end - pos);
        if (end == std::string_view::npos && allow_v4_tail && part.find('.') != std::string_view::npos) {
            auto v4 = parse_v4(part);
            if (!v4) return std::nullopt;
            v4_tail.assign(v4->begin(), v4->end());
            return groups;
        }
        if (part.empty() || part.size() > 4) return std::nullopt;
        unsigned value = 0;
        auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), value, 16);
        if (ec != std::errc() || p != part.data() + part.size()) return std::nullopt;
        groups.push_back(std::uint16_t(value));
        if (end == std::string_view::npos) return groups;
        pos = end + 1;
    }
}

std::optional<std::array<std::uint8_t, 16>> parse_v6(std::string_view text) {
    std::size_t gap = text.find("::");
    std::vector<std::uint8_t> tail_v4;
    std::vector<std::uint16_t> head, tail;
    if (gap == std::string_view::npos) {
        auto all = parse_groups(text, true, tail_v4);
        if (!all) return std::nullopt;
        head = *all;
        if (head.size() * 2 + tail_v4.size() != 16) return std::nullopt;
    } else {
        if (text.find("::", gap + 1) != std::string_view::npos) return std::nullopt;
        std::vector<std::uint8_t> unused;
        auto h = parse_groups(text.substr(0, gap), false, unused);
        auto t = parse_groups(text.substr(gap + 2), true, tail_v4);
        if (!h || !t) return std::nullopt;
        head = *h;
        tail = *t;
        // "::" stands for at least one zero group.
        if ((head.size() + tail.size()) * 2 + tail_v4.size() > 14) return std::nullopt;
    }
    std::array<std::uint8_t, 16> out{};
    std::size_t i = 0;
    for (auto g : head) { out[i++] = std::uint8_t(g >> 8); out[i++] = std::uint8_t(g); }
    std::size_t back = 16 - tail.size() * 2 - tail_v4.size();
    for (auto g : tail) { out[back++] = std::uint8_t(g >> 8); out[back++] = std::uint8_t(g); }
    for (auto b : tail_v4) out[back++] = b;
    return out;
}

}  // namespace

IpAddress IpAddress::v4(std::array<std::uint8_t, 4> bytes) {
    IpAddress a;
    a.family_ = Family::v4;
    std::copy(bytes.begin(), bytes.end(), a.bytes_.begin());
    return a;
}

IpAddress IpAddress::v6(std::array<std::uint8_t, 16> bytes) {
    IpAddress a;
    a.family_ = Family::v6;
    a.bytes_ = bytes;
    return a;
}

std::optional<IpAddress> IpAddress::from_bytes(ByteView bytes) {
    if (bytes.size() == 4) return v4({bytes[0], bytes[1], bytes[2], bytes[3]});
    if (bytes.size() == 16) {
        std::array<std::uint8_t, 16> b{};
        std::copy(bytes.begin(), bytes.end(), b.begin());
        return v6(b);
    }
    return std::nullopt;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    if (text.find(':') != std::string_view::npos) {
        if (auto b = parse_v6(text)) return v6(*b);
        return std::nullopt;
    }
    if (auto b = parse_v4(text)) return v4(*b);
    return std::nullopt;
}

std::string IpAddress::to_string() const {
    char buf[64];
    if (is_v4()) {
        std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", bytes_[0], bytes_[1], bytes_[2], bytes_[3]);
        return buf;
    }
    // RFC 5952 §4.2: compress the longest run (>= 2) of zero groups, the first one on a tie.
    std::array<unsigned, 8> g{};
    for (int i = 0; i < 8; ++i) g[i] = unsigned(bytes_[2 * i]) << 8 | bytes_[2 * i + 1];
    int best = -1, best_len = 1;
    for (int i = 0; i < 8;) {
        if (g[i] != 0) { ++i; continue; }
        int j = i;
        while (j < 8 && g[j] == 0) ++j;
        if (j - i > best_len) { best = i; best_len = j - i; }
        i = j;
    }
    std::string out;
    for (int i = 0; i < 8; ++i) {
        if (i == best) {
            out += "::";
            i += best_len - 1;
            continue;
        }
        if (!out.empty() && out.back() != ':') out += ':';
        std::snprintf(buf, sizeof buf, "%x", g[i]);
        out += buf;
    }
    return out;
}

std::optional<IpPrefix> IpPrefix::parse(std::string_view text) {
    std::size_t slash = text.find('/');
    auto addr = IpAddress::parse(text.substr(0, slash));
    if (!addr) return std::nullopt;
    unsigned max_len = unsigned(addr->size() * 8), len = max_len;
    if (slash != std::string_view::npos) {
        std::string_view l = text.substr(slash + 1);
        auto [p, ec] = std::from_chars(l.data(), l.data() + l.size(), len);
        if (l.empty() || ec != std::errc() || p != l.data() + l.size() || len > max_len) return std::nullopt;
    }
    IpPrefix prefix{*addr, std::uint8_t(len)};
    // Refuse host bits: "10.0.0.1/8" is more likely a typo than an intent.
    ByteView b = addr->bytes();
    for (std::size_t bit = len; bit < max_len; ++bit)
        if (b[bit / 8] & (0x80 >> (bit % 8))) return std::nullopt;
    return prefix;
}

IpAddress IpPrefix::last() const {
    auto b = address.bytes();
    std::array<std::uint8_t, 16> out{};
    std::copy(b.begin(), b.end(), out.begin());
    for (std::size_t bit = length; bit < b.size() * 8; ++bit) out[bit / 8] |= std::uint8_t(0x80 >> (bit % 8));
    return *IpAddress::from_bytes(ByteView(out.data(), b.size()));
}

bool IpPrefix::contains(const IpAddress& a) const {
    if (a.family() != address.family()) return false;
    auto x = a.bytes(), p = address.bytes();
    for (std::size_t bit = 0; bit < length; ++bit)
        if ((x[bit / 8] ^ p[bit / 8]) & (0x80 >> (bit % 8))) return false;
    return true;
}

std::string IpPrefix::to_string() const { return address.to_string() + "/" + std::to_string(length); }

std::vector<IpPrefix> range_to_prefixes(const IpAddress& first, const IpAddress& last) {
    std::vector<IpPrefix> out;
    if (first.family() != last.family()) return out;
    auto lo_b = first.bytes(), hi_b = last.bytes();
    if (!std::lexicographical_compare(lo_b.begin(), lo_b.end(), hi_b.begin(), hi_b.end()) &&
        !(first == last))
        return out;
    const std::size_t bits = lo_b.size() * 8;
    std::array<std::uint8_t, 16> cur{};
    std::copy(lo_b.begin(), lo_b.end(), cur.begin());
    while (true) {
        // Largest block that starts at cur (alignment) and does not pass last.
        std::size_t len = bits;
        while (len > 0) {
            std::size_t bit = len - 1;  // the bit that would become a host bit
            if (cur[bit / 8] & (0x80 >> (bit % 8))) break;
            IpPrefix candidate{*IpAddress::from_bytes(ByteView(cur.data(), lo_b.size())), std::uint8_t(len - 1)};
            auto cand_last = candidate.last().bytes();
            if (std::lexicographical_compare(hi_b.begin(), hi_b.end(), cand_last.begin(), cand_last.end())) break;
            --len;
        }
        IpPrefix block{*IpAddress::from_bytes(ByteView(cur.data(), lo_b.size())), std::uint8_t(len)};
        out.push_back(block);
        auto block_last = block.last().bytes();
        if (std::equal(block_last.begin(), block_last.end(), hi_b.begin())) return out;
        // cur = block_last + 1
        std::copy(block_last.begin(), block_last.end(), cur.begin());
        for (std::size_t i = lo_b.size(); i-- > 0;)
            if (++cur[i] != 0) break;
    }
}

}  // namespace ikevpn
