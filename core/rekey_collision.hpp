// Simultaneous rekeys (RFC 7296 §2.8.1 for CHILD SAs, §2.8.2 for the IKE SA): both ends rekey the same SA
// at once, both exchanges complete, and one of the two new SAs is redundant. §2.8.1: "the SA created with
// the lowest of the four nonces used in the two exchanges SHOULD be closed by the endpoint that created
// it", and "the node that initiated the surviving rekeyed SA should delete the replaced SA". §2.8.2 applies
// the same rule to two new IKE SAs; the surviving one inherits every CHILD SA.
//
// The decision is a pure function of the nonces (below); the session wiring is in rekey_collision.cpp
// (IKE SA) and session_rekey.cpp (CHILD SA).
#pragma once
#include "core/bytes.hpp"

namespace ikevpn::core {

// RFC 7296 §2.8.1: "'Lowest' means an octet-by-octet comparison (instead of, for instance, comparing the
// nonces as large integers) ... If you reach the end of one nonce, that nonce is the lower one."
// True when `a` is lower than `b`; equal nonces are not lower.
bool nonce_lower(ByteView a, ByteView b);

// Which exchange holds the lowest of the four nonces: ours (the exchange we initiated: Ni ours, Nr the
// gateway's) or theirs (the gateway's exchange: Ni the gateway's, Nr ours). True when it is ours, so the SA
// our exchange created is redundant and we delete it. Should the two lowest nonces be equal (a peer echoing
// ours), ours counts as redundant: if both ends then delete their new SA, the old one stays and nothing
// leaks, whereas keeping both would.
bool our_sa_is_redundant(ByteView ours_i, ByteView ours_r, ByteView theirs_i, ByteView theirs_r);

}  // namespace ikevpn::core
