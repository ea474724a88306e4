#include "client/events.hpp"

#include <string>

namespace ikevpn::client {

namespace {

// Human lines may carry text chosen by the gateway (identities, notify data); control characters could
// move the cursor or forge lines on a terminal, so they are shown as '?'.
std::string printable(std::string_view line) {
    std::string out(line);
    for (char& c : out) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) c = '?';
    }
    return out;
}

}  // namespace

EventSink::EventSink(bool json_events, int verbosity, std::FILE* human, std::FILE* json)
    : json_events_(json_events), verbosity_(verbosity), human_(human), json_(json) {}

void EventSink::write_human(std::string_view prefix, std::string_view line) {
    const std::string text = "ikevpn: " + std::string(prefix) + printable(line) + "\n";
    std::lock_guard lock(mutex_);
    std::fwrite(text.data(), 1, text.size(), human_);
    std::fflush(human_);
}

void EventSink::progress(std::string_view line) {
    if (verbosity_ >= verbosity_info) write_human("", line);
}

void EventSink::detail(std::string_view line) {
    if (verbosity_ >= verbosity_debug) write_human("", line);
}

void EventSink::warning(std::string_view line) { write_human("warning: ", line); }

void EventSink::emit(const nlohmann::json& event) {
    if (!json_events_) return;
    const std::string text = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::lock_guard lock(mutex_);
    std::fwrite(text.data(), 1, text.size(), json_);
    std::fflush(json_);
}

void EventSink::error(std::string_view code, std::string_view message) {
    write_human("error: ", message);
    emit({{"event", "error"}, {"code", code}, {"message", message}});
}

}  // namespace ikevpn::client
