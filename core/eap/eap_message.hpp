// The EAP packet (RFC 3748 §4) carried in IKEv2's EAP payload (RFC 7296 §3.16), and the MS-CHAPv2
// framing inside EAP type 26 (draft-kamath-pppext-eap-mschapv2-02 §2). Decoding checks every length
// before it reads; an error names what was wrong.
#pragma once
#include "core/bytes.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace ikevpn::core::eap {

enum class Code : std::uint8_t { request = 1, response = 2, success = 3, failure = 4 };
enum class Type : std::uint8_t { identity = 1, notification = 2, nak = 3, md5 = 4, tls = 13, mschapv2 = 26 };

//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |     Code      |  Identifier   |            Length             |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |     Type      |  Type-Data ...                                   (Request and Response only;
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+   Success and Failure are 4 bytes)
struct Packet {
    Code code = Code::request;
    std::uint8_t identifier = 0;
    std::uint8_t type = 0;  // Request/Response only
    Bytes data;             // Type-Data
};

// Octets after Length are ignored (RFC 3748 §4.1 treats them as link padding); fewer are an error.
std::optional<Packet> decode(ByteView bytes, std::string& error);
Bytes encode(const Packet& packet);

// EAP-MSCHAPv2 Type-Data (draft-kamath-pppext-eap-mschapv2-02 §2):
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |    OpCode     |  MS-CHAPv2-ID |           MS-Length           |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Value-Size   |  Value ...  (Challenge, Response)  |  Name ...
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// Success and Failure requests carry a Message instead of Value-Size/Value/Name; the peer's Success and
// Failure responses are the OpCode alone. MS-Length counts from OpCode to the end.
enum class MsOpCode : std::uint8_t { challenge = 1, response = 2, success = 3, failure = 4, change_password = 7 };
struct MsChapV2Request {
    MsOpCode opcode = MsOpCode::challenge;
    std::uint8_t ms_id = 0;
    Bytes value;       // Challenge: the 16-byte AuthenticatorChallenge
    std::string text;  // Challenge: the server's Name; Success/Failure: the Message
};
std::optional<MsChapV2Request> decode_mschapv2_request(ByteView type_data, std::string& error);
// Response Type-Data: Value = PeerChallenge(16) | Reserved(8) | NT-Response(24) | Flags(1).
Bytes encode_mschapv2_response(std::uint8_t ms_id, ByteView peer_challenge, ByteView nt_response, const std::string& name);

}  // namespace ikevpn::core::eap
