#include "client/events.hpp"
#include "client/log.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <memory>
#include <string>

using namespace ikevpn::client;

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

// 2026-11-27T00:01:02.345Z
std::chrono::system_clock::time_point fixed_time() {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1795737662) + std::chrono::milliseconds(345));
}

ikevpn::Bytes bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

}  // namespace

TEST_CASE("log levels parse and name each other") {
    for (const char* name : {"error", "warn", "info", "debug", "trace"}) {
        const auto level = parse_log_level(name);
        REQUIRE(level);
        CHECK(std::string(log_level_name(*level)) == name);
    }
    CHECK_FALSE(parse_log_level("verbose"));
    CHECK_FALSE(parse_log_level(""));
    CHECK(static_cast<int>(LogLevel::error) < static_cast<int>(LogLevel::trace));
}

TEST_CASE("a line has a UTC timestamp, the level and the SA context") {
    File out;
    Logger log(LogLevel::debug, out.file.get());
    log.set_clock(fixed_time);
    log.write(LogLevel::info, "no context yet");
    log.set_context(sa_context("work", "", ""));
    log.write(LogLevel::warn, "profile only");
    log.set_context(sa_context("work", "0102030405060708", "a1a2a3a4a5a6a7a8"));
    log.write(LogLevel::debug, "with SPIs");
    log.write(LogLevel::trace, "hidden at debug");
    CHECK(out.contents() ==
          "2026-11-27T00:01:02.345Z info  no context yet\n"
          "2026-11-27T00:01:02.345Z warn  [work] profile only\n"
          "2026-11-27T00:01:02.345Z debug [work 0102030405060708/a1a2a3a4a5a6a7a8] with SPIs\n");
    CHECK(log.enabled(LogLevel::debug));
    CHECK_FALSE(log.enabled(LogLevel::trace));
}

TEST_CASE("registered secrets are redacted raw and as hex, control characters neutralised") {
    File out;
    Logger log(LogLevel::trace, out.file.get());
    log.set_clock(fixed_time);
    log.add_secret(bytes_of("s3cr\net"));
    log.add_secret(bytes_of("abc"));  // too short to redact: would garble every line
    log.write(LogLevel::trace, "raw s3cr\net, hex 733363720a6574, HEX 733363720A6574 twice s3cr\nets3cr\net");
    log.write(LogLevel::trace, "inside x733363720a6574y");
    log.write(LogLevel::error, "abc stays, \x1b[2J is defused");
    const auto text = out.contents();
    CHECK(text.find("s3cr") == std::string::npos);
    CHECK(text.find("733363720") == std::string::npos);
    CHECK(text ==
          "2026-11-27T00:01:02.345Z trace raw <redacted>, hex <redacted>, HEX <redacted> twice <redacted><redacted>\n"
          "2026-11-27T00:01:02.345Z trace inside x<redacted>y\n"
          "2026-11-27T00:01:02.345Z error abc stays, ?[2J is defused\n");

    File upper;
    Logger upper_log(LogLevel::info, upper.file.get());
    upper_log.add_secret(bytes_of("\xAB\xCD\xEF\x01"));
    upper_log.write(LogLevel::info, "ABCDEF01 abcdef01 AbCdEf01");
    // Mixed case is not a form any formatter produces; the two real ones are covered.
    CHECK(upper.contents().find("<redacted> <redacted> AbCdEf01") != std::string::npos);
}

TEST_CASE("EventSink: -v/--log-level map onto levels; errors and warnings carry their level") {
    File human;
    File json;
    EventSink sink(true, verbosity_warn, human.file.get(), json.file.get());
    sink.log().set_clock(fixed_time);
    sink.progress("hidden at warn");
    sink.warning("x.psk is readable by group/others");
    sink.error("TIMEOUT", "no answer");
    CHECK(human.contents() ==
          "2026-11-27T00:01:02.345Z warn  x.psk is readable by group/others\n"
          "2026-11-27T00:01:02.345Z error no answer\n");
    CHECK(json.contents() == "{\"code\":\"TIMEOUT\",\"event\":\"error\",\"message\":\"no answer\"}\n");

    EventSink quiet(false, verbosity_error, human.file.get(), json.file.get());
    CHECK(quiet.log().level() == LogLevel::error);
    CHECK(EventSink(false, verbosity_trace).log().level() == LogLevel::trace);
    CHECK(EventSink(false, verbosity_trace + 5).log().level() == LogLevel::trace);  // -vvvvvvv
    CHECK(EventSink(false, verbosity_debug).log().level() == LogLevel::debug);
}
