// The IKE SA's negotiated transforms → keys and SK payload ciphers, shared by IKE_SA_INIT (ike_init) and
// both directions of the IKE SA rekey (ike_rekey, ike_rekey_initiator), so that every algorithm the
// proposal parser accepts is keyed the same way everywhere.
#pragma once
#include "core/ike_sa.hpp"

#include <string>

namespace ikevpn::core {

// Reads ENCR (with its key length), PRF, INTEG and DH from an accepted proposal (one of each type,
// check_accepted has verified that); INTEG stays none for combined-mode ciphers.
void set_transforms(IkeTransforms& t, const msg::Proposal& accepted);

crypto::SkTransform sk_transform(const IkeTransforms& t);

// SK_ei/SK_er and SK_ai/SK_ar sizes for derive_ike_keys (RFC 7296 §2.14: "SK_ai and SK_ar ... have the
// key length of the integrity algorithm"; 0 for an AEAD).
std::size_t encr_key_size(const IkeTransforms& t);
std::size_t integ_key_size(const IkeTransforms& t);

// aead_out/aead_in from sa.keys: the initiator of this IKE SA sends with SK_ei/SK_ai (RFC 7296 §2.14).
void install_sk_ciphers(IkeSa& sa, bool we_initiated);

// "AES_CBC_256/HMAC_SHA2_384_192" or "AES_GCM_16_256", for progress lines and status.
std::string encryption_name(const IkeTransforms& t);

}  // namespace ikevpn::core
