#include "dataplane/aes_gcm_esp.hpp"

#include <botan/aead.h>
#include <botan/exceptn.h>

#include <cstring>
#include <stdexcept>

namespace ikevpn::dataplane {

AesGcmEsp::AesGcmEsp(std::span<const std::uint8_t> key_material, Direction direction) : direction_(direction) {
    if (key_material.size() != 16 + salt_size && key_material.size() != 32 + salt_size) {
        throw std::invalid_argument("AES-GCM ESP: KEYMAT must be a 16 or 32 octet key plus a 4 octet salt");
    }
    const std::size_t key_size = key_material.size() - salt_size;
    // RFC 4106 §8.1: KEYMAT is four octets longer than the AES key; those last four octets are the salt.
    std::memcpy(nonce_.data(), key_material.data() + key_size, salt_size);
    const char* algorithm = key_size == 16 ? "AES-128/GCM" : "AES-256/GCM";
    mode_ = Botan::AEAD_Mode::create_or_throw(
        algorithm, direction == Direction::outbound ? Botan::ENCRYPTION : Botan::DECRYPTION);
    mode_->set_key(key_material.data(), key_size);
    granularity_ = mode_->update_granularity();
    if (granularity_ == 0) granularity_ = 1;
    tail_.reserve(granularity_ + 2 * icv_size);
}

AesGcmEsp::~AesGcmEsp() = default;

void AesGcmEsp::start(std::span<const std::uint8_t> aad, const std::uint8_t* iv) {
    std::memcpy(nonce_.data() + salt_size, iv, iv_size);
    mode_->set_associated_data(aad.data(), aad.size());
    mode_->start(nonce_.data(), nonce_.size());
}

bool AesGcmEsp::seal(std::span<const std::uint8_t> aad, const std::uint8_t* iv, std::span<std::uint8_t> text,
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
        return false;
    }
}

bool AesGcmEsp::open(std::span<const std::uint8_t> aad, const std::uint8_t* iv, std::span<std::uint8_t> text,
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
        return false;
    }
}

}  // namespace ikevpn::dataplane
