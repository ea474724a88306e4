// What an AUTHENTICATION_FAILED from the gateway tells the user to check depends on how we authenticated:
// the PSK, or (found against libreswan, which refused a certificate) our certificate and identity.
#include "exchange_driver.hpp"
#include "test_responder.hpp"

#include "core/proposal.hpp"
#include "core/session.hpp"
#include "tests/support/test_pki.hpp"

#include <doctest/doctest.h>

using namespace ikevpn;

namespace {

core::SessionConfig psk_config(const std::string& psk) {
    core::SessionConfig c;
    c.local_id = "client@example.com";
    c.remote_id = "gw.example.com";
    c.psk.assign(psk.begin(), psk.end());
    c.ike_proposals = {core::parse_ike_proposal("aes256gcm16-prfsha384-x25519")};
    c.esp_proposals = {core::parse_esp_proposal("aes256gcm16")};
    c.remote_networks = {*IpPrefix::parse("198.51.100.0/24")};
    c.gateway = *IpAddress::parse("192.0.2.1");
    return c;
}

const core::Closed& closed_of(const test::ExchangeDriver& h) {
    const auto* closed = h.find<core::Closed>();
    REQUIRE(closed);
    return *closed;
}

}  // namespace

TEST_CASE("AUTHENTICATION_FAILED with a PSK: the message says to check the PSK") {
    test::ExchangeDriver h(psk_config("not the gateway's psk"), test::ResponderOptions{});
    h.run(h.session.start(h.now));
    const auto& closed = closed_of(h);
    CHECK(closed.code == core::CloseCode::auth_failed);
    CHECK(closed.reason.find("AUTHENTICATION_FAILED") != std::string::npos);
    CHECK(closed.reason.find("check the PSK and local_id") != std::string::npos);
}

TEST_CASE("AUTHENTICATION_FAILED with a certificate: the message names the certificate, not a PSK") {
    test::TestPki pki{"Hint Test CA"};
    test::TestCertOptions options;
    options.common_name = "client";
    options.email = "client@example.com";
    const auto client = pki.issue(options);
    const auto other = pki.issue(options);  // same names, another key pair
    std::string error;
    auto config = psk_config("correct horse battery staple");
    // We sign with one key but send the other key's certificate: the gateway's check of our AUTH fails.
    config.private_key = crypto::load_private_key(test::to_bytes(client.key_pem), error);
    REQUIRE_MESSAGE(config.private_key, error);
    config.local_certs = crypto::load_certificates_pem(test::to_bytes(other.cert_pem), error);
    REQUIRE_MESSAGE(config.local_certs.size() == 1, error);

    test::ExchangeDriver h(std::move(config), test::ResponderOptions{});
    h.run(h.session.start(h.now));
    CHECK_FALSE(h.responder.auth_seen_ok);
    const auto& closed = closed_of(h);
    CHECK(closed.code == core::CloseCode::auth_failed);
    CHECK(closed.reason.find("AUTHENTICATION_FAILED") != std::string::npos);
    CHECK(closed.reason.find("certificate") != std::string::npos);
    CHECK(closed.reason.find("PSK") == std::string::npos);
}
