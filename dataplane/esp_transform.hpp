// The one interface through which EspSa drives every ESP transform, so that the per-SA packet logic has
// no per-cipher branches. A transform owns its Botan objects and per-SA scratch; seal/open work in place on
// a packet buffer and allocate nothing per packet.
//
// What differs between transforms is described by three numbers (IV size, ICV size, the alignment the
// ciphertext must reach) and by make_iv/seal/open:
//   AES-GCM-16, ChaCha20-Poly1305 (aead_esp.hpp): IV 8, ICV 16, ciphertext aligned to 4 octets
//   AES-CBC + HMAC-SHA2 (aes_cbc_hmac_esp.hpp):   IV 16, ICV 16/24/32, ciphertext a multiple of 16
#pragma once
#include "dataplane/sa_params.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace ikevpn::dataplane {

// Where the parts of one ESP packet lie in its buffer (RFC 4303 §2):
//   header: SPI | Sequence Number (its low 32 bits), 8 octets, then the IV (iv_length() octets)
//   text:   Payload | Padding | Pad Length | Next Header — encrypted/decrypted in place
//   icv:    icv_length() octets directly after text
// With ESN the high 32 bits of the sequence number are never sent but authenticated (RFC 4303 §2.2.1).
struct EspFrame {
    std::uint8_t* header = nullptr;
    std::span<std::uint8_t> text;
    std::uint8_t* icv = nullptr;
    bool esn = false;
    std::uint32_t seq_high = 0;

    std::uint8_t* iv() const { return header + 8; }
};

class EspTransform {
public:
    virtual ~EspTransform() = default;
    EspTransform(const EspTransform&) = delete;
    EspTransform& operator=(const EspTransform&) = delete;

    std::size_t iv_length() const { return iv_length_; }
    std::size_t icv_length() const { return icv_length_; }
    // Payload + padding + Pad Length + Next Header must be a multiple of this (RFC 4303 §2.4).
    std::size_t alignment() const { return alignment_; }
    // A received ciphertext must be a non-zero multiple of this to be decryptable (1 = any length).
    std::size_t block_size() const { return block_size_; }

    // Outbound: writes the IV for the packet with (64-bit) sequence number `seq` to `iv`. Each transform
    // documents why its IVs never repeat (and, for CBC, why they are unpredictable).
    virtual void make_iv(std::uint64_t seq, std::uint8_t* iv) = 0;
    // Outbound: the IV is already at frame.iv(); encrypts frame.text in place and writes frame.icv.
    // False only on an internal error (the packet must then be dropped).
    virtual bool seal(const EspFrame& frame) = 0;
    // Inbound: verifies the ICV and decrypts frame.text in place. False when the ICV does not verify;
    // then the text is not to be used.
    virtual bool open(const EspFrame& frame) = 0;

protected:
    EspTransform(std::size_t iv_length, std::size_t icv_length, std::size_t alignment, std::size_t block_size)
        : iv_length_(iv_length), icv_length_(icv_length), alignment_(alignment), block_size_(block_size) {}

private:
    std::size_t iv_length_;
    std::size_t icv_length_;
    std::size_t alignment_;
    std::size_t block_size_;
};

// Builds the transform `params` asks for. Throws std::invalid_argument for an unusable combination
// (unknown cipher, wrong key or salt length, integrity missing for CBC or present for an AEAD cipher).
std::unique_ptr<EspTransform> make_esp_transform(const SaParams& params);

}  // namespace ikevpn::dataplane
