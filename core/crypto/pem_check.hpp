// Checks that files named by a profile hold what they should (a certificate, a private key) without
// keeping anything: `ikevpn check` and `ikevpn import` use it before any connection is attempted.
// Botan does the parsing (core/crypto is the only place Botan is reached from).
#pragma once
#include "core/bytes.hpp"
#include "core/crypto/secure_bytes.hpp"

#include <optional>
#include <string>

namespace ikevpn::crypto {

// nullopt when `pem` holds at least one PEM "CERTIFICATE" that parses as X.509; otherwise a short reason
// ("no PEM CERTIFICATE block", "not an X.509 certificate: ...").
std::optional<std::string> certificate_pem_problem(ByteView pem);

// nullopt when `pem` holds an unencrypted PKCS#8 ("PRIVATE KEY") or a traditional RSA/EC key block that
// Botan loads; a passphrase-protected key is reported as such (ikevpn has no passphrase prompt).
std::optional<std::string> private_key_pem_problem(const SecureBytes& pem);

// The PEM text of a base64-encoded DER certificate (as .sswan files carry it), or nullopt when it is not
// base64 of an X.509 certificate. Input that is already PEM is checked and returned unchanged.
std::optional<std::string> certificate_pem_from_base64(const std::string& text);

}  // namespace ikevpn::crypto
