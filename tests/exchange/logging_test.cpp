// Trace logging through a whole in-memory session (core::IkeSession against TestResponder): every
// datagram and action is described at trace level the way client/session.cpp does it, and neither the
// PSK nor any derived ESP key may appear in the log — raw or as hex. No secret is registered for
// redaction here, so this checks what the describers print, not the safety net.
#include "test_responder.hpp"

#include "client/log.hpp"
#include "client/log_describe.hpp"
#include "core/proposal.hpp"
#include "core/session.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <memory>

using namespace ikevpn;

namespace {

const std::string psk = "Tr0ub4dor&3-known-test-psk";

std::string hex(const SecureBytes& bytes, const char* digits) {
    std::string out;
    for (std::uint8_t b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 0x0f];
    }
    return out;
}

struct Traced {
    std::unique_ptr<std::FILE, decltype(&std::fclose)> file{std::tmpfile(), &std::fclose};
    client::Logger log{client::LogLevel::trace, file.get()};
    test::CountingRandom random{7};
    test::TestResponder responder{[] {
        test::ResponderOptions o;
        o.psk = psk;
        return o;
    }()};
    std::unique_ptr<core::IkeSession> session;
    std::vector<core::ChildSaKeys> installed;

    void perform(core::Actions actions) {
        std::vector<Bytes> replies;
        for (auto& a : actions) {
            if (auto* send = std::get_if<core::SendDatagram>(&a)) {
                log.write(client::LogLevel::trace, client::describe_datagram(send->message, true));
                Bytes reply = responder.handle(send->message);
                if (!reply.empty()) replies.push_back(std::move(reply));
                continue;
            }
            if (auto line = client::describe_action(a); !line.empty()) log.write(client::LogLevel::trace, line);
            if (auto* p = std::get_if<core::Progress>(&a)) log.write(client::LogLevel::info, p->line);
            if (auto* install = std::get_if<core::InstallChildSa>(&a)) installed.push_back(install->child);
        }
        const auto info = session->info();
        log.set_context(client::sa_context("work", info.spi_i, info.spi_r));
        for (const auto& reply : replies) {
            log.write(client::LogLevel::trace, client::describe_datagram(reply, false));
            perform(session->on_datagram(reply, core::TimePoint{}));
        }
    }

    std::string contents() const {
        std::fflush(file.get());
        std::rewind(file.get());
        std::string out;
        for (int c; (c = std::fgetc(file.get())) != EOF;) out.push_back(static_cast<char>(c));
        return out;
    }
};

}  // namespace

TEST_CASE("a traced PSK session never prints the PSK or the ESP keys") {
    core::SessionConfig c;
    c.local_id = "client@example.com";
    c.remote_id = "gw.example.com";
    c.psk.assign(psk.begin(), psk.end());
    c.ike_proposals = {core::parse_ike_proposal("aes256gcm16-prfsha384-x25519")};
    c.esp_proposals = {core::parse_esp_proposal("aes256gcm16")};
    c.remote_networks = {*IpPrefix::parse("198.51.100.0/24")};
    c.gateway = *IpAddress::parse("192.0.2.1");

    Traced t;
    t.session = std::make_unique<core::IkeSession>(c, t.random);
    t.perform(t.session->start(core::TimePoint{}));
    REQUIRE(t.session->info().state == "connected");
    REQUIRE(t.installed.size() == 1);
    t.perform(t.session->close(core::TimePoint{}));

    const std::string log = t.contents();
    // The log is substantial: both exchanges in both directions, the CHILD SA, the SA context.
    CHECK(log.find("sent IKE_SA_INIT request #0") != std::string::npos);
    CHECK(log.find("received IKE_AUTH response #1") != std::string::npos);
    CHECK(log.find("install CHILD SA: spi_in") != std::string::npos);
    CHECK(log.find("[work " + t.session->info().spi_i + "/") != std::string::npos);

    const SecureBytes secret(psk.begin(), psk.end());
    CHECK(log.find(psk) == std::string::npos);
    CHECK(log.find(hex(secret, "0123456789abcdef")) == std::string::npos);
    CHECK(log.find(hex(secret, "0123456789ABCDEF")) == std::string::npos);
    for (const auto* key : {&t.installed[0].key_in, &t.installed[0].key_out}) {
        REQUIRE(key->size() >= 16);
        CHECK(log.find(hex(*key, "0123456789abcdef")) == std::string::npos);
        CHECK(log.find(std::string(key->begin(), key->end())) == std::string::npos);
    }
}
