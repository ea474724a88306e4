// Human log lines of the client: a level, a UTC timestamp and the SA context on every line, e.g.
//
//   2026-11-27T00:01:02.345Z info  [work 1a2b3c4d5e6f7a8b/0000000000000000] IKE_SA_INIT sent
//
// Secrets never reach this stream by construction (nothing formats a SecureBytes); as a second line of
// defence, secrets registered with add_secret() are replaced by "<redacted>" wherever they appear raw or
// as hex, so a future careless trace line cannot print a PSK either.
#pragma once
#include "core/bytes.hpp"
#include "core/crypto/secure_bytes.hpp"

#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ikevpn::client {

enum class LogLevel : int { error = 0, warn = 1, info = 2, debug = 3, trace = 4 };

// "error", "warn", "info", "debug", "trace" (the values of --log-level).
std::optional<LogLevel> parse_log_level(std::string_view text);
const char* log_level_name(LogLevel level);

// The context shown in brackets: "work" before the IKE SA exists, "work SPIi/SPIr" (hex) afterwards.
std::string sa_context(std::string_view profile, std::string_view spi_i, std::string_view spi_r);

class Logger {
public:
    using WallClock = std::function<std::chrono::system_clock::time_point()>;

    explicit Logger(LogLevel level = LogLevel::info, std::FILE* out = stderr);

    LogLevel level() const { return level_; }
    void set_level(LogLevel level) { level_ = level; }
    bool enabled(LogLevel level) const { return static_cast<int>(level) <= static_cast<int>(level_); }

    void set_context(std::string context);
    // Secrets shorter than min_redacted_secret bytes are not redacted: replacing every occurrence of a
    // one- or two-byte string would garble all output while hiding nothing worth hiding.
    void add_secret(ByteView secret);
    void set_clock(WallClock clock) { clock_ = std::move(clock); }

    // One line: control characters (text chosen by the gateway) become '?', secrets "<redacted>".
    void write(LogLevel level, std::string_view message);

    static constexpr std::size_t min_redacted_secret = 4;

private:
    std::string redact(std::string line) const;

    LogLevel level_;
    std::FILE* out_;
    std::string context_;
    std::vector<SecureBytes> secrets_;  // raw, lower-case hex and upper-case hex forms
    WallClock clock_ = [] { return std::chrono::system_clock::now(); };
    std::mutex mutex_;  // lines from the control plane and the data plane threads must not interleave
};

}  // namespace ikevpn::client
