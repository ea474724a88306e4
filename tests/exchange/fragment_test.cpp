// In-memory exchange tests of IKE fragmentation (RFC 7383): a certificate IKE_AUTH fragmented both ways
// against the scripted gateway (test_responder_fragments.cpp), with a lost request fragment, a lost and a
// tampered response fragment (recovered by retransmission), and the cases where nothing is fragmented.
#include "exchange_driver.hpp"
#include "test_responder.hpp"

#include "core/proposal.hpp"
#include "core/session.hpp"
#include "tests/support/test_pki.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <functional>

using namespace ikevpn;
using namespace std::chrono_literals;
using test::TestCertOptions;
using test::TestKey;
using test::TestPki;

namespace {

crypto::CertificatePtr cert_of(const std::string& pem) {
    std::string error;
    auto certs = crypto::load_certificates_pem(test::to_bytes(pem), error);
    REQUIRE_MESSAGE(certs.size() == 1, error);
    return certs.front();
}

crypto::PrivateKeyPtr key_of(const test::TestCert& tc) {
    std::string error;
    auto key = crypto::load_private_key(test::to_bytes(tc.key_pem), error);
    REQUIRE_MESSAGE(key, error);
    return key;
}

struct Pki {
    TestPki pki{"Fragment Test CA"};
    test::TestCert gateway = pki.issue([] { TestCertOptions o; o.common_name = "gw.example.com"; o.dns = "gw.example.com"; return o; }());
    test::TestCert client = pki.issue([] { TestCertOptions o; o.common_name = "client"; o.email = "client@example.com"; o.key = TestKey::rsa2048; return o; }());
};
Pki& pki() {
    static Pki p;
    return p;
}

// IPv4 gateway, fragment_size 576: IKE messages of at most 576 - 20 - 8 - 4 = 544 bytes.
constexpr std::size_t client_limit = 544;
constexpr std::size_t gateway_limit = 400;

core::SessionConfig cert_config() {
    core::SessionConfig c;
    c.local_id = "client@example.com";
    c.remote_id = "gw.example.com";
    c.ike_proposals = {core::parse_ike_proposal("aes256gcm16-prfsha384-x25519")};
    c.esp_proposals = {core::parse_esp_proposal("aes256gcm16")};
    c.remote_networks = {*IpPrefix::parse("198.51.100.0/24")};
    c.gateway = *IpAddress::parse("192.0.2.1");
    c.trusted_cas = {cert_of(pki().pki.ca_pem())};
    c.private_key = key_of(pki().client);
    c.local_certs = {cert_of(pki().client.cert_pem)};
    c.fragment_size = 576;
    return c;
}

test::ResponderOptions gateway_options() {
    test::ResponderOptions o;
    o.key = key_of(pki().gateway);
    o.certs = {cert_of(pki().gateway.cert_pem)};
    o.fragmentation = true;
    o.fragment_limit = gateway_limit;
    return o;
}

bool is_fragment(const Bytes& d) { return d.size() > 16 && d[16] == std::uint8_t(msg::PayloadType::skf); }
std::size_t fragments(const std::vector<Bytes>& v) { return std::size_t(std::count_if(v.begin(), v.end(), is_fragment)); }

// Replies travel through an inbox so that one request can be answered with several datagrams, and a test
// can drop or alter any datagram in either direction by its number (1 = the first one sent/received).
struct Harness : test::ExchangeDriver {
    Harness(core::SessionConfig config, test::ResponderOptions options)
        : ExchangeDriver(std::move(config), std::move(options)) {
        on_send = [this](const core::SendDatagram& send) -> std::optional<Bytes> {
            sent.push_back(send.message);
            if (drop_sent && drop_sent(sent.size())) return std::nullopt;
            for (auto& reply : responder.handle_datagrams(send.message)) inbox.push_back(std::move(reply));
            return std::nullopt;
        };
    }
    std::vector<Bytes> sent, received;
    std::deque<Bytes> inbox;
    std::function<bool(std::size_t)> drop_sent;
    std::function<bool(std::size_t, Bytes&)> on_receive;  // false: dropped

    void pump() {
        while (!inbox.empty()) {
            Bytes d = std::move(inbox.front());
            inbox.pop_front();
            received.push_back(d);
            if (on_receive && !on_receive(received.size(), d)) continue;
            run(session.on_datagram(d, now));
        }
    }
    void start() {
        run(session.start(now));
        pump();
    }
    void fire() {
        REQUIRE(fire_timer());
        pump();
    }
    bool connected() const { return find<core::InstallChildSa>() != nullptr; }
};

}  // namespace

TEST_CASE("IKE_AUTH with certificates is fragmented both ways and the tunnel comes up") {
    Harness h(cert_config(), gateway_options());
    h.start();
    REQUIRE(h.connected());
    CHECK(h.responder.auth_seen_ok);
    CHECK(h.responder.fragmentation_negotiated);
    const std::size_t out = fragments(h.sent), in = fragments(h.received);
    CHECK(out >= 3);  // an RSA-2048 certificate and signature need well over 544 bytes
    CHECK(in >= 2);
    for (const auto& d : h.sent) CHECK(d.size() <= client_limit);
    for (const auto& d : h.received) CHECK(d.size() <= std::max<std::size_t>(gateway_limit, h.received.front().size()));
    CHECK(h.responder.fragments_seen == out);
    CHECK(h.responder.fragments_rejected == 0);
    CHECK(h.responder.requests_reassembled == 1);
    CHECK(h.responder.fragmented_responses == 1);
    const auto f = h.session.info().fragmentation;
    CHECK(f.negotiated);
    CHECK(f.messages_fragmented == 1);
    CHECK(f.fragments_sent == out);
    CHECK(f.fragments_received == in);
    CHECK(f.messages_reassembled == 1);
    CHECK(f.fragments_dropped == 0);
    bool reported = false;
    for (const auto& p : h.all<core::Progress>()) reported |= p.line.find("IKE fragments") != std::string::npos;
    CHECK(reported);
}

TEST_CASE("a lost request fragment: the retransmission resends every fragment") {
    Harness h(cert_config(), gateway_options());
    h.drop_sent = [](std::size_t n) { return n == 3; };  // 1: IKE_SA_INIT, 2..: IKE_AUTH fragments
    h.start();
    CHECK_FALSE(h.connected());
    const std::size_t first = fragments(h.sent);
    CHECK(h.responder.requests_reassembled == 0);
    h.fire();
    REQUIRE(h.connected());
    CHECK(fragments(h.sent) == 2 * first);
    CHECK(h.responder.requests_reassembled == 1);
    CHECK(h.session.info().fragmentation.fragments_sent == 2 * first);
}

TEST_CASE("a lost response fragment: the request is retransmitted and the gateway resends all fragments") {
    Harness h(cert_config(), gateway_options());
    h.on_receive = [](std::size_t n, Bytes&) { return n != 3; };  // 1: IKE_SA_INIT response, 2..: fragments
    h.start();
    CHECK_FALSE(h.connected());
    const std::size_t first = fragments(h.received);
    CHECK(first >= 2);
    h.fire();
    REQUIRE(h.connected());
    CHECK(fragments(h.received) == 2 * first);
    CHECK(h.responder.requests_reassembled == 2);  // it saw the whole request twice, answered from its cache
    // Kept from the first round: all but the lost one. The second round: fragment 1 again (a duplicate),
    // the lost one (which completes the message), and the rest arrive late, with no request outstanding.
    const auto f = h.session.info().fragmentation;
    CHECK(f.messages_reassembled == 1);
    CHECK(f.fragments_received == (first - 1) + 2);
    CHECK(f.fragments_dropped == first - 2);
}

TEST_CASE("a tampered response fragment fails its ICV, is counted and the retransmission recovers") {
    Harness h(cert_config(), gateway_options());
    h.on_receive = [](std::size_t n, Bytes& d) {
        if (n == 2) d.back() ^= 0x80;  // the ICV of the first response fragment
        return true;
    };
    h.start();
    CHECK_FALSE(h.connected());
    CHECK(h.session.info().fragmentation.fragments_dropped == 1);
    const std::size_t round = fragments(h.received);
    h.fire();
    REQUIRE(h.connected());
    // The first fragment of the second round completes the message; the rest of that round comes late.
    CHECK(h.session.info().fragmentation.fragments_dropped == 1 + (round - 1));
    CHECK(h.session.info().fragmentation.messages_reassembled == 1);
}

TEST_CASE("a gateway without fragmentation support gets one large IKE_AUTH datagram") {
    auto options = gateway_options();
    options.fragmentation = false;
    Harness h(cert_config(), std::move(options));
    h.start();
    REQUIRE(h.connected());
    CHECK(fragments(h.sent) == 0);
    CHECK(fragments(h.received) == 0);
    REQUIRE(h.sent.size() == 2);
    CHECK(h.sent[1].size() > client_limit);
    CHECK_FALSE(h.session.info().fragmentation.negotiated);
}

TEST_CASE("fragmentation off in the profile: not offered, never used") {
    auto config = cert_config();
    config.fragmentation = false;
    Harness h(std::move(config), gateway_options());
    h.start();
    REQUIRE(h.connected());
    auto init = msg::decode(h.sent.front());
    REQUIRE(init);
    CHECK_FALSE(msg::find_notify(init.value().payloads, msg::NotifyType::fragmentation_supported));
    CHECK_FALSE(h.responder.fragmentation_negotiated);
    CHECK(fragments(h.sent) == 0);
    CHECK(fragments(h.received) == 0);
}

TEST_CASE("negotiated, but a PSK IKE_AUTH fits in one datagram: not fragmented") {
    auto config = cert_config();
    config.private_key.reset();
    config.local_certs.clear();
    config.trusted_cas.clear();
    const std::string psk = test::ResponderOptions{}.psk;
    config.psk.assign(psk.begin(), psk.end());
    config.fragment_size = 1280;
    test::ResponderOptions options;
    options.fragmentation = true;
    Harness h(std::move(config), std::move(options));
    h.start();
    REQUIRE(h.connected());
    CHECK(h.session.info().fragmentation.negotiated);
    CHECK(fragments(h.sent) == 0);
    CHECK(h.session.info().fragmentation.messages_fragmented == 0);
}

TEST_CASE("fragments of an unexpected message are dropped and counted, never processed") {
    Harness h(cert_config(), gateway_options());
    h.start();
    REQUIRE(h.connected());
    // The response fragments again, long after the exchange: no request of ours is outstanding.
    const auto before = h.session.info().fragmentation;
    std::vector<Bytes> late;
    for (std::size_t i = 1; i < h.received.size(); ++i) late.push_back(h.received[i]);
    for (const auto& d : late) h.run(h.session.on_datagram(d, h.now));
    const auto after = h.session.info().fragmentation;
    CHECK(after.messages_reassembled == before.messages_reassembled);
    CHECK(after.fragments_dropped == before.fragments_dropped + late.size());
    CHECK(h.all<core::InstallChildSa>().size() == 1);
}

TEST_CASE("a fragmented request of the gateway is reassembled and answered once, also when retransmitted") {
    Harness h(cert_config(), gateway_options());
    h.start();
    REQUIRE(h.connected());
    // An INFORMATIONAL with a 1500-byte status Notify of a type we do not know (ignored, RFC 7296 §3.10.1).
    const Bytes request = h.responder.make_request(
        msg::ExchangeType::informational, {msg::make_notify(msg::NotifyType(40000), Bytes(1500, 0x5a))});
    const auto parts = h.responder.split(request);
    REQUIRE(parts.size() >= 4);
    const auto before = h.session.info().fragmentation;
    const std::size_t sent_before = h.sent.size();
    for (std::size_t i = parts.size(); i-- > 0;) h.run(h.session.on_datagram(parts[i], h.now));  // reverse order
    REQUIRE(h.sent.size() == sent_before + 1);
    auto answer = h.responder.open_response(h.sent.back());
    REQUIRE(answer);
    CHECK(answer->empty());
    CHECK(h.session.info().fragmentation.messages_reassembled == before.messages_reassembled + 1);
    // The gateway did not get our answer and sends its fragments again: the first one is enough for the
    // cached response, the rest are ignored.
    for (const auto& d : parts) h.run(h.session.on_datagram(d, h.now));
    CHECK(h.sent.size() == sent_before + 2);
    CHECK(h.sent.back() == h.sent[sent_before]);
    CHECK(h.session.info().fragmentation.messages_reassembled == before.messages_reassembled + 1);
    CHECK(h.all<core::Closed>().empty());
}
