// MS-CHAPv2 (RFC 2759 §8) and its MPPE key derivation (RFC 3079 §3.4), as EAP-MSCHAPv2 uses them: the
// NT-Response we send, the Authenticator Response we expect back, and the MSK for IKEv2's final AUTH.
// MD4 and DES are broken primitives; they are used here only because the protocol fixes them.
#pragma once
#include "core/bytes.hpp"
#include "core/crypto/secure_bytes.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace ikevpn::crypto::mschapv2 {

inline constexpr std::size_t challenge_size = 16;    // AuthenticatorChallenge and PeerChallenge
inline constexpr std::size_t nt_response_size = 24;

// NtPasswordHash = MD4(password as UTF-16LE) (RFC 2759 §8.3). nullopt when the password is not UTF-8.
std::optional<SecureBytes> nt_password_hash(ByteView password_utf8);

// ChallengeHash = SHA1(PeerChallenge | AuthenticatorChallenge | UserName)[0..7] (RFC 2759 §8.2). The user
// name is the one sent in the Response, without any domain prefix.
Bytes challenge_hash(ByteView peer_challenge, ByteView authenticator_challenge, std::string_view username);

// NT-Response = DES(PasswordHash) over ChallengeHash, three 7-byte key pieces (RFC 2759 §8.1, §8.5).
Bytes nt_response(ByteView authenticator_challenge, ByteView peer_challenge, std::string_view username,
                  const SecureBytes& password_hash);

// "S=" followed by 40 upper-case hex digits (RFC 2759 §8.7).
std::string authenticator_response(const SecureBytes& password_hash, ByteView nt_response, ByteView peer_challenge,
                                   ByteView authenticator_challenge, std::string_view username);

// MasterKey = SHA1(PasswordHashHash | NT-Response | Magic1)[0..15] (RFC 3079 §3.4).
SecureBytes master_key(const SecureBytes& password_hash, ByteView nt_response);
// The 16-byte MasterSendKey (send = true) or MasterReceiveKey of the client (RFC 3079 §3.4, IsServer
// FALSE): the client sends with Magic2 and receives with Magic3.
SecureBytes client_start_key(const SecureBytes& master_key, bool send);
// MSK = MasterReceiveKey | MasterSendKey | 32 zero bytes (draft-kamath-pppext-eap-mschapv2), 64 bytes.
// The draft names the keys from the authenticator's side: the server's receive key is the client's send
// key (Magic2), so from our side MSK = client send | client receive | zeros. Checked against strongSwan
// (tests/interop/test_eap_mschapv2.sh): the other order fails its MSK-keyed AUTH.
SecureBytes msk(const SecureBytes& password_hash, ByteView nt_response);

}  // namespace ikevpn::crypto::mschapv2
