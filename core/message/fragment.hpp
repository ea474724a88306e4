// The Encrypted Fragment payload SKF (RFC 7383 §2.5), payload type 53:
//
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |        Fragment Number        |        Total Fragments        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                     Initialization Vector                     |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                      Encrypted content                        ~
// +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |               |             Padding (0-255 octets)            |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                                               |  Pad Length   |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                    Integrity Checksum Data                    ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// RFC 7383 §2.5: Next Payload is the first inner payload's type in fragment 1 and zero in every other;
// Fragment Number starts at 1 and never exceeds Total Fragments; neither is zero. The generic decoder
// (message.cpp) keeps the SKF body opaque; this file gives it meaning and builds the cleartext part of an
// outgoing fragment, which is also the fragment's AAD (RFC 7383 §2.5).
#pragma once
#include "core/bytes.hpp"
#include "core/message/message.hpp"

#include <cstdint>

namespace ikevpn::msg {

inline constexpr std::size_t skf_header_size = generic_payload_header_size + 4;  // + Number, Total

struct SkfFragment {
    std::uint16_t number = 0;  // 1..total
    std::uint16_t total = 0;
    PayloadType inner_first = PayloadType::none;  // fragment 1 only
    ByteView encrypted;  // IV | ciphertext | ICV, a view into the decoded message
    std::size_t aad_size = 0;  // bytes of the datagram before `encrypted` (IKE header | ... | SKF header)
};

// True when the message's last payload is an SKF payload.
bool is_fragment(const Message& message);

// Validates and reads the SKF payload of a decoded message (`datagram` is the bytes it was decoded from;
// the result's views point into the message). Errors: no SKF payload, a body shorter than the two
// counters, number 0 or above total, a Next Payload in a fragment other than the first.
DecodeResult<SkfFragment> read_fragment(const Message& message, ByteView datagram);

// The cleartext head of a fragment message: IKE header (next payload SKF, total length) | SKF header.
// `encrypted_size` is the size of IV | ciphertext | ICV that will follow.
Bytes encode_fragment_head(const Header& header, PayloadType inner_first, std::uint16_t number,
                           std::uint16_t total, std::size_t encrypted_size);

}  // namespace ikevpn::msg
