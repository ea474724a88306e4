#include "client/events.hpp"

#include <algorithm>
#include <string>

namespace ikevpn::client {

namespace {

LogLevel level_of(int verbosity) {
    const int level = std::clamp(static_cast<int>(LogLevel::info) + verbosity, static_cast<int>(LogLevel::error),
                                 static_cast<int>(LogLevel::trace));
    return static_cast<LogLevel>(level);
}

}  // namespace

EventSink::EventSink(bool json_events, int verbosity, std::FILE* human, std::FILE* json)
    : json_events_(json_events), verbosity_(verbosity), log_(level_of(verbosity), human), json_(json) {}

void EventSink::progress(std::string_view line) {
    if (step_ == 0) return log_.write(LogLevel::info, line);
    log_.write(LogLevel::info, std::to_string(step_++) + ". " + std::string(line));
}
void EventSink::detail(std::string_view line) { log_.write(LogLevel::debug, line); }
void EventSink::trace(std::string_view line) { log_.write(LogLevel::trace, line); }
void EventSink::warning(std::string_view line) { log_.write(LogLevel::warn, line); }

void EventSink::emit(const nlohmann::json& event) {
    if (observer_) observer_(event);
    if (!json_events_) return;
    const std::string text = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::lock_guard lock(mutex_);
    std::fwrite(text.data(), 1, text.size(), json_);
    std::fflush(json_);
}

namespace {

std::string text_member(const nlohmann::json& event, const char* key) {
    const auto it = event.find(key);
    if (it == event.end() || !it->is_string()) return {};
    std::string text = it->get<std::string>();
    // One STATUS line: a newline inside would start a new KEY=VALUE assignment.
    for (char& c : text)
        if (c == '\n' || c == '\r') c = ' ';
    return text;
}

}  // namespace

std::optional<std::string> service_notification_for(const nlohmann::json& event) {
    const std::string name = text_member(event, "event");
    if (name == "connected") {
        std::string status = "STATUS=connected";
        if (const auto remote = text_member(event, "remote"); !remote.empty()) status += " to " + remote;
        if (const auto vip = text_member(event, "virtual_ip"); !vip.empty()) status += ", virtual IP " + vip;
        return "READY=1\n" + status;
    }
    if (name == "reconnecting") return "STATUS=reconnecting: " + text_member(event, "reason");
    if (name == "path_changed") {
        const auto local = text_member(event, "new_local");
        return "STATUS=connected, path changed" + (local.empty() ? std::string() : " to " + local);
    }
    if (name == "error") return "STATUS=error: " + text_member(event, "message");
    if (name == "disconnected") return "STOPPING=1\nSTATUS=disconnected: " + text_member(event, "reason");
    return std::nullopt;
}

void EventSink::error(std::string_view code, std::string_view message) {
    log_.write(LogLevel::error, message);
    emit({{"event", "error"}, {"code", code}, {"message", message}});
}

}  // namespace ikevpn::client
