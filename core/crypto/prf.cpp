// PRF transforms (RFC 7296 §2.13, RFC 4868 §2; RFC 2104 for the weak MD5/SHA-1 ones) and prf+ (RFC 7296 §2.13).
#include "core/crypto/crypto.hpp"

#include <botan/hash.h>
#include <botan/mac.h>

#include <stdexcept>
#include <string>

namespace ikevpn::crypto {

namespace {

class HmacPrf final : public Prf {
public:
    HmacPrf(PrfId id, std::string hash_name) : id_(id), hash_name_(std::move(hash_name)) {
        output_size_ = create_mac()->output_length();
    }

    PrfId id() const override { return id_; }
    std::size_t output_size() const override { return output_size_; }

    SecureBytes compute(ByteView key, ByteView data) const override {
        // A fresh MAC object per call keeps compute() const and safe to call from several threads.
        auto mac = create_mac();
        if (mac->valid_keylength(key.size())) {
            mac->set_key(key.data(), key.size());
        } else {
            // HMAC itself replaces a key longer than the hash block by H(key) (RFC 2104 §2), so hashing it
            // here first gives the identical result for keys beyond Botan's length limit (e.g. a long PSK).
            auto hash = Botan::HashFunction::create_or_throw(hash_name_);
            const SecureBytes digest = hash->process(key.data(), key.size());
            mac->set_key(digest);
        }
        mac->update(data.data(), data.size());
        return mac->final();
    }

private:
    std::unique_ptr<Botan::MessageAuthenticationCode> create_mac() const {
        return Botan::MessageAuthenticationCode::create_or_throw("HMAC(" + hash_name_ + ")");
    }

    PrfId id_;
    std::string hash_name_;
    std::size_t output_size_ = 0;
};

}  // namespace

std::unique_ptr<Prf> make_prf(PrfId id) {
    switch (id) {
    // RFC 2104 HMAC over MD5 / SHA-1 (weak: only with the profile's allow_weak_algorithms).
    case PrfId::hmac_md5:
        return std::make_unique<HmacPrf>(id, "MD5");
    case PrfId::hmac_sha1:
        return std::make_unique<HmacPrf>(id, "SHA-1");
    case PrfId::hmac_sha2_256:
        return std::make_unique<HmacPrf>(id, "SHA-256");
    case PrfId::hmac_sha2_384:
        return std::make_unique<HmacPrf>(id, "SHA-384");
    case PrfId::hmac_sha2_512:
        return std::make_unique<HmacPrf>(id, "SHA-512");
    }
    throw std::invalid_argument("make_prf: unsupported PRF transform " +
                                std::to_string(static_cast<int>(id)));
}

// prf+ (K,S) = T1 | T2 | T3 | T4 | ...
//   T1 = prf (K, S | 0x01)
//   T2 = prf (K, T1 | S | 0x02)  ...  "prf+ ... is not defined beyond 255 times the size of the prf output"
SecureBytes prf_plus(const Prf& prf, ByteView key, ByteView seed, std::size_t length) {
    const std::size_t block = prf.output_size();
    const std::size_t blocks = (length + block - 1) / block;
    if (blocks > 255) {
        throw std::invalid_argument("prf_plus: more than 255 blocks requested (RFC 7296 §2.13)");
    }
    SecureBytes out;
    out.reserve(blocks * block);
    SecureBytes previous;
    SecureBytes input;
    for (std::size_t n = 1; n <= blocks; ++n) {
        input.assign(previous.begin(), previous.end());
        input.insert(input.end(), seed.begin(), seed.end());
        input.push_back(static_cast<std::uint8_t>(n));
        previous = prf.compute(key, input);
        out.insert(out.end(), previous.begin(), previous.end());
    }
    out.resize(length);
    return out;
}

}  // namespace ikevpn::crypto
