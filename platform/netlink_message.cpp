#include "platform/netlink_message.hpp"

#include <linux/rtnetlink.h>
#include <sys/socket.h>

namespace ikevpn::platform::nl {

int address_family(IpAddress::Family family) { return family == IpAddress::Family::v4 ? AF_INET : AF_INET6; }

MessageBuilder::MessageBuilder(std::uint16_t type, std::uint16_t flags) {
    nlmsghdr header{};
    header.nlmsg_type = type;
    header.nlmsg_flags = flags;
    put_bytes(&header, sizeof header);
}

void MessageBuilder::put_bytes(const void* data, std::size_t length) {
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    buffer_.insert(buffer_.end(), bytes, bytes + length);
    buffer_.resize(NLMSG_ALIGN(buffer_.size()), 0);
}

void MessageBuilder::put_attr(std::uint16_t type, const void* data, std::size_t length) {
    rtattr attr{};
    attr.rta_type = type;
    attr.rta_len = static_cast<unsigned short>(RTA_LENGTH(length));
    const auto* raw = reinterpret_cast<const std::uint8_t*>(&attr);
    buffer_.insert(buffer_.end(), raw, raw + sizeof attr);
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    buffer_.insert(buffer_.end(), bytes, bytes + length);
    buffer_.resize(NLMSG_ALIGN(buffer_.size()), 0);
}

void MessageBuilder::put_string(std::uint16_t type, std::string_view text) {
    std::vector<char> with_nul(text.begin(), text.end());
    with_nul.push_back('\0');
    put_attr(type, with_nul.data(), with_nul.size());
}

void MessageBuilder::put_address(std::uint16_t type, const IpAddress& address) {
    put_attr(type, address.bytes().data(), address.size());
}

Span attributes_after(Span payload, std::size_t header_size) {
    std::size_t offset = NLMSG_ALIGN(header_size);
    if (payload.size() <= offset) return {};
    return payload.subspan(offset);
}

bool for_each_message(Span datagram, const std::function<void(const nlmsghdr&, Span)>& on_message) {
    while (datagram.size() >= sizeof(nlmsghdr)) {
        nlmsghdr header;
        std::memcpy(&header, datagram.data(), sizeof header);
        if (header.nlmsg_len < sizeof header || header.nlmsg_len > datagram.size()) return false;
        on_message(header, datagram.subspan(sizeof header, header.nlmsg_len - sizeof header));
        std::size_t advance = NLMSG_ALIGN(header.nlmsg_len);
        if (advance >= datagram.size()) return true;
        datagram = datagram.subspan(advance);
    }
    return datagram.empty();
}

bool for_each_attr(Span attributes, const std::function<void(std::uint16_t, Span)>& on_attr) {
    while (attributes.size() >= sizeof(rtattr)) {
        rtattr attr;
        std::memcpy(&attr, attributes.data(), sizeof attr);
        if (attr.rta_len < sizeof attr || attr.rta_len > attributes.size()) return false;
        on_attr(static_cast<std::uint16_t>(attr.rta_type & NLA_TYPE_MASK),
                attributes.subspan(sizeof attr, attr.rta_len - sizeof attr));
        std::size_t advance = RTA_ALIGN(attr.rta_len);
        if (advance >= attributes.size()) return true;
        attributes = attributes.subspan(advance);
    }
    return attributes.empty();
}

std::optional<std::uint32_t> attr_u32(Span value) {
    if (value.size() != sizeof(std::uint32_t)) return std::nullopt;
    std::uint32_t number;
    std::memcpy(&number, value.data(), sizeof number);
    return number;
}

std::optional<IpAddress> attr_address(Span value, IpAddress::Family family) {
    std::size_t expected = family == IpAddress::Family::v4 ? 4 : 16;
    if (value.size() != expected) return std::nullopt;
    return IpAddress::from_bytes(value);
}

}  // namespace ikevpn::platform::nl
