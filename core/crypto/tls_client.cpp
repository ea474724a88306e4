// The TLS client of EAP-TLS on Botan 2 (tls_client.hpp): our Policy, Credentials_Manager and Callbacks.
#include "core/crypto/tls_client.hpp"

#include "core/crypto/botan_random.hpp"
#include "core/crypto/crypto.hpp"
#include "core/crypto/public_key_impl.hpp"

#include <botan/credentials_manager.h>
#include <botan/rng.h>
#include <botan/tls_callbacks.h>
#include <botan/tls_client.h>
#include <botan/tls_exceptn.h>
#include <botan/tls_policy.h>
#include <botan/tls_session_manager.h>

#include <algorithm>
#include <utility>

namespace ikevpn::crypto {

namespace {

// TLS 1.2 only (Botan 2 has no 1.3), forward-secret ECDHE with AEAD ciphers and SHA-2 signatures; no
// renegotiation, no time in the hello random (our clock is injected), no OCSP stapling request.
class EapTlsPolicy final : public Botan::TLS::Policy {
public:
    std::vector<std::string> allowed_ciphers() const override { return {"ChaCha20Poly1305", "AES-256/GCM", "AES-128/GCM"}; }
    std::vector<std::string> allowed_signature_hashes() const override { return {"SHA-512", "SHA-384", "SHA-256"}; }
    std::vector<std::string> allowed_macs() const override { return {"AEAD"}; }
    std::vector<std::string> allowed_key_exchange_methods() const override { return {"ECDH"}; }
    std::vector<std::string> allowed_signature_methods() const override { return {"ECDSA", "RSA"}; }
    bool allow_tls10() const override { return false; }
    bool allow_tls11() const override { return false; }
    bool allow_tls12() const override { return true; }
    bool allow_dtls10() const override { return false; }
    bool allow_dtls12() const override { return false; }
    bool include_time_in_hello_random() const override { return false; }
    bool support_cert_status_message() const override { return false; }
    bool allow_server_initiated_renegotiation() const override { return false; }
    bool allow_client_initiated_renegotiation() const override { return false; }
};

// One line of Botan's exception text (some carry newlines).
std::string one_line(std::string s) {
    std::replace(s.begin(), s.end(), '\n', ' ');
    return s;
}

class BotanTlsClient final : public TlsClient, private Botan::TLS::Callbacks, private Botan::Credentials_Manager {
public:
    BotanTlsClient(TlsClientConfig config, RandomSource& random) : config_(std::move(config)), rng_(random) {}

    void start() override {
        client_.emplace(static_cast<Botan::TLS::Callbacks&>(*this), sessions_,
                        static_cast<Botan::Credentials_Manager&>(*this), policy_, rng_, Botan::TLS::Server_Information(),
                        Botan::TLS::Protocol_Version::TLS_V12);
    }

    std::optional<std::string> received(ByteView records) override {
        if (!client_) return std::string("EAP-TLS: handshake failed: TLS data before the handshake started");
        if (failure_) return failure_;
        try {
            client_->received_data(records.data(), records.size());
        } catch (const std::exception& e) {
            if (!failure_) failure_ = "EAP-TLS: handshake failed: " + one_line(e.what());
        }
        return failure_;
    }

    Bytes take_output() override { return std::exchange(output_, {}); }

    bool established() const override { return client_ && client_->is_active(); }
    TlsFailureKind failure_kind() const override { return failure_kind_; }

    SecureBytes export_key(const std::string& label, std::size_t length) const override {
        if (!established()) return {};
        return client_->key_material_export(label, "", length).bits_of();
    }

private:
    // --- TLS::Callbacks
    void tls_emit_data(const std::uint8_t data[], std::size_t size) override { output_.insert(output_.end(), data, data + size); }
    void tls_record_received(std::uint64_t, const std::uint8_t[], std::size_t) override {}  // EAP-TLS carries none
    void tls_alert(Botan::TLS::Alert alert) override {
        if (alert.is_fatal() && !failure_)
            failure_ = "EAP-TLS: the gateway ended the TLS handshake with the alert '" + alert.type_string() + "'" +
                       (alert.type() == Botan::TLS::Alert::UNKNOWN_CA || alert.type() == Botan::TLS::Alert::BAD_CERTIFICATE ||
                                alert.type() == Botan::TLS::Alert::CERTIFICATE_UNKNOWN
                            ? " (it does not accept our certificate)"
                            : "");
    }
    bool tls_session_established(const Botan::TLS::Session&) override { return false; }  // no resumption cache

    void tls_verify_cert_chain(const std::vector<Botan::X509_Certificate>& chain,
                               const std::vector<std::shared_ptr<const Botan::OCSP::Response>>&,
                               const std::vector<Botan::Certificate_Store*>&, Botan::Usage_Type, const std::string&,
                               const Botan::TLS::Policy&) override {
        if (chain.empty()) fail_certificate(TlsFailureKind::certificate, "EAP-TLS: the gateway sent no TLS certificate");
        const Certificate leaf(chain.front());
        std::vector<CertificatePtr> intermediates;
        for (std::size_t i = 1; i < chain.size(); ++i) intermediates.push_back(std::make_shared<const Certificate>(chain[i]));
        const std::string subject = certificate_subject(leaf);
        if (auto reason = validate_certificate(leaf, intermediates, config_.trusted_cas, config_.now))
            fail_certificate(TlsFailureKind::certificate, "EAP-TLS: the gateway's TLS certificate '" + subject +
                                                              "' is not valid for the profile's 'ca': " + *reason);
        if (config_.check_identity) {
            if (auto reason = config_.check_identity(leaf))
                fail_certificate(TlsFailureKind::identity, "EAP-TLS: the gateway's TLS certificate '" + subject + "' " + *reason);
        }
    }

    // Botan answers the exception with a fatal alert (bad_certificate / certificate_unknown).
    [[noreturn]] void fail_certificate(TlsFailureKind kind, std::string reason) {
        failure_ = std::move(reason);
        failure_kind_ = kind;
        throw Botan::TLS::TLS_Exception(kind == TlsFailureKind::identity ? Botan::TLS::Alert::CERTIFICATE_UNKNOWN
                                                                         : Botan::TLS::Alert::BAD_CERTIFICATE,
                                        *failure_);
    }

    // --- Credentials_Manager: our certificate when the gateway asks for one of a key type we have.
    std::vector<Botan::X509_Certificate> cert_chain(const std::vector<std::string>& key_types, const std::string& type,
                                                    const std::string&) override {
        if (type != "tls-client" || !config_.key || config_.chain.empty()) return {};
        const std::string algo = config_.key->key->algo_name();
        if (std::find(key_types.begin(), key_types.end(), algo) == key_types.end()) return {};
        std::vector<Botan::X509_Certificate> out;
        for (const auto& c : config_.chain) out.push_back(c->cert);
        return out;
    }
    Botan::Private_Key* private_key_for(const Botan::X509_Certificate&, const std::string&, const std::string&) override {
        return config_.key ? config_.key->key.get() : nullptr;
    }

    TlsClientConfig config_;
    BotanRandom rng_;
    EapTlsPolicy policy_;
    Botan::TLS::Session_Manager_Noop sessions_;
    std::optional<Botan::TLS::Client> client_;
    Bytes output_;
    std::optional<std::string> failure_;
    TlsFailureKind failure_kind_ = TlsFailureKind::handshake;
};

}  // namespace

std::unique_ptr<TlsClient> make_tls_client(TlsClientConfig config, RandomSource& random) {
    return std::make_unique<BotanTlsClient>(std::move(config), random);
}

}  // namespace ikevpn::crypto
