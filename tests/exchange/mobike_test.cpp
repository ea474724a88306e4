// In-memory exchange tests of MOBIKE (RFC 4555) in core::IkeSession against TestResponder: a fake network
// that knows which path each datagram takes, which paths are dead and what a NAT makes of our source.
#include "exchange_driver.hpp"
#include "test_responder.hpp"

#include "core/proposal.hpp"
#include "core/session.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <string>

using namespace ikevpn;
using namespace std::chrono_literals;

namespace {

core::Endpoint ep(const char* address, std::uint16_t port) { return {*IpAddress::parse(address), port}; }

const core::Endpoint gateway = ep("192.0.2.1", 4500);
const core::Path wifi{ep("192.0.2.10", 40001), gateway};
const core::Path cellular{ep("192.0.2.20", 40002), gateway};
const core::Path wifi_renumbered{ep("192.0.2.11", 40003), gateway};

core::SessionConfig mobike_config(bool mobike = true) {
    auto c = test::psk_session_config();
    c.gateway = gateway.address;
    c.mobike = mobike;
    return c;
}

test::ResponderOptions mobike_gateway() {
    test::ResponderOptions o;
    o.mobike = true;
    o.additional_addresses = {"192.0.2.2", "2001:db8::1"};
    return o;
}

struct Sent {
    Bytes message;
    core::Path path;
};

struct Network {
    explicit Network(core::SessionConfig config = mobike_config(), test::ResponderOptions options = mobike_gateway())
        : responder(std::move(options)), session(std::move(config), random) {}

    test::CountingRandom random{1};
    test::TestResponder responder;
    core::IkeSession session;
    core::TimePoint now{};
    std::optional<core::TimePoint> timer;
    core::Path socket = wifi;  // where the driver's socket sends from and to
    std::vector<Sent> sent;
    std::vector<core::Action> log;
    std::function<bool(const core::Path&)> alive = [](const core::Path&) { return true; };
    std::function<bool(const Bytes&)> drop = [](const Bytes&) { return false; };
    std::function<core::Endpoint(const core::Endpoint&)> nat = [](const core::Endpoint& e) { return e; };

    void run(core::Actions actions) {
        std::vector<Sent> replies;
        for (auto& a : actions) {
            if (auto* send = std::get_if<core::SendDatagram>(&a)) {
                if (send->path) socket = *send->path;  // the driver moves its socket first
                sent.push_back({send->message, socket});
                if (!alive(socket) || drop(send->message)) continue;
                responder.seen_path = {nat(socket.local), socket.remote};
                Bytes reply = responder.handle(send->message);
                if (!reply.empty()) replies.push_back({std::move(reply), socket});
            } else if (auto* arm = std::get_if<core::ArmTimer>(&a)) {
                timer = arm->at;
            } else if (std::holds_alternative<core::CancelTimer>(a)) {
                timer.reset();
            } else {
                log.push_back(a);
            }
        }
        // A reply reaches us only on the socket it was sent to, and only while that path is alive.
        for (const auto& reply : replies)
            if (reply.path == socket && alive(socket)) run(session.on_datagram(reply.message, now, reply.path));
    }
    void connect() {
        run(session.on_path(socket, now));
        run(session.start(now));
        REQUIRE(session.info().state == "connected");
    }
    // The driver saw a change: its socket is now on `path` (none: no route to the gateway).
    void move_to(std::optional<core::Path> path) {
        if (path) socket = *path;
        run(session.on_path(path, now));
    }
    bool fire_timer() {
        if (!timer) return false;
        now = *timer;
        timer.reset();
        run(session.on_timer(now));
        return true;
    }
    template <class T> std::vector<T> all() const {
        std::vector<T> found;
        for (const auto& a : log)
            if (auto* x = std::get_if<T>(&a)) found.push_back(*x);
        return found;
    }
};

}  // namespace

TEST_CASE("MOBIKE_SUPPORTED is offered in IKE_AUTH and the gateway's addresses are kept") {
    Network net;
    net.connect();
    const auto info = net.session.info();
    CHECK(info.mobike);
    REQUIRE(info.path);
    CHECK(*info.path == wifi);
    REQUIRE(info.gateway_addresses.size() == 2);
    CHECK(info.gateway_addresses[0].to_string() == "192.0.2.2");
    CHECK(info.gateway_addresses[1].to_string() == "2001:db8::1");

    Network off(mobike_config(false));  // the profile does not ask: not negotiated even with a MOBIKE gateway
    off.connect();
    CHECK_FALSE(off.session.info().mobike);
}

TEST_CASE("a path change sends UPDATE_SA_ADDRESSES from the new source and moves the SAs") {
    Network net;
    net.connect();
    const std::size_t before = net.sent.size();
    net.now += 5s;
    net.move_to(cellular);
    REQUIRE(net.sent.size() == before + 1);
    CHECK(net.sent.back().path == cellular);
    CHECK(net.responder.updates_seen == 1);
    const auto* cookie = msg::find_notify(net.responder.last_inner, msg::NotifyType::cookie2);
    REQUIRE(cookie);
    CHECK(cookie->data.size() >= 8);
    CHECK(msg::find_notify(net.responder.last_inner, msg::NotifyType::nat_detection_destination_ip));
    CHECK(msg::find_notify(net.responder.last_inner, msg::NotifyType::nat_detection_source_ip));
    REQUIRE(net.responder.updated_source);
    CHECK(*net.responder.updated_source == cellular.local);
    const auto moved = net.all<core::PathChanged>();
    REQUIRE(moved.size() == 1);
    CHECK(moved[0].old_path == wifi);
    CHECK(moved[0].new_path == cellular);
    CHECK_FALSE(moved[0].nat_local);
    CHECK(net.session.info().state == "connected");
    CHECK(*net.session.info().path == cellular);

    net.move_to(cellular);  // the same path reported again (another netlink event): nothing to do
    CHECK(net.sent.size() == before + 1);
}

TEST_CASE("the state is roaming while an update is in flight") {
    Network net;
    net.connect();
    net.alive = [](const core::Path& p) { return p != cellular; };  // cellular looks up but carries nothing
    net.move_to(cellular);
    CHECK(net.session.info().state == "roaming");
    CHECK(*net.session.info().path == wifi);
    CHECK(net.all<core::PathChanged>().empty());
}

TEST_CASE("an update in flight is superseded by a newer path: sent again from it at once, then confirmed") {
    Network net;
    net.connect();
    net.alive = [](const core::Path& p) { return p != cellular; };
    net.move_to(cellular);
    const Bytes first = net.sent.back().message;
    net.now += 200ms;
    net.move_to(wifi_renumbered);
    // The same request (same message ID) from the newest path, then a fresh one with its own NAT detection.
    REQUIRE(net.sent.size() >= 2);
    const auto& resent = net.sent[net.sent.size() - 2];
    CHECK(resent.message == first);
    CHECK(resent.path == wifi_renumbered);
    CHECK(net.sent.back().path == wifi_renumbered);
    CHECK(net.sent.back().message != first);
    CHECK(net.responder.updates_seen == 2);
    const auto moved = net.all<core::PathChanged>();
    REQUIRE(moved.size() == 1);
    CHECK(moved[0].old_path == wifi);
    CHECK(moved[0].new_path == wifi_renumbered);
    CHECK(moved[0].handover == 200ms);  // measured from the first path event of the move
    CHECK(net.session.info().state == "connected");
}

TEST_CASE("a lost UPDATE_SA_ADDRESSES is retransmitted from the new path") {
    Network net;
    net.connect();
    bool dropped = false;
    net.drop = [&](const Bytes&) { return !dropped && (dropped = true); };
    net.move_to(cellular);
    CHECK(net.all<core::PathChanged>().empty());
    net.socket = wifi;  // even if the socket was elsewhere meanwhile, the retransmission says where to go
    REQUIRE(net.fire_timer());
    CHECK(net.sent.back().path == cellular);
    CHECK(net.sent[net.sent.size() - 1].message == net.sent[net.sent.size() - 2].message);
    REQUIRE(net.all<core::PathChanged>().size() == 1);
    CHECK(net.all<core::PathChanged>()[0].handover == 250ms);  // an update is retried sooner than other requests
}

TEST_CASE("a wrong COOKIE2 is not trusted: asked again, and after three failures the session ends") {
    auto options = mobike_gateway();
    options.wrong_cookie2 = true;
    Network net(mobike_config(), options);
    net.connect();
    net.move_to(cellular);
    CHECK(net.responder.updates_seen == 3);
    CHECK(net.all<core::PathChanged>().empty());
    const auto closed = net.all<core::Closed>();
    REQUIRE(closed.size() == 1);
    CHECK(closed[0].code == core::CloseCode::protocol_error);
    CHECK(closed[0].reason.find("COOKIE2") != std::string::npos);
}

TEST_CASE("a NAT appearing on the new path and disappearing on the next one is detected") {
    Network net;
    net.connect();
    net.nat = [](const core::Endpoint& e) { return e == cellular.local ? ep("192.0.2.200", 61000) : e; };
    net.move_to(cellular);
    REQUIRE(net.all<core::PathChanged>().size() == 1);
    CHECK(net.all<core::PathChanged>()[0].nat_local);
    net.move_to(wifi);
    REQUIRE(net.all<core::PathChanged>().size() == 2);
    CHECK_FALSE(net.all<core::PathChanged>()[1].nat_local);
    CHECK(net.all<core::PathChanged>()[1].new_path == wifi);
}

TEST_CASE("without any path the session waits quietly and resumes when one appears") {
    Network net;
    net.connect();
    const std::size_t before = net.sent.size();
    net.move_to(std::nullopt);
    CHECK(net.sent.size() == before);  // nothing to send without a path
    CHECK(net.session.info().state == "roaming");
    REQUIRE(net.timer);
    CHECK(*net.timer == net.now + 120s);
    net.now += 20s;
    net.move_to(wifi);  // the same network came back: the gateway still gets an update (NAT mappings age)
    CHECK(net.sent.size() == before + 1);
    REQUIRE(net.all<core::PathChanged>().size() == 1);
    CHECK(net.all<core::PathChanged>()[0].handover == 0s);  // timed from when the path was back
    CHECK(net.session.info().state == "connected");
    CHECK_FALSE(net.session.closed());
}

TEST_CASE("an update in flight when the path vanishes is neither retransmitted nor timed out until one returns") {
    Network net;
    net.connect();
    net.alive = [](const core::Path& p) { return p != cellular; };
    net.move_to(cellular);
    const std::size_t before = net.sent.size();
    net.move_to(std::nullopt);
    net.now += 50s;  // well past the update's retransmission schedule
    net.run(net.session.on_timer(net.now));
    CHECK(net.sent.size() == before);
    CHECK_FALSE(net.session.closed());
    net.now += 30s;
    net.move_to(wifi_renumbered);
    CHECK(net.all<core::PathChanged>().size() == 1);
    CHECK(net.session.info().state == "connected");
}

TEST_CASE("no path for longer than no_path_limit ends the session with PATH_LOST") {
    Network net;
    net.connect();
    net.move_to(std::nullopt);
    REQUIRE(net.fire_timer());
    const auto closed = net.all<core::Closed>();
    REQUIRE(closed.size() == 1);
    CHECK(closed[0].code == core::CloseCode::path_lost);
    CHECK(std::string(core::error_code_name(closed[0].code)) == "PATH_LOST");
}

TEST_CASE("UNACCEPTABLE_ADDRESSES: the path is not used, the session waits for another one") {
    auto options = mobike_gateway();
    options.refuse_update = std::uint16_t(msg::NotifyType::unacceptable_addresses);
    Network net(mobike_config(), options);
    net.connect();
    net.move_to(cellular);
    CHECK(net.responder.updates_seen == 1);
    CHECK_FALSE(net.session.closed());
    CHECK(net.session.info().state == "roaming");
    bool told = false;
    for (const auto& p : net.all<core::Progress>()) told |= p.line.find("UNACCEPTABLE_ADDRESSES") != std::string::npos;
    CHECK(told);
    net.move_to(cellular);  // the refused path again: not asked twice
    CHECK(net.responder.updates_seen == 1);
}

TEST_CASE("a gateway without MOBIKE: a path change ends the tunnel with a reason") {
    auto options = mobike_gateway();
    options.mobike = false;
    Network net(mobike_config(), options);
    net.connect();
    CHECK_FALSE(net.session.info().mobike);
    net.move_to(cellular);
    const auto closed = net.all<core::Closed>();
    REQUIRE(closed.size() == 1);
    CHECK(closed[0].code == core::CloseCode::path_lost);
    CHECK(closed[0].reason.find("does not support MOBIKE") != std::string::npos);
}

TEST_CASE("the gateway's COOKIE2 check (RFC 4555 §3.8) is echoed and its address list replaced") {
    Network net;
    net.connect();
    const Bytes cookie{1, 2, 3, 4, 5, 6, 7, 8, 9};
    Bytes request = net.responder.make_request(
        msg::ExchangeType::informational,
        {msg::make_notify(msg::NotifyType::cookie2, cookie), msg::make_notify(msg::NotifyType::no_additional_addresses)});
    net.run(net.session.on_datagram(request, net.now, wifi));
    auto reply = net.responder.open_response(net.sent.back().message);
    REQUIRE(reply);
    const auto* echoed = msg::find_notify(*reply, msg::NotifyType::cookie2);
    REQUIRE(echoed);
    CHECK(echoed->data == cookie);
    CHECK(net.session.info().gateway_addresses.empty());
}

TEST_CASE("the gateway rekeys the IKE SA while an update is in flight: the move is redone on the new IKE SA") {
    Network net;
    net.connect();
    bool cellular_up = false;
    net.alive = [&](const core::Path& p) { return p != cellular || cellular_up; };
    net.move_to(cellular);
    const auto actions = net.session.on_datagram(net.responder.make_ike_rekey_request(31), net.now, cellular);
    core::Actions rest;
    bool answered = false;
    for (const auto& a : actions) {
        const auto* send = std::get_if<core::SendDatagram>(&a);
        if (send && !answered) {
            REQUIRE(net.responder.finish_ike_rekey(send->message));  // the answer on the old IKE SA
            answered = true;
            continue;
        }
        rest.push_back(a);
    }
    REQUIRE(answered);
    cellular_up = true;
    net.run(rest);
    REQUIRE(net.all<core::PathChanged>().size() == 1);
    CHECK(net.all<core::PathChanged>()[0].new_path == cellular);
    CHECK(net.session.info().spi_i == "6162636465666768");
    CHECK(net.session.info().state == "connected");
}

namespace {

std::uint32_t first_spi_in(const Network& net) {
    const auto installed = net.all<core::InstallChildSa>();
    REQUIRE_FALSE(installed.empty());
    return installed.front().child.spi_in;
}

bool progress_says(const Network& net, const std::string& text) {
    for (const auto& p : net.all<core::Progress>())
        if (p.line.find(text) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("the gateway's address stops answering: a retransmission tries its other address and the SAs follow") {
    Network net;  // the gateway lists 192.0.2.2 and 2001:db8::1 besides 192.0.2.1
    net.connect();
    const core::Endpoint other = ep("192.0.2.2", 4500);
    net.alive = [](const core::Path& p) { return p.remote != gateway; };  // 192.0.2.1 is unreachable now
    net.now += 5s;
    net.run(net.session.rekey_child(first_spi_in(net), net.now));  // any request will do
    const std::size_t first = net.sent.size() - 1;
    CHECK(net.sent[first].path.remote == gateway);
    REQUIRE(net.fire_timer());  // the first retransmission: same address (a single loss is no signal)
    CHECK(net.sent[first + 1].path.remote == gateway);
    CHECK(net.sent[first + 1].message == net.sent[first].message);
    REQUIRE(net.fire_timer());  // the second: the other IPv4 address (the IPv6 one cannot be reached from here)
    REQUIRE(net.sent.size() >= first + 3);
    CHECK(net.sent[first + 2].path.remote == other);
    CHECK(net.sent[first + 2].message == net.sent[first].message);  // the very same request (RFC 7296 §2.1)
    CHECK(progress_says(net, "does not answer at 192.0.2.1: trying its address 192.0.2.2"));
    // It answered there: the rekey completed, then UPDATE_SA_ADDRESSES moved the SAs to that address.
    CHECK(net.responder.updates_seen == 1);
    const auto moved = net.all<core::PathChanged>();
    REQUIRE(moved.size() == 1);
    CHECK(moved[0].old_path == wifi);
    CHECK(moved[0].new_path.remote == other);
    CHECK(moved[0].handover == 3s);  // from the unanswered request to 192.0.2.2's answer (1 s + 2 s)
    CHECK(net.session.info().path->remote == other);
    CHECK(net.session.info().state == "connected");
    CHECK(net.all<core::Closed>().empty());
}

TEST_CASE("gateway addresses without a route are skipped; none left: the usual TIMEOUT") {
    auto config = mobike_config();
    config.reachable = [](const IpAddress& a) { return a.to_string() != "192.0.2.2"; };
    Network net(std::move(config));
    net.connect();
    net.alive = [](const core::Path& p) { return p.remote != gateway; };
    net.now += 5s;
    net.run(net.session.rekey_child(first_spi_in(net), net.now));
    while (net.all<core::Closed>().empty() && net.fire_timer()) {
    }
    for (const auto& s : net.sent) CHECK(s.path.remote == gateway);
    const auto closed = net.all<core::Closed>();
    REQUIRE(closed.size() == 1);
    CHECK(closed[0].code == core::CloseCode::timeout);
}

TEST_CASE("no other address after NO_ADDITIONAL_ADDRESSES, or without MOBIKE: retransmissions stay put") {
    test::ResponderOptions lone = mobike_gateway();
    lone.additional_addresses.clear();  // the gateway sends NO_ADDITIONAL_ADDRESSES (or nothing)
    Network net(mobike_config(), lone);
    net.connect();
    CHECK(net.session.info().gateway_addresses.empty());
    net.alive = [](const core::Path& p) { return p.remote != gateway; };
    net.run(net.session.rekey_child(first_spi_in(net), net.now));
    while (net.all<core::Closed>().empty() && net.fire_timer()) {
    }
    for (const auto& s : net.sent) CHECK(s.path.remote == gateway);
    CHECK(net.all<core::Closed>().size() == 1);
}

TEST_CASE("an unanswered UPDATE_SA_ADDRESSES keeps its destination: its NAT detection was built for it") {
    Network net;
    net.connect();
    net.alive = [](const core::Path& p) { return p.remote != gateway; };
    net.move_to(cellular);
    while (net.all<core::Closed>().empty() && net.fire_timer()) {
    }
    for (const auto& s : net.sent) CHECK(s.path.remote == gateway);
    CHECK_FALSE(progress_says(net, "trying its address"));
}

namespace {

// Rekeys we started after the (first) PathChanged in the log, and whether there was one.
std::size_t our_rekeys_after_move(const Network& net) {
    std::size_t count = 0;
    bool after = false;
    for (const auto& a : net.log) {
        if (std::holds_alternative<core::PathChanged>(a)) after = true;
        if (const auto* install = std::get_if<core::InstallChildSa>(&a); after && install && install->rekey && install->by_us)
            ++count;
    }
    return count;
}

}  // namespace

TEST_CASE("a move to another gateway address rekeys the CHILD SA at once, on the new address") {
    // strongSwan with kernel-libipsec keeps a CHILD SA on the address it was made for until it is rekeyed.
    Network net;
    net.connect();
    const core::Endpoint other = ep("192.0.2.2", 4500);
    net.alive = [](const core::Path& p) { return p.remote != gateway; };
    net.now += 5s;
    net.run(net.session.rekey_child(first_spi_in(net), net.now));
    while (net.all<core::PathChanged>().empty() && net.fire_timer()) {
    }
    REQUIRE(net.all<core::PathChanged>().size() == 1);
    CHECK(net.all<core::PathChanged>()[0].new_path.remote == other);
    CHECK(our_rekeys_after_move(net) == 1);
    CHECK(progress_says(net, "the gateway's address changed: rekeying the CHILD SA"));
    CHECK(net.sent.back().path.remote == other);  // the rekey (and the Delete of the old pair) went there
    CHECK(net.session.info().state == "connected");
    CHECK(net.all<core::Closed>().empty());
}

TEST_CASE("a move of our own address only (same gateway address) starts no rekey") {
    Network net;
    net.connect();
    net.move_to(cellular);
    REQUIRE(net.all<core::PathChanged>().size() == 1);
    CHECK(our_rekeys_after_move(net) == 0);
    CHECK_FALSE(progress_says(net, "rekeying the CHILD SA"));
}

TEST_CASE("a move to the gateway's address of the other family (IPv4 → IPv6): update, then a rekey there") {
    Network net;  // the gateway lists 2001:db8::1 (ADDITIONAL_IP6_ADDRESS)
    net.connect();
    const core::Path v6{ep("2001:db8:5::10", 40005), ep("2001:db8::1", 4500)};
    net.move_to(std::nullopt);  // the IPv4 uplink is gone
    CHECK(net.session.info().state == "roaming");
    net.now += 2s;
    net.move_to(v6);  // the driver found an IPv6 path to the gateway's other-family address
    REQUIRE(net.all<core::PathChanged>().size() == 1);
    const auto moved = net.all<core::PathChanged>()[0];
    CHECK(moved.old_path == wifi);
    CHECK(moved.new_path == v6);
    CHECK(net.responder.updates_seen == 1);
    REQUIRE(net.responder.updated_source.has_value());
    CHECK(*net.responder.updated_source == v6.local);  // the gateway took the new addresses from the IP header
    CHECK(net.session.info().path == v6);
    CHECK(our_rekeys_after_move(net) == 1);
    CHECK(net.sent.back().path == v6);
    CHECK(net.session.info().state == "connected");
}
