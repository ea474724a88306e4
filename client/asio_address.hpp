// Our address value type to Asio's, for the sockets the client opens.
#pragma once
#include "core/ip_address.hpp"

#include <asio/ip/address.hpp>

#include <algorithm>

namespace ikevpn::client {

inline asio::ip::address to_asio(const IpAddress& a) {
    if (a.is_v4()) {
        asio::ip::address_v4::bytes_type b;
        std::copy(a.bytes().begin(), a.bytes().end(), b.begin());
        return asio::ip::address_v4(b);
    }
    asio::ip::address_v6::bytes_type b;
    std::copy(a.bytes().begin(), a.bytes().end(), b.begin());
    return asio::ip::address_v6(b);
}

}  // namespace ikevpn::client
