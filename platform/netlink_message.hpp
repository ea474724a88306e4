// Building and parsing rtnetlink messages (internal to platform/). Kernel structs are copied in and out
// with memcpy after a length check — never by casting a byte pointer — and every nlmsghdr and rtattr
// length is validated against what is left of the buffer before it is used.
#pragma once
#include "core/ip_address.hpp"

#include <cstdint>
#include <cstring>
#include <functional>
#include <linux/netlink.h>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace ikevpn::platform::nl {

using Span = std::span<const std::uint8_t>;

int address_family(IpAddress::Family family);  // AF_INET / AF_INET6

// One request: the nlmsghdr (its length and sequence number are filled in by Netlink::transact), one
// fixed family header (ifinfomsg, rtmsg, ...) and attributes, each padded to 4 bytes.
class MessageBuilder {
public:
    MessageBuilder(std::uint16_t type, std::uint16_t flags);

    template <class Header>
    void put_header(const Header& header) {
        put_bytes(&header, sizeof header);
    }
    void put_attr(std::uint16_t type, const void* data, std::size_t length);
    void put_u32(std::uint16_t type, std::uint32_t value) { put_attr(type, &value, sizeof value); }
    void put_string(std::uint16_t type, std::string_view text);  // NUL-terminated
    void put_address(std::uint16_t type, const IpAddress& address);
    std::vector<std::uint8_t>& bytes() { return buffer_; }

private:
    void put_bytes(const void* data, std::size_t length);
    std::vector<std::uint8_t> buffer_;
};

// Copies the fixed header at the start of `payload`; nullopt if the payload is too short.
template <class Header>
std::optional<Header> read_header(Span payload) {
    if (payload.size() < sizeof(Header)) return std::nullopt;
    Header header;
    std::memcpy(&header, payload.data(), sizeof header);
    return header;
}

// The attributes that follow a fixed header of `header_size` bytes (NLMSG_ALIGNed), or an empty span.
Span attributes_after(Span payload, std::size_t header_size);

// Calls on_message(header, payload) for each message of a received datagram; false if a length is bad.
bool for_each_message(Span datagram, const std::function<void(const nlmsghdr&, Span)>& on_message);

// Calls on_attr(type, value) for each attribute (type without the NLA_F_* flag bits); false if malformed.
bool for_each_attr(Span attributes, const std::function<void(std::uint16_t, Span)>& on_attr);

std::optional<std::uint32_t> attr_u32(Span value);
std::optional<IpAddress> attr_address(Span value, IpAddress::Family family);

}  // namespace ikevpn::platform::nl
