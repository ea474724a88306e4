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
    if (!json_events_) return;
    const std::string text = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::lock_guard lock(mutex_);
    std::fwrite(text.data(), 1, text.size(), json_);
    std::fflush(json_);
}

void EventSink::error(std::string_view code, std::string_view message) {
    log_.write(LogLevel::error, message);
    emit({{"event", "error"}, {"code", code}, {"message", message}});
}

}  // namespace ikevpn::client
