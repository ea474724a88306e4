// The gateway rekeys the CHILD SA and we answer (RFC 7296 §1.3.3, §2.8): the new pair is installed with its
// outbound SA deferred (core::InstallChildSa::outbound_deferred), so our traffic stays on the old pair
// until the gateway shows it has the new one; the old pair is removed only at the gateway's Delete. Our
// answer may be lost: the gateway's retransmission gets the very same answer (RFC 7296 §2.1), and nothing
// changes meanwhile. core::IkeSession against the scripted gateway with a fake clock.
#include "exchange_driver.hpp"
#include "test_responder.hpp"

#include "core/session.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace ikevpn;
using namespace std::chrono_literals;

namespace {

bool is_response(const Bytes& message) { return msg::decode_header(message).value().is_response(); }

// Our answers to the gateway's requests are collected (the "network" may lose them: the test decides).
struct Harness : test::ExchangeDriver {
    Harness() : ExchangeDriver(test::psk_session_config(), {}) {
        on_send = [this](const core::SendDatagram& send) -> std::optional<Bytes> {
            if (is_response(send.message)) {
                answers.push_back(send.message);
                return std::nullopt;
            }
            return answer(send.message);
        };
    }
    std::vector<Bytes> answers;

    core::ChildSaKeys connect() {
        run(session.start(now));
        REQUIRE(session.info().state == "connected");
        return all<core::InstallChildSa>().front().child;
    }
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
    std::size_t removes_of(std::uint32_t spi_in) const {
        const auto removes = all<core::RemoveChildSa>();
        return std::size_t(std::count_if(removes.begin(), removes.end(), [&](const auto& r) { return r.spi_in == spi_in; }));
    }
    // Lets `span` of fake time pass, firing the session's timer whenever it is due.
    void wait(core::Duration span) {
        const core::TimePoint until = now + span;
        while (timer && *timer <= until) fire_timer();
        now = until;
    }
};

// AES-256-GCM: 32 key octets and a 4-octet salt per direction (RFC 7296 §2.17).
constexpr std::size_t key_size = 36;

bool keys_equal(const SecureBytes& key, const SecureBytes& keymat, std::size_t at) {
    return keymat.size() >= at + key.size() && std::equal(key.begin(), key.end(), keymat.begin() + std::ptrdiff_t(at));
}

}  // namespace

TEST_CASE("the gateway's CHILD SA rekey: new pair inbound at once, outbound deferred; the switch is at its Delete") {
    Harness h;
    const core::ChildSaKeys first = h.connect();
    CHECK_FALSE(h.all<core::InstallChildSa>().front().outbound_deferred);  // the first pair sends at once

    auto answer = h.gateway_request(h.responder.make_child_rekey_request(first.spi_out, std::nullopt));
    REQUIRE(answer);
    const auto installs = h.all<core::InstallChildSa>();
    REQUIRE(installs.size() == 2);
    const auto& fresh = installs[1];
    CHECK(fresh.rekey);
    CHECK_FALSE(fresh.by_us);
    CHECK_FALSE(fresh.redundant);
    CHECK(fresh.outbound_deferred);
    // The keys are the gateway's: it is the exchange initiator, its outbound (our inbound) keys come first.
    const auto keymat = h.responder.rekey_keymat(*answer, 2 * key_size);
    REQUIRE(keymat);
    CHECK(keys_equal(fresh.child.key_in, *keymat, 0));
    CHECK(keys_equal(fresh.child.key_out, *keymat, key_size));

    // However long the gateway takes to delete the old pair, we never remove it (it may still carry our
    // traffic) nor delete it ourselves.
    h.wait(60s);
    CHECK(h.removes_of(first.spi_in) == 0);
    CHECK(h.responder.deleted_esp_spis.empty());

    // The gateway's Delete of the old pair, by the SPI it receives with: the old pair goes (the data path
    // switches to the new one first), and we answer with our SPI of it.
    auto deleted = h.gateway_request(h.esp_delete(first.spi_out));
    REQUIRE(deleted);
    CHECK(h.removes_of(first.spi_in) == 1);
    CHECK(h.removes_of(fresh.child.spi_in) == 0);
    auto inner = h.responder.open_response(*deleted);
    REQUIRE(inner);
    const auto* del = msg::find<msg::DeletePayload>(*inner, msg::PayloadType::del);
    REQUIRE(del);
    REQUIRE(del->spis.size() == 1);
    CHECK(del->spis[0] == Bytes{std::uint8_t(first.spi_in >> 24), std::uint8_t(first.spi_in >> 16),
                                std::uint8_t(first.spi_in >> 8), std::uint8_t(first.spi_in)});
    CHECK(h.session.info().state == "connected");

    // A rekey we start ourselves is not deferred: the gateway installed its pair before it answered.
    h.run(h.session.rekey_child(fresh.child.spi_in, h.now));
    const auto later = h.all<core::InstallChildSa>();
    REQUIRE(later.size() == 3);
    CHECK(later[2].by_us);
    CHECK_FALSE(later[2].outbound_deferred);
}

TEST_CASE("our answer to the gateway's CHILD SA rekey is lost: the retransmission gets the same answer, the old pair stays") {
    Harness h;
    const core::ChildSaKeys first = h.connect();
    const Bytes request = h.responder.make_child_rekey_request(first.spi_out, std::nullopt);
    auto lost = h.gateway_request(request);  // our answer never reaches the gateway
    REQUIRE(lost);
    REQUIRE(h.all<core::InstallChildSa>().size() == 2);

    // strongSwan retransmits after 4 s, then 7.2 s later: each time the same answer, byte for byte, and no
    // second pair, no removal — the gateway cannot use the new pair before an answer arrives.
    for (auto gap : {4000ms, 7200ms}) {
        h.wait(gap);
        auto again = h.gateway_request(request);
        REQUIRE(again);
        CHECK(*again == *lost);
        CHECK(h.all<core::InstallChildSa>().size() == 2);
        CHECK(h.removes_of(first.spi_in) == 0);
    }
    const auto fresh = h.all<core::InstallChildSa>()[1];
    CHECK(fresh.outbound_deferred);
    // The answer finally arrives; the gateway's KEYMAT agrees with what we installed.
    const auto keymat = h.responder.rekey_keymat(*lost, 2 * key_size);
    REQUIRE(keymat);
    CHECK(keys_equal(fresh.child.key_in, *keymat, 0));
    REQUIRE(h.gateway_request(h.esp_delete(first.spi_out)));
    CHECK(h.removes_of(first.spi_in) == 1);
    CHECK(h.session.info().state == "connected");
}
