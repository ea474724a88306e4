// In-memory tests of the rekeys the client starts itself (RFC 7296 §1.3.2, §1.3.3, §2.8, §2.8.1, §2.18):
// core::IkeSession against TestResponder with a fake clock. Lifetimes arm the session's one timer; the
// harness fires it, can hold requests back (to interleave the gateway's own requests: collisions) and
// lose responses (retransmission).
#include "exchange_driver.hpp"
#include "test_responder.hpp"

#include "core/proposal.hpp"
#include "core/session.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>

using namespace ikevpn;
using namespace std::chrono_literals;

namespace {

core::SessionConfig make_config(const std::string& esp = "aes256gcm16") {
    core::SessionConfig c;
    c.local_id = "client@example.com";
    c.remote_id = "gw.example.com";
    const std::string psk = "correct horse battery staple";
    c.psk.assign(psk.begin(), psk.end());
    c.ike_proposals = {core::parse_ike_proposal("aes256gcm16-prfsha384-x25519-ecp256")};
    c.esp_proposals = {core::parse_esp_proposal(esp)};
    c.remote_networks = {*IpPrefix::parse("198.51.100.0/24")};
    c.gateway = *IpAddress::parse("192.0.2.1");
    return c;
}

bool is_response(const Bytes& message) {
    auto h = msg::decode_header(message);
    return h && h.value().is_response();
}
msg::ExchangeType exchange_of(const Bytes& message) { return msg::decode_header(message).value().exchange; }

// Requests and our answers to the gateway's requests are kept apart; `hold` keeps requests back until
// release(), `lose_reply` loses gateway answers.
struct Harness : test::ExchangeDriver {
    explicit Harness(core::SessionConfig config, test::ResponderOptions options = {})
        : ExchangeDriver(std::move(config), std::move(options)) {
        on_send = [this](const core::SendDatagram& send) -> std::optional<Bytes> {
            if (is_response(send.message)) {
                answers.push_back(send.message);
                return std::nullopt;
            }
            requests.push_back(send.message);
            if (hold(send.message)) {
                held.push_back(send.message);
                return std::nullopt;
            }
            auto reply = answer(send.message);
            if (reply && lose_reply(*reply)) return std::nullopt;
            return reply;
        };
    }
    std::vector<Bytes> requests;          // every request we sent (incl. retransmissions)
    std::vector<Bytes> answers;           // our responses to the gateway's requests
    std::vector<Bytes> held;              // requests held back by `hold`
    std::function<bool(const Bytes&)> hold = [](const Bytes&) { return false; };
    std::function<bool(const Bytes&)> lose_reply = [](const Bytes&) { return false; };

    // Hands the held requests to the responder and its answers to the session.
    void release() {
        auto pending = std::move(held);
        held.clear();
        for (const auto& request : pending) {
            Bytes reply = responder.handle(request);
            if (!reply.empty()) run(session.on_datagram(reply, now));
        }
    }
    core::ChildSaKeys connect() {
        run(session.start(now));
        REQUIRE(session.info().state == "connected");
        return all<core::InstallChildSa>().front().child;
    }
    std::size_t index_of_install(std::uint32_t spi_in) const {
        for (std::size_t i = 0; i < log.size(); ++i)
            if (auto* x = std::get_if<core::InstallChildSa>(&log[i]); x && x->child.spi_in == spi_in) return i;
        return log.size();
    }
    std::size_t index_of_remove(std::uint32_t spi_in) const {
        for (std::size_t i = 0; i < log.size(); ++i)
            if (auto* x = std::get_if<core::RemoveChildSa>(&log[i]); x && x->spi_in == spi_in) return i;
        return log.size();
    }
    bool closed() const { return !all<core::Closed>().empty(); }
};

core::SessionConfig with_lifetimes(core::SessionConfig c, core::Duration child, core::Duration ike = {},
                                   core::Duration jitter = {}) {
    c.rekey.child_lifetime = child;
    c.rekey.ike_lifetime = ike;
    c.rekey.jitter = jitter;
    return c;
}

Bytes spi_bytes(std::uint32_t spi) {
    return {std::uint8_t(spi >> 24), std::uint8_t(spi >> 16), std::uint8_t(spi >> 8), std::uint8_t(spi)};
}

}  // namespace

TEST_CASE("a lifetime-triggered CHILD SA rekey, without and with PFS: new pair first, then the old one is deleted") {
    for (const std::string esp : {"aes256gcm16", "aes256gcm16-x25519"}) {
        CAPTURE(esp);
        Harness h(with_lifetimes(make_config(esp), 60s));
        const core::ChildSaKeys first = h.connect();
        const auto established = h.now;
        REQUIRE(h.timer);
        CHECK(*h.timer == established + 60s);
        REQUIRE(h.session.info().child_rekeys.size() == 1);
        CHECK(h.session.info().child_rekeys[0].spi_in == first.spi_in);
        // IKE_AUTH's CHILD SA never offers a DH group (RFC 7296 §1.2), even with PFS configured.
        CHECK(h.responder.child_rekeys.empty());

        REQUIRE(h.fire_timer());
        REQUIRE(h.responder.child_rekeys.size() == 1);
        const auto& answered = h.responder.child_rekeys[0];
        CHECK(answered.rekeyed_spi == first.spi_in);  // REKEY_SA: the SPI we (its initiator) receive with
        CHECK(answered.pfs == (esp != "aes256gcm16"));
        const auto installs = h.all<core::InstallChildSa>();
        REQUIRE(installs.size() == 2);
        const auto& fresh = installs[1];
        CHECK(fresh.rekey);
        CHECK(fresh.by_us);
        CHECK(fresh.child.spi_in == answered.initiator_spi);
        CHECK(fresh.child.spi_out == answered.responder_spi);
        // We initiated this exchange: our outbound keys come first in KEYMAT (RFC 7296 §2.17).
        REQUIRE(answered.keymat.size() == 72);
        CHECK(std::equal(fresh.child.key_out.begin(), fresh.child.key_out.end(), answered.keymat.begin()));
        CHECK(std::equal(fresh.child.key_in.begin(), fresh.child.key_in.end(), answered.keymat.begin() + 36));
        CHECK(fresh.child.remote_ts.front().start_address == Bytes{198, 51, 100, 0});
        // Make-before-break: the old pair is deleted at the gateway (by our inbound SPI), then removed here.
        CHECK(h.responder.deleted_esp_spis == std::vector<std::uint32_t>{first.spi_in});
        CHECK(h.index_of_install(fresh.child.spi_in) < h.index_of_remove(first.spi_in));
        CHECK(h.index_of_remove(first.spi_in) < h.log.size());
        CHECK(h.session.info().state == "connected");
        // The new pair gets its own lifetime.
        REQUIRE(h.timer);
        CHECK(*h.timer == h.now + 60s);
        REQUIRE(h.session.info().child_rekeys.size() == 1);
        CHECK(h.session.info().child_rekeys[0].spi_in == fresh.child.spi_in);
    }
}

TEST_CASE("jitter makes the rekey come up to that much earlier, never later") {
    for (std::uint8_t seed = 1; seed < 40; seed += 7) {
        Harness h(with_lifetimes(make_config(), 600s, 3600s, 60s));
        h.random = test::CountingRandom(seed);
        h.connect();
        REQUIRE(h.session.info().rekey_at);
        REQUIRE(h.session.info().child_rekeys.size() == 1);
        const auto child_at = h.session.info().child_rekeys[0].at - h.now;
        const auto ike_at = *h.session.info().rekey_at - h.now;
        CHECK(child_at >= 540s);
        CHECK(child_at <= 600s);
        CHECK(ike_at >= 3540s);
        CHECK(ike_at <= 3600s);
        CHECK(*h.timer == h.session.info().child_rekeys[0].at);  // the earliest deadline is armed
    }
}

TEST_CASE("an IKE SA rekey we start: new SPIs and keys, CHILD SAs move over, the old IKE SA is deleted") {
    Harness h(with_lifetimes(make_config(), {}, 300s));
    const core::ChildSaKeys first = h.connect();
    const std::string old_spi_i = h.session.info().spi_i;
    REQUIRE(h.timer);
    CHECK(*h.timer == h.now + 300s);
    REQUIRE(h.fire_timer());
    CHECK(h.responder.ike_rekeys == 1);
    const auto rekeyed = h.all<core::IkeRekeyed>();
    REQUIRE(rekeyed.size() == 1);
    CHECK(rekeyed[0].by_us);
    CHECK(rekeyed[0].spi_i != old_spi_i);
    CHECK(h.session.info().spi_i == rekeyed[0].spi_i);
    CHECK(h.session.info().spi_r == "7272727272727272");
    CHECK(h.responder.old_ike_sa_deleted);
    CHECK(h.session.info().state == "connected");
    CHECK(h.all<core::RemoveChildSa>().empty());  // the CHILD SA lives on under the new IKE SA
    REQUIRE(h.timer);
    CHECK(*h.timer == h.now + 300s);

    // We initiated the new IKE SA: our requests carry the Initiator flag and message IDs restart at 0.
    h.run(h.session.rekey_child(first.spi_in, h.now));
    const Bytes& child_request = h.requests.back();
    CHECK(msg::decode_header(child_request).value().is_initiator());
    // The old pair's Delete is message 1 on the new IKE SA, after the rekey (message 0).
    CHECK(msg::decode_header(child_request).value().message_id == 1);
    REQUIRE(h.responder.child_rekeys.size() == 1);
    // KEYMAT from the new SK_d matches on both sides: the new SKEYSEED was derived alike.
    const auto fresh = h.all<core::InstallChildSa>().back();
    CHECK(std::equal(fresh.child.key_out.begin(), fresh.child.key_out.end(), h.responder.child_rekeys[0].keymat.begin()));

    // A liveness check by the gateway on the new IKE SA is answered.
    const auto answers_before = h.answers.size();
    h.run(h.session.on_datagram(h.responder.make_request(msg::ExchangeType::informational, {}), h.now));
    REQUIRE(h.answers.size() == answers_before + 1);
    CHECK(h.responder.open_response(h.answers.back()));

    h.run(h.session.close(h.now));
    REQUIRE(h.closed());
    CHECK(h.all<core::Closed>().front().code == core::CloseCode::requested);
}

TEST_CASE("the data plane's soft limit: rekey_child() rekeys the current pair once, others are ignored") {
    Harness h(make_config());
    const core::ChildSaKeys first = h.connect();
    CHECK_FALSE(h.timer);  // no lifetimes configured: nothing scheduled
    h.run(h.session.rekey_child(0x12345678, h.now));  // not a pair of ours
    CHECK(h.responder.create_child_requests == 0);
    h.hold = [](const Bytes& m) { return exchange_of(m) == msg::ExchangeType::create_child_sa; };
    h.run(h.session.rekey_child(first.spi_in, h.now));
    h.run(h.session.rekey_child(first.spi_in, h.now));  // the poller asks again while it is in flight
    CHECK(h.held.size() == 1);
    h.hold = [](const Bytes&) { return false; };
    h.release();
    CHECK(h.responder.create_child_requests == 1);
    CHECK(h.all<core::InstallChildSa>().size() == 2);
    CHECK(h.responder.deleted_esp_spis == std::vector<std::uint32_t>{first.spi_in});
    h.run(h.session.rekey_child(first.spi_in, h.now));  // the replaced pair: nothing to do
    CHECK(h.responder.create_child_requests == 1);
}

TEST_CASE("TEMPORARY_FAILURE: the rekey is tried again later; other refusals keep the tunnel") {
    test::ResponderOptions options;
    options.rekey_errors = 1;
    Harness h(with_lifetimes(make_config(), 60s), options);
    const core::ChildSaKeys first = h.connect();
    REQUIRE(h.fire_timer());
    CHECK(h.responder.create_child_requests == 1);
    CHECK(h.all<core::InstallChildSa>().size() == 1);
    CHECK(h.session.info().state == "connected");
    REQUIRE(h.timer);
    CHECK(*h.timer >= h.now + 10s);  // RekeyPolicy::retry plus up to as much again
    CHECK(*h.timer <= h.now + 20s);
    REQUIRE(h.fire_timer());
    CHECK(h.responder.create_child_requests == 2);
    CHECK(h.all<core::InstallChildSa>().size() == 2);
    CHECK(h.responder.deleted_esp_spis == std::vector<std::uint32_t>{first.spi_in});

    for (auto error : {msg::NotifyType::no_proposal_chosen, msg::NotifyType::child_sa_not_found}) {
        CAPTURE(int(error));
        test::ResponderOptions refusing;
        refusing.rekey_errors = 1;
        refusing.rekey_error = error;
        Harness r(make_config(), refusing);
        const core::ChildSaKeys pair = r.connect();
        r.run(r.session.rekey_child(pair.spi_in, r.now));
        CHECK(r.responder.create_child_requests == 1);
        CHECK(r.session.info().state == "connected");
        CHECK_FALSE(r.closed());
        CHECK(r.all<core::RemoveChildSa>().empty());
        const auto progress = r.all<core::Progress>();
        const bool hinted = std::any_of(progress.begin(), progress.end(), [](const core::Progress& p) {
            return p.line.find("keeping the current CHILD SA") != std::string::npos;
        });
        CHECK(hinted);
        if (error == msg::NotifyType::no_proposal_chosen) {
            // No lifetime configured, yet the refused rekey is tried again after a longer pause.
            REQUIRE(r.timer);
            CHECK(*r.timer >= r.now + 100s);
        } else {
            CHECK_FALSE(r.timer);  // CHILD_SA_NOT_FOUND: nothing left to rekey
        }
    }
}

TEST_CASE("a lost CREATE_CHILD_SA response is recovered by retransmission, answered once") {
    Harness h(with_lifetimes(make_config(), 60s));
    const core::ChildSaKeys first = h.connect();
    bool lost = false;
    h.lose_reply = [&](const Bytes& m) {
        if (lost || exchange_of(m) != msg::ExchangeType::create_child_sa) return false;
        return lost = true;
    };
    REQUIRE(h.fire_timer());
    CHECK(lost);
    CHECK(h.all<core::InstallChildSa>().size() == 1);
    REQUIRE(h.timer);
    CHECK(*h.timer == h.now + 1s);  // the retransmission comes before the next lifetime
    const auto sent = h.requests.size();
    REQUIRE(h.fire_timer());
    CHECK(h.requests.size() >= sent + 1);
    CHECK(h.requests[sent] == h.requests[sent - 1]);  // the very same request again
    CHECK(h.responder.create_child_requests == 1);    // the gateway answered from its cache
    CHECK(h.all<core::InstallChildSa>().size() == 2);
    CHECK(h.responder.deleted_esp_spis == std::vector<std::uint32_t>{first.spi_in});
}

// RFC 7296 §2.8.1: both ends rekey the same CHILD SA at once. "The SA created with the lowest of the four
// nonces used in the two exchanges SHOULD be closed by the endpoint that created it."
TEST_CASE("CHILD SA rekey collision: the pair created with the lowest nonce is deleted by its creator") {
    SUBCASE("our exchange has the lowest nonce: we delete our new pair, the gateway deletes the old one") {
        test::ResponderOptions options;
        options.answer_nonce = 0x00;  // Nr of our exchange: the lowest possible
        Harness h(make_config(), options);
        const core::ChildSaKeys first = h.connect();
        h.hold = [](const Bytes& m) { return exchange_of(m) == msg::ExchangeType::create_child_sa; };
        h.run(h.session.rekey_child(first.spi_in, h.now));
        REQUIRE(h.held.size() == 1);
        // The gateway's rekey of the same pair crosses ours; we answer it as usual.
        h.run(h.session.on_datagram(h.responder.make_child_rekey_request(first.spi_out, std::nullopt), h.now));
        REQUIRE(h.answers.size() == 1);
        auto answer = h.responder.open_response(h.answers[0]);
        REQUIRE(answer);
        CHECK(msg::find<msg::SaPayload>(*answer, msg::PayloadType::sa));
        h.hold = [](const Bytes&) { return false; };
        h.release();
        const auto installs = h.all<core::InstallChildSa>();
        REQUIRE(installs.size() == 3);  // first, the gateway's, ours
        const std::uint32_t theirs = installs[1].child.spi_in, ours = installs[2].child.spi_in;
        CHECK_FALSE(installs[1].by_us);
        CHECK(installs[2].by_us);
        CHECK(h.responder.deleted_esp_spis == std::vector<std::uint32_t>{ours});
        CHECK(h.index_of_remove(ours) < h.log.size());
        CHECK(h.index_of_remove(first.spi_in) == h.log.size());  // the gateway's job
        CHECK(h.session.info().state == "connected");
        (void)theirs;
    }
    SUBCASE("the gateway's exchange has the lowest nonce: we delete the old pair and keep ours") {
        test::ResponderOptions options;
        options.own_rekey_nonce = 0x00;  // Ni of the gateway's exchange: the lowest possible
        options.answer_nonce = 0xff;
        Harness h(make_config(), options);
        const core::ChildSaKeys first = h.connect();
        h.hold = [](const Bytes& m) { return exchange_of(m) == msg::ExchangeType::create_child_sa; };
        h.run(h.session.rekey_child(first.spi_in, h.now));
        h.run(h.session.on_datagram(h.responder.make_child_rekey_request(first.spi_out, std::nullopt), h.now));
        h.hold = [](const Bytes&) { return false; };
        h.release();
        const auto installs = h.all<core::InstallChildSa>();
        REQUIRE(installs.size() == 3);
        const std::uint32_t theirs = installs[1].child.spi_in, ours = installs[2].child.spi_in;
        CHECK(h.responder.deleted_esp_spis == std::vector<std::uint32_t>{first.spi_in});
        // The gateway deletes its redundant pair (by the SPI it receives with); we answer and keep ours.
        msg::DeletePayload del{msg::ProtocolId::esp, 4, {spi_bytes(installs[1].child.spi_out)}};
        h.run(h.session.on_datagram(h.responder.make_request(msg::ExchangeType::informational, {{msg::PayloadType::del, false, del}}), h.now));
        CHECK(h.index_of_remove(theirs) < h.log.size());
        CHECK(h.index_of_remove(ours) == h.log.size());
        CHECK(h.session.info().state == "connected");
        CHECK_FALSE(h.closed());
    }
}

TEST_CASE("the gateway deletes the pair we are rekeying: its replacement goes too, then the tunnel") {
    Harness h(make_config());
    const core::ChildSaKeys first = h.connect();
    h.hold = [](const Bytes& m) { return exchange_of(m) == msg::ExchangeType::create_child_sa; };
    h.run(h.session.rekey_child(first.spi_in, h.now));
    msg::DeletePayload del{msg::ProtocolId::esp, 4, {spi_bytes(first.spi_out)}};
    h.run(h.session.on_datagram(h.responder.make_request(msg::ExchangeType::informational, {{msg::PayloadType::del, false, del}}), h.now));
    CHECK(h.index_of_remove(first.spi_in) < h.log.size());
    CHECK_FALSE(h.closed());  // our rekey is still in flight (window size 1)
    h.hold = [](const Bytes&) { return false; };
    h.release();
    REQUIRE(h.responder.child_rekeys.size() == 1);
    const std::uint32_t replacement = h.responder.child_rekeys[0].initiator_spi;
    // Installed receive-only (the gateway may send on it until our Delete arrives), never for sending.
    REQUIRE(h.index_of_install(replacement) < h.log.size());
    CHECK(std::get<core::InstallChildSa>(h.log[h.index_of_install(replacement)]).redundant);
    CHECK(h.responder.deleted_esp_spis == std::vector<std::uint32_t>{replacement});
    REQUIRE(h.closed());
    CHECK(h.all<core::Closed>().front().code == core::CloseCode::gateway_deleted);
}

TEST_CASE("while a request of ours is outstanding the gateway's IKE SA rekey gets TEMPORARY_FAILURE") {
    Harness h(make_config());
    const core::ChildSaKeys first = h.connect();
    h.hold = [](const Bytes& m) { return exchange_of(m) == msg::ExchangeType::create_child_sa; };
    h.run(h.session.rekey_child(first.spi_in, h.now));
    const std::string spi_i = h.session.info().spi_i;
    h.run(h.session.on_datagram(h.responder.make_ike_rekey_request(31), h.now));
    REQUIRE(h.answers.size() == 1);
    auto answer = h.responder.open_response(h.answers[0]);
    REQUIRE(answer);
    CHECK(msg::find_notify(*answer, msg::NotifyType::temporary_failure));
    CHECK(h.session.info().spi_i == spi_i);
    CHECK(h.all<core::IkeRekeyed>().empty());
    h.hold = [](const Bytes&) { return false; };
    h.release();
    CHECK(h.all<core::InstallChildSa>().size() == 2);
    CHECK(h.session.info().state == "connected");
}

TEST_CASE("the gateway's rekey of a pair we are deleting gets TEMPORARY_FAILURE (RFC 7296 §2.25.1)") {
    Harness h(make_config());
    const core::ChildSaKeys first = h.connect();
    // Our rekey completes; the Delete of the old pair is held back, so the old pair is being deleted.
    h.hold = [](const Bytes& m) { return exchange_of(m) == msg::ExchangeType::informational; };
    h.run(h.session.rekey_child(first.spi_in, h.now));
    REQUIRE(h.held.size() == 1);
    h.run(h.session.on_datagram(h.responder.make_child_rekey_request(first.spi_out, std::nullopt), h.now));
    REQUIRE(h.answers.size() == 1);
    auto answer = h.responder.open_response(h.answers[0]);
    REQUIRE(answer);
    CHECK(msg::find_notify(*answer, msg::NotifyType::temporary_failure));
    h.hold = [](const Bytes&) { return false; };
    h.release();
    CHECK(h.index_of_remove(first.spi_in) < h.log.size());
    CHECK(h.session.info().state == "connected");
}

// The gateway's IKE SA rekey crossing ours (RFC 7296 §2.8.2): tests/exchange/rekey_collision_test.cpp.

TEST_CASE("a CHILD and an IKE SA rekey due together run one after the other (window size 1)") {
    Harness h(with_lifetimes(make_config(), 60s, 60s));
    h.connect();
    h.hold = [](const Bytes& m) { return exchange_of(m) == msg::ExchangeType::create_child_sa; };
    REQUIRE(h.fire_timer());
    CHECK(h.held.size() == 1);  // the second waits for the first's answer
    CHECK(h.responder.create_child_requests == 0);
    h.release();                // first answered: the CHILD rekey; its Delete, then the IKE rekey follow
    CHECK(h.held.size() == 1);
    CHECK(h.responder.child_rekeys.size() == 1);
    CHECK(h.responder.deleted_esp_spis.size() == 1);
    h.release();
    CHECK(h.held.empty());
    CHECK(h.responder.ike_rekeys == 1);
    CHECK(h.responder.old_ike_sa_deleted);
    CHECK(h.all<core::IkeRekeyed>().size() == 1);
    CHECK(h.session.info().state == "connected");
    // Both lifetimes start again.
    REQUIRE(h.session.info().rekey_at);
    REQUIRE(h.session.info().child_rekeys.size() == 1);
}
