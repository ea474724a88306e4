// State shared by the exchange tasks of one IKE SA: SPIs, nonces, the negotiated transforms, keys and the
// cipher objects of the SK payload. The tasks (ike_init, ike_natd, ike_auth, ike_config, child_create,
// ike_delete) each read and fill their part of it; session.cpp sequences them.
#pragma once
#include "core/bytes.hpp"
#include "core/crypto/crypto.hpp"
#include "core/message/message.hpp"
#include "core/session.hpp"

#include <memory>
#include <optional>
#include <string>

namespace ikevpn::core {

// Why an exchange failed, for the user (OpenIKED: every SA close carries a reason).
struct Failure {
    CloseCode code = CloseCode::protocol_error;
    std::string reason;
};

struct IkeTransforms {
    crypto::EncrId encr = crypto::EncrId::aes_gcm_16;
    std::uint16_t key_bits = 256;
    crypto::PrfId prf = crypto::PrfId::hmac_sha2_256;
    crypto::IntegId integ = crypto::IntegId::none;  // none for combined-mode (AEAD) ciphers
    crypto::DhGroup dh = crypto::DhGroup::curve25519;
};

struct IkeSa {
    msg::Spi8 spi_i{}, spi_r{};
    Bytes nonce_i, nonce_r;
    Bytes init_request, init_response;  // "RealMessage1/2" of the AUTH computation (RFC 7296 §2.15)
    IkeTransforms transforms;
    std::unique_ptr<crypto::Prf> prf;
    crypto::IkeKeys keys;
    // SK_ei/SK_er as ours and the gateway's: we initiate the first IKE SA, but the gateway is the initiator
    // of an IKE SA it rekeyed (RFC 7296 §2.18), and the roles of the keys and the I flag follow.
    std::unique_ptr<crypto::Aead> aead_out, aead_in;
    bool original_initiator = true;
    std::uint64_t iv_counter = 0;
    bool nat_local = false, nat_remote = false;
    // The gateway's SIGNATURE_HASH_ALGORITHMS from IKE_SA_INIT (RFC 7427 §4); empty when not announced.
    std::vector<std::uint16_t> peer_hash_algorithms;

    // Whether a message came from the other end: its I flag says the opposite of our role (RFC 7296 §3.1).
    bool from_peer(const msg::Header& h) const { return h.is_initiator() != original_initiator; }
    bool matches(const msg::Header& h) const { return h.spi_i == spi_i && h.spi_r == spi_r; }
    // A header for a message of ours: the original initiator sets the Initiator flag (RFC 7296 §3.1).
    msg::Header header(msg::ExchangeType exchange, bool response, std::uint32_t message_id) const;
    Bytes protect(msg::ExchangeType exchange, bool response, std::uint32_t message_id,
                  const std::vector<msg::Payload>& inner);
    std::optional<std::vector<msg::Payload>> unprotect(ByteView datagram, const msg::Message& decoded);
};

std::string transform_name(msg::TransformType type, std::uint16_t id, std::optional<std::uint16_t> key_bits);
std::string hex(ByteView bytes);

// A Notify type as the RFC spells it ("AUTHENTICATION_FAILED"), or its number.
std::string notify_name(std::uint16_t type);

// The first error Notify among payloads, turned into a user-facing failure; nullopt when there is none.
std::optional<Failure> failure_from_notify(const std::vector<msg::Payload>& payloads, const char* exchange);

}  // namespace ikevpn::core
