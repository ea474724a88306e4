#include "dataplane/esp_integrity.hpp"

#include <botan/mac.h>
#include <botan/mem_ops.h>

#include <stdexcept>

namespace ikevpn::dataplane {

namespace {

const char* botan_name(EspInteg integ) {
    switch (integ) {
    case EspInteg::hmac_sha2_256_128: return "HMAC(SHA-256)";
    case EspInteg::hmac_sha2_384_192: return "HMAC(SHA-384)";
    case EspInteg::hmac_sha2_512_256: return "HMAC(SHA-512)";
    case EspInteg::hmac_sha1_96: return "HMAC(SHA-1)";
    case EspInteg::none: break;
    }
    throw std::invalid_argument("ESP integrity: no integrity transform given");
}

}  // namespace

std::size_t EspIntegrity::key_size(EspInteg integ) {
    switch (integ) {
    case EspInteg::hmac_sha2_256_128: return 32;
    case EspInteg::hmac_sha2_384_192: return 48;
    case EspInteg::hmac_sha2_512_256: return 64;
    case EspInteg::hmac_sha1_96: return 20;  // RFC 2404 §3: a 160-bit key
    case EspInteg::none: break;
    }
    return 0;
}

std::size_t EspIntegrity::icv_size(EspInteg integ) {
    // RFC 2404 §2: HMAC-SHA-1-96 keeps the first 96 bits; RFC 4868 §2.3 keeps half of SHA-2's output.
    if (integ == EspInteg::hmac_sha1_96) return 12;
    return key_size(integ) / 2;
}

EspIntegrity::EspIntegrity(EspInteg integ, std::span<const std::uint8_t> key) : icv_size_(icv_size(integ)) {
    mac_ = Botan::MessageAuthenticationCode::create_or_throw(botan_name(integ));
    // RFC 4868 §2.1.1 (and RFC 2404 §3 for SHA-1): as an integrity transform the key is exactly as long as
    // the hash output (256, 384, 512; 160 bits); other lengths are a negotiation or derivation bug, not something to adapt to.
    if (key.size() != key_size(integ)) {
        throw std::invalid_argument("ESP integrity: key length does not match the transform");
    }
    if (mac_->output_length() > full_.size() || icv_size_ > max_icv_size) {
        throw std::invalid_argument("ESP integrity: unexpected HMAC output length");
    }
    mac_->set_key(key.data(), key.size());
}

EspIntegrity::~EspIntegrity() = default;

void EspIntegrity::compute(std::span<const std::uint8_t> data, std::span<const std::uint8_t> trailer,
                           std::uint8_t* icv) {
    mac_->update(data.data(), data.size());
    if (!trailer.empty()) mac_->update(trailer.data(), trailer.size());
    mac_->final(full_.data());  // also resets the HMAC for the next message
    // RFC 4868 §2.3: truncate to the leftmost half of the output.
    Botan::copy_mem(icv, full_.data(), icv_size_);
}

bool EspIntegrity::verify(std::span<const std::uint8_t> data, std::span<const std::uint8_t> trailer,
                          const std::uint8_t* icv) {
    mac_->update(data.data(), data.size());
    if (!trailer.empty()) mac_->update(trailer.data(), trailer.size());
    mac_->final(full_.data());
    // Constant time: how many leading octets match must not show in the timing.
    return Botan::constant_time_compare(full_.data(), icv, icv_size_);
}

}  // namespace ikevpn::dataplane
