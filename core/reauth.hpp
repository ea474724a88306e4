// Reauthentication (RFC 7296 §2.8.3, RFC 4478): the AUTH_LIFETIME notification and when to act on it.
// The make-before-break itself — a second IKE SA built beside the current one — is in
// core/session_reauth.cpp.
#pragma once
#include "core/bytes.hpp"
#include "core/message/message.hpp"
#include "core/session.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace ikevpn::core {

// RFC 4478 §3: a Notify of type AUTH_LIFETIME (16403), protocol ID 0, no SPI, whose data is the time in
// seconds until the sender of it wants the other end to reauthenticate:
//
//                       1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  ! Next Payload  !C!  RESERVED   !         Payload Length        !
//  +---------------+---------------+-------------------------------+
//  !  Protocol ID  !   SPI Size    !      Notify Message Type      !
//  +---------------+---------------+-------------------------------+
//  !                       Lifetime                                !
//  +---------------------------------------------------------------+
struct AuthLifetime {
    bool present = false;                 // an AUTH_LIFETIME notification was there
    std::optional<std::uint32_t> seconds;  // its lifetime; none when the data was not exactly 4 octets
};
AuthLifetime read_auth_lifetime(const std::vector<msg::Payload>& payloads);
msg::Payload make_auth_lifetime(std::uint32_t seconds);

// How long before the lifetime ends we start: a tenth of it, at least 2 s (one round trip and a
// retransmission) and at most 5 min, but never more than half of it. Up to the same again at random
// (`jitter_fraction` in [0, 1]) so that many clients of one gateway do not all reauthenticate at once.
Duration reauth_margin(Duration lifetime);
Duration reauth_delay(Duration lifetime, double jitter_fraction);

// After a failed attempt: the configured retry interval, but at least three more attempts before
// `left` (the time until the gateway's AUTH_LIFETIME ends, if it gave one) runs out; never below 1 s.
Duration reauth_retry_delay(Duration retry, std::optional<Duration> left);

}  // namespace ikevpn::core
