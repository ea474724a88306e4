// Reauthentication after a MOBIKE move of ours (issue 5, roaming): the new IKE_AUTH carries INITIAL_CONTACT
// (RFC 7296 §2.4) — only then — so that a gateway whose pool ties a lease to the client's address and port
// (strongSwan's mem_pool) drops the old IKE SA first and gives the virtual IP back (core/session_reauth.cpp).
// A gateway that honours it drops the old IKE SA silently: our Delete of it then goes unanswered, and the
// old pair must still go once that Delete gives up, with the tunnel up on the new IKE SA.
#include "exchange_driver.hpp"
#include "test_responder.hpp"

#include "core/proposal.hpp"
#include "core/session.hpp"

#include <doctest/doctest.h>

#include <map>
#include <memory>

using namespace ikevpn;

namespace {

core::Endpoint ep(const char* address, std::uint16_t port) { return {*IpAddress::parse(address), port}; }

test::ResponderOptions gateway() {
    test::ResponderOptions o;
    o.mobike = true;
    o.auth_lifetime = 100;
    return o;
}

// The first IKE SA is answered by `first`; each new IKE SA (a fresh IKE_SA_INIT) by a fresh responder.
// With `honour_initial_contact`, a responder that saw INITIAL_CONTACT makes every other one go silent, as
// a gateway that dropped those IKE SAs.
struct Net {
    test::CountingRandom random{5};
    core::IkeSession session;
    core::TimePoint now{};
    std::optional<core::TimePoint> timer;
    core::Path socket;
    test::TestResponder first{gateway()};
    std::vector<std::unique_ptr<test::TestResponder>> extra;
    std::map<msg::Spi8, test::TestResponder*> by_spi;
    std::vector<test::TestResponder*> silent;
    bool honour_initial_contact = false;
    std::vector<std::string> progress;

    Net(core::SessionConfig c, core::Path start) : session(std::move(c), random), socket(start) {}

    test::TestResponder* responder_for(const msg::Header& h) {
        if (auto it = by_spi.find(h.spi_i); it != by_spi.end()) return it->second;
        test::TestResponder* gw = &first;
        if (!by_spi.empty()) {
            extra.push_back(std::make_unique<test::TestResponder>(gateway()));
            extra.back()->esp_spi = 0xc0ffee01 + 0x100 * std::uint32_t(extra.size());
            gw = extra.back().get();
        }
        return by_spi[h.spi_i] = gw;
    }
    void run(core::Actions actions) {
        std::vector<Bytes> replies;
        for (auto& a : actions) {
            if (auto* send = std::get_if<core::SendDatagram>(&a)) {
                if (send->path) socket = *send->path;
                const auto h = msg::decode_header(send->message).value();
                if (h.is_response()) continue;
                test::TestResponder* gw = responder_for(h);
                if (std::find(silent.begin(), silent.end(), gw) != silent.end()) continue;
                gw->seen_path = socket;
                Bytes reply = gw->handle(send->message);
                if (honour_initial_contact && h.exchange == msg::ExchangeType::ike_auth &&
                    msg::find_notify(gw->last_inner, msg::NotifyType::initial_contact))
                    for (auto& [spi, other] : by_spi)
                        if (other != gw) silent.push_back(other);
                if (!reply.empty()) replies.push_back(std::move(reply));
            } else if (auto* arm = std::get_if<core::ArmTimer>(&a)) {
                timer = arm->at;
            } else if (std::holds_alternative<core::CancelTimer>(a)) {
                timer.reset();
            } else if (auto* p = std::get_if<core::Progress>(&a)) {
                progress.push_back(p->line);
            }
            log.push_back(std::move(a));
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
    void connect() {
        run(session.on_path(socket, now));
        run(session.start(now));
        REQUIRE(session.info().state == "connected");
    }
    void move_to(core::Path path) {
        const unsigned before = first.updates_seen;
        socket = path;
        run(session.on_path(socket, now));
        REQUIRE(first.updates_seen == before + 1);
    }
    // Timers until the n-th new IKE SA is up (its IKE_AUTH answered).
    void reauthenticate(std::size_t n) {
        for (int i = 0; i < 20 && (extra.size() < n || !extra[n - 1]->auth_seen_ok); ++i)
            if (!fire_timer()) break;
        REQUIRE(extra.size() == n);
        REQUIRE(extra[n - 1]->auth_seen_ok);
    }
    bool initial_contact_in(std::size_t n) const {
        return msg::find_notify(extra.at(n - 1)->last_inner, msg::NotifyType::initial_contact) != nullptr;
    }
    bool said(const std::string& text) const {
        for (const auto& line : progress)
            if (line.find(text) != std::string::npos) return true;
        return false;
    }
    std::vector<core::Action> log;
    template <class T> std::vector<T> all() const {
        std::vector<T> out;
        for (const auto& a : log)
            if (auto* t = std::get_if<T>(&a)) out.push_back(*t);
        return out;
    }
};

core::SessionConfig config() {
    auto c = test::psk_session_config();
    c.mobike = true;
    return c;
}

const core::Path wifi{ep("192.0.2.10", 40001), ep("192.0.2.1", 4500)};
const core::Path cellular{ep("203.0.113.140", 51000), ep("192.0.2.1", 4500)};

}  // namespace

TEST_CASE("no move: the reauthentication's IKE_AUTH carries no INITIAL_CONTACT") {
    Net net(config(), wifi);
    net.connect();
    net.reauthenticate(1);
    CHECK_FALSE(net.initial_contact_in(1));
    CHECK_FALSE(net.said("INITIAL_CONTACT"));
}

TEST_CASE("after a move: INITIAL_CONTACT inside SK, the CP still asks for our virtual IP") {
    Net net(config(), wifi);
    net.connect();
    net.move_to(cellular);
    net.reauthenticate(1);
    CHECK(net.initial_contact_in(1));  // last_inner: the decrypted content of the SK payload
    const auto* cp = msg::find<msg::CpPayload>(net.extra[0]->last_inner, msg::PayloadType::cp);
    REQUIRE(cp);
    bool asked_same = false;
    for (const auto& a : cp->attributes)
        asked_same |= a.type == std::uint16_t(msg::CfgAttr::internal_ip4_address) && a.value == Bytes{203, 0, 113, 7};
    CHECK(asked_same);
    CHECK(net.said("moved since the gateway assigned our virtual IP: INITIAL_CONTACT"));
    const auto reauths = net.all<core::Reauthenticated>();
    REQUIRE(reauths.size() == 1);
    CHECK_FALSE(reauths[0].virtual_ip_changed);
}

TEST_CASE("a move away and back again is no move: no INITIAL_CONTACT") {
    Net net(config(), wifi);
    net.connect();
    net.move_to(cellular);
    net.move_to(wifi);
    net.reauthenticate(1);
    CHECK_FALSE(net.initial_contact_in(1));
}

TEST_CASE("rekey.reauth_initial_contact false: no INITIAL_CONTACT after a move, and the log says why") {
    auto c = config();
    c.reauth_initial_contact = false;
    Net net(c, wifi);
    net.connect();
    net.move_to(cellular);
    net.reauthenticate(1);
    CHECK_FALSE(net.initial_contact_in(1));
    CHECK(net.said("rekey.reauth_initial_contact is false"));
}

TEST_CASE("without a virtual IP there is no lease to keep: no INITIAL_CONTACT after a move") {
    auto c = config();
    c.request_virtual_ip = false;
    Net net(c, wifi);
    net.connect();
    net.move_to(cellular);
    net.reauthenticate(1);
    CHECK_FALSE(net.initial_contact_in(1));
}

TEST_CASE("the gateway drops the old IKE SA on INITIAL_CONTACT: our unanswered Delete still retires the old pair") {
    Net net(config(), wifi);
    net.honour_initial_contact = true;
    net.connect();
    const std::uint32_t old_in = net.all<core::InstallChildSa>().back().child.spi_in;
    net.move_to(cellular);
    net.reauthenticate(1);
    REQUIRE(net.initial_contact_in(1));
    CHECK(net.session.info().state == "connected");
    // The Delete of the old IKE SA goes unanswered; after its retransmissions the old pairs go.
    for (int i = 0; i < 10; ++i) {
        bool removed = false;
        for (const auto& r : net.all<core::RemoveChildSa>()) removed |= r.spi_in == old_in;
        if (removed) break;
        if (!net.fire_timer()) break;
    }
    bool removed = false;
    for (const auto& r : net.all<core::RemoveChildSa>()) removed |= r.spi_in == old_in;
    CHECK(removed);
    CHECK(net.session.info().state == "connected");
    CHECK(net.session.info().spi_i != "");
    CHECK(net.all<core::Closed>().empty());
}

TEST_CASE("the next reauthentication on the same path after one with INITIAL_CONTACT needs none") {
    Net net(config(), wifi);
    net.honour_initial_contact = true;
    net.connect();
    net.move_to(cellular);
    net.reauthenticate(1);
    REQUIRE(net.initial_contact_in(1));
    net.reauthenticate(2);
    CHECK_FALSE(net.initial_contact_in(2));
}
