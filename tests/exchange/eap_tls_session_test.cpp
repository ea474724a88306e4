// In-memory exchange tests of EAP-TLS in IKE_AUTH (RFC 7296 §2.16, RFC 5216): core::IkeSession against the
// scripted gateway, which signs with its certificate and then runs EAP-TLS through Botan's TLS server
// (tests/support/eap_tls_server.hpp); the final AUTHs on both sides are keyed with the TLS-exported MSK.
#include "exchange_driver.hpp"
#include "test_responder.hpp"

#include "core/proposal.hpp"
#include "core/session.hpp"
#include "tests/support/eap_tls_server.hpp"
#include "tests/support/test_pki.hpp"

#include <doctest/doctest.h>

using namespace ikevpn;
using test::TestCertOptions;
using test::TestPki;

namespace {

TestCertOptions named(const std::string& cn, const std::string& dns = "", const std::string& email = "") {
    TestCertOptions o;
    o.common_name = cn;
    o.dns = dns;
    o.email = email;
    return o;
}

struct Pkis {
    TestPki gateway_ca{"EAP-TLS Gateway CA"};
    TestPki client_ca{"EAP-TLS Client CA"};
    TestPki other_ca{"Other CA"};
    test::TestCert gateway = gateway_ca.issue(named("gw.example.com", "gw.example.com"));
    test::TestCert other_name = gateway_ca.issue(named("tls.example.com", "tls.example.com"));
    test::TestCert client = client_ca.issue(named("client", "", "client@example.com"));
    test::TestCert rogue = other_ca.issue(named("gw.example.com", "gw.example.com"));
};
Pkis& pkis() {
    static Pkis p;
    return p;
}

// The gateway's EAP-TLS server behind the scripted responder's EAP hook.
struct TlsMethod final : test::ResponderOptions::EapMethodServer {
    test::FakeEapTlsServer server;
    TlsMethod(const test::TestCert& cert, const std::string& client_ca_pem) : server(cert, client_ca_pem, 500) {}
    Bytes start() override { return server.start(); }
    Bytes on_response(ByteView eap) override { return server.on_response(eap); }
    SecureBytes msk() const override { return server.msk(); }
};

core::SessionConfig make_config() {
    std::string error;
    core::SessionConfig c;
    c.local_id = "client@example.com";
    c.remote_id = "gw.example.com";
    c.eap_tls = true;
    c.eap_tls_key = crypto::load_private_key(test::to_bytes(pkis().client.key_pem), error);
    c.eap_tls_certs = crypto::load_certificates_pem(test::to_bytes(pkis().client.cert_pem), error);
    REQUIRE(c.eap_tls_key);
    c.ike_proposals = {core::parse_ike_proposal("aes256gcm16-prfsha384-x25519")};
    c.esp_proposals = {core::parse_esp_proposal("aes256gcm16")};
    c.remote_networks = {*IpPrefix::parse("198.51.100.0/24")};
    c.gateway = *IpAddress::parse("192.0.2.1");
    c.trusted_cas = crypto::load_certificates_pem(test::to_bytes(pkis().gateway_ca.ca_pem()), error);
    REQUIRE(c.trusted_cas.size() == 1);
    return c;
}

// IKE AUTH with the gateway certificate; TLS with `tls_cert`, trusting client certificates from `client_ca`.
test::ResponderOptions gateway_options(const test::TestCert& tls_cert, const std::string& client_ca_pem,
                                       std::shared_ptr<TlsMethod>& method) {
    std::string error;
    test::ResponderOptions o;
    o.key = crypto::load_private_key(test::to_bytes(pkis().gateway.key_pem), error);
    o.certs = crypto::load_certificates_pem(test::to_bytes(pkis().gateway.cert_pem), error);
    REQUIRE(o.key);
    method = std::make_shared<TlsMethod>(tls_cert, client_ca_pem);
    o.eap_method = method;
    return o;
}

using Harness = test::ExchangeDriver;

}  // namespace

TEST_CASE("EAP-TLS: certificate AUTH from the gateway, EAP identity, TLS handshake, final AUTHs with the MSK") {
    std::shared_ptr<TlsMethod> method;
    Harness h(make_config(), gateway_options(pkis().gateway, pkis().client_ca.ca_pem(), method));
    h.run(h.session.start(h.now));
    REQUIRE(h.find<core::InstallChildSa>());
    CHECK_FALSE(h.find<core::Closed>());
    CHECK_FALSE(h.responder.eap_first_had_auth);  // no AUTH of ours in IKE: we prove ourselves inside TLS
    CHECK(h.responder.eap_identity_seen == "client@example.com");
    CHECK_MESSAGE(method->server.error.empty(), method->server.error);
    CHECK(method->server.client_subject.find("client") != std::string::npos);
    CHECK(method->server.fragments_sent >= 2);  // 500-byte fragments of the gateway's certificate flight
    CHECK(h.responder.auth_seen_ok);             // the gateway's MSK verified our final AUTH
    CHECK(h.progress_has("authenticating as 'client@example.com' with EAP-TLS"));
    CHECK(h.progress_has("gateway certificate verified for 'gw.example.com'; starting EAP-TLS"));
    CHECK(h.progress_has("EAP-TLS succeeded; sending the final AUTH"));
    CHECK(h.session.info().state == "connected");
}

TEST_CASE("EAP-TLS: failures end with a one-line reason") {
    std::shared_ptr<TlsMethod> method;
    SUBCASE("the gateway's TLS certificate is for another name") {
        Harness h(make_config(), gateway_options(pkis().other_name, pkis().client_ca.ca_pem(), method));
        h.run(h.session.start(h.now));
        CHECK_FALSE(h.find<core::InstallChildSa>());
        CHECK(h.closed().code == core::CloseCode::id_mismatch);
        CHECK(h.closed().reason == "EAP-TLS: the gateway's TLS certificate 'CN=tls.example.com, O=Example' does not "
                                   "contain its identity 'gw.example.com' as a subjectAltName DNS name");
        CHECK_FALSE(h.timer);
    }
    SUBCASE("the gateway's TLS certificate is not from the profile's CA") {
        Harness h(make_config(), gateway_options(pkis().rogue, pkis().client_ca.ca_pem(), method));
        h.run(h.session.start(h.now));
        CHECK_FALSE(h.find<core::InstallChildSa>());
        CHECK(h.closed().code == core::CloseCode::cert_invalid);
        CHECK(h.closed().reason == "EAP-TLS: the gateway's TLS certificate 'CN=gw.example.com, O=Example' is not valid "
                                   "for the profile's 'ca': certificate issuer not found");
    }
    SUBCASE("the gateway does not trust our certificate") {
        Harness h(make_config(), gateway_options(pkis().gateway, pkis().other_ca.ca_pem(), method));
        h.run(h.session.start(h.now));
        CHECK_FALSE(h.find<core::InstallChildSa>());
        CHECK(h.closed().code == core::CloseCode::auth_failed);
        CHECK(h.closed().reason.rfind("EAP-TLS: the gateway ended the TLS handshake with the alert", 0) == 0);
        CHECK(h.closed().reason.find("(it does not accept our certificate)") != std::string::npos);
    }
}
