// The part every in-memory exchange test shares: an IkeSession driven by a fake clock against the scripted
// gateway (test_responder.hpp). It keeps the session's timer, logs every action that is neither a datagram
// nor a timer, and delivers the gateway's replies after the whole action list, as a network would. What a
// test does with each outgoing datagram (count it, drop it, hold it) is its `on_send` hook.
#pragma once
#include "core/proposal.hpp"
#include "core/session.hpp"
#include "test_responder.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace ikevpn::test {

// The PSK client configuration the scripted responder accepts by default (AES-GCM-256, X25519).
inline core::SessionConfig psk_session_config() {
    core::SessionConfig c;
    c.local_id = "client@example.com";
    c.remote_id = "gw.example.com";
    const std::string psk = "correct horse battery staple";
    c.psk.assign(psk.begin(), psk.end());
    c.ike_proposals = {core::parse_ike_proposal("aes256gcm16-prfsha384-x25519")};
    c.esp_proposals = {core::parse_esp_proposal("aes256gcm16")};
    c.remote_networks = {*IpPrefix::parse("198.51.100.0/24")};
    c.gateway = *IpAddress::parse("192.0.2.1");
    return c;
}

struct ExchangeDriver {
    ExchangeDriver(core::SessionConfig config, ResponderOptions options)
        : responder(std::move(options)), session(std::move(config), random) {}

    CountingRandom random{1};
    TestResponder responder;
    core::IkeSession session;
    core::TimePoint now{};
    std::optional<core::TimePoint> timer;
    std::vector<core::Action> log;  // everything except SendDatagram / timers
    // Decides what happens to one datagram the session sends; returns the reply to deliver, or nothing.
    // The default hands it to the responder.
    std::function<std::optional<Bytes>(const core::SendDatagram&)> on_send =
        [this](const core::SendDatagram& send) { return answer(send.message); };

    // The responder's answer to `request`, or nothing when it has none.
    std::optional<Bytes> answer(const Bytes& request) {
        Bytes reply = responder.handle(request);
        if (reply.empty()) return std::nullopt;
        return reply;
    }

    void run(core::Actions actions) {
        std::vector<Bytes> replies;
        for (auto& a : actions) {
            if (auto* send = std::get_if<core::SendDatagram>(&a)) {
                if (auto reply = on_send(*send)) replies.push_back(std::move(*reply));
            } else if (auto* arm = std::get_if<core::ArmTimer>(&a)) {
                timer = arm->at;
            } else if (std::holds_alternative<core::CancelTimer>(a)) {
                timer.reset();
            } else {
                log.push_back(a);
            }
        }
        for (const auto& reply : replies) run(session.on_datagram(reply, now));
    }
    // Advances the fake clock to the armed timer and fires it.
    bool fire_timer() {
        if (!timer) return false;
        now = *timer;
        timer.reset();
        run(session.on_timer(now));
        return true;
    }
    template <class T> const T* find() const {
        for (const auto& a : log)
            if (auto* x = std::get_if<T>(&a)) return x;
        return nullptr;
    }
    template <class T> std::vector<T> all() const {
        std::vector<T> out;
        for (const auto& a : log)
            if (auto* x = std::get_if<T>(&a)) out.push_back(*x);
        return out;
    }
    // The session's Closed action (the test fails here when there is none).
    const core::Closed& closed() const {
        const auto* c = find<core::Closed>();
        REQUIRE(c);
        return *c;
    }
    // Whether some Progress line (what the user reads) contains `text`.
    bool progress_has(const std::string& text) const {
        for (const auto& a : log)
            if (const auto* p = std::get_if<core::Progress>(&a); p && p->line.find(text) != std::string::npos) return true;
        return false;
    }
};

}  // namespace ikevpn::test
