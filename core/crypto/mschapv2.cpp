#include "core/crypto/mschapv2.hpp"

#include <botan/block_cipher.h>
#include <botan/hash.h>

#include <array>
#include <stdexcept>

namespace ikevpn::crypto::mschapv2 {

namespace {

std::unique_ptr<Botan::HashFunction> hash(const char* name) {
    auto h = Botan::HashFunction::create(name);
    if (!h) throw std::runtime_error(std::string("Botan lacks ") + name);
    return h;
}

// UTF-8 → UTF-16LE (surrogate pairs above U+FFFF); nullopt for malformed UTF-8.
std::optional<SecureBytes> utf16le(ByteView s) {
    SecureBytes out;
    for (std::size_t i = 0; i < s.size();) {
        const std::uint8_t b = s[i];
        std::size_t extra = b < 0x80 ? 0 : (b & 0xe0) == 0xc0 ? 1 : (b & 0xf0) == 0xe0 ? 2 : (b & 0xf8) == 0xf0 ? 3 : 4;
        if (extra == 4 || i + extra >= s.size())
            return std::nullopt;
        std::uint32_t cp = extra == 0 ? b : b & (0x3f >> extra);
        for (std::size_t k = 1; k <= extra; ++k) {
            if ((s[i + k] & 0xc0) != 0x80) return std::nullopt;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        i += extra + 1;
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return std::nullopt;
        auto put = [&](std::uint32_t unit) {
            out.push_back(std::uint8_t(unit));
            out.push_back(std::uint8_t(unit >> 8));
        };
        if (cp >= 0x10000) {
            put(0xd800 + ((cp - 0x10000) >> 10));
            put(0xdc00 + ((cp - 0x10000) & 0x3ff));
        } else {
            put(cp);
        }
    }
    return out;
}

// DesEncrypt(Clear, Key): the 7-byte key spread over 8 bytes, seven bits each (RFC 2759 §8.6); DES
// ignores the low parity bit.
void des_encrypt(ByteView clear8, ByteView key7, std::uint8_t* out8) {
    std::array<std::uint8_t, 8> key{};
    key[0] = key7[0];
    for (std::size_t i = 1; i < 7; ++i) key[i] = std::uint8_t(key7[i - 1] << (8 - i) | key7[i] >> i);
    key[7] = std::uint8_t(key7[6] << 1);
    auto des = Botan::BlockCipher::create("DES");
    if (!des) throw std::runtime_error("Botan lacks DES");
    des->set_key(key.data(), key.size());
    des->encrypt_n(clear8.data(), out8, 1);
}

constexpr std::uint8_t magic1[] = "This is the MPPE Master Key";  // without its NUL
constexpr std::uint8_t magic2[] = "On the client side, this is the send key; on the server side, it is the receive key.";
constexpr std::uint8_t magic3[] = "On the client side, this is the receive key; on the server side, it is the send key.";

}  // namespace

std::optional<SecureBytes> nt_password_hash(ByteView password_utf8) {
    auto unicode = utf16le(password_utf8);
    if (!unicode) return std::nullopt;
    auto md4 = hash("MD4");
    md4->update(unicode->data(), unicode->size());
    return md4->final();
}

Bytes challenge_hash(ByteView peer_challenge, ByteView authenticator_challenge, std::string_view username) {
    auto sha1 = hash("SHA-1");
    sha1->update(peer_challenge.data(), peer_challenge.size());
    sha1->update(authenticator_challenge.data(), authenticator_challenge.size());
    sha1->update(reinterpret_cast<const std::uint8_t*>(username.data()), username.size());
    const auto digest = sha1->final();
    return Bytes(digest.begin(), digest.begin() + 8);
}

Bytes nt_response(ByteView authenticator_challenge, ByteView peer_challenge, std::string_view username,
                  const SecureBytes& password_hash) {
    const Bytes challenge = challenge_hash(peer_challenge, authenticator_challenge, username);
    // ZPasswordHash: the 16-byte hash padded with zeros to 21 bytes, three DES keys of 7 bytes.
    SecureBytes z(21, 0);
    std::copy(password_hash.begin(), password_hash.end(), z.begin());
    Bytes response(nt_response_size);
    for (std::size_t i = 0; i < 3; ++i)
        des_encrypt(challenge, ByteView(z.data() + 7 * i, 7), response.data() + 8 * i);
    return response;
}

std::string authenticator_response(const SecureBytes& password_hash, ByteView nt_response, ByteView peer_challenge,
                                   ByteView authenticator_challenge, std::string_view username) {
    static constexpr std::uint8_t digest_magic[] = "Magic server to client signing constant";
    static constexpr std::uint8_t challenge_magic[] = "Pad to make it do more than one iteration";
    auto md4 = hash("MD4");
    md4->update(password_hash.data(), password_hash.size());
    const auto hash_hash = md4->final();
    auto sha1 = hash("SHA-1");
    sha1->update(hash_hash.data(), hash_hash.size());
    sha1->update(nt_response.data(), nt_response.size());
    sha1->update(digest_magic, sizeof digest_magic - 1);
    const auto digest = sha1->final();
    const Bytes challenge = challenge_hash(peer_challenge, authenticator_challenge, username);
    sha1->update(digest.data(), digest.size());
    sha1->update(challenge.data(), challenge.size());
    sha1->update(challenge_magic, sizeof challenge_magic - 1);
    const auto final_digest = sha1->final();
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out = "S=";
    for (auto b : final_digest) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

SecureBytes master_key(const SecureBytes& password_hash, ByteView nt_response) {
    auto md4 = hash("MD4");
    md4->update(password_hash.data(), password_hash.size());
    const auto hash_hash = md4->final();
    auto sha1 = hash("SHA-1");
    sha1->update(hash_hash.data(), hash_hash.size());
    sha1->update(nt_response.data(), nt_response.size());
    sha1->update(magic1, sizeof magic1 - 1);
    auto digest = sha1->final();
    digest.resize(16);
    return digest;
}

SecureBytes client_start_key(const SecureBytes& master, bool send) {
    // SHSpad1 is 40 zero bytes, SHSpad2 40 bytes of 0xf2 (RFC 3079 §3.4, GetAsymmetricStartKey).
    static constexpr std::array<std::uint8_t, 40> pad1{};
    std::array<std::uint8_t, 40> pad2;
    pad2.fill(0xf2);
    auto sha1 = hash("SHA-1");
    sha1->update(master.data(), master.size());
    sha1->update(pad1.data(), pad1.size());
    if (send) sha1->update(magic2, sizeof magic2 - 1);
    else sha1->update(magic3, sizeof magic3 - 1);
    sha1->update(pad2.data(), pad2.size());
    auto digest = sha1->final();
    digest.resize(16);
    return digest;
}

SecureBytes msk(const SecureBytes& password_hash, ByteView nt_response) {
    const SecureBytes master = master_key(password_hash, nt_response);
    SecureBytes out = client_start_key(master, true);
    const SecureBytes receive = client_start_key(master, false);
    out.insert(out.end(), receive.begin(), receive.end());
    out.resize(64, 0);
    return out;
}

}  // namespace ikevpn::crypto::mschapv2
