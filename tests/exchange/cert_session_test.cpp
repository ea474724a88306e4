// In-memory exchange tests of certificate authentication: core::IkeSession against TestResponder signing
// with a certificate from a Botan test PKI (tests/support/test_pki.hpp), with a fake clock.
#include "exchange_driver.hpp"
#include "test_responder.hpp"

#include "core/proposal.hpp"
#include "core/session.hpp"
#include "tests/support/test_pki.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace ikevpn;
using namespace std::chrono_literals;
using test::TestCertOptions;
using test::TestKey;
using test::TestPki;

namespace {

crypto::CertificatePtr cert_of(const test::TestCert& tc) {
    std::string error;
    auto certs = crypto::load_certificates_pem(test::to_bytes(tc.cert_pem), error);
    REQUIRE_MESSAGE(certs.size() == 1, error);
    return certs.front();
}

crypto::CertificatePtr ca_of(const TestPki& pki) {
    std::string error;
    auto certs = crypto::load_certificates_pem(test::to_bytes(pki.ca_pem()), error);
    REQUIRE(certs.size() == 1);
    return certs.front();
}

crypto::PrivateKeyPtr key_of(const test::TestCert& tc) {
    std::string error;
    auto key = crypto::load_private_key(test::to_bytes(tc.key_pem), error);
    REQUIRE_MESSAGE(key, error);
    return key;
}

// One CA, a gateway certificate for gw.example.com and client certificates, made once for all cases.
struct Pki {
    TestPki pki{"Exchange Test CA"};
    test::TestCert gateway = pki.issue([] { TestCertOptions o; o.common_name = "gw.example.com"; o.dns = "gw.example.com"; return o; }());
    test::TestCert client_rsa = pki.issue([] { TestCertOptions o; o.common_name = "client"; o.email = "client@example.com"; o.key = TestKey::rsa2048; return o; }());
    test::TestCert client_ed25519 = pki.issue([] { TestCertOptions o; o.common_name = "client"; o.email = "client@example.com"; o.key = TestKey::ed25519; return o; }());
    test::TestCert client_p256 = pki.issue([] { TestCertOptions o; o.common_name = "client"; o.email = "client@example.com"; return o; }());
};
Pki& pki() {
    static Pki p;
    return p;
}

core::SessionConfig make_config() {
    auto c = test::psk_session_config();
    c.trusted_cas = {ca_of(pki().pki)};
    return c;
}

test::ResponderOptions gateway_options() {
    test::ResponderOptions o;
    o.key = key_of(pki().gateway);
    o.certs = {cert_of(pki().gateway)};
    return o;
}

// The session and the responder wired together; replies are delivered after each action list.
struct Harness : test::ExchangeDriver {
    Harness(core::SessionConfig config, test::ResponderOptions options)
        : ExchangeDriver(std::move(config), std::move(options)) {
        on_send = [this](const core::SendDatagram& send) {
            sent.push_back(send.message);
            return answer(send.message);
        };
    }
    std::vector<Bytes> sent;
};

}  // namespace

TEST_CASE("gateway certificate, client PSK: SIGNATURE_HASH_ALGORITHMS, CERTREQ, RFC 7427 AUTH verified") {
    Harness h(make_config(), gateway_options());
    h.run(h.session.start(h.now));
    REQUIRE(h.find<core::InstallChildSa>());
    CHECK(h.responder.initiator_hashes == std::vector<std::uint16_t>{2, 3, 4, 5});
    CHECK(h.responder.initiator_auth_method == 2);  // our side still uses the PSK
    const auto* certreq = msg::find<msg::RawPayload>(h.responder.last_inner, msg::PayloadType::certreq);
    REQUIRE(certreq);
    Bytes expected{4};
    append(expected, crypto::public_key_sha1(*ca_of(pki().pki)));
    CHECK(certreq->body == expected);
    CHECK_FALSE(msg::find<msg::RawPayload>(h.responder.last_inner, msg::PayloadType::cert));
}

TEST_CASE("certificates both ways: RSA, ECDSA and Ed25519 clients, RFC 7427 and classic methods") {
    struct Case { const test::TestCert* client; bool announce; std::uint8_t expected_method; };
    const Case cases[] = {{&pki().client_rsa, true, 14}, {&pki().client_p256, true, 14}, {&pki().client_ed25519, true, 14},
                          {&pki().client_rsa, false, 1}, {&pki().client_p256, false, 9}};
    for (const auto& c : cases) {
        CAPTURE(c.expected_method);
        auto config = make_config();
        config.private_key = key_of(*c.client);
        config.local_certs = {cert_of(*c.client)};
        auto options = gateway_options();
        options.announce_hashes = c.announce;
        Harness h(std::move(config), std::move(options));
        h.run(h.session.start(h.now));
        REQUIRE(h.find<core::InstallChildSa>());
        CHECK(h.responder.auth_seen_ok);
        CHECK(h.responder.initiator_auth_method == c.expected_method);
        CHECK(h.responder.own_auth_method == (c.announce ? 14 : 9));  // the gateway's key is ECDSA P-256
        CHECK(msg::find<msg::RawPayload>(h.responder.last_inner, msg::PayloadType::cert));
    }
}

TEST_CASE("an Ed25519 key without the gateway's RFC 7427 announcement fails before IKE_AUTH is sent") {
    auto config = make_config();
    config.private_key = key_of(pki().client_ed25519);
    config.local_certs = {cert_of(pki().client_ed25519)};
    auto options = gateway_options();
    options.announce_hashes = false;
    Harness h(std::move(config), std::move(options));
    h.run(h.session.start(h.now));
    CHECK(h.closed().code == core::CloseCode::auth_failed);
    CHECK(h.closed().reason.find("RFC 8420") != std::string::npos);
    CHECK(h.sent.size() == 1);  // only IKE_SA_INIT
}

TEST_CASE("the gateway's certificate is checked: CA, validity, identity, signature, presence, method") {
    SUBCASE("a CA the profile does not trust") {
        auto config = make_config();
        TestPki other("Other CA");
        config.trusted_cas = {ca_of(other)};
        Harness h(std::move(config), gateway_options());
        h.run(h.session.start(h.now));
        CHECK(h.closed().code == core::CloseCode::cert_invalid);
        CHECK(h.closed().reason.find("certificate issuer not found") != std::string::npos);
        CHECK_FALSE(h.find<core::InstallChildSa>());
        CHECK(h.sent.size() == 3);  // IKE_SA_INIT, IKE_AUTH, then the Delete of the rejected IKE SA
    }
    SUBCASE("expired at the injected wall-clock time") {
        auto config = make_config();
        config.wall_clock = [] { return std::chrono::system_clock::now() + std::chrono::hours(24 * 400); };
        Harness h(std::move(config), gateway_options());
        h.run(h.session.start(h.now));
        CHECK(h.closed().code == core::CloseCode::cert_invalid);
        CHECK(h.closed().reason.find("certificate has expired") != std::string::npos);
    }
    SUBCASE("a certificate without the identity the gateway claims") {
        auto options = gateway_options();
        const auto other = pki().pki.issue([] { TestCertOptions o; o.dns = "other.example.com"; return o; }());
        options.key = key_of(other);
        options.certs = {cert_of(other)};
        Harness h(make_config(), std::move(options));
        h.run(h.session.start(h.now));
        CHECK(h.closed().code == core::CloseCode::id_mismatch);
        CHECK(h.closed().reason.find("does not contain its identity 'gw.example.com' as a subjectAltName DNS name") !=
              std::string::npos);
    }
    SUBCASE("a signature that does not verify") {
        auto options = gateway_options();
        options.corrupt_auth = true;
        Harness h(make_config(), std::move(options));
        h.run(h.session.start(h.now));
        CHECK(h.closed().code == core::CloseCode::auth_failed);
        CHECK(h.closed().reason.find("signature is not valid") != std::string::npos);
    }
    SUBCASE("no CERT payload") {
        auto options = gateway_options();
        options.certs.clear();
        Harness h(make_config(), std::move(options));
        h.run(h.session.start(h.now));
        CHECK(h.closed().code == core::CloseCode::cert_invalid);
        CHECK(h.closed().reason.find("sent no X.509 certificate") != std::string::npos);
    }
    SUBCASE("a malformed certificate") {
        auto options = gateway_options();
        options.malformed_cert = true;
        Harness h(make_config(), std::move(options));
        h.run(h.session.start(h.now));
        CHECK(h.closed().code == core::CloseCode::cert_invalid);
        CHECK(h.closed().reason.find("the gateway sent a malformed certificate") == 0);
    }
    SUBCASE("a PSK where the profile's 'ca' asks for a certificate") {
        Harness h(make_config(), test::ResponderOptions{});
        h.run(h.session.start(h.now));
        CHECK(h.closed().code == core::CloseCode::auth_failed);
        CHECK(h.closed().reason.find("requires a certificate") != std::string::npos);
    }
}

TEST_CASE("an intermediate sent by the gateway completes the chain; a DN identity matches the subject") {
    TestCertOptions sub;
    sub.common_name = "Exchange Intermediate";
    sub.ca = true;
    const auto intermediate = pki().pki.issue(sub);
    TestPki sub_pki(intermediate);
    const auto leaf = sub_pki.issue([] { TestCertOptions o; o.common_name = "gw.example.com"; o.organization = "Example"; return o; }());
    auto options = gateway_options();
    options.key = key_of(leaf);
    options.certs = {cert_of(leaf), cert_of(intermediate)};
    options.identity = "O=Example, CN=gw.example.com";
    auto config = make_config();
    config.remote_id = "CN=gw.example.com, O=Example";  // another order: Botan's DN comparison is by attribute
    Harness h(std::move(config), std::move(options));
    h.run(h.session.start(h.now));
    CHECK(h.find<core::InstallChildSa>());
    const bool named = std::any_of(h.log.begin(), h.log.end(), [](const core::Action& a) {
        const auto* p = std::get_if<core::Progress>(&a);
        return p && p->line == "gateway authenticated as 'O=Example, CN=gw.example.com'";
    });
    CHECK(named);
}
