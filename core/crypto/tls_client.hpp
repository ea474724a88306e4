// A TLS 1.2 client (Botan 2's TLS::Client) driven by bytes, for EAP-TLS (RFC 5216): no socket, no clock of
// its own. Records the gateway sends go in through `received`; the records we must send come out of
// `take_output`. The gateway's certificate is checked with our own path validation (validate_certificate,
// at the injected time) and an identity rule the caller supplies; the key exporter gives the MSK.
#pragma once
#include "core/bytes.hpp"
#include "core/crypto/public_key.hpp"
#include "core/crypto/secure_bytes.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ikevpn::crypto {

class RandomSource;

struct TlsClientConfig {
    PrivateKeyPtr key;                         // our key (RSA or ECDSA: Botan 2's TLS 1.2 signs with these)
    std::vector<CertificatePtr> chain;         // our certificate first, then intermediates
    std::vector<CertificatePtr> trusted_cas;   // the gateway's certificate must chain to one of these
    std::chrono::system_clock::time_point now;
    // The identity rule for the gateway's certificate (the same as for its IKE certificate): nullopt when
    // the certificate holds the expected identity, otherwise the reason.
    std::function<std::optional<std::string>(const Certificate& leaf)> check_identity;
};

// What a failed handshake was about: the gateway's certificate (path validation), its identity, or
// anything else (alerts, malformed records, no common cipher suite).
enum class TlsFailureKind : std::uint8_t { handshake, certificate, identity };

class TlsClient {
public:
    virtual ~TlsClient() = default;
    // Starts the handshake: the ClientHello is then in take_output().
    virtual void start() = 0;
    // Records from the gateway. nullopt while the handshake goes on or completed; otherwise the one-line
    // reason the handshake failed ("the gateway's TLS certificate ...", "handshake failed: ..."). After a
    // failure of ours, take_output() holds the fatal alert for the gateway; after its alert, nothing.
    virtual std::optional<std::string> received(ByteView records) = 0;
    virtual Bytes take_output() = 0;
    virtual TlsFailureKind failure_kind() const = 0;  // meaningful once received() failed
    virtual bool established() const = 0;
    // RFC 5705 exporter without a context: PRF(master_secret, label, client.random | server.random).
    // Empty before the handshake completed.
    virtual SecureBytes export_key(const std::string& label, std::size_t length) const = 0;
};

std::unique_ptr<TlsClient> make_tls_client(TlsClientConfig config, RandomSource& random);

}  // namespace ikevpn::crypto
