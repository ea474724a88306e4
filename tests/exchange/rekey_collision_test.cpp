// Simultaneous rekeys against the scripted gateway with a fake clock (RFC 7296 §2.8.1 CHILD SAs, §2.8.2 the
// IKE SA): both ends rekey the same SA at once, both exchanges complete, and "the SA created with the lowest
// of the four nonces used in the two exchanges SHOULD be closed by the endpoint that created it"; the
// initiator of the surviving SA deletes the old one. Also the Deletes that overtake a rekey. After each
// case exactly one CHILD SA pair (and one IKE SA) is left, its keys agree with the gateway's, and message
// IDs stay in step (a further exchange succeeds).
//
// The gateway's nonces are fixed by ResponderOptions (answer_nonce: Nr of our exchanges; own_rekey_nonce:
// Ni of its CHILD SA rekeys; 0x55…: Ni of its IKE SA rekeys); ours come from the counting random source.
#include "exchange_driver.hpp"
#include "test_responder.hpp"

#include "core/ike_delete.hpp"
#include "core/session.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <set>

using namespace ikevpn;

namespace {

bool is_response(const Bytes& message) { return msg::decode_header(message).value().is_response(); }
msg::Header header_of(const Bytes& message) { return msg::decode_header(message).value(); }
bool is_create_child(const Bytes& m) { return header_of(m).exchange == msg::ExchangeType::create_child_sa; }

// Our requests and our answers to the gateway's requests are kept apart; `hold` keeps requests back until
// release() (to let the gateway's own request cross ours).
struct Harness : test::ExchangeDriver {
    explicit Harness(test::ResponderOptions options = {}, core::SessionConfig config = test::psk_session_config())
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
            return answer(send.message);
        };
    }
    std::vector<Bytes> requests, answers, held;
    std::function<bool(const Bytes&)> hold = [](const Bytes&) { return false; };

    void release() {
        hold = [](const Bytes&) { return false; };
        auto pending = std::move(held);
        held.clear();
        for (const auto& request : pending)
            if (auto reply = answer(request)) run(session.on_datagram(*reply, now));
    }
    core::ChildSaKeys connect() {
        run(session.start(now));
        REQUIRE(session.info().state == "connected");
        return all<core::InstallChildSa>().front().child;
    }
    // A request of the gateway's, delivered; returns our answer to it.
    std::optional<Bytes> gateway_request(const Bytes& request) {
        const auto before = answers.size();
        run(session.on_datagram(request, now));
        if (answers.size() != before + 1) return std::nullopt;
        return answers.back();
    }
    Bytes esp_delete(std::uint32_t spi_out) {
        const Bytes spi{std::uint8_t(spi_out >> 24), std::uint8_t(spi_out >> 16), std::uint8_t(spi_out >> 8), std::uint8_t(spi_out)};
        msg::DeletePayload del{msg::ProtocolId::esp, 4, {spi}};
        return responder.make_request(msg::ExchangeType::informational, {{msg::PayloadType::del, false, del}});
    }
    // Inbound SPIs of the pairs in the data plane (installed, not removed), and of those that send.
    std::set<std::uint32_t> pairs(bool sending_only = false) const {
        std::set<std::uint32_t> live;
        for (const auto& a : log) {
            if (auto* i = std::get_if<core::InstallChildSa>(&a); i && !(sending_only && i->redundant)) live.insert(i->child.spi_in);
            if (auto* r = std::get_if<core::RemoveChildSa>(&a)) live.erase(r->spi_in);
        }
        return live;
    }
    const core::InstallChildSa* install_of(std::uint32_t spi_in) const {
        for (const auto& a : log)
            if (auto* i = std::get_if<core::InstallChildSa>(&a); i && i->child.spi_in == spi_in) return i;
        return nullptr;
    }
    // Message IDs of our requests, retransmissions counted once, per IKE SA (by its SPIs).
    std::vector<std::uint32_t> request_ids(const msg::Spi8& spi_i, const msg::Spi8& spi_r) const {
        std::vector<std::uint32_t> ids;
        for (const auto& r : requests) {
            const auto h = header_of(r);
            if (h.spi_i == spi_i && h.spi_r == spi_r && (ids.empty() || ids.back() != h.message_id)) ids.push_back(h.message_id);
        }
        return ids;
    }
};

bool keys_equal(const SecureBytes& key, const SecureBytes& keymat, std::size_t at) {
    return keymat.size() >= at + key.size() && std::equal(key.begin(), key.end(), keymat.begin() + std::ptrdiff_t(at));
}

// AES-256-GCM: 32 key octets and a 4-octet salt per direction, 72 octets of KEYMAT (RFC 7296 §2.17).
constexpr std::size_t key_size = 36;

}  // namespace

TEST_CASE("CHILD SA collision, the gateway's exchange has the lowest nonce: ours stays, we delete the old pair") {
    test::ResponderOptions options;
    options.own_rekey_nonce = 0x00;  // Ni of the gateway's exchange: the lowest possible
    options.answer_nonce = 0xff;
    Harness h(options);
    const core::ChildSaKeys first = h.connect();
    h.hold = is_create_child;
    h.run(h.session.rekey_child(first.spi_in, h.now));
    REQUIRE(h.held.size() == 1);
    auto answer = h.gateway_request(h.responder.make_child_rekey_request(first.spi_out, std::nullopt));
    REQUIRE(answer);
    const auto their_keymat = h.responder.rekey_keymat(*answer, 2 * key_size);
    REQUIRE(their_keymat);
    h.release();

    const auto installs = h.all<core::InstallChildSa>();
    REQUIRE(installs.size() == 3);  // first, the gateway's, ours
    const auto& theirs = installs[1];
    const auto& ours = installs[2];
    CHECK_FALSE(theirs.by_us);
    CHECK(ours.by_us);
    CHECK_FALSE(ours.redundant);
    // Keys agree with the gateway's KEYMAT: the initiator's outbound keys come first (RFC 7296 §2.17).
    REQUIRE(h.responder.child_rekeys.size() == 1);
    CHECK(keys_equal(ours.child.key_out, h.responder.child_rekeys[0].keymat, 0));
    CHECK(keys_equal(ours.child.key_in, h.responder.child_rekeys[0].keymat, key_size));
    CHECK(keys_equal(theirs.child.key_in, *their_keymat, 0));
    CHECK(keys_equal(theirs.child.key_out, *their_keymat, key_size));
    // We initiated the survivor: we delete the old pair.
    CHECK(h.responder.deleted_esp_spis == std::vector<std::uint32_t>{first.spi_in});

    // The gateway deletes its redundant pair (by the SPI it receives with); we answer with our SPI of it.
    auto deleted = h.gateway_request(h.esp_delete(theirs.child.spi_out));
    REQUIRE(deleted);
    auto inner = h.responder.open_response(*deleted);
    REQUIRE(inner);
    const auto* del = msg::find<msg::DeletePayload>(*inner, msg::PayloadType::del);
    REQUIRE(del);
    REQUIRE(del->spis.size() == 1);
    CHECK(del->spis[0] == Bytes{std::uint8_t(theirs.child.spi_in >> 24), std::uint8_t(theirs.child.spi_in >> 16),
                                std::uint8_t(theirs.child.spi_in >> 8), std::uint8_t(theirs.child.spi_in)});
    CHECK(h.pairs() == std::set<std::uint32_t>{ours.child.spi_in});
    CHECK(h.session.info().state == "connected");

    // Message IDs in step: a further rekey of the survivor is answered (IDs 0 SA_INIT, 1 AUTH, 2 rekey,
    // 3 Delete, 4 rekey, 5 Delete).
    h.run(h.session.rekey_child(ours.child.spi_in, h.now));
    REQUIRE(h.responder.child_rekeys.size() == 2);
    CHECK(h.responder.child_rekeys[1].rekeyed_spi == ours.child.spi_in);
    CHECK(h.request_ids(header_of(h.requests[0]).spi_i, header_of(h.requests.back()).spi_r) ==
          std::vector<std::uint32_t>{1, 2, 3, 4, 5});
    CHECK(h.pairs().size() == 1);
    CHECK_FALSE(h.find<core::Closed>());
}

TEST_CASE("CHILD SA collision, our exchange has the lowest nonce: we delete ours, it never sends, the gateway's stays") {
    test::ResponderOptions options;
    options.answer_nonce = 0x00;  // Nr of our exchange: the lowest possible
    Harness h(options);
    const core::ChildSaKeys first = h.connect();
    h.hold = is_create_child;
    h.run(h.session.rekey_child(first.spi_in, h.now));
    auto answer = h.gateway_request(h.responder.make_child_rekey_request(first.spi_out, std::nullopt));
    REQUIRE(answer);
    const auto their_keymat = h.responder.rekey_keymat(*answer, 2 * key_size);
    REQUIRE(their_keymat);
    h.release();

    const auto installs = h.all<core::InstallChildSa>();
    REQUIRE(installs.size() == 3);
    const auto& theirs = installs[1];
    const auto& ours = installs[2];
    // Ours receives until its Delete is through (the gateway may send on it meanwhile), but never sends.
    CHECK(ours.redundant);
    CHECK(ours.by_us);
    CHECK(h.responder.deleted_esp_spis == std::vector<std::uint32_t>{ours.child.spi_in});
    CHECK(h.pairs() == std::set<std::uint32_t>{first.spi_in, theirs.child.spi_in});  // the old one is the gateway's to delete
    CHECK(h.pairs(true) == std::set<std::uint32_t>{first.spi_in, theirs.child.spi_in});
    CHECK(keys_equal(theirs.child.key_in, *their_keymat, 0));
    CHECK(keys_equal(theirs.child.key_out, *their_keymat, key_size));

    // The gateway initiated the survivor and deletes the old pair.
    REQUIRE(h.gateway_request(h.esp_delete(first.spi_out)));
    CHECK(h.pairs() == std::set<std::uint32_t>{theirs.child.spi_in});
    CHECK(h.session.info().state == "connected");
    // The next rekey (ours, of the survivor) works with message IDs in step.
    REQUIRE(h.session.info().child_rekeys.empty());  // no lifetime configured
    h.run(h.session.rekey_child(theirs.child.spi_in, h.now));
    REQUIRE(h.responder.child_rekeys.size() == 2);
    CHECK(h.responder.child_rekeys[1].rekeyed_spi == theirs.child.spi_in);
    CHECK(h.pairs().size() == 1);
    CHECK_FALSE(h.find<core::Closed>());
}

TEST_CASE("CHILD SA collision: the gateway's Delete of the old pair overtakes the answer to our rekey") {
    // The gateway saw both exchanges complete, found ours redundant (lowest nonce) and, as initiator of the
    // survivor, deleted the old pair — before its answer to our request reached us.
    test::ResponderOptions options;
    options.answer_nonce = 0x00;
    Harness h(options);
    const core::ChildSaKeys first = h.connect();
    h.hold = is_create_child;
    h.run(h.session.rekey_child(first.spi_in, h.now));
    REQUIRE(h.gateway_request(h.responder.make_child_rekey_request(first.spi_out, std::nullopt)));
    REQUIRE(h.gateway_request(h.esp_delete(first.spi_out)));
    CHECK(h.pairs().count(first.spi_in) == 0);
    CHECK_FALSE(h.find<core::Closed>());  // the gateway's new pair carries the tunnel
    h.release();

    REQUIRE(h.responder.child_rekeys.size() == 1);
    const std::uint32_t ours = h.responder.child_rekeys[0].initiator_spi;
    REQUIRE(h.install_of(ours));
    CHECK(h.install_of(ours)->redundant);
    CHECK(h.responder.deleted_esp_spis == std::vector<std::uint32_t>{ours});
    const auto installs = h.all<core::InstallChildSa>();
    REQUIRE(installs.size() == 3);
    CHECK(h.pairs() == std::set<std::uint32_t>{installs[1].child.spi_in});
    CHECK(h.session.info().state == "connected");
    h.run(h.session.rekey_child(installs[1].child.spi_in, h.now));
    CHECK(h.responder.child_rekeys.size() == 2);
    CHECK(h.pairs().size() == 1);
}

TEST_CASE("CHILD SA collision the gateway did not notice: it refuses ours with TEMPORARY_FAILURE, its pair stands") {
    // The gateway finished its rekey before our request arrived and is deleting the old pair: "If a peer
    // receives a request to rekey a CHILD SA that it is currently trying to close, it SHOULD reply with
    // TEMPORARY_FAILURE" (RFC 7296 §2.25.1). Our attempt ends; it is not retried on the new pair.
    test::ResponderOptions options;
    options.rekey_errors = 1;
    core::SessionConfig config = test::psk_session_config();
    config.rekey.child_lifetime = std::chrono::seconds(600);
    Harness h(options, config);
    const core::ChildSaKeys first = h.connect();
    h.now += std::chrono::seconds(100);
    h.hold = is_create_child;
    h.run(h.session.rekey_child(first.spi_in, h.now));
    REQUIRE(h.gateway_request(h.responder.make_child_rekey_request(first.spi_out, std::nullopt)));
    h.release();
    CHECK(h.responder.create_child_requests == 1);
    const auto installs = h.all<core::InstallChildSa>();
    REQUIRE(installs.size() == 2);
    const std::uint32_t theirs = installs[1].child.spi_in;
    // The next rekey is the new pair's lifetime, not a retry 10–20 s later.
    REQUIRE(h.timer);
    CHECK(*h.timer == h.now + std::chrono::seconds(600));
    REQUIRE(h.session.info().child_rekeys.size() == 1);
    CHECK(h.session.info().child_rekeys[0].spi_in == theirs);
    REQUIRE(h.gateway_request(h.esp_delete(first.spi_out)));
    CHECK(h.pairs() == std::set<std::uint32_t>{theirs});
    CHECK(h.responder.deleted_esp_spis.empty());
    CHECK(h.session.info().state == "connected");
}

TEST_CASE("a gateway Delete of the only CHILD SA crossing our rekey of it: nothing leaks, the tunnel closes") {
    Harness h;
    const core::ChildSaKeys first = h.connect();
    h.hold = is_create_child;
    h.run(h.session.rekey_child(first.spi_in, h.now));
    REQUIRE(h.gateway_request(h.esp_delete(first.spi_out)));
    CHECK_FALSE(h.find<core::Closed>());  // our rekey is still in flight (window size 1)
    h.release();
    REQUIRE(h.responder.child_rekeys.size() == 1);
    const std::uint32_t replacement = h.responder.child_rekeys[0].initiator_spi;
    // RFC 7296 §2.25.1: the replacement of a deleted pair goes too; the gateway gets our Delete of it.
    CHECK(h.responder.deleted_esp_spis == std::vector<std::uint32_t>{replacement});
    CHECK(h.pairs().empty());
    REQUIRE(h.find<core::Closed>());
    CHECK(h.find<core::Closed>()->code == core::CloseCode::gateway_deleted);
}

namespace {

// Both ends rekey the IKE SA: ours is held back, the gateway's crosses it and is answered; the gateway
// completes its own rekey, then answers ours on the old IKE SA. Returns the gateway's three IKE SAs.
struct IkeCollision {
    test::TestResponder::SavedIkeSa old_sa, theirs, ours;
};
IkeCollision collide_ike(Harness& h) {
    h.hold = is_create_child;
    h.run(h.session.rekey_ike(h.now));
    REQUIRE(h.held.size() == 1);
    IkeCollision c;
    const Bytes request = h.responder.make_ike_rekey_request(31);
    c.old_sa = h.responder.save_ike_sa();  // with the gateway's request counted
    auto answer = h.gateway_request(request);
    REQUIRE(answer);
    REQUIRE(h.responder.finish_ike_rekey(*answer));
    c.theirs = h.responder.save_ike_sa();
    h.responder.restore_ike_sa(c.old_sa);
    return c;
}

std::string hex_of(const msg::Spi8& spi) { return core::hex(spi); }

}  // namespace

TEST_CASE("IKE SA collision, our exchange has the lowest nonce: we delete ours, the gateway's inherits the CHILD SA") {
    test::ResponderOptions options;
    options.answer_nonce = 0x00;
    Harness h(options);
    const core::ChildSaKeys first = h.connect();
    IkeCollision c = collide_ike(h);
    h.release();  // the gateway answers ours; we see the collision resolved against us
    c.ours = h.responder.save_ike_sa();

    // Our Delete of our redundant IKE SA: message 0 on it.
    const auto del = header_of(h.requests.back());
    CHECK(del.exchange == msg::ExchangeType::informational);
    CHECK(del.spi_r == c.ours.spi_r);
    CHECK(del.spi_i == c.ours.spi_i);
    CHECK(del.message_id == 0);
    CHECK(msg::find<msg::DeletePayload>(h.responder.last_inner, msg::PayloadType::del));
    const auto rekeyed = h.all<core::IkeRekeyed>();
    REQUIRE(rekeyed.size() == 1);
    CHECK_FALSE(rekeyed[0].by_us);
    CHECK(h.session.info().spi_i == hex_of(c.theirs.spi_i));
    CHECK(h.session.info().spi_r == hex_of(c.theirs.spi_r));

    // The gateway initiated the survivor and deletes the old IKE SA; we answer on it and stay up.
    h.responder.restore_ike_sa(c.old_sa);
    auto answered = h.gateway_request(h.responder.make_request(msg::ExchangeType::informational, core::build_ike_delete()));
    REQUIRE(answered);
    CHECK(h.responder.open_response(*answered));
    // Neither the old IKE SA nor ours answers any more: nothing is left over.
    CHECK_FALSE(h.gateway_request(h.responder.make_request(msg::ExchangeType::informational, {})));
    h.responder.restore_ike_sa(c.ours);
    CHECK_FALSE(h.gateway_request(h.responder.make_request(msg::ExchangeType::informational, {})));

    // The survivor: a liveness check of the gateway's is answered with its keys; our CHILD SA rekey on it
    // is message 0 and its KEYMAT (from the survivor's SK_d) agrees.
    h.responder.restore_ike_sa(c.theirs);
    auto alive = h.gateway_request(h.responder.make_request(msg::ExchangeType::informational, {}));
    REQUIRE(alive);
    CHECK(h.responder.open_response(*alive));
    h.run(h.session.rekey_child(first.spi_in, h.now));
    REQUIRE(h.responder.child_rekeys.size() == 1);
    CHECK(h.request_ids(c.theirs.spi_i, c.theirs.spi_r) == std::vector<std::uint32_t>{0, 1});  // rekey, Delete
    const auto fresh = h.all<core::InstallChildSa>().back();
    CHECK(keys_equal(fresh.child.key_out, h.responder.child_rekeys[0].keymat, 0));
    CHECK(h.pairs().size() == 1);
    CHECK(h.session.info().state == "connected");
    CHECK_FALSE(h.find<core::Closed>());
}

TEST_CASE("IKE SA collision, the gateway's exchange has the lowest nonce: ours stays, we delete the old IKE SA") {
    test::ResponderOptions options;
    options.answer_nonce = 0xff;
    Harness h(options);
    const core::ChildSaKeys first = h.connect();
    h.random = test::CountingRandom(0xa0);  // our Ni starts above the gateway's 0x55…
    IkeCollision c = collide_ike(h);
    h.release();
    c.ours = h.responder.save_ike_sa();

    const auto rekeyed = h.all<core::IkeRekeyed>();
    REQUIRE(rekeyed.size() == 1);
    CHECK(rekeyed[0].by_us);
    CHECK(h.session.info().spi_i == hex_of(c.ours.spi_i));
    // We initiated the survivor: our Delete of the old IKE SA went out on it (message 3) and was answered.
    CHECK(h.responder.old_ike_sa_deleted);
    CHECK(h.request_ids(c.old_sa.spi_i, c.old_sa.spi_r) == std::vector<std::uint32_t>{1, 2, 3});

    // The gateway deletes its redundant IKE SA; we answer on it.
    h.responder.restore_ike_sa(c.theirs);
    auto answered = h.gateway_request(h.responder.make_request(msg::ExchangeType::informational, core::build_ike_delete()));
    REQUIRE(answered);
    CHECK(h.responder.open_response(*answered));
    CHECK_FALSE(h.gateway_request(h.responder.make_request(msg::ExchangeType::informational, {})));
    CHECK(h.session.info().state == "connected");

    // On ours the CHILD SA lives on: its rekey is message 0 and the keys agree.
    h.responder.restore_ike_sa(c.ours);
    h.run(h.session.rekey_child(first.spi_in, h.now));
    REQUIRE(h.responder.child_rekeys.size() == 1);
    CHECK(h.request_ids(c.ours.spi_i, c.ours.spi_r) == std::vector<std::uint32_t>{0, 1});
    CHECK(header_of(h.requests[h.requests.size() - 2]).is_initiator());
    const auto fresh = h.all<core::InstallChildSa>().back();
    CHECK(keys_equal(fresh.child.key_out, h.responder.child_rekeys[0].keymat, 0));
    CHECK(keys_equal(fresh.child.key_in, h.responder.child_rekeys[0].keymat, key_size));
    CHECK(h.pairs().size() == 1);
    CHECK(h.all<core::RemoveChildSa>().size() == 1);  // only the pair our CHILD rekey replaced
    CHECK_FALSE(h.find<core::Closed>());
}

TEST_CASE("IKE SA collision: a redundant IKE SA the gateway never deletes is forgotten by our next IKE rekey") {
    test::ResponderOptions options;
    options.answer_nonce = 0xff;
    Harness h(options);
    h.connect();
    h.random = test::CountingRandom(0xa0);  // ours wins
    IkeCollision c = collide_ike(h);
    h.release();
    c.ours = h.responder.save_ike_sa();
    REQUIRE(h.all<core::IkeRekeyed>().size() == 1);
    // The gateway's redundant IKE SA is still answered (its Delete may come any time)...
    h.responder.restore_ike_sa(c.theirs);
    const auto theirs_before = h.responder.save_ike_sa();
    CHECK(h.gateway_request(h.responder.make_request(msg::ExchangeType::informational, {})));
    // ...until our next IKE SA rekey: then it is gone.
    h.responder.restore_ike_sa(c.ours);
    h.run(h.session.rekey_ike(h.now));
    REQUIRE(h.all<core::IkeRekeyed>().size() == 2);
    h.responder.restore_ike_sa(theirs_before);
    h.responder.make_request(msg::ExchangeType::informational, {});  // message 0, answered above
    CHECK_FALSE(h.gateway_request(h.responder.make_request(msg::ExchangeType::informational, {})));
    CHECK(h.session.info().state == "connected");
}

TEST_CASE("IKE SA collision the gateway did not notice: it refuses ours with TEMPORARY_FAILURE, its new IKE SA stays") {
    test::ResponderOptions options;
    options.rekey_errors = 1;  // RFC 7296 §2.8.2: the IKE SA it already rekeyed is one it is closing
    Harness h(options);
    const core::ChildSaKeys first = h.connect();
    IkeCollision c = collide_ike(h);
    h.release();
    const auto rekeyed = h.all<core::IkeRekeyed>();
    REQUIRE(rekeyed.size() == 1);
    CHECK_FALSE(rekeyed[0].by_us);
    CHECK(h.session.info().spi_i == hex_of(c.theirs.spi_i));
    CHECK_FALSE(h.timer);  // nothing of ours outstanding, no retry scheduled
    // The gateway deletes the old IKE SA, we answer on it.
    REQUIRE(h.gateway_request(h.responder.make_request(msg::ExchangeType::informational, core::build_ike_delete())));
    h.responder.restore_ike_sa(c.theirs);
    auto alive = h.gateway_request(h.responder.make_request(msg::ExchangeType::informational, {}));
    REQUIRE(alive);
    CHECK(h.responder.open_response(*alive));
    h.run(h.session.rekey_child(first.spi_in, h.now));
    CHECK(h.responder.child_rekeys.size() == 1);
    CHECK(h.request_ids(c.theirs.spi_i, c.theirs.spi_r) == std::vector<std::uint32_t>{0, 1});
    CHECK(h.pairs().size() == 1);
    CHECK_FALSE(h.find<core::Closed>());
}

TEST_CASE("IKE SA collision: the gateway's Delete of the old IKE SA overtakes its answer to our rekey") {
    // RFC 7296 §2.8.2: "If the peer that did notice the simultaneous rekey gets the delete request from the
    // other peer for the old IKE SA, it knows that the other peer did not detect the simultaneous rekey,
    // and the first peer can forget its own rekey attempt."
    Harness h;
    const core::ChildSaKeys first = h.connect();
    IkeCollision c = collide_ike(h);
    auto answered = h.gateway_request(h.responder.make_request(msg::ExchangeType::informational, core::build_ike_delete()));
    REQUIRE(answered);
    CHECK(h.responder.open_response(*answered));
    h.held.clear();  // the gateway dropped our request with the old IKE SA
    h.hold = [](const Bytes&) { return false; };
    CHECK_FALSE(h.find<core::Closed>());
    CHECK(h.session.info().spi_i == hex_of(c.theirs.spi_i));
    CHECK_FALSE(h.timer);  // our request went with the old IKE SA: no retransmission, no timeout
    h.responder.restore_ike_sa(c.theirs);
    h.run(h.session.rekey_child(first.spi_in, h.now));
    CHECK(h.responder.child_rekeys.size() == 1);
    CHECK(h.request_ids(c.theirs.spi_i, c.theirs.spi_r) == std::vector<std::uint32_t>{0, 1});
    CHECK(h.pairs().size() == 1);
    CHECK(h.session.info().state == "connected");
}

TEST_CASE("the gateway's rekey of the IKE SA we already rekeyed gets TEMPORARY_FAILURE on the old IKE SA") {
    Harness h;
    h.connect();
    const auto old_sa = h.responder.save_ike_sa();
    // Our rekey completes; the Delete of the old IKE SA is held back, so the old IKE SA is still there.
    h.hold = [](const Bytes& m) { return header_of(m).exchange == msg::ExchangeType::informational; };
    h.run(h.session.rekey_ike(h.now));
    REQUIRE(h.held.size() == 1);
    const auto ours = h.responder.save_ike_sa();
    h.responder.restore_ike_sa(old_sa);
    auto answer = h.gateway_request(h.responder.make_ike_rekey_request(31));
    REQUIRE(answer);
    auto inner = h.responder.open_response(*answer);
    REQUIRE(inner);
    CHECK(msg::find_notify(*inner, msg::NotifyType::temporary_failure));
    CHECK(h.session.info().spi_i == hex_of(ours.spi_i));
    h.responder.restore_ike_sa(ours);
    h.release();
    CHECK(h.responder.old_ike_sa_deleted);
    CHECK(h.all<core::IkeRekeyed>().size() == 1);
    CHECK(h.session.info().state == "connected");
}

TEST_CASE("IKE SA collision: our rekey never answered, the gateway's new IKE SA is kept instead of a timeout") {
    Harness h;
    const core::ChildSaKeys first = h.connect();
    IkeCollision c = collide_ike(h);
    // The gateway never answers ours: every retransmission is held back too.
    unsigned fired = 0;
    while (h.all<core::IkeRekeyed>().empty() && h.fire_timer()) ++fired;
    CHECK(fired == 5);  // the first timeout and four retransmissions (RetransmitPolicy)
    CHECK(h.held.size() == 5);
    const auto rekeyed = h.all<core::IkeRekeyed>();
    REQUIRE(rekeyed.size() == 1);
    CHECK_FALSE(rekeyed[0].by_us);
    CHECK_FALSE(h.find<core::Closed>());
    CHECK(h.session.info().spi_i == hex_of(c.theirs.spi_i));
    h.held.clear();
    h.hold = [](const Bytes&) { return false; };
    h.responder.restore_ike_sa(c.theirs);
    h.run(h.session.rekey_child(first.spi_in, h.now));
    CHECK(h.responder.child_rekeys.size() == 1);
    CHECK(h.request_ids(c.theirs.spi_i, c.theirs.spi_r) == std::vector<std::uint32_t>{0, 1});
    CHECK(h.pairs().size() == 1);
    CHECK(h.session.info().state == "connected");
}
