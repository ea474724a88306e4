// The Encrypted payload (RFC 7296 §3.14) with an AEAD transform (RFC 5282):
//
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                     Initialization Vector (8)                 |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                    Ciphertext (payloads | padding | pad length) ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                    Integrity Checksum Data (16)               ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// RFC 5282 §5.1: the associated data is the IKE header and everything up to and including the Encrypted
// payload's generic header — the IV is not part of it.
// With AES-CBC/3DES and an HMAC integrity transform (RFC 7296 §3.14) the IV is one cipher block (random),
// the ciphertext covers payloads | padding | pad length in whole blocks, and the Integrity Checksum Data
// (12 to 32 octets) is the truncated HMAC of everything from the IKE header to the end of the ciphertext.
// Both kinds sit behind crypto::Aead (core/crypto/crypto.hpp).
#pragma once
#include "core/bytes.hpp"
#include "core/crypto/crypto.hpp"
#include "core/message/message.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace ikevpn::core {

// Builds a whole protected message: header | SK(inner payloads). `iv_counter` makes every AEAD IV unique
// under the key (RFC 5282 §3.1 requires uniqueness, not randomness); a CBC cipher draws a random IV.
Bytes protect_message(const msg::Header& header, const std::vector<msg::Payload>& inner,
                      crypto::Aead& aead, std::uint64_t& iv_counter);

// Decrypts the SK payload of a decoded message and decodes its content. nullopt when the ICV fails or the
// plaintext is malformed (a forged or corrupted message is dropped silently, RFC 7296 §2.21).
std::optional<std::vector<msg::Payload>> unprotect_message(ByteView datagram, const msg::Message& decoded,
                                                           crypto::Aead& aead);

}  // namespace ikevpn::core
