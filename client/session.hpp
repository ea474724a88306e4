// The connect session: wires the negotiator (core/), the ESP engine (dataplane/) and the platform
// (platform/) together on one Asio io_context and runs until disconnected.
#pragma once
#include "client/events.hpp"
#include "client/profile.hpp"

#include <filesystem>
#include <optional>

namespace ikevpn::client {

struct ConnectOptions {
    std::filesystem::path socket_path;  // control socket to serve status/disconnect on
    std::optional<unsigned> control_group;  // group ID allowed on the socket besides root (mode 0660)
};

// Runs in the foreground until a requested disconnect (returns 0) or a failure (returns non-zero after
// reporting the reason through `events`). Every change to the system is undone before it returns.
int run_connect(const Profile& profile, const ConnectOptions& options, EventSink& events);

}  // namespace ikevpn::client
