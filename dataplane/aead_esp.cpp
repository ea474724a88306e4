#include "dataplane/aead_esp.hpp"

#include "dataplane/esp_format.hpp"

#include <botan/aead.h>
#include <botan/exceptn.h>

#include <cstring>
#include <stdexcept>

namespace ikevpn::dataplane {

namespace {

const char* botan_name(EspCipher cipher, std::size_t key_material_size) {
    switch (cipher) {
    case EspCipher::aes_gcm_16:
        // RFC 4106 §8.1: KEYMAT is four octets longer than the AES key; those last four are the salt.
        if (key_material_size == 16 + AeadEsp::salt_size) return "AES-128/GCM";
        if (key_material_size == 32 + AeadEsp::salt_size) return "AES-256/GCM";
        throw std::invalid_argument("AES-GCM ESP: KEYMAT must be a 16 or 32 octet key plus a 4 octet salt");
    case EspCipher::chacha20_poly1305:
        // RFC 7634 §2: "The keying material ... 256-bit key ... followed by a 32-bit salt".
        if (key_material_size == 32 + AeadEsp::salt_size) return "ChaCha20Poly1305";
        throw std::invalid_argument("ChaCha20-Poly1305 ESP: KEYMAT must be a 32 octet key plus a 4 octet salt");
    default:
        throw std::invalid_argument("ESP: not a combined-mode cipher");
    }
}

}  // namespace

AeadEsp::AeadEsp(EspCipher cipher, std::span<const std::uint8_t> key_material, Direction direction)
    : EspTransform(iv_size, icv_size, 4, 1), direction_(direction) {
    const char* algorithm = botan_name(cipher, key_material.size());
    const std::size_t key_size = key_material.size() - salt_size;
    std::memcpy(nonce_.data(), key_material.data() + key_size, salt_size);
    mode_ = Botan::AEAD_Mode::create_or_throw(
        algorithm, direction == Direction::outbound ? Botan::ENCRYPTION : Botan::DECRYPTION);
    if (mode_->tag_size() != icv_size) throw std::invalid_argument("ESP AEAD: unexpected tag size");
    mode_->set_key(key_material.data(), key_size);
    granularity_ = mode_->update_granularity();
    if (granularity_ == 0) granularity_ = 1;
    tail_.reserve(granularity_ + 2 * icv_size);
}

AeadEsp::~AeadEsp() = default;

void AeadEsp::make_iv(std::uint64_t seq, std::uint8_t* iv) { esp::write_be64(iv, seq); }

std::span<const std::uint8_t> AeadEsp::aad_for(const EspFrame& frame) {
    if (!frame.esn) return {frame.header, esp::header_size};  // SPI | Seq, as on the wire
    // RFC 4106 §5 (Figure 4) / RFC 7634 §2.1: SPI | Seq high | Seq low.
    std::memcpy(esn_aad_.data(), frame.header, 4);
    esp::write_be32(esn_aad_.data() + 4, frame.seq_high);
    std::memcpy(esn_aad_.data() + 8, frame.header + 4, 4);
    return esn_aad_;
}

bool AeadEsp::seal(const EspFrame& frame) { return seal(aad_for(frame), frame.iv(), frame.text, frame.icv); }

bool AeadEsp::open(const EspFrame& frame) { return open(aad_for(frame), frame.iv(), frame.text, frame.icv); }

void AeadEsp::start(std::span<const std::uint8_t> aad, const std::uint8_t* iv) {
    std::memcpy(nonce_.data() + salt_size, iv, iv_size);
    mode_->set_associated_data(aad.data(), aad.size());
    mode_->start(nonce_.data(), nonce_.size());
}

bool AeadEsp::seal(std::span<const std::uint8_t> aad, const std::uint8_t* iv, std::span<std::uint8_t> text,
                   std::uint8_t* icv) {
    try {
        start(aad, iv);
        const std::size_t aligned = text.size() - text.size() % granularity_;
        if (aligned > 0) mode_->process(text.data(), aligned);
        const std::size_t rest = text.size() - aligned;
        tail_.assign(text.data() + aligned, text.data() + text.size());
        mode_->finish(tail_, 0);  // appends the tag: tail_ = rest of ciphertext | ICV
        if (tail_.size() != rest + icv_size) return false;
        std::memcpy(text.data() + aligned, tail_.data(), rest);
        std::memcpy(icv, tail_.data() + rest, icv_size);
        return true;
    } catch (const std::exception&) {
        mode_->reset();  // leave no half-processed message behind for the next packet
        return false;
    }
}

bool AeadEsp::open(std::span<const std::uint8_t> aad, const std::uint8_t* iv, std::span<std::uint8_t> text,
                   const std::uint8_t* icv) {
    try {
        start(aad, iv);
        const std::size_t aligned = text.size() - text.size() % granularity_;
        if (aligned > 0) mode_->process(text.data(), aligned);
        const std::size_t rest = text.size() - aligned;
        tail_.assign(text.data() + aligned, text.data() + text.size());
        tail_.insert(tail_.end(), icv, icv + icv_size);
        // Botan 2 reports a wrong tag only by throwing Invalid_Authentication_Tag; there is no
        // non-throwing variant, so the exception is caught right here and never leaves the packet path.
        mode_->finish(tail_, 0);
        if (tail_.size() != rest) return false;
        std::memcpy(text.data() + aligned, tail_.data(), rest);
        return true;
    } catch (const std::exception&) {
        mode_->reset();
        return false;
    }
}

}  // namespace ikevpn::dataplane
