// In-memory exchange tests of EAP-MSCHAPv2 (RFC 7296 §2.16): core::IkeSession against the scripted gateway
// (test_responder_eap.cpp), which signs with a certificate from a Botan test PKI and then runs EAP.
#include "exchange_driver.hpp"
#include "test_responder.hpp"

#include "core/proposal.hpp"
#include "core/session.hpp"
#include "tests/support/test_pki.hpp"

#include <doctest/doctest.h>

using namespace ikevpn;
using test::TestCertOptions;
using test::TestPki;

namespace {

struct GatewayPki {
    TestPki pki{"EAP Test CA"};
    test::TestCert gateway = pki.issue([] { TestCertOptions o; o.common_name = "gw.example.com"; o.dns = "gw.example.com"; return o; }());
};
GatewayPki& pki() {
    static GatewayPki p;
    return p;
}

core::SessionConfig make_config(const std::string& password = "pa55word") {
    std::string error;
    core::SessionConfig c;
    c.local_id = "client@example.com";
    c.remote_id = "gw.example.com";
    c.eap_mschapv2 = true;
    c.eap_identity = "alice";
    c.eap_password.assign(password.begin(), password.end());
    c.ike_proposals = {core::parse_ike_proposal("aes256gcm16-prfsha384-x25519")};
    c.esp_proposals = {core::parse_esp_proposal("aes256gcm16")};
    c.remote_networks = {*IpPrefix::parse("198.51.100.0/24")};
    c.gateway = *IpAddress::parse("192.0.2.1");
    c.trusted_cas = crypto::load_certificates_pem(test::to_bytes(pki().pki.ca_pem()), error);
    REQUIRE(c.trusted_cas.size() == 1);
    return c;
}

test::ResponderOptions gateway_options() {
    std::string error;
    test::ResponderOptions o;
    o.key = crypto::load_private_key(test::to_bytes(pki().gateway.key_pem), error);
    o.certs = crypto::load_certificates_pem(test::to_bytes(pki().gateway.cert_pem), error);
    REQUIRE(o.key);
    o.eap_password = "pa55word";
    return o;
}

using Harness = test::ExchangeDriver;

}  // namespace

TEST_CASE("EAP-MSCHAPv2: certificate AUTH from the gateway, EAP identity, MS-CHAPv2, final AUTHs with the MSK") {
    Harness h(make_config(), gateway_options());
    h.run(h.session.start(h.now));
    REQUIRE(h.find<core::InstallChildSa>());
    CHECK_FALSE(h.find<core::Closed>());
    CHECK_FALSE(h.responder.eap_first_had_auth);
    CHECK(h.responder.eap_identity_seen == "alice");
    CHECK(h.responder.eap_rounds == 5);  // IDi, Identity, Response, Success ack, final AUTH
    CHECK(h.responder.auth_seen_ok);
    CHECK(h.progress_has("authenticating as 'client@example.com' with EAP-MSCHAPv2"));
    CHECK(h.progress_has("gateway certificate verified for 'gw.example.com'; starting EAP-MSCHAPv2"));
    CHECK(h.progress_has("EAP-MSCHAPv2 succeeded"));
    CHECK(h.session.info().state == "connected");
}

TEST_CASE("EAP-MSCHAPv2: the EAP identity defaults to local_id") {
    auto config = make_config();
    config.eap_identity.clear();
    Harness h(std::move(config), gateway_options());
    h.run(h.session.start(h.now));
    REQUIRE(h.find<core::InstallChildSa>());
    CHECK(h.responder.eap_identity_seen == "client@example.com");
}

TEST_CASE("EAP-MSCHAPv2: a wrong password ends with the one-line reason") {
    Harness h(make_config("wrong"), gateway_options());
    h.run(h.session.start(h.now));
    CHECK_FALSE(h.find<core::InstallChildSa>());
    CHECK(h.closed().code == core::CloseCode::auth_failed);
    CHECK(h.closed().reason == "EAP-MSCHAPv2: authentication failed (wrong username or password)");
    CHECK(h.session.closed());
    CHECK_FALSE(h.timer);  // nothing left running
}

TEST_CASE("EAP-MSCHAPv2: gateways that do not prove themselves are refused") {
    SUBCASE("no AUTH before EAP (EAP-only)") {
        auto options = gateway_options();
        options.eap_skip_auth = true;
        Harness h(make_config(), std::move(options));
        h.run(h.session.start(h.now));
        CHECK(h.closed().code == core::CloseCode::auth_failed);
        CHECK(h.closed().reason.find("did not authenticate itself before EAP") != std::string::npos);
        CHECK(h.responder.eap_rounds == 1);  // the password never went out
    }
    SUBCASE("a bad certificate signature") {
        auto options = gateway_options();
        options.corrupt_auth = true;
        Harness h(make_config(), std::move(options));
        h.run(h.session.start(h.now));
        CHECK(h.closed().code == core::CloseCode::auth_failed);
        CHECK(h.closed().reason.find("AUTH signature is not valid") != std::string::npos);
        CHECK(h.responder.eap_rounds == 1);
    }
    SUBCASE("a wrong MS-CHAPv2 authenticator response") {
        auto options = gateway_options();
        options.eap_wrong_authenticator = true;
        Harness h(make_config(), std::move(options));
        h.run(h.session.start(h.now));
        CHECK(h.closed().code == core::CloseCode::auth_failed);
        CHECK(h.closed().reason.find("authenticator response is wrong") != std::string::npos);
        CHECK(h.responder.eap_rounds == 3);
    }
    SUBCASE("a wrong final AUTH: the IKE SA is deleted at the gateway") {
        auto options = gateway_options();
        options.eap_corrupt_final_auth = true;
        Harness h(make_config(), std::move(options));
        h.run(h.session.start(h.now));
        CHECK_FALSE(h.find<core::InstallChildSa>());
        CHECK(h.closed().code == core::CloseCode::auth_failed);
        CHECK(h.closed().reason == "authentication failed: the gateway's final AUTH does not match the EAP-MSCHAPv2 key (MSK)");
        CHECK(h.progress_has("deleting the IKE SA at the gateway"));
    }
    SUBCASE("the gateway refuses our final AUTH: the reason speaks of EAP, not of a PSK") {
        auto options = gateway_options();
        options.eap_refuse_final = true;
        Harness h(make_config(), std::move(options));
        h.run(h.session.start(h.now));
        CHECK(h.closed().code == core::CloseCode::auth_failed);
        CHECK(h.closed().reason == "authentication failed: the gateway refused our final AUTH after EAP-MSCHAPv2 "
                                   "succeeded (AUTHENTICATION_FAILED)");
    }
    SUBCASE("no CA configured") {
        auto config = make_config();
        config.trusted_cas.clear();
        Harness h(std::move(config), gateway_options());
        h.run(h.session.start(h.now));
        CHECK(h.closed().code == core::CloseCode::cert_invalid);
        CHECK(h.closed().reason == "EAP needs the gateway to authenticate with a certificate: set 'ca'");
    }
}
