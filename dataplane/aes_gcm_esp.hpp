// The AES-GCM-16 ESP transform (RFC 4106): the AES-GCM case of AeadEsp (see aead_esp.hpp for the nonce,
// AAD and allocation rules). Kept as its own name for callers that only ever want AES-GCM.
#pragma once
#include "dataplane/aead_esp.hpp"

namespace ikevpn::dataplane {

class AesGcmEsp final : public AeadEsp {
public:
    // key_material = AES key (16 or 32 octets) | salt (4 octets). Throws std::invalid_argument otherwise.
    AesGcmEsp(std::span<const std::uint8_t> key_material, Direction direction)
        : AeadEsp(EspCipher::aes_gcm_16, key_material, direction) {}
};

}  // namespace ikevpn::dataplane
