// Trace lines of IKE fragments (RFC 7383): number, total and, in the first, the first inner payload.
#include "client/log_describe.hpp"
#include "core/message/fragment.hpp"

#include <doctest/doctest.h>

using namespace ikevpn;
using client::describe_datagram;

namespace {

Bytes fragment(std::uint16_t number, std::uint16_t total, msg::PayloadType first) {
    msg::Header h;
    h.spi_i = {1, 2, 3, 4, 5, 6, 7, 8};
    h.spi_r = {8, 7, 6, 5, 4, 3, 2, 1};
    h.exchange = msg::ExchangeType::ike_auth;
    h.flags = msg::flag_initiator;
    h.message_id = 1;
    Bytes d = msg::encode_fragment_head(h, first, number, total, 40);
    d.resize(d.size() + 40, 0xee);  // IV | ciphertext | ICV, opaque here
    return d;
}

}  // namespace

TEST_CASE("describe_datagram names the fragment and, in the first, the first inner payload") {
    const std::string first = describe_datagram(fragment(1, 3, msg::PayloadType::id_i), true);
    CHECK(first.find("SKF{fragment 1 of 3, first IDi, 44 bytes}") != std::string::npos);
    const std::string later = describe_datagram(fragment(3, 3, msg::PayloadType::id_i), false);
    CHECK(later.find("SKF{fragment 3 of 3, 44 bytes}") != std::string::npos);
}
