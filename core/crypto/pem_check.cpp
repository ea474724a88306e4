#include "core/crypto/pem_check.hpp"

#include <botan/base64.h>
#include <botan/data_src.h>
#include <botan/pem.h>
#include <botan/pkcs8.h>
#include <botan/x509cert.h>

#include <string_view>

namespace ikevpn::crypto {

namespace {

std::string_view as_text(ByteView bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

std::optional<std::string> certificate_pem_problem(ByteView pem) {
    const auto text = as_text(pem);
    if (text.find("-----BEGIN CERTIFICATE-----") == std::string_view::npos)
        return std::string("no PEM CERTIFICATE block");
    try {
        Botan::DataSource_Memory source(pem.data(), pem.size());
        Botan::X509_Certificate certificate(source);  // the first certificate in the file
        (void)certificate;
    } catch (const std::exception& e) {
        return std::string("not an X.509 certificate: ") + e.what();
    }
    return std::nullopt;
}

std::optional<std::string> private_key_pem_problem(const SecureBytes& pem) {
    const auto text = as_text(pem);
    if (text.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string_view::npos)
        return std::string("the key is passphrase-protected (ikevpn needs an unencrypted key file, mode 0600)");
    if (text.find("PRIVATE KEY-----") == std::string_view::npos) return std::string("no PEM PRIVATE KEY block");
    try {
        Botan::DataSource_Memory source(pem.data(), pem.size());
        auto key = Botan::PKCS8::load_key(source);
        if (!key) return std::string("no private key found");
    } catch (const std::exception& e) {
        return std::string("not a usable private key: ") + e.what();
    }
    return std::nullopt;
}

std::optional<std::string> certificate_pem_from_base64(const std::string& text) {
    std::string pem;
    if (text.find("-----BEGIN") != std::string::npos) {
        pem = text;
    } else {
        try {
            const auto der = Botan::base64_decode(text);  // ignores whitespace, throws on other characters
            pem = Botan::PEM_Code::encode(der.data(), der.size(), "CERTIFICATE");
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(pem.data());
    if (certificate_pem_problem(ByteView(bytes, pem.size()))) return std::nullopt;
    return pem;
}

}  // namespace ikevpn::crypto
