// In-memory exchange tests: core::IkeSession against TestResponder, wired through a loop that can drop
// messages, with a fake clock. No sockets, no root, no sleeping.
#include "exchange_driver.hpp"
#include "test_responder.hpp"

#include "core/proposal.hpp"
#include "core/session.hpp"

#include <doctest/doctest.h>

#include <botan/hash.h>

#include <functional>

using namespace ikevpn;
using namespace std::chrono_literals;

namespace {

core::SessionConfig make_config(const std::string& psk = "correct horse battery staple") {
    core::SessionConfig c;
    c.local_id = "client@example.com";
    c.remote_id = "gw.example.com";
    c.psk.assign(psk.begin(), psk.end());
    c.ike_proposals = {core::parse_ike_proposal("aes256gcm16-prfsha384-x25519-ecp256")};
    c.esp_proposals = {core::parse_esp_proposal("aes256gcm16")};
    c.remote_networks = {*IpPrefix::parse("198.51.100.0/24")};
    c.gateway = *IpAddress::parse("192.0.2.1");
    return c;
}

// Every datagram sent is kept in `sent`; `drop` loses the ones it returns true for.
struct Harness : test::ExchangeDriver {
    explicit Harness(core::SessionConfig config, test::ResponderOptions options = {})
        : ExchangeDriver(std::move(config), std::move(options)) {
        on_send = [this](const core::SendDatagram& send) -> std::optional<Bytes> {
            sent.push_back(send.message);
            if (drop(send.message)) return std::nullopt;
            return answer(send.message);
        };
    }
    std::vector<Bytes> sent;
    std::function<bool(const Bytes&)> drop = [](const Bytes&) { return false; };
};

}  // namespace

TEST_CASE("a PSK connection is established with matching keys, virtual IP, DNS and routes") {
    Harness h(make_config());
    h.run(h.session.start(h.now));
    REQUIRE(h.responder.auth_seen_ok);
    const auto* install = h.find<core::InstallChildSa>();
    REQUIRE(install);
    CHECK(install->child.spi_out == h.responder.esp_spi);
    CHECK(install->child.spi_in == h.responder.initiator_esp_spi);
    CHECK(install->child.key_bits == 256);
    // KEYMAT: initiator→responder first (RFC 7296 §2.17): our outbound key is the first 36 bytes.
    REQUIRE(h.responder.child_keymat.size() == 72);
    CHECK(std::equal(install->child.key_out.begin(), install->child.key_out.end(), h.responder.child_keymat.begin()));
    CHECK(std::equal(install->child.key_in.begin(), install->child.key_in.end(), h.responder.child_keymat.begin() + 36));
    const auto* net = h.find<core::ApplyNetworkConfig>();
    REQUIRE(net);
    CHECK(net->config.virtual_ip->to_string() == "203.0.113.7");
    REQUIRE(net->config.dns.size() == 1);
    CHECK(net->config.dns[0].to_string() == "198.51.100.53");
    REQUIRE(net->config.routes.size() == 1);
    CHECK(net->config.routes[0].to_string() == "198.51.100.0/24");
    CHECK(h.session.info().state == "connected");
    CHECK(h.session.info().encryption == "AES_GCM_16_256");
    CHECK(h.session.info().prf == "PRF_HMAC_SHA2_384");
    CHECK(h.session.info().dh == "CURVE_25519");
    CHECK_FALSE(h.timer);  // nothing outstanding
    // IDi, AUTH, CP, SA, TSi, TSr inside SK (the responder could only read them after decrypting).
    CHECK(msg::find<msg::CpPayload>(h.responder.last_inner, msg::PayloadType::cp));
}

TEST_CASE("IKE_SA_INIT goes to port 500, everything after it to 4500") {
    Harness h(make_config());
    std::vector<bool> nat_t;
    auto actions = h.session.start(h.now);
    for (auto& a : actions)
        if (auto* s = std::get_if<core::SendDatagram>(&a)) nat_t.push_back(s->nat_t);
    REQUIRE(nat_t.size() == 1);
    CHECK_FALSE(nat_t[0]);
    h.run(std::move(actions));
    REQUIRE(h.sent.size() == 2);
    // The session's second message (IKE_AUTH) is marked for NAT-T; the driver adds the marker.
}

TEST_CASE("a wrong PSK ends with AUTH_FAILED, both when the gateway says so and when we detect it") {
    SUBCASE("gateway refuses our AUTH") {
        Harness h(make_config("wrong psk"));
        h.run(h.session.start(h.now));
        const auto* closed = h.find<core::Closed>();
        REQUIRE(closed);
        CHECK(closed->code == core::CloseCode::auth_failed);
        CHECK(closed->reason.find("AUTHENTICATION_FAILED") != std::string::npos);
        CHECK_FALSE(h.find<core::InstallChildSa>());
        CHECK(h.session.closed());
    }
    SUBCASE("gateway's AUTH does not verify") {
        test::ResponderOptions o;
        o.corrupt_auth = true;
        Harness h(make_config(), o);
        h.run(h.session.start(h.now));
        const auto* closed = h.find<core::Closed>();
        REQUIRE(closed);
        CHECK(closed->code == core::CloseCode::auth_failed);
        CHECK_FALSE(h.find<core::InstallChildSa>());
    }
    SUBCASE("gateway presents another identity") {
        test::ResponderOptions o;
        o.identity = "evil.example.com";
        Harness h(make_config(), o);
        h.run(h.session.start(h.now));
        const auto* closed = h.find<core::Closed>();
        REQUIRE(closed);
        CHECK(closed->code == core::CloseCode::id_mismatch);  // ID_MISMATCH since certificate auth
        CHECK(closed->reason.find("evil.example.com") != std::string::npos);
    }
}

TEST_CASE("an unreachable gateway times out after the retransmission schedule") {
    Harness h(make_config());
    h.drop = [](const Bytes&) { return true; };
    h.run(h.session.start(h.now));
    std::vector<core::TimePoint> fire_times;
    while (!h.find<core::Closed>()) {
        REQUIRE(h.timer);
        fire_times.push_back(*h.timer);
        h.fire_timer();
    }
    // 1 + 4 retransmissions at 1, 2, 4, 8 s backoff; the fifth expiry gives up (16 s after the last).
    CHECK(h.sent.size() == 5);
    REQUIRE(fire_times.size() == 5);
    CHECK(fire_times[0] - core::TimePoint{} == 1s);
    CHECK(fire_times[1] - core::TimePoint{} == 3s);
    CHECK(fire_times[4] - core::TimePoint{} == 31s);
    for (std::size_t i = 1; i < h.sent.size(); ++i) CHECK(h.sent[i] == h.sent[0]);  // same bytes again
    CHECK(h.find<core::Closed>()->code == core::CloseCode::timeout);
}

TEST_CASE("a lost IKE_AUTH response is recovered by retransmission") {
    Harness h(make_config());
    int auth_requests = 0;
    h.drop = [&](const Bytes& b) {
        auto m = msg::decode_header(b);
        return m && m.value().exchange == msg::ExchangeType::ike_auth && ++auth_requests == 1;
    };
    h.run(h.session.start(h.now));
    CHECK_FALSE(h.find<core::InstallChildSa>());
    REQUIRE(h.fire_timer());
    CHECK(h.find<core::InstallChildSa>());
    CHECK(auth_requests == 2);
}

TEST_CASE("COOKIE and INVALID_KE_PAYLOAD make the initiator try again") {
    SUBCASE("cookie") {
        test::ResponderOptions o;
        o.demand_cookie = true;
        Harness h(make_config(), o);
        h.run(h.session.start(h.now));
        CHECK(h.find<core::InstallChildSa>());
    }
    SUBCASE("other group") {
        test::ResponderOptions o;
        o.demand_group = 19;
        Harness h(make_config(), o);
        h.run(h.session.start(h.now));
        CHECK(h.find<core::InstallChildSa>());
        CHECK(h.session.info().dh == "ECP_256");
    }
    SUBCASE("a group we never offered is a clear failure") {
        test::ResponderOptions o;
        o.demand_group = 21;
        Harness h(make_config(), o);
        h.run(h.session.start(h.now));
        REQUIRE(h.find<core::Closed>());
        CHECK(h.find<core::Closed>()->code == core::CloseCode::no_proposal_chosen);
    }
}

TEST_CASE("disconnect deletes the IKE SA at the gateway, then closes") {
    Harness h(make_config());
    h.run(h.session.start(h.now));
    REQUIRE(h.find<core::InstallChildSa>());
    h.run(h.session.close(h.now));
    const auto* del = msg::find<msg::DeletePayload>(h.responder.last_inner, msg::PayloadType::del);
    REQUIRE(del);
    CHECK(del->protocol == msg::ProtocolId::ike);
    REQUIRE(h.find<core::Closed>());
    CHECK(h.find<core::Closed>()->code == core::CloseCode::requested);
}

TEST_CASE("the gateway's requests are answered: liveness, retransmitted request, Delete") {
    Harness h(make_config());
    h.run(h.session.start(h.now));
    REQUIRE(h.find<core::InstallChildSa>());
    Bytes dpd = h.responder.make_request(msg::ExchangeType::informational, {});
    auto answer = h.session.on_datagram(dpd, h.now);
    REQUIRE(answer.size() == 1);
    const auto& response = std::get<core::SendDatagram>(answer[0]).message;
    CHECK(h.responder.open_response(response));
    // The same request again gets the same response, not a second processing (RFC 7296 §2.1).
    auto again = h.session.on_datagram(dpd, h.now);
    REQUIRE(again.size() == 1);
    CHECK(std::get<core::SendDatagram>(again[0]).message == response);

    msg::DeletePayload del;
    del.protocol = msg::ProtocolId::ike;
    Bytes delete_request = h.responder.make_request(msg::ExchangeType::informational, {{msg::PayloadType::del, false, del}});
    h.run(h.session.on_datagram(delete_request, h.now));
    REQUIRE(h.find<core::Closed>());
    CHECK(h.find<core::Closed>()->code == core::CloseCode::gateway_deleted);
}

TEST_CASE("garbage and foreign messages are ignored without a crash") {
    Harness h(make_config());
    h.drop = [](const Bytes&) { return true; };
    h.run(h.session.start(h.now));
    Bytes junk(100, 0xab);
    CHECK(h.session.on_datagram(junk, h.now).empty());
    CHECK(h.session.on_datagram(Bytes{}, h.now).empty());
    Bytes valid_looking = h.sent[0];  // our own request reflected back: initiator flag set → not ours
    CHECK(h.session.on_datagram(valid_looking, h.now).empty());
    for (std::size_t cut = 0; cut < valid_looking.size(); ++cut)
        CHECK(h.session.on_datagram(ByteView(valid_looking.data(), cut), h.now).empty());
    CHECK_FALSE(h.session.closed());
}

TEST_CASE("a CHILD SA rekey by the gateway installs the new pair first, then the old one goes") {
    for (std::optional<std::uint16_t> pfs : {std::optional<std::uint16_t>{}, std::optional<std::uint16_t>{31}}) {
        CAPTURE(pfs.value_or(0));
        Harness h(make_config());
        h.run(h.session.start(h.now));
        const core::ChildSaKeys first = h.find<core::InstallChildSa>()->child;
        auto answer = h.session.on_datagram(h.responder.make_child_rekey_request(first.spi_out, pfs), h.now);
        const core::InstallChildSa* install = nullptr;
        Bytes response;
        for (auto& a : answer) {
            if (auto* i = std::get_if<core::InstallChildSa>(&a)) install = i;
            if (auto* s = std::get_if<core::SendDatagram>(&a)) response = s->message;
        }
        REQUIRE(install);
        CHECK(install->rekey);
        CHECK(install->child.spi_out == 0xc0ffee02);
        CHECK(install->child.spi_in != first.spi_in);
        // The gateway started the exchange, so its outbound keys (our inbound) come first in KEYMAT.
        auto keymat = h.responder.rekey_keymat(response, 72);
        REQUIRE(keymat);
        CHECK(std::equal(install->child.key_in.begin(), install->child.key_in.end(), keymat->begin()));
        CHECK(std::equal(install->child.key_out.begin(), install->child.key_out.end(), keymat->begin() + 36));
        CHECK(install->child.local_ts.front().start_address == Bytes{203, 0, 113, 7});

        // The gateway deletes the old pair: we answer with our old inbound SPI and stay connected.
        msg::DeletePayload del{msg::ProtocolId::esp, 4, {{std::uint8_t(first.spi_out >> 24), std::uint8_t(first.spi_out >> 16),
                                                          std::uint8_t(first.spi_out >> 8), std::uint8_t(first.spi_out)}}};
        auto deleted = h.session.on_datagram(
            h.responder.make_request(msg::ExchangeType::informational, {{msg::PayloadType::del, false, del}}), h.now);
        bool removed_old = false;
        for (auto& a : deleted) {
            if (auto* r = std::get_if<core::RemoveChildSa>(&a)) removed_old = r->spi_in == first.spi_in;
            CHECK_FALSE(std::holds_alternative<core::Closed>(a));
            if (auto* s = std::get_if<core::SendDatagram>(&a)) {
                auto inner = h.responder.open_response(s->message);
                REQUIRE(inner);
                const auto* answer_del = msg::find<msg::DeletePayload>(*inner, msg::PayloadType::del);
                REQUIRE(answer_del);
                CHECK(answer_del->spis.front() == Bytes{std::uint8_t(first.spi_in >> 24), std::uint8_t(first.spi_in >> 16),
                                                        std::uint8_t(first.spi_in >> 8), std::uint8_t(first.spi_in)});
            }
        }
        CHECK(removed_old);
        CHECK(h.session.info().state == "connected");
    }
}

TEST_CASE("a rekey with a proposal we cannot accept is refused without losing the tunnel") {
    Harness h(make_config());
    h.run(h.session.start(h.now));
    const core::ChildSaKeys first = h.find<core::InstallChildSa>()->child;
    // The profile offers only AES-256-GCM: a rekey proposing AES-128-GCM gets NO_PROPOSAL_CHOSEN.
    auto answer = h.session.on_datagram(h.responder.make_child_rekey_request(first.spi_out, {}, "aes128gcm16"), h.now);
    REQUIRE(answer.size() == 1);
    auto inner = h.responder.open_response(std::get<core::SendDatagram>(answer[0]).message);
    REQUIRE(inner);
    CHECK(msg::find_notify(*inner, msg::NotifyType::no_proposal_chosen));
    // An unknown SPI: CHILD_SA_NOT_FOUND.
    answer = h.session.on_datagram(h.responder.make_child_rekey_request(0x12345678, std::nullopt), h.now);
    REQUIRE(answer.size() == 1);
    inner = h.responder.open_response(std::get<core::SendDatagram>(answer[0]).message);
    REQUIRE(inner);
    CHECK(msg::find_notify(*inner, msg::NotifyType::child_sa_not_found));
    CHECK(h.session.info().state == "connected");
}

// ---- IPv6 inside the tunnel (RFC 7296 §3.15.1 configuration attributes, §3.13.1 selectors) ----

namespace {

std::vector<std::uint16_t> requested_attributes(const std::vector<msg::Payload>& inner) {
    std::vector<std::uint16_t> types;
    if (const auto* cp = msg::find<msg::CpPayload>(inner, msg::PayloadType::cp))
        for (const auto& attr : cp->attributes) {
            CHECK(attr.value.empty());  // a request leaves the choice to the gateway
            types.push_back(attr.type);
        }
    return types;
}

std::vector<std::string> selector_ranges(const std::vector<msg::Payload>& inner, msg::PayloadType type) {
    std::vector<std::string> out;
    if (const auto* ts = msg::find<msg::TsPayload>(inner, type))
        for (const auto& s : ts->selectors)
            out.push_back(IpAddress::from_bytes(s.start_address)->to_string() + "-" +
                          IpAddress::from_bytes(s.end_address)->to_string());
    return out;
}

std::vector<std::string> route_texts(const core::NetworkConfig& config) {
    std::vector<std::string> out;
    for (const auto& r : config.routes) out.push_back(r.to_string());
    return out;
}

constexpr auto ip4_address = std::uint16_t(msg::CfgAttr::internal_ip4_address);
constexpr auto ip4_dns = std::uint16_t(msg::CfgAttr::internal_ip4_dns);
constexpr auto ip6_address = std::uint16_t(msg::CfgAttr::internal_ip6_address);
constexpr auto ip6_dns = std::uint16_t(msg::CfgAttr::internal_ip6_dns);
constexpr auto dns_domain = std::uint16_t(msg::CfgAttr::internal_dns_domain);  // RFC 8598 split DNS

}  // namespace

TEST_CASE("an IPv4-only profile asks for exactly IPv4 address and DNS, with TSi 0.0.0.0/0") {
    Harness h(make_config());
    h.run(h.session.start(h.now));
    CHECK(requested_attributes(h.responder.last_inner) == std::vector<std::uint16_t>{ip4_address, ip4_dns, dns_domain});
    CHECK(selector_ranges(h.responder.last_inner, msg::PayloadType::ts_i) ==
          std::vector<std::string>{"0.0.0.0-255.255.255.255"});
    CHECK(selector_ranges(h.responder.last_inner, msg::PayloadType::ts_r) ==
          std::vector<std::string>{"198.51.100.0-198.51.100.255"});
    const auto* net = h.find<core::ApplyNetworkConfig>();
    REQUIRE(net);
    CHECK_FALSE(net->config.virtual_ip6);
}

TEST_CASE("an IPv6 route asks for INTERNAL_IP6_ADDRESS and DNS too and gets both families") {
    auto config = make_config();
    config.remote_networks.push_back(*IpPrefix::parse("2001:db8:2::/64"));
    test::ResponderOptions options;
    SUBCASE("16-byte INTERNAL_IP6_DNS (RFC 7296)") { options.ip6_dns_size = 16; }
    SUBCASE("17-byte INTERNAL_IP6_DNS (libreswan 4.10)") { options.ip6_dns_size = 17; }
    Harness h(config, options);
    h.run(h.session.start(h.now));
    CHECK(requested_attributes(h.responder.last_inner) ==
          std::vector<std::uint16_t>{ip4_address, ip4_dns, ip6_address, ip6_dns, dns_domain});
    CHECK(selector_ranges(h.responder.last_inner, msg::PayloadType::ts_i) ==
          std::vector<std::string>{"0.0.0.0-255.255.255.255", "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"});
    CHECK(selector_ranges(h.responder.last_inner, msg::PayloadType::ts_r) ==
          std::vector<std::string>{"198.51.100.0-198.51.100.255", "2001:db8:2::-2001:db8:2:0:ffff:ffff:ffff:ffff"});
    const auto* net = h.find<core::ApplyNetworkConfig>();
    REQUIRE(net);
    REQUIRE(net->config.virtual_ip);
    CHECK(net->config.virtual_ip->to_string() == "203.0.113.7");
    REQUIRE(net->config.virtual_ip6);
    CHECK(net->config.virtual_ip6->to_string() == "2001:db8:3::7");
    REQUIRE(net->config.dns.size() == 2);
    CHECK(net->config.dns[0].to_string() == "198.51.100.53");
    CHECK(net->config.dns[1].to_string() == "2001:db8:2::53");
    CHECK(route_texts(net->config) == std::vector<std::string>{"198.51.100.0/24", "2001:db8:2::/64"});
    const auto* install = h.find<core::InstallChildSa>();
    REQUIRE(install);
    CHECK(install->child.local_ts.size() == 2);
    CHECK(install->child.remote_ts.size() == 2);
    CHECK(h.session.info().state == "connected");
}

TEST_CASE("an IPv6-only profile asks for IPv6 only") {
    auto config = make_config();
    config.remote_networks = {*IpPrefix::parse("2001:db8:2::/64")};
    Harness h(config);
    h.run(h.session.start(h.now));
    CHECK(requested_attributes(h.responder.last_inner) == std::vector<std::uint16_t>{ip6_address, ip6_dns, dns_domain});
    CHECK(selector_ranges(h.responder.last_inner, msg::PayloadType::ts_i) ==
          std::vector<std::string>{"::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"});
    const auto* net = h.find<core::ApplyNetworkConfig>();
    REQUIRE(net);
    CHECK_FALSE(net->config.virtual_ip);
    REQUIRE(net->config.virtual_ip6);
    CHECK(net->config.virtual_ip6->to_string() == "2001:db8:3::7");
    CHECK(route_texts(net->config) == std::vector<std::string>{"2001:db8:2::/64"});
}

TEST_CASE("a gateway without an IPv6 pool: IPv4 still connects, IPv6-only fails clearly") {
    test::ResponderOptions options;
    options.offer_ip6 = false;
    SUBCASE("both families requested: connected with IPv4 routes only") {
        auto config = make_config();
        config.remote_networks.push_back(*IpPrefix::parse("2001:db8:2::/64"));
        Harness h(config, options);
        h.run(h.session.start(h.now));
        const auto* net = h.find<core::ApplyNetworkConfig>();
        REQUIRE(net);
        CHECK(net->config.virtual_ip->to_string() == "203.0.113.7");
        CHECK_FALSE(net->config.virtual_ip6);
        CHECK(route_texts(net->config) == std::vector<std::string>{"198.51.100.0/24"});
        CHECK(h.session.info().state == "connected");
    }
    SUBCASE("IPv6 only: INTERNAL_ADDRESS_FAILURE") {
        auto config = make_config();
        config.remote_networks = {*IpPrefix::parse("2001:db8:2::/64")};
        Harness h(config, options);
        h.run(h.session.start(h.now));
        CHECK_FALSE(h.find<core::ApplyNetworkConfig>());
        h.fire_timer();  // the Delete of the IKE SA may still be outstanding
        const auto* closed = h.find<core::Closed>();
        REQUIRE(closed);
        CHECK(closed->code == core::CloseCode::internal_address_failure);
    }
}

TEST_CASE("an IPv6 gateway: NAT_DETECTION_DESTINATION_IP hashes the 16-byte address") {
    auto config = make_config();
    config.gateway = *IpAddress::parse("2001:db8:1::1");
    Harness h(config);
    h.run(h.session.start(h.now));
    CHECK(h.session.info().state == "connected");
    // RFC 7296 §2.23: SHA-1(SPIi | SPIr | IP | Port), SPIr zero in the first message.
    REQUIRE(h.sent.size() >= 1);
    auto first = msg::decode(h.sent.front());
    REQUIRE(first);
    auto sha1 = Botan::HashFunction::create_or_throw("SHA-1");
    sha1->update(first.value().header.spi_i.data(), 8);
    const std::uint8_t zero_spi[8] = {};
    sha1->update(zero_spi, 8);
    const std::uint8_t address[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    sha1->update(address, 16);
    const std::uint8_t port[2] = {0x01, 0xf4};  // 500
    sha1->update(port, 2);
    const auto expected = sha1->final_stdvec();
    CHECK(h.responder.nat_destination_hash == Bytes(expected.begin(), expected.end()));
}

TEST_CASE("an IKE SA rekey by the gateway moves the session to the new IKE SA") {
    Harness h(make_config());
    h.run(h.session.start(h.now));
    REQUIRE(h.find<core::InstallChildSa>());
    const std::string old_spi_i = h.session.info().spi_i;

    auto answer = h.session.on_datagram(h.responder.make_ike_rekey_request(31), h.now);
    Bytes response;
    bool rekeyed = false;
    for (auto& a : answer) {
        if (auto* s = std::get_if<core::SendDatagram>(&a)) response = s->message;
        rekeyed |= std::holds_alternative<core::IkeRekeyed>(a);
    }
    REQUIRE(rekeyed);
    // The gateway's Delete of the old IKE SA, built before it switches to the new one.
    msg::DeletePayload del;
    del.protocol = msg::ProtocolId::ike;
    const Bytes delete_old = h.responder.make_request(msg::ExchangeType::informational, {{msg::PayloadType::del, false, del}});
    REQUIRE(h.responder.finish_ike_rekey(response));
    CHECK(h.session.info().spi_i == "6162636465666768");
    CHECK(h.session.info().spi_i != old_spi_i);

    // A liveness check on the new SA (from its initiator, the gateway) is answered with the new keys.
    auto dpd = h.session.on_datagram(h.responder.make_request(msg::ExchangeType::informational, {}), h.now);
    REQUIRE(dpd.size() == 1);
    const auto& dpd_response = std::get<core::SendDatagram>(dpd[0]).message;
    CHECK(h.responder.open_response(dpd_response));
    CHECK_FALSE(msg::decode_header(dpd_response).value().is_initiator());  // we are its responder now

    // The old IKE SA's Delete is answered and does not end the session.
    auto deleted = h.session.on_datagram(delete_old, h.now);
    REQUIRE(deleted.size() == 1);
    CHECK(std::holds_alternative<core::SendDatagram>(deleted[0]));
    CHECK(h.session.info().state == "connected");

    // Disconnect deletes the new IKE SA, without the Initiator flag.
    auto closing = h.session.close(h.now);
    Bytes our_delete;
    for (auto& a : closing)
        if (auto* s = std::get_if<core::SendDatagram>(&a)) our_delete = s->message;
    REQUIRE_FALSE(our_delete.empty());
    CHECK_FALSE(msg::decode_header(our_delete).value().is_initiator());
    Bytes reply = h.responder.handle(our_delete);
    REQUIRE_FALSE(reply.empty());
    REQUIRE(msg::find<msg::DeletePayload>(h.responder.last_inner, msg::PayloadType::del));
    h.run(h.session.on_datagram(reply, h.now));
    REQUIRE(h.find<core::Closed>());
    CHECK(h.find<core::Closed>()->code == core::CloseCode::requested);
}
