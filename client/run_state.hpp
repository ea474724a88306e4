// What a running `ikevpn connect` has changed on the host, kept in a state file next to its control socket
// (/run/ikevpn/<profile>.state, or <socket without .sock>.state with --socket) so that after a crash or
// SIGKILL the next `connect` or `disconnect` of that profile can undo it. The file is written before each
// change is made and removed after a clean shutdown. The TUN device needs no entry: the kernel removes a
// non-persistent TUN with the last descriptor, i.e. when the process dies.
#pragma once
#include "platform/dns_config.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ikevpn::client {

struct RunState {
    std::filesystem::path socket;        // the control socket of that connect
    int pid = 0;
    std::string profile;
    std::string tun;                     // the TUN name asked for (informational)
    bool routing = false;                // policy rules / table 51880 may exist
    std::string nft_table;               // kill switch table in family inet ("" = none)
    std::optional<platform::DnsRecord> dns;
};

// /run/ikevpn/demo.sock -> /run/ikevpn/demo.state; a path without ".sock" gets ".state" appended.
std::filesystem::path state_path_for(const std::filesystem::path& socket_path);
// Where the file DNS backend keeps the original resolv.conf: next to the state file.
std::filesystem::path dns_backup_path_for(const std::filesystem::path& socket_path);

// Writes atomically (temporary file + rename, mode 0600). Throws std::runtime_error with a one-line message.
void save_run_state(const std::filesystem::path& path, const RunState& state);
// nullopt when there is no file; throws std::runtime_error when it cannot be read or parsed.
std::optional<RunState> load_run_state(const std::filesystem::path& path);

struct CleanupReport {
    std::vector<std::string> cleaned;   // "removed nftables table inet ikevpn_demo (kill switch)", ...
    std::vector<std::string> problems;  // what could not be undone, one line each
};

// Undoes everything `state` records, then removes the state file and (with remove_socket) the dead
// process's socket file. Call only when that process no longer answers on state.socket.
CleanupReport clean_up_run(const std::filesystem::path& state_path, const RunState& state, bool remove_socket = true);

// For `ikevpn disconnect` when the connect it would talk to is dead: what was cleaned up after every dead
// connect (the one of `socket` if given, else every *.state in /run/ikevpn).
struct DeadConnect {
    std::string profile;
    int pid = 0;
    CleanupReport report;
};
struct DeadConnects {
    std::vector<DeadConnect> cleaned;
    std::vector<std::string> unreadable;  // state files that could not be read, one line each
    bool live_connect_left = false;       // without --socket: a live connect still needs the normal disconnect
    // The exit code when that is all disconnect has to do; nullopt when there was nothing stale or a live
    // connect still needs the normal disconnect.
    std::optional<int> exit_code() const;
};
DeadConnects clean_up_dead_connects(const std::filesystem::path& socket);

}  // namespace ikevpn::client
