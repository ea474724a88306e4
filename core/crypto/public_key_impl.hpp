// The Botan types behind the opaque handles of public_key.hpp; included only by core/crypto/*.cpp.
#pragma once
#include "core/crypto/public_key.hpp"

#include <botan/pk_keys.h>
#include <botan/x509cert.h>

namespace ikevpn::crypto {

class PrivateKey {
public:
    PrivateKey(std::unique_ptr<Botan::Private_Key> k, KeyType t) : key(std::move(k)), type(t) {}
    std::unique_ptr<Botan::Private_Key> key;
    KeyType type;
};

class Certificate {
public:
    explicit Certificate(Botan::X509_Certificate c) : cert(std::move(c)) {}
    Botan::X509_Certificate cert;
};

// RSA, ECDSA by curve size, Ed25519; nullopt for any other algorithm.
std::optional<KeyType> key_type_of(const Botan::Public_Key& key);

}  // namespace ikevpn::crypto
