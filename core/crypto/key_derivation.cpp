// IKE SA and CHILD SA key derivation (RFC 7296 §2.14, §2.17) and the shared-key AUTH value (§2.15).
#include "core/crypto/crypto.hpp"

#include <array>

namespace ikevpn::crypto {

namespace {

SecureBytes concat(std::initializer_list<ByteView> parts) {
    SecureBytes out;
    for (const ByteView part : parts) {
        out.insert(out.end(), part.begin(), part.end());
    }
    return out;
}

SecureBytes take(const SecureBytes& keymat, std::size_t& offset, std::size_t length) {
    SecureBytes out(keymat.begin() + static_cast<std::ptrdiff_t>(offset),
                    keymat.begin() + static_cast<std::ptrdiff_t>(offset + length));
    offset += length;
    return out;
}

}  // namespace

IkeKeys derive_ike_keys(const Prf& prf, ByteView nonce_i, ByteView nonce_r, ByteView shared_secret,
                        ByteView spi_i, ByteView spi_r, std::size_t encr_key_size,
                        std::size_t integ_key_size) {
    // SKEYSEED = prf(Ni | Nr, g^ir)
    // (HMAC PRFs take the whole nonces as key; the halving of §2.14 only concerns fixed-key-size PRFs.)
    const SecureBytes nonces = concat({nonce_i, nonce_r});
    const SecureBytes skeyseed = prf.compute(nonces, shared_secret);

    // {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr)
    // SK_d, SK_pi and SK_pr have the PRF's preferred key length, which for HMAC is its output size.
    const std::size_t prf_key_size = prf.output_size();
    const SecureBytes seed = concat({nonce_i, nonce_r, spi_i, spi_r});
    const std::size_t total = 3 * prf_key_size + 2 * integ_key_size + 2 * encr_key_size;
    const SecureBytes keymat = prf_plus(prf, skeyseed, seed, total);

    std::size_t offset = 0;
    IkeKeys keys;
    keys.sk_d = take(keymat, offset, prf_key_size);
    keys.sk_ai = take(keymat, offset, integ_key_size);
    keys.sk_ar = take(keymat, offset, integ_key_size);
    keys.sk_ei = take(keymat, offset, encr_key_size);
    keys.sk_er = take(keymat, offset, encr_key_size);
    keys.sk_pi = take(keymat, offset, prf_key_size);
    keys.sk_pr = take(keymat, offset, prf_key_size);
    return keys;
}

SecureBytes derive_child_keymat(const Prf& prf, ByteView sk_d, ByteView nonce_i, ByteView nonce_r,
                                std::size_t length) {
    // KEYMAT = prf+(SK_d, Ni | Nr)
    return prf_plus(prf, sk_d, concat({nonce_i, nonce_r}), length);
}

Bytes psk_auth(const Prf& prf, ByteView psk, ByteView real_message, ByteView peer_nonce, ByteView sk_p,
               ByteView id_payload_body) {
    // "The pad string is added so that if the shared secret is derived from a password, the IKE
    // implementation need not store the password in cleartext" (RFC 7296 §2.15); 17 octets, no NUL.
    static constexpr std::array<std::uint8_t, 17> key_pad = {'K', 'e', 'y', ' ', 'P', 'a', 'd', ' ', 'f',
                                                             'o', 'r', ' ', 'I', 'K', 'E', 'v', '2'};
    // MACedIDFor<I|R> = prf(SK_p<i|r>, RestOfID<I|R>Payload)
    const SecureBytes maced_id = prf.compute(sk_p, id_payload_body);
    // <SignedOctets> = RealMessage | Nonce(peer) | MACedID
    const SecureBytes signed_octets = concat({real_message, peer_nonce, maced_id});
    // AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)
    const SecureBytes padded_key = prf.compute(psk, key_pad);
    const SecureBytes auth = prf.compute(padded_key, signed_octets);
    return Bytes(auth.begin(), auth.end());
}

}  // namespace ikevpn::crypto
