#include "client/log.hpp"

#include <algorithm>
#include <array>
#include <ctime>

namespace ikevpn::client {

namespace {

constexpr std::array<const char*, 5> level_names{"error", "warn", "info", "debug", "trace"};
constexpr std::string_view redacted = "<redacted>";

// Human lines may carry text chosen by the gateway (identities, notify data); control characters could
// move the cursor or forge lines on a terminal, so they are shown as '?'.
void make_printable(std::string& line) {
    for (char& c : line) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) c = '?';
    }
}

SecureBytes hex_of(ByteView secret, const char* digits) {
    SecureBytes out;
    out.reserve(secret.size() * 2);
    for (std::uint8_t b : secret) {
        out.push_back(static_cast<std::uint8_t>(digits[b >> 4]));
        out.push_back(static_cast<std::uint8_t>(digits[b & 0x0f]));
    }
    return out;
}

// RFC 3339 in UTC with milliseconds: sorts and compares across machines and time zones.
std::string timestamp(std::chrono::system_clock::time_point now) {
    const auto since_epoch = now.time_since_epoch();
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
    const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
    const std::time_t t = static_cast<std::time_t>(seconds.count());
    std::tm utc{};
    ::gmtime_r(&t, &utc);
    char text[80];  // room for any int the compiler can imagine in each field
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                  utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(millis));
    return text;
}

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view text) {
    for (std::size_t i = 0; i < level_names.size(); ++i)
        if (text == level_names[i]) return static_cast<LogLevel>(i);
    return std::nullopt;
}

const char* log_level_name(LogLevel level) {
    const auto i = static_cast<std::size_t>(level);
    return i < level_names.size() ? level_names[i] : "?";
}

std::string sa_context(std::string_view profile, std::string_view spi_i, std::string_view spi_r) {
    // append() rather than "literal" + temporary: GCC 12 at -O3 warns (-Wrestrict) about the latter.
    std::string out(profile);
    if (!spi_i.empty()) out.append(" ").append(spi_i).append("/").append(spi_r.empty() ? "-" : spi_r);
    return out;
}

Logger::Logger(LogLevel level, std::FILE* out) : level_(level), out_(out) {}

void Logger::set_context(std::string context) {
    std::lock_guard lock(mutex_);
    context_ = std::move(context);
}

void Logger::add_secret(ByteView secret) {
    if (secret.size() < min_redacted_secret) return;
    std::lock_guard lock(mutex_);
    secrets_.emplace_back(secret.begin(), secret.end());
    secrets_.push_back(hex_of(secret, "0123456789abcdef"));
    secrets_.push_back(hex_of(secret, "0123456789ABCDEF"));
}

std::string Logger::redact(std::string line) const {
    for (const auto& secret : secrets_) {
        const std::string_view needle(reinterpret_cast<const char*>(secret.data()), secret.size());
        for (auto at = line.find(needle); at != std::string::npos; at = line.find(needle, at + redacted.size()))
            line.replace(at, needle.size(), redacted);
    }
    return line;
}

void Logger::write(LogLevel level, std::string_view message) {
    if (!enabled(level)) return;
    const auto now = clock_();
    std::lock_guard lock(mutex_);
    // Redact before replacing control characters, so that a secret containing one is still found.
    std::string text = redact(std::string(message));
    make_printable(text);
    std::string context = context_;
    make_printable(context);
    char level_text[8];
    std::snprintf(level_text, sizeof level_text, "%-5s", log_level_name(level));
    std::string line = timestamp(now);
    line.append(" ").append(level_text).append(" ");
    if (!context.empty()) line.append("[").append(redact(context)).append("] ");
    line.append(text).append("\n");
    std::fwrite(line.data(), 1, line.size(), out_);
    std::fflush(out_);
}

}  // namespace ikevpn::client
