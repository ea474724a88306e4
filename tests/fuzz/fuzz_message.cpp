// libFuzzer target for the IKEv2 message codec and the structure rules. Not built by meson (it needs
// clang); build and run by hand from the top of the tree:
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I. tests/fuzz/fuzz_message.cpp \
//       core/message/message.cpp core/message/rules.cpp -o /tmp/fuzz_message
//   /tmp/fuzz_message -max_total_time=60
// Whatever decodes must also encode again and pass through the rules verifier without crashing.
#include "core/message/message.hpp"
#include "core/message/rules.hpp"

#include <cstddef>
#include <cstdint>

using namespace ikevpn;
using namespace ikevpn::msg;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteView input(data, size);

    // As a datagram: header + payload chain, then the rules as if the chain were the outer payloads.
    if (auto m = decode(input)) {
        const Message& msg = m.value();
        (void)encode(msg);
        (void)check_rules(msg.header.exchange, msg.header.is_response(), msg.payloads, {});
    }

    // As the decrypted content of SK: the first byte names the first payload, the second picks the
    // exchange and direction the inner payloads are checked against.
    if (size >= 2) {
        const auto first = static_cast<PayloadType>(data[0]);
        static constexpr ExchangeType exchanges[] = {ExchangeType::ike_sa_init, ExchangeType::ike_auth,
                                                     ExchangeType::create_child_sa,
                                                     ExchangeType::informational};
        const ExchangeType exchange = exchanges[data[1] & 3];
        const bool response = data[1] & 4;
        if (auto inner = decode_payloads(first, input.subspan(2))) {
            PayloadType re_first = PayloadType::none;
            (void)encode_payloads(inner.value(), &re_first);
            std::vector<Payload> outer(1);
            outer[0].type = PayloadType::sk;
            outer[0].body = SkPayload{first, {}};
            (void)check_rules(exchange, response, outer, inner.value());
        }
    }
    return 0;
}
