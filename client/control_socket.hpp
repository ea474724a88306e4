// The control socket of a running `ikevpn connect`: a unix stream socket that serves `status` and
// `disconnect` to `ikevpn status|disconnect`.
//
// Protocol: the client sends one line of JSON, {"command":"status"} or {"command":"disconnect"}; the server
// answers one line and closes: {"ok":true,"status":{...}} / {"ok":true} / {"ok":false,"error":"..."}.
#pragma once
#include <asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ikevpn::client {

// Failure to set up or reach a control socket; what() is one line.
struct ControlError : std::runtime_error { using std::runtime_error::runtime_error; };
// Another ikevpn already answers on the socket path (error code ALREADY_CONNECTED).
struct AlreadyConnected : ControlError { using ControlError::ControlError; };

inline const std::filesystem::path control_socket_dir = "/run/ikevpn";

// /run/ikevpn/<profile name>.sock
std::filesystem::path default_socket_path(const std::string& profile_name);

// The socket for status/disconnect without --socket: the only *.sock in `dir`. Throws ControlError
// "no ikevpn connection is running" when there is none, and one listing them when there are several.
std::filesystem::path find_running_socket(const std::filesystem::path& dir = control_socket_dir);

// True when an ikevpn answers on `path` (a connect() succeeds). For an early, clear ALREADY_CONNECTED.
bool control_socket_in_use(const std::filesystem::path& path);

// connect() to `path` without sending anything: 0 when a server listens, otherwise the errno (ENOENT: no
// file, ECONNREFUSED: a stale file, EACCES: a socket this user may not use). For `ikevpn list`.
int probe_control_socket(const std::filesystem::path& path);

class ControlServer {
public:
    using StatusFn = std::function<nlohmann::json()>;
    using DisconnectFn = std::function<void()>;

    // Creates the parent directory if needed (mode 0755), takes over a stale socket file, binds with mode
    // 0600 — or, with `group`, mode 0660 owned by that group, whose members may then ask for status and
    // disconnect (profile key "control_group", --control-group) — and starts accepting on `io`. Throws AlreadyConnected when a server answers on `path`, and
    // ControlError for anything else. The callbacks run on `io`'s thread; an exception from `status` is
    // answered as {"ok":false}. Construct and destroy on `io`'s thread (or while it is not running).
    ControlServer(asio::io_context& io, std::filesystem::path path, StatusFn status, DisconnectFn disconnect,
                  std::optional<unsigned> group = std::nullopt);
    // Stops accepting, stops calling the callbacks, and unlinks the socket file.
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    const std::filesystem::path& path() const { return path_; }

    struct Shared;  // state shared with the running coroutines, which may outlive this object briefly

private:
    std::filesystem::path path_;
    std::shared_ptr<Shared> shared_;
};

// The group ID of a group name ("ikevpn"); throws ControlError "control group 'x' does not exist ...".
unsigned control_group_id(const std::string& name);

// May a peer with these credentials use a server that allows `group`? Root, the server's own user, and —
// with a group — its members (primary or supplementary group of the peer's user).
bool control_peer_allowed(unsigned peer_uid, unsigned peer_gid, std::optional<unsigned> group);

// Limits of the protocol.
inline constexpr std::size_t control_max_request = 4096;
inline constexpr std::chrono::seconds control_server_timeout{2};
inline constexpr std::chrono::seconds control_client_timeout{5};

// Answers one request line (without the newline): the server's protocol logic, separate from the I/O.
std::string control_answer(const std::string& request, const ControlServer::StatusFn& status,
                           const ControlServer::DisconnectFn& disconnect);

// Client side: sends `request`, returns the parsed answer object (which may say "ok": false). Throws
// ControlError with a clear one-line message when there is no server, it does not answer within
// `timeout`, or the answer is not a JSON object.
nlohmann::json control_request(const std::filesystem::path& path, const nlohmann::json& request,
                               std::chrono::milliseconds timeout = control_client_timeout);

}  // namespace ikevpn::client
