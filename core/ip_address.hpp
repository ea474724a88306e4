// IPv4/IPv6 addresses and prefixes as plain values, parsed and printed without any OS header so that core/
// can use them for traffic selectors and platform/ for routes.
#pragma once
#include "core/bytes.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ikevpn {

class IpAddress {
public:
    enum class Family : std::uint8_t { v4, v6 };
    IpAddress() = default;
    static IpAddress v4(std::array<std::uint8_t, 4> bytes);
    static IpAddress v6(std::array<std::uint8_t, 16> bytes);
    // From 4 or 16 network-order bytes; nullopt for any other size.
    static std::optional<IpAddress> from_bytes(ByteView bytes);
    // Dotted quad or RFC 4291 §2.2 text (with "::" compression and an embedded IPv4 tail).
    static std::optional<IpAddress> parse(std::string_view text);

    Family family() const { return family_; }
    bool is_v4() const { return family_ == Family::v4; }
    std::size_t size() const { return is_v4() ? 4 : 16; }
    ByteView bytes() const { return ByteView(bytes_.data(), size()); }
    std::string to_string() const;  // RFC 5952 canonical text for IPv6
    bool operator==(const IpAddress&) const = default;

private:
    Family family_ = Family::v4;
    std::array<std::uint8_t, 16> bytes_{};
};

struct IpPrefix {
    IpAddress address;  // host bits cleared by parse()
    std::uint8_t length = 0;
    // "198.51.100.0/24", "2001:db8::/32"; a bare address means a host prefix. Host bits set → nullopt.
    static std::optional<IpPrefix> parse(std::string_view text);
    IpAddress first() const { return address; }
    IpAddress last() const;  // highest address in the prefix
    bool contains(const IpAddress& a) const;
    std::string to_string() const;
    bool operator==(const IpPrefix&) const = default;
};

// The smallest set of prefixes covering exactly [first, last] (for traffic selector ranges → routes).
// Empty when the families differ or last < first.
std::vector<IpPrefix> range_to_prefixes(const IpAddress& first, const IpAddress& last);

}  // namespace ikevpn
