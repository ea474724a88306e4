// Proposal strings in strongSwan's syntax ("aes256gcm16-prfsha384-x25519", "aes128gcm16" for ESP), which
// gateway administrators already know. Parsing turns them into SA payload proposals; selection checks that
// the responder's choice is one we offered.
#pragma once
#include "core/message/message.hpp"

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ikevpn::core {

// Thrown for an unknown or unsupported token; what() names the token and the string, e.g.
// "unknown algorithm 'aes256gcm17' in IKE proposal 'aes256gcm17-prfsha384-x25519'".
struct ProposalError : std::runtime_error { using std::runtime_error::runtime_error; };

// IKE: needs one AEAD encryption (aes128gcm16, aes256gcm16; aes*gcm = gcm16), one or more PRFs
// (prfsha256, prfsha384, prfsha512) and one or more DH groups (x25519/curve25519, ecp256).
// A missing PRF is an error (an AEAD carries no integrity to derive one from).
msg::Proposal parse_ike_proposal(const std::string& text);
// ESP: aes128gcm16 / aes256gcm16 (aes*gcm = gcm16); optional "-noesn"/"-esn" (only noesn supported yet);
// a DH group token (x25519, ecp256) asks for PFS on CHILD SA rekeys we start (RFC 7296 §1.3.1).
msg::Proposal parse_esp_proposal(const std::string& text);

// The responder's accepted proposal must contain exactly one transform of each type, and each of them must
// appear in the offered proposal with the same number. Returns a reason when it does not.
// For requests the gateway starts (rekeys): the first of its proposals with `protocol` and an SPI of
// `spi_size` bytes in which every transform type it lists has a transform `acceptable` takes; returned with
// one transform per type (the first acceptable) and the gateway's SPI.
std::optional<msg::Proposal> select_proposal(const std::vector<msg::Proposal>& theirs, msg::ProtocolId protocol,
                                             std::size_t spi_size,
                                             const std::function<bool(const msg::Transform&)>& acceptable);
// Whether any of `ours` contains exactly this transform (type, ID and key length).
bool offers_transform(const std::vector<msg::Proposal>& ours, const msg::Transform& transform);

std::optional<std::string> check_accepted(const std::vector<msg::Proposal>& offered,
                                          const msg::Proposal& accepted);

}  // namespace ikevpn::core
