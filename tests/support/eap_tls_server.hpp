// A fake EAP-TLS server (RFC 5216, server side) on Botan 2's TLS::Server, for in-memory tests of the
// EAP-TLS peer: it sends Start, fragments its flights (ACKed by the peer), reassembles the peer's
// fragments (ACKing each), requires a client certificate from `client_ca`, and ends with EAP-Success
// after the peer's empty response to its Finished — or EAP-Failure when TLS fails. Written for tests
// only; the framing here is deliberately independent of core/eap/eap_tls.cpp.
#pragma once
#include "core/bytes.hpp"
#include "tests/support/test_pki.hpp"

#include <botan/auto_rng.h>
#include <botan/certstor.h>
#include <botan/credentials_manager.h>
#include <botan/data_src.h>
#include <botan/tls_callbacks.h>
#include <botan/tls_exceptn.h>
#include <botan/tls_policy.h>
#include <botan/tls_server.h>
#include <botan/tls_session_manager.h>

#include <algorithm>
#include <optional>
#include <string>

namespace ikevpn::test {

class FakeEapTlsServer final : private Botan::TLS::Callbacks, private Botan::Credentials_Manager {
public:
    FakeEapTlsServer(TestCert server, const std::string& client_ca_pem, std::size_t fragment_size)
        : server_(std::move(server)), fragment_size_(fragment_size) {
        Botan::DataSource_Memory src(client_ca_pem);
        client_cas_.add_certificate(Botan::X509_Certificate(src));
        tls_.emplace(static_cast<Botan::TLS::Callbacks&>(*this), sessions_, static_cast<Botan::Credentials_Manager&>(*this),
                     policy_, rng_);
    }

    // EAP-Request/EAP-TLS with the S flag.
    Bytes start() { return request(Bytes{0x20}); }

    // The peer's EAP packet → our next EAP packet (Request, Success or Failure).
    Bytes on_response(ByteView eap) {
        ++responses;
        if (eap.size() < 6 || eap[0] != 2 || eap[1] != id_ || eap[4] != 13) return failure("not an EAP-TLS response");
        const std::uint8_t flags = eap[5];
        std::size_t at = 6;
        if (flags & 0x80) at += 4;
        if (eap.size() < at) return failure("short EAP-TLS response");
        const Bytes data(eap.begin() + std::ptrdiff_t(at), eap.end());
        if (sent_ < out_.size()) {  // the peer must ACK our fragment
            if (!data.empty()) return failure("data instead of an ACK");
            return next_fragment();
        }
        append(in_, data);
        if (flags & 0x40) {
            ++acks_sent;
            return request(Bytes{0x00});
        }
        if (in_.empty()) {
            if (tls_->is_active() && !done_) {
                done_ = true;
                return success();
            }
            return failure("empty response before the handshake completed");
        }
        const Bytes records = std::exchange(in_, {});
        try {
            tls_->received_data(records.data(), records.size());
        } catch (const std::exception& e) {
            error = e.what();
        }
        if (out_pending_.empty()) return failure("TLS produced nothing to send");
        out_ = std::exchange(out_pending_, {});
        sent_ = 0;
        return next_fragment();
    }

    SecureBytes msk() const {
        if (!tls_->is_active()) return {};
        return tls_->key_material_export("client EAP encryption", "", 64).bits_of();
    }

    std::string error;           // why TLS failed on our side
    std::string client_subject;  // the peer's certificate, once verified
    int fragments_sent = 0, acks_sent = 0, responses = 0;

private:
    class Policy final : public Botan::TLS::Policy {
        bool require_client_certificate_authentication() const override { return true; }
        bool require_cert_revocation_info() const override { return false; }  // test PKI: no CRLs
    };

    Bytes request(Bytes type_data) {
        ++id_;
        Bytes out{1, id_, std::uint8_t((5 + type_data.size()) >> 8), std::uint8_t(5 + type_data.size()), 13};
        append(out, type_data);
        return out;
    }
    Bytes success() { return Bytes{3, id_, 0, 4}; }
    Bytes failure(const std::string& why) {
        if (error.empty()) error = why;
        return Bytes{4, id_, 0, 4};
    }
    Bytes next_fragment() {
        const std::size_t n = std::min(fragment_size_, out_.size() - sent_);
        Bytes frame{std::uint8_t(sent_ + n < out_.size() ? 0x40 : 0x00)};
        if (sent_ == 0) {  // L with the total on the first fragment
            frame[0] |= 0x80;
            for (int shift = 24; shift >= 0; shift -= 8) frame.push_back(std::uint8_t(out_.size() >> shift));
        }
        frame.insert(frame.end(), out_.begin() + std::ptrdiff_t(sent_), out_.begin() + std::ptrdiff_t(sent_ + n));
        sent_ += n;
        ++fragments_sent;
        return request(std::move(frame));
    }

    void tls_emit_data(const std::uint8_t data[], std::size_t size) override { out_pending_.insert(out_pending_.end(), data, data + size); }
    void tls_record_received(std::uint64_t, const std::uint8_t[], std::size_t) override {}
    void tls_alert(Botan::TLS::Alert) override {}
    bool tls_session_established(const Botan::TLS::Session&) override { return false; }
    void tls_verify_cert_chain(const std::vector<Botan::X509_Certificate>& chain,
                               const std::vector<std::shared_ptr<const Botan::OCSP::Response>>& ocsp,
                               const std::vector<Botan::Certificate_Store*>& roots, Botan::Usage_Type usage,
                               const std::string& hostname, const Botan::TLS::Policy& policy) override {
        Botan::TLS::Callbacks::tls_verify_cert_chain(chain, ocsp, roots, usage, hostname, policy);
        client_subject = chain.front().subject_dn().to_string();
    }

    std::vector<Botan::Certificate_Store*> trusted_certificate_authorities(const std::string&, const std::string&) override {
        return {&client_cas_};
    }
    std::vector<Botan::X509_Certificate> cert_chain(const std::vector<std::string>& types, const std::string& type,
                                                    const std::string&) override {
        if (type != "tls-server" || std::find(types.begin(), types.end(), server_.key->algo_name()) == types.end()) return {};
        return {*server_.cert};
    }
    Botan::Private_Key* private_key_for(const Botan::X509_Certificate&, const std::string&, const std::string&) override {
        return server_.key.get();
    }

    TestCert server_;
    std::size_t fragment_size_;
    Botan::AutoSeeded_RNG rng_;
    Botan::Certificate_Store_In_Memory client_cas_;
    Policy policy_;
    Botan::TLS::Session_Manager_Noop sessions_;
    std::optional<Botan::TLS::Server> tls_;
    std::uint8_t id_ = 0;
    Bytes in_, out_, out_pending_;
    std::size_t sent_ = 0;
    bool done_ = false;
};

}  // namespace ikevpn::test
