// Where the session reports what happens: human progress lines on stderr, and with --json-events one JSON
// object per line on stdout for scripts (DESIGN.md, "The command line"). The error codes are listed in
// docs/status-json.md and are a stable contract.
#pragma once
#include "client/log.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace ikevpn::client {

// Verbosity levels (-v adds one; --log-level sets one); verbosity_info + n is LogLevel::info + n.
inline constexpr int verbosity_error = -2;  // errors only
inline constexpr int verbosity_warn = -1;   // + warnings
inline constexpr int verbosity_info = 0;    // progress lines (default)
inline constexpr int verbosity_debug = 1;   // + detail lines (-v)
inline constexpr int verbosity_trace = 2;   // + whatever the session traces at this level (-vv)

class EventSink {
public:
    explicit EventSink(bool json_events, int verbosity = verbosity_info, std::FILE* human = stderr,
                       std::FILE* json = stdout);

    bool json_events() const { return json_events_; }
    int verbosity() const { return verbosity_; }

    // Human lines go through log() (client/log.hpp: timestamp, level, SA context, redaction).
    // progress: level info (the default); detail: debug (-v); trace: trace (-vv); warning: warn.
    void progress(std::string_view line);
    // Between begin_steps() and end_steps() progress lines are numbered ("3. authenticating as ..."): the
    // steps of one connect, so that a user sees how far it got.
    void begin_steps() { step_ = 1; }
    void end_steps() { step_ = 0; }
    void detail(std::string_view line);
    void trace(std::string_view line);
    void warning(std::string_view line);
    // With --json-events: the object, compact, on one line of the JSON stream, flushed at once so that a
    // script reading a pipe sees it immediately. Invalid UTF-8 (a gateway's text) is replaced, not thrown.
    void emit(const nlohmann::json& event);
    // An error line and {"event":"error","code":<code>,"message":<message>}.
    void error(std::string_view code, std::string_view message);

    Logger& log() { return log_; }

    // Called with every event (with or without --json-events), e.g. to tell the service manager.
    void set_observer(std::function<void(const nlohmann::json&)> observer) { observer_ = std::move(observer); }

private:
    std::function<void(const nlohmann::json&)> observer_;
    bool json_events_;
    unsigned step_ = 0;  // the next step number, 0 = not numbering
    int verbosity_;
    Logger log_;
    std::FILE* json_;
    std::mutex mutex_;  // JSON lines from the control plane and the data plane threads must not interleave
};

// The sd_notify(3) state for an event, for `Type=notify` services (packaging/systemd/ikevpn@.service):
// "connected" → READY=1 with a STATUS line, "reconnecting"/"path_changed"/"error" → STATUS, "disconnected"
// → STOPPING=1; nullopt for events the service manager need not hear about (rekeys).
std::optional<std::string> service_notification_for(const nlohmann::json& event);

// Error codes of {"event":"error"} (see docs/status-json.md).
namespace error_code {
inline constexpr std::string_view auth_failed = "AUTH_FAILED";
inline constexpr std::string_view no_proposal_chosen = "NO_PROPOSAL_CHOSEN";
inline constexpr std::string_view timeout = "TIMEOUT";
inline constexpr std::string_view ts_unacceptable = "TS_UNACCEPTABLE";
inline constexpr std::string_view internal_address_failure = "INTERNAL_ADDRESS_FAILURE";
inline constexpr std::string_view failed_cp_required = "FAILED_CP_REQUIRED";
inline constexpr std::string_view protocol_error = "PROTOCOL_ERROR";
inline constexpr std::string_view platform_error = "PLATFORM_ERROR";
inline constexpr std::string_view profile_error = "PROFILE_ERROR";
inline constexpr std::string_view gateway_deleted = "GATEWAY_DELETED";
inline constexpr std::string_view cert_invalid = "CERT_INVALID";
inline constexpr std::string_view id_mismatch = "ID_MISMATCH";
inline constexpr std::string_view already_connected = "ALREADY_CONNECTED";
inline constexpr std::string_view resolve_failed = "RESOLVE_FAILED";
inline constexpr std::string_view internal_error = "INTERNAL_ERROR";  // a bug: an exception nobody mapped
}  // namespace error_code

}  // namespace ikevpn::client
