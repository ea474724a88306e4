// EAP-TLS (RFC 5216): the Flags/Length framing with malformed input, reassembly of the gateway's fragments
// and fragmentation of ours against a scripted TLS client, and the whole method — Botan's TLS client in
// core against Botan's TLS server in tests/support — with the MSK on both sides and certificate failures.
#include "core/crypto/crypto.hpp"
#include "core/crypto/tls_client.hpp"
#include "core/eap/eap_message.hpp"
#include "core/eap/eap_peer.hpp"
#include "core/eap/eap_tls.hpp"
#include "tests/support/eap_tls_server.hpp"

#include <doctest/doctest.h>

#include <deque>
#include <functional>

using namespace ikevpn;
namespace eap = core::eap;

namespace {

// A TLS client that records what it receives and hands out scripted records.
class ScriptedTls final : public crypto::TlsClient {
public:
    std::vector<Bytes> received_messages;
    std::deque<Bytes> outputs;  // one per start()/received() call
    bool establish_on_receive = false;
    std::optional<std::string> fail_with;

    void start() override { next(); }
    std::optional<std::string> received(ByteView records) override {
        received_messages.emplace_back(records.begin(), records.end());
        if (fail_with) {
            next();  // our fatal alert, when the script has one
            return fail_with;
        }
        if (establish_on_receive) established_ = true;
        next();
        return std::nullopt;
    }
    Bytes take_output() override { return std::exchange(pending_, {}); }
    bool established() const override { return established_; }
    crypto::TlsFailureKind failure_kind() const override { return crypto::TlsFailureKind::handshake; }
    SecureBytes export_key(const std::string&, std::size_t length) const override {
        return established_ ? SecureBytes(length, 0x5a) : SecureBytes{};
    }

private:
    void next() {
        if (outputs.empty()) return;
        pending_ = std::move(outputs.front());
        outputs.pop_front();
    }
    Bytes pending_;
    bool established_ = false;
};

Bytes filler(std::size_t n, std::uint8_t seed) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = std::uint8_t(seed + i);
    return b;
}

Bytes frame(std::uint8_t flags, std::optional<std::uint32_t> length, const Bytes& data) {
    return eap::encode_tls_frame({flags, length, data});
}

const Bytes start_request{eap::tls_flag::start};
const Bytes ack{0x00};

struct Scripted {
    ScriptedTls* tls;
    eap::TlsPeer peer;
};

Scripted scripted_peer(std::size_t fragment_size = 1000) {
    auto tls = std::make_unique<ScriptedTls>();
    auto* raw = tls.get();
    return {raw, eap::TlsPeer(std::move(tls), fragment_size)};
}

}  // namespace

TEST_CASE("EAP-TLS frame: Flags, the optional TLS Message Length, malformed input") {
    std::string error;
    CHECK_FALSE(eap::decode_tls_frame({}, error));
    CHECK(error.find("Flags") != std::string::npos);
    const Bytes short_length{0x80, 0x00, 0x00, 0x10};  // L but only 3 length octets
    CHECK_FALSE(eap::decode_tls_frame(short_length, error));
    CHECK(error.find("TLS Message Length") != std::string::npos);

    const Bytes with_length{0xC0, 0x00, 0x01, 0x02, 0x03, 0xAA, 0xBB};
    auto f = eap::decode_tls_frame(with_length, error);
    REQUIRE(f);
    CHECK(f->flags == 0xC0);
    REQUIRE(f->message_length);
    CHECK(*f->message_length == 0x00010203u);  // big-endian
    CHECK(f->data == Bytes{0xAA, 0xBB});
    CHECK(eap::encode_tls_frame(*f) == with_length);

    auto plain = eap::decode_tls_frame(Bytes{0x00, 0x16, 0x03}, error);
    REQUIRE(plain);
    CHECK_FALSE(plain->message_length);
    CHECK(plain->data == Bytes{0x16, 0x03});
    // L comes from message_length alone, so a frame cannot claim a length it does not carry.
    CHECK(eap::encode_tls_frame({0x80, std::nullopt, {}}) == Bytes{0x00});
}

TEST_CASE("EAP-TLS peer: Start, reassembly of the gateway's fragments with an ACK for each") {
    auto [tls, peer] = scripted_peer();
    tls->outputs.push_back(filler(300, 1));  // ClientHello
    tls->outputs.push_back(filler(200, 2));  // our second flight
    auto step = peer.on_request(start_request);
    REQUIRE(step.response);
    CHECK_FALSE(step.failure);
    CHECK(*step.response == frame(0, 300, filler(300, 1)));

    const Bytes message = filler(2500, 9);
    const Bytes a(message.begin(), message.begin() + 1000), b(message.begin() + 1000, message.begin() + 2000),
        c(message.begin() + 2000, message.end());
    step = peer.on_request(frame(eap::tls_flag::more_fragments, 2500, a));
    REQUIRE(step.response);
    CHECK(*step.response == ack);
    step = peer.on_request(frame(eap::tls_flag::more_fragments, std::nullopt, b));
    REQUIRE(step.response);
    CHECK(*step.response == ack);
    CHECK(tls->received_messages.empty());  // nothing reaches TLS before the last fragment
    step = peer.on_request(frame(0, std::nullopt, c));
    REQUIRE(step.response);
    REQUIRE(tls->received_messages.size() == 1);
    CHECK(tls->received_messages[0] == message);
    CHECK(*step.response == frame(0, 200, filler(200, 2)));
}

TEST_CASE("EAP-TLS peer: our TLS message goes out in fragments, one per ACK") {
    auto [tls, peer] = scripted_peer(1000);
    tls->outputs.push_back(filler(2500, 3));
    auto step = peer.on_request(start_request);
    REQUIRE(step.response);
    const Bytes all = filler(2500, 3);
    CHECK(*step.response == frame(eap::tls_flag::more_fragments, 2500, Bytes(all.begin(), all.begin() + 1000)));
    step = peer.on_request(ack);
    REQUIRE(step.response);
    CHECK(*step.response == frame(eap::tls_flag::more_fragments, std::nullopt, Bytes(all.begin() + 1000, all.begin() + 2000)));
    SUBCASE("the last fragment has neither L nor M") {
        step = peer.on_request(ack);
        REQUIRE(step.response);
        CHECK(*step.response == frame(0, std::nullopt, Bytes(all.begin() + 2000, all.end())));
    }
    SUBCASE("data instead of an ACK while our message is incomplete") {
        step = peer.on_request(frame(0, std::nullopt, filler(10, 0)));
        CHECK_FALSE(step.response);
        REQUIRE(step.failure);
        CHECK(step.failure->find("before our fragmented message was complete") != std::string::npos);
    }
}

TEST_CASE("EAP-TLS peer: bad lengths and oversized messages are refused before they are buffered") {
    auto [tls, peer] = scripted_peer();
    tls->outputs.push_back(filler(10, 1));
    REQUIRE(peer.on_request(start_request).response);

    SUBCASE("announced total above 64 KiB") {
        auto step = peer.on_request(frame(eap::tls_flag::more_fragments, 70000, filler(1000, 0)));
        REQUIRE(step.failure);
        CHECK(*step.failure == "EAP-TLS: the gateway announced a TLS message of 70000 bytes (at most 65536 accepted)");
    }
    SUBCASE("more data than announced") {
        REQUIRE(peer.on_request(frame(eap::tls_flag::more_fragments, 1500, filler(1000, 0))).response);
        auto step = peer.on_request(frame(0, std::nullopt, filler(501, 0)));
        REQUIRE(step.failure);
        CHECK(step.failure->find("more than the 1500 bytes it announced") != std::string::npos);
    }
    SUBCASE("less data than announced") {
        REQUIRE(peer.on_request(frame(eap::tls_flag::more_fragments, 1500, filler(1000, 0))).response);
        auto step = peer.on_request(frame(0, std::nullopt, filler(400, 0)));
        REQUIRE(step.failure);
        CHECK(step.failure->find("1500 bytes but sent 1400") != std::string::npos);
    }
    SUBCASE("the total changes between fragments") {
        REQUIRE(peer.on_request(frame(eap::tls_flag::more_fragments, 1500, filler(1000, 0))).response);
        auto step = peer.on_request(frame(0, 1600, filler(500, 0)));
        REQUIRE(step.failure);
        CHECK(step.failure->find("changed the TLS Message Length") != std::string::npos);
    }
    SUBCASE("without L, fragments still stop at 64 KiB") {
        std::optional<std::string> failure;
        for (int i = 0; i < 80 && !failure; ++i)
            failure = peer.on_request(frame(eap::tls_flag::more_fragments, std::nullopt, filler(1000, 0))).failure;
        REQUIRE(failure);
        CHECK(failure->find("more than the 65536 bytes accepted") != std::string::npos);
        CHECK(tls->received_messages.empty());
    }
    SUBCASE("an empty fragment with M") {
        auto step = peer.on_request(frame(eap::tls_flag::more_fragments, std::nullopt, {}));
        REQUIRE(step.failure);
    }
    SUBCASE("an empty request where a TLS message is due") {
        auto step = peer.on_request(ack);
        REQUIRE(step.failure);
        CHECK(step.failure->find("empty request") != std::string::npos);
    }
    SUBCASE("a second Start") {
        auto step = peer.on_request(start_request);
        REQUIRE(step.failure);
        CHECK(step.failure->find("restarted") != std::string::npos);
    }
}

TEST_CASE("EAP-TLS peer: order of events") {
    auto [tls, peer] = scripted_peer();
    SUBCASE("TLS data before Start") {
        auto step = peer.on_request(frame(0, std::nullopt, filler(10, 0)));
        REQUIRE(step.failure);
        CHECK(step.failure->find("without an EAP-TLS Start") != std::string::npos);
    }
    SUBCASE("after the handshake: an empty response and the MSK") {
        tls->outputs.push_back(filler(10, 1));
        REQUIRE(peer.on_request(start_request).response);
        tls->establish_on_receive = true;
        CHECK_FALSE(peer.succeeded());
        auto step = peer.on_request(frame(0, std::nullopt, filler(50, 0)));  // the gateway's Finished
        REQUIRE(step.response);
        CHECK(*step.response == Bytes{0x00});
        REQUIRE(peer.msk());
        CHECK(peer.msk()->size() == 64);
        CHECK(peer.succeeded());
        // Nothing more is expected from the method: another request is a protocol error.
        CHECK(peer.on_request(frame(0, std::nullopt, filler(5, 0))).failure);
    }
    SUBCASE("a TLS failure of ours: the alert goes out with the reason, nothing after it is accepted") {
        tls->outputs.push_back(filler(10, 1));
        tls->outputs.push_back(Bytes{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x2a});  // fatal bad_certificate
        REQUIRE(peer.on_request(start_request).response);
        tls->fail_with = "EAP-TLS: handshake failed: test";
        auto step = peer.on_request(frame(0, std::nullopt, filler(50, 0)));
        REQUIRE(step.response);
        CHECK(*step.response == frame(0, 7, Bytes{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x2a}));
        REQUIRE(step.failure);
        CHECK(*step.failure == "EAP-TLS: handshake failed: test");
        step = peer.on_request(frame(0, std::nullopt, filler(50, 0)));
        CHECK_FALSE(step.response);
        REQUIRE(step.failure);
        CHECK(*step.failure == "EAP-TLS: handshake failed: test");
    }
    SUBCASE("the gateway's alert: an empty response acknowledges it") {
        tls->outputs.push_back(filler(10, 1));
        REQUIRE(peer.on_request(start_request).response);
        tls->fail_with = "EAP-TLS: the gateway ended the TLS handshake with the alert 'x'";
        auto step = peer.on_request(frame(0, std::nullopt, filler(7, 0)));
        REQUIRE(step.response);
        CHECK(*step.response == Bytes{0x00});
        REQUIRE(step.failure);
    }
}

TEST_CASE("EapPeer with EAP-TLS: Identity, a Nak proposing EAP-TLS, Success only after the method") {
    auto tls = std::make_unique<ScriptedTls>();
    eap::EapPeer peer("alice@example.com", eap::TlsPeer(std::move(tls)));
    CHECK(std::string(peer.method_name()) == "EAP-TLS");
    auto step = peer.on_packet(eap::encode({eap::Code::request, 1, std::uint8_t(eap::Type::identity), {}}));
    REQUIRE(step.send);
    std::string error;
    auto identity = eap::decode(*step.send, error);
    REQUIRE(identity);
    CHECK(std::string(identity->data.begin(), identity->data.end()) == "alice@example.com");

    step = peer.on_packet(eap::encode({eap::Code::request, 2, std::uint8_t(eap::Type::mschapv2), {1, 2, 3, 4}}));
    REQUIRE(step.send);
    auto nak = eap::decode(*step.send, error);
    REQUIRE(nak);
    CHECK(nak->type == std::uint8_t(eap::Type::nak));
    CHECK(nak->data == Bytes{13});

    step = peer.on_packet(eap::encode({eap::Code::success, 3, 0, {}}));
    REQUIRE(step.failure);
    CHECK(step.failure->find("before EAP-TLS succeeded") != std::string::npos);
}

// ---- The whole method: Botan's TLS client (core/crypto/tls_client.cpp) against Botan's TLS server.

namespace {

test::TestCertOptions cert_options(const std::string& cn, const std::string& dns = "", const std::string& email = "") {
    test::TestCertOptions o;
    o.common_name = cn;
    o.dns = dns;
    o.email = email;
    return o;
}

struct Handshake {
    std::optional<std::string> failure;
    bool success = false;
    SecureBytes peer_msk;
};

crypto::TlsClientConfig client_config(const test::TestCert& client, const std::string& trusted_ca_pem,
                                      const std::string& gateway_dns) {
    std::string error;
    crypto::TlsClientConfig c;
    c.key = crypto::load_private_key(test::to_bytes(client.key_pem), error);
    c.chain = crypto::load_certificates_pem(test::to_bytes(client.cert_pem), error);
    c.trusted_cas = crypto::load_certificates_pem(test::to_bytes(trusted_ca_pem), error);
    REQUIRE(c.key);
    c.now = std::chrono::system_clock::now();
    c.check_identity = [gateway_dns](const crypto::Certificate& leaf) -> std::optional<std::string> {
        if (crypto::certificate_has_dns(leaf, gateway_dns)) return std::nullopt;
        return "does not contain its identity '" + gateway_dns + "'";
    };
    return c;
}

// `corrupt` may change each request of the server before the peer sees it (round number, packet).
Handshake run(test::FakeEapTlsServer& server, crypto::TlsClientConfig config, std::size_t fragment_size = 1000,
              const std::function<void(int, Bytes&)>& corrupt = {}) {
    auto random = crypto::make_system_random();
    eap::EapPeer peer("alice@example.com", eap::TlsPeer(crypto::make_tls_client(std::move(config), *random), fragment_size));
    Handshake h;
    Bytes request = server.start();
    for (int round = 0; round < 100; ++round) {
        if (corrupt) corrupt(round, request);
        auto step = peer.on_packet(request);
        if (step.failure || step.success) {
            h.failure = step.failure;
            h.success = step.success;
            if (peer.msk()) h.peer_msk = *peer.msk();
            return h;
        }
        REQUIRE(step.send);
        request = server.on_response(*step.send);
    }
    FAIL("EAP-TLS did not finish in 100 rounds");
    return h;
}

}  // namespace

TEST_CASE("EAP-TLS against Botan's TLS server: handshake with fragments both ways, the same MSK on both sides") {
    test::TestPki gateway_pki("Gateway CA");
    test::TestPki client_pki("Client CA");
    auto server_cert = gateway_pki.issue(cert_options("vpn.example.com", "vpn.example.com"));
    auto client_cert = client_pki.issue(cert_options("alice", "", "alice@example.com"));
    SUBCASE("ECDSA client key, small fragments") {
        test::FakeEapTlsServer server(server_cert, client_pki.ca_pem(), 300);
        auto h = run(server, client_config(client_cert, gateway_pki.ca_pem(), "vpn.example.com"), 200);
        CHECK_MESSAGE(!h.failure, h.failure.value_or(""));
        CHECK_MESSAGE(server.error.empty(), server.error);
        CHECK(h.success);
        CHECK(server.fragments_sent > 2);  // the server's certificate flight needed several fragments
        CHECK(server.acks_sent >= 1);      // and so did our Certificate + CertificateVerify flight
        CHECK(server.client_subject.find("alice") != std::string::npos);
        REQUIRE(h.peer_msk.size() == 64);
        CHECK(h.peer_msk == server.msk());
    }
    SUBCASE("RSA client key") {
        auto options = cert_options("bob");
        options.key = test::TestKey::rsa2048;
        auto rsa_client = client_pki.issue(options);
        test::FakeEapTlsServer server(server_cert, client_pki.ca_pem(), 1000);
        auto h = run(server, client_config(rsa_client, gateway_pki.ca_pem(), "vpn.example.com"));
        CHECK_MESSAGE(!h.failure, h.failure.value_or(""));
        CHECK(h.success);
        CHECK(h.peer_msk == server.msk());
    }
}

TEST_CASE("EAP-TLS against Botan's TLS server: certificate failures are clear errors") {
    test::TestPki gateway_pki("Gateway CA");
    test::TestPki client_pki("Client CA");
    test::TestPki other_pki("Other CA");
    auto server_cert = gateway_pki.issue(cert_options("vpn.example.com", "vpn.example.com"));
    auto client_cert = client_pki.issue(cert_options("alice"));
    SUBCASE("the profile's CA did not issue the gateway's TLS certificate") {
        test::FakeEapTlsServer server(server_cert, client_pki.ca_pem(), 1000);
        auto h = run(server, client_config(client_cert, other_pki.ca_pem(), "vpn.example.com"));
        CHECK_FALSE(h.success);
        REQUIRE(h.failure);
        CHECK(h.failure->rfind("EAP-TLS: the gateway's TLS certificate 'CN=vpn.example.com", 0) == 0);
        CHECK(h.failure->find("is not valid for the profile's 'ca'") != std::string::npos);
        CHECK(h.peer_msk.empty());
    }
    SUBCASE("the gateway's TLS certificate is for another name") {
        test::FakeEapTlsServer server(server_cert, client_pki.ca_pem(), 1000);
        auto h = run(server, client_config(client_cert, gateway_pki.ca_pem(), "other.example.com"));
        REQUIRE(h.failure);
        CHECK(h.failure->find("does not contain its identity 'other.example.com'") != std::string::npos);
    }
    SUBCASE("the gateway does not trust our certificate's CA") {
        test::FakeEapTlsServer server(server_cert, other_pki.ca_pem(), 1000);
        auto h = run(server, client_config(client_cert, gateway_pki.ca_pem(), "vpn.example.com"));
        REQUIRE(h.failure);
        CHECK_MESSAGE(h.failure->find("it does not accept our certificate") != std::string::npos, *h.failure);
        CHECK_FALSE(server.error.empty());
    }
    SUBCASE("an expired gateway certificate") {
        auto options = cert_options("vpn.example.com", "vpn.example.com");
        options.not_before = std::chrono::seconds(-7200);
        options.not_after = std::chrono::seconds(-3600);
        auto expired = gateway_pki.issue(options);
        test::FakeEapTlsServer server(expired, client_pki.ca_pem(), 1000);
        auto h = run(server, client_config(client_cert, gateway_pki.ca_pem(), "vpn.example.com"));
        REQUIRE(h.failure);
        CHECK_MESSAGE(h.failure->find("expired") != std::string::npos, *h.failure);
    }
}

TEST_CASE("EAP-TLS against Botan's TLS server: a corrupted byte anywhere in the gateway's flight is a clean failure") {
    test::TestPki gateway_pki("Gateway CA");
    test::TestPki client_pki("Client CA");
    auto server_cert = gateway_pki.issue(cert_options("vpn.example.com", "vpn.example.com"));
    auto client_cert = client_pki.issue(cert_options("alice"));
    // Round 1 carries the first fragment of the ServerHello..ServerHelloDone flight (round 0 is Start).
    // Every 37th byte after the EAP and EAP-TLS headers, one at a time.
    int failures = 0, runs = 0;
    for (std::size_t at = 10; at < 600; at += 37) {
        test::FakeEapTlsServer server(server_cert, client_pki.ca_pem(), 600);
        auto h = run(server, client_config(client_cert, gateway_pki.ca_pem(), "vpn.example.com"), 1000,
                     [at](int round, Bytes& request) {
                         if (round == 1 && at < request.size()) request[at] ^= 0x40;
                     });
        ++runs;
        CHECK_FALSE(h.success);
        if (h.failure) {
            ++failures;
            CHECK_MESSAGE(h.failure->rfind("EAP-TLS: ", 0) == 0, *h.failure);
        }
    }
    CHECK(failures == runs);
}

TEST_CASE("EAP-TLS peer: random requests after Start never crash the real TLS client") {
    test::TestPki gateway_pki("Gateway CA");
    auto client_cert = gateway_pki.issue(cert_options("alice"));
    auto random = crypto::make_system_random();
    for (int trial = 0; trial < 200; ++trial) {
        eap::TlsPeer peer(crypto::make_tls_client(client_config(client_cert, gateway_pki.ca_pem(), "x"), *random), 300);
        REQUIRE(peer.on_request(start_request).response);
        Bytes junk(std::size_t(1 + trial * 7 % 900));
        random->fill(junk);
        junk[0] = std::uint8_t(junk[0] & ~eap::tls_flag::start);  // keep it a TLS data request
        auto step = peer.on_request(junk);
        // ACK of a fragment, or a failure: never success, never an exception.
        CHECK((step.failure || (step.response && *step.response == ack)));
        CHECK_FALSE(peer.succeeded());
    }
}
