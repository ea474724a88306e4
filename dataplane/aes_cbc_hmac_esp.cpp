#include "dataplane/aes_cbc_hmac_esp.hpp"

#include "dataplane/esp_format.hpp"

#include <botan/auto_rng.h>
#include <botan/block_cipher.h>
#include <botan/cipher_mode.h>

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>

namespace ikevpn::dataplane {

namespace {

const char* aes_name(std::size_t key_size) {
    switch (key_size) {
    case 16: return "AES-128";
    case 24: return "AES-192";
    case 32: return "AES-256";
    default: throw std::invalid_argument("AES-CBC ESP: the key must be 16, 24 or 32 octets");
    }
}

std::string cbc_name(std::size_t key_size) { return std::string(aes_name(key_size)) + "/CBC/NoPadding"; }

// RFC 4303 §2.2.1 / §3.3.2.2: with ESN the high-order 32 bits are appended (implicitly) to the ICV input,
// after the Next Header; they are not transmitted.
std::span<const std::uint8_t> esn_suffix(const EspFrame& frame, std::array<std::uint8_t, 4>& buffer) {
    if (!frame.esn) return {};
    esp::write_be32(buffer.data(), frame.seq_high);
    return buffer;
}

}  // namespace

AesCbcHmacEsp::AesCbcHmacEsp(std::span<const std::uint8_t> key, EspInteg integ,
                             std::span<const std::uint8_t> integ_key, Direction direction)
    : EspTransform(block, EspIntegrity::icv_size(integ), block, block),
      integrity_(integ, integ_key) {
    const auto cipher_dir = direction == Direction::outbound ? Botan::ENCRYPTION : Botan::DECRYPTION;
    cbc_ = Botan::Cipher_Mode::create_or_throw(cbc_name(key.size()), cipher_dir);
    cbc_->set_key(key.data(), key.size());
    if (direction == Direction::outbound) {
        iv_cipher_ = Botan::BlockCipher::create_or_throw("AES-128");
        Botan::AutoSeeded_RNG rng;
        const SecureBytes iv_key = rng.random_vec(16);
        iv_cipher_->set_key(iv_key);
    }
}

AesCbcHmacEsp::~AesCbcHmacEsp() = default;

void AesCbcHmacEsp::make_iv(std::uint64_t seq, std::uint8_t* iv) {
    std::array<std::uint8_t, block> counter{};
    esp::write_be64(counter.data() + 8, seq);
    if (iv_cipher_) {
        iv_cipher_->encrypt(counter.data(), iv);
    } else {
        // Inbound SAs never send; an IV is still never left uninitialised.
        std::copy(counter.begin(), counter.end(), iv);
    }
}

std::span<const std::uint8_t> AesCbcHmacEsp::covered(const EspFrame& frame) {
    const std::size_t length = static_cast<std::size_t>(frame.text.data() + frame.text.size() - frame.header);
    return {frame.header, length};
}

bool AesCbcHmacEsp::seal(const EspFrame& frame) {
    if (frame.text.empty() || frame.text.size() % block != 0) return false;
    try {
        cbc_->start(frame.iv(), block);
        cbc_->process(frame.text.data(), frame.text.size());
        std::array<std::uint8_t, 4> high{};
        integrity_.compute(covered(frame), esn_suffix(frame, high), frame.icv);
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

bool AesCbcHmacEsp::open(const EspFrame& frame) {
    if (frame.text.empty() || frame.text.size() % block != 0) return false;
    try {
        std::array<std::uint8_t, 4> high{};
        if (!integrity_.verify(covered(frame), esn_suffix(frame, high), frame.icv)) {
            return false;  // nothing decrypted
        }
        cbc_->start(frame.iv(), block);
        cbc_->process(frame.text.data(), frame.text.size());
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

}  // namespace ikevpn::dataplane
