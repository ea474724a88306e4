#include "client/events.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <memory>
#include <string>

using ikevpn::client::EventSink;

namespace {

struct File {
    std::unique_ptr<std::FILE, decltype(&std::fclose)> file{std::tmpfile(), &std::fclose};
    std::string contents() const {
        std::fflush(file.get());
        std::rewind(file.get());
        std::string out;
        for (int c; (c = std::fgetc(file.get())) != EOF;) out.push_back(static_cast<char>(c));
        return out;
    }
};

// Human lines go through client/log.hpp; a fixed clock makes their timestamps comparable.
constexpr const char* at = "2026-11-27T00:01:02.345Z ";
std::chrono::system_clock::time_point fixed_time() {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1795737662) + std::chrono::milliseconds(345));
}

}  // namespace

TEST_CASE("human lines on one stream, JSON lines on the other") {
    File human;
    File json;
    REQUIRE(human.file);
    REQUIRE(json.file);
    EventSink sink(true, ikevpn::client::verbosity_info, human.file.get(), json.file.get());
    sink.log().set_clock(fixed_time);
    sink.progress("resolving vpn.example.com");
    sink.detail("hidden without -v");
    sink.emit({{"event", "connected"}, {"virtual_ip", "203.0.113.1"}});
    sink.error("AUTH_FAILED", "the gateway rejected our authentication");
    CHECK(human.contents() == std::string(at) + "info  resolving vpn.example.com\n" + at +
                                  "error the gateway rejected our authentication\n");
    CHECK(json.contents() ==
          "{\"event\":\"connected\",\"virtual_ip\":\"203.0.113.1\"}\n"
          "{\"code\":\"AUTH_FAILED\",\"event\":\"error\",\"message\":\"the gateway rejected our authentication\"}\n");
}

TEST_CASE("verbosity, no JSON without --json-events, and hostile text") {
    File human;
    File json;
    EventSink sink(false, ikevpn::client::verbosity_debug, human.file.get(), json.file.get());
    sink.log().set_clock(fixed_time);
    sink.detail("shown with -v");
    sink.warning("x.psk is readable by group/others (chmod 600)");
    sink.progress("id \x1b[2Jfrom\ngateway");
    sink.emit({{"event", "connected"}});
    sink.error("TIMEOUT", "no answer");
    CHECK(human.contents() == std::string(at) + "debug shown with -v\n" + at +
                                  "warn  x.psk is readable by group/others (chmod 600)\n" + at +
                                  "info  id ?[2Jfrom?gateway\n" + at + "error no answer\n");
    CHECK(json.contents().empty());

    File quiet_human;
    File events;
    EventSink quiet(true, ikevpn::client::verbosity_error, quiet_human.file.get(), events.file.get());
    quiet.progress("hidden");
    quiet.emit({{"event", "rekeyed"}, {"id", std::string("bad \xff utf-8")}});
    CHECK(quiet_human.contents().empty());
    CHECK(events.contents() == "{\"event\":\"rekeyed\",\"id\":\"bad \xEF\xBF\xBD utf-8\"}\n");
}

TEST_CASE("service manager notifications for events") {
    using ikevpn::client::service_notification_for;
    CHECK(service_notification_for({{"event", "connected"}, {"remote", "192.0.2.1:4500"}, {"virtual_ip", "203.0.113.7"}}) ==
          "READY=1\nSTATUS=connected to 192.0.2.1:4500, virtual IP 203.0.113.7");
    CHECK(service_notification_for({{"event", "connected"}, {"virtual_ip", nullptr}}) == "READY=1\nSTATUS=connected");
    CHECK(service_notification_for({{"event", "disconnected"}, {"reason", "requested"}}) ==
          "STOPPING=1\nSTATUS=disconnected: requested");
    // A gateway's text must not inject a second assignment.
    CHECK(service_notification_for({{"event", "error"}, {"code", "AUTH_FAILED"}, {"message", "bad\nREADY=1"}}) ==
          "STATUS=error: bad READY=1");
    CHECK(service_notification_for({{"event", "reconnecting"}, {"reason", "path lost"}}) ==
          "STATUS=reconnecting: path lost");
    CHECK(service_notification_for({{"event", "rekeyed"}}) == std::nullopt);
    CHECK(service_notification_for({{"no_event", 1}}) == std::nullopt);
}

TEST_CASE("the observer sees every event, with or without --json-events") {
    File human, json;
    EventSink sink(false, ikevpn::client::verbosity_info, human.file.get(), json.file.get());
    std::string seen;
    sink.set_observer([&seen](const nlohmann::json& event) { seen += event.value("event", "?") + ";"; });
    sink.emit({{"event", "connected"}});
    sink.error("AUTH_FAILED", "no");
    CHECK(seen == "connected;error;");
    CHECK(json.contents().empty());
}
