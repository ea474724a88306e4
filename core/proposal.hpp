// Proposal strings in strongSwan's syntax ("aes256gcm16-prfsha384-x25519", "aes128gcm16" for ESP), which
// gateway administrators already know. Parsing turns them into SA payload proposals; selection checks that
// the responder's choice is one we offered.
#pragma once
#include "core/message/message.hpp"

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ikevpn::core {

// Thrown for an unknown or unsupported token; what() names the token and the string, e.g.
// "unknown algorithm 'aes256gcm17' in IKE proposal 'aes256gcm17-prfsha384-x25519'".
struct ProposalError : std::runtime_error { using std::runtime_error::runtime_error; };

// Names of the weak algorithms a profile may opt into ("allow_weak_algorithms"): 3des, sha1 (HMAC-SHA1-96
// and PRF-HMAC-SHA1), md5 (HMAC-MD5-96 and PRF-HMAC-MD5), modp1024 (group 2). RFC 8247 deprecates them.
using WeakAlgorithms = std::vector<std::string>;
const std::vector<std::string_view>& weak_algorithm_names();

// IKE: encryption either combined-mode (aes128/192/256gcm16, aes*gcm = gcm16, chacha20poly1305) with one
// or more PRFs (prfsha256, prfsha384, prfsha512), or CBC (aes128, aes192, aes256) with integrity
// (sha256/sha2_256, sha384, sha512) and PRFs — without a prf... token the PRFs follow the integrity
// algorithms, as in strongSwan; and one or more DH groups (x25519/curve25519, ecp256, ecp384, ecp521,
// modp2048, modp3072, modp4096). Weak tokens (3des, sha1/sha, prfsha1, md5, prfmd5, modp1024) throw unless
// `allowed` lists their name. A combined-mode proposal without a PRF is an error.
msg::Proposal parse_ike_proposal(const std::string& text);  // no weak algorithms allowed
msg::Proposal parse_ike_proposal(const std::string& text, const WeakAlgorithms& allowed);
// ESP: the same ciphers and integrity algorithms; optional "-noesn"/"-esn" (only noesn supported yet);
// a DH group token asks for PFS on CHILD SA rekeys we start (RFC 7296 §1.3.1). The data plane implements
// no weak cipher or integrity algorithm: with the opt-in they are still refused, with a message saying so.
msg::Proposal parse_esp_proposal(const std::string& text);
msg::Proposal parse_esp_proposal(const std::string& text, const WeakAlgorithms& allowed);

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
