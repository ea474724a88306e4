// Hex helpers for the crypto known-answer tests: vectors are written as in their source documents.
#pragma once
#include "core/bytes.hpp"

#include <cctype>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ikevpn::crypto::test {

// Decodes hex, ignoring whitespace so that vectors can be split over lines as in the RFCs.
inline Bytes hex(std::string_view text) {
    Bytes out;
    int high = -1;
    for (const char c : text) {
        if (std::isspace(static_cast<unsigned char>(c)) != 0) {
            continue;
        }
        const int value = std::isdigit(static_cast<unsigned char>(c)) != 0
                              ? c - '0'
                              : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
        if (value < 0 || value > 15) {
            throw std::invalid_argument("bad hex digit in test vector");
        }
        if (high < 0) {
            high = value;
        } else {
            out.push_back(static_cast<std::uint8_t>(high * 16 + value));
            high = -1;
        }
    }
    if (high >= 0) {
        throw std::invalid_argument("odd number of hex digits in test vector");
    }
    return out;
}

// Lower-case hex, so that a failed CHECK prints both values readably.
template <typename Container>
std::string to_hex(const Container& bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const std::uint8_t b : bytes) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 0x0f]);
    }
    return out;
}

inline Bytes ascii(std::string_view text) { return Bytes(text.begin(), text.end()); }

}  // namespace ikevpn::crypto::test
