// Reauthentication after a MOBIKE move to another address of the gateway (issue 5, roaming follow-ups):
// the new IKE SA must start at the gateway's address in use now, not at the one first connected to. The
// IKE_SA_INIT of the new IKE SA carries NAT_DETECTION_DESTINATION_IP (RFC 7296 §2.23):
//   SHA-1(SPIi | SPIr | IP | Port), SPIr zero in the first message,
// so its hash names the address the client means to reach.
#include "exchange_driver.hpp"
#include "test_responder.hpp"

#include "core/crypto/nat_detection.hpp"
#include "core/proposal.hpp"
#include "core/session.hpp"

#include <doctest/doctest.h>

using namespace ikevpn;

namespace {

core::Endpoint ep(const char* address, std::uint16_t port) { return {*IpAddress::parse(address), port}; }

core::SessionConfig config() {
    auto c = test::psk_session_config();
    c.mobike = true;
    return c;
}

// One gateway (the scripted responder) for the first IKE SA; IKE_SA_INIT requests of a new IKE SA are only
// recorded, not answered: what matters here is where they go.
struct Net {
    test::CountingRandom random{3};
    test::TestResponder responder;
    core::IkeSession session;
    core::TimePoint now{};
    std::optional<core::TimePoint> timer;
    core::Path socket;
    std::optional<msg::Spi8> first_spi;
    std::vector<Bytes> new_inits;  // IKE_SA_INIT requests of another IKE SA than the first
    std::vector<std::string> progress;

    Net(core::Path start, test::ResponderOptions o) : responder(std::move(o)), session(config(), random), socket(start) {}

    void run(core::Actions actions) {
        std::vector<Bytes> replies;
        for (auto& a : actions) {
            if (auto* send = std::get_if<core::SendDatagram>(&a)) {
                if (send->path) socket = *send->path;
                const auto h = msg::decode_header(send->message).value();
                if (!first_spi) first_spi = h.spi_i;
                if (h.spi_i != *first_spi) {
                    if (h.exchange == msg::ExchangeType::ike_sa_init) new_inits.push_back(send->message);
                    continue;
                }
                responder.seen_path = socket;
                Bytes reply = responder.handle(send->message);
                if (!reply.empty()) replies.push_back(std::move(reply));
            } else if (auto* arm = std::get_if<core::ArmTimer>(&a)) {
                timer = arm->at;
            } else if (std::holds_alternative<core::CancelTimer>(a)) {
                timer.reset();
            } else if (auto* p = std::get_if<core::Progress>(&a)) {
                progress.push_back(p->line);
            }
        }
        for (const auto& reply : replies) run(session.on_datagram(reply, now, socket));
    }
    bool fire_timer() {
        if (!timer) return false;
        now = *timer;
        timer.reset();
        run(session.on_timer(now));
        return true;
    }
    // The NAT_DETECTION_DESTINATION_IP the n-th new IKE_SA_INIT carries, and the hash it would carry for `to`.
    Bytes destination_hash(std::size_t n) const {
        const auto m = msg::decode(new_inits.at(n)).value();
        const auto* natd = msg::find_notify(m.payloads, msg::NotifyType::nat_detection_destination_ip);
        return natd ? natd->data : Bytes{};
    }
    Bytes expected_hash(std::size_t n, const char* to, std::uint16_t port) const {
        const auto h = msg::decode_header(new_inits.at(n)).value();
        const msg::Spi8 zero{};
        return crypto::nat_detection_hash(h.spi_i, zero, IpAddress::parse(to)->bytes(), port);
    }
};

test::ResponderOptions gateway_with_lifetime() {
    test::ResponderOptions o;
    o.mobike = true;
    o.additional_addresses = {"198.51.100.77", "2001:db8::1"};
    o.auth_lifetime = 100;
    return o;
}

// Connects over the first path: the path first, then IKE_SA_INIT (as client/session.cpp starts).
void connect(Net& net) {
    net.run(net.session.on_path(net.socket, net.now));
    net.run(net.session.start(net.now));
    REQUIRE(net.session.info().state == "connected");
}

// The driver moves the SAs to `path` (one UPDATE_SA_ADDRESSES exchange with the gateway).
void move_to(Net& net, core::Path path) {
    net.socket = path;
    net.run(net.session.on_path(net.socket, net.now));
    REQUIRE(net.responder.updates_seen == 1);
}

void reauthenticate(Net& net) {
    for (int i = 0; i < 20 && net.new_inits.empty(); ++i)
        if (!net.fire_timer()) break;
    REQUIRE(net.new_inits.size() == 1);
}

}  // namespace

TEST_CASE("reauthentication without a move starts at the gateway address connected to") {
    Net net({ep("192.0.2.10", 40001), ep("192.0.2.1", 4500)}, gateway_with_lifetime());
    connect(net);
    reauthenticate(net);
    CHECK(net.destination_hash(0) == net.expected_hash(0, "192.0.2.1", 500));
}

TEST_CASE("reauthentication after a move to another gateway address (IPv4) starts there") {
    Net net({ep("192.0.2.10", 40001), ep("192.0.2.1", 4500)}, gateway_with_lifetime());
    connect(net);
    // The driver followed the gateway to its announced address (client/session_paths.cpp).
    move_to(net, {ep("192.0.2.10", 40001), ep("198.51.100.77", 4500)});
    REQUIRE(net.session.info().state == "connected");
    reauthenticate(net);
    CHECK(net.destination_hash(0) == net.expected_hash(0, "198.51.100.77", 500));
    CHECK(net.destination_hash(0) != net.expected_hash(0, "192.0.2.1", 500));
    bool names_new = false;
    for (const auto& line : net.progress) names_new |= line.find("198.51.100.77:500") != std::string::npos;
    CHECK(names_new);
}

TEST_CASE("reauthentication after a move to the gateway's IPv6 address starts there") {
    Net net({ep("192.0.2.10", 40001), ep("192.0.2.1", 4500)}, gateway_with_lifetime());
    connect(net);
    move_to(net, {ep("2001:db8:2::10", 40001), ep("2001:db8::1", 4500)});
    reauthenticate(net);
    CHECK(net.destination_hash(0) == net.expected_hash(0, "2001:db8::1", 500));
}
