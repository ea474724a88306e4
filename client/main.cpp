// ikevpn: the command line (DESIGN.md, "The command line" — a contract scripts rely on).
//
//   ikevpn connect PROFILE.json [--json-events] [--socket PATH] [-v|--log-level LEVEL]
//   ikevpn status [--json] [--socket PATH]
//   ikevpn disconnect [--socket PATH]
//   ikevpn bench-peer CONFIG.json [--check]   (benchmarks only: static keys, no IKE, no authentication)
#include "client/control_socket.hpp"
#include "client/events.hpp"
#include "client/manual_peer.hpp"
#include "client/profile.hpp"
#include "client/run_state.hpp"
#include "client/session.hpp"
#include "client/status_format.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <iostream>
#include <map>

#include <unistd.h>

#ifndef IKEVPN_VERSION
#define IKEVPN_VERSION "unknown"
#endif

namespace {

using namespace ikevpn::client;
namespace fs = std::filesystem;

constexpr int exit_failure = 1;
constexpr int exit_usage = 2;  // bad command line or bad profile: fix the input, do not retry

struct Arguments {
    std::string profile;
    bool json_events = false;
    bool json = false;
    std::string socket;
    int verbose = 0;
    std::string log_level;
    bool check = false;
};

void fail_line(const std::string& message) { std::fprintf(stderr, "ikevpn: error: %s\n", message.c_str()); }

int verbosity_of(const Arguments& args) {
    static const std::map<std::string, int> levels{
        {"error", verbosity_error}, {"info", verbosity_info}, {"debug", verbosity_debug}, {"trace", verbosity_trace}};
    if (!args.log_level.empty()) return levels.at(args.log_level);
    return verbosity_info + args.verbose;
}

int run_connect_command(const Arguments& args) {
    EventSink events(args.json_events, verbosity_of(args));
    std::vector<std::string> warnings;
    Profile profile;
    try {
        profile = load_profile(args.profile, warnings);
    } catch (const ProfileError& e) {
        events.error(error_code::profile_error, e.what());
        return exit_usage;
    }
    for (const auto& warning : warnings) events.warning(warning);
    if (::geteuid() != 0) {
        events.error(error_code::platform_error,
                     "connect needs root: it creates a TUN device, addresses and routes (run it with sudo)");
        return exit_failure;
    }
    ConnectOptions options;
    options.socket_path = args.socket.empty() ? default_socket_path(profile.name) : fs::path(args.socket);
    // Checked here as well as by the session's ControlServer so that a second connect fails before it
    // touches the network.
    if (control_socket_in_use(options.socket_path)) {
        events.error(error_code::already_connected,
                     "already connected: " + options.socket_path.string() + " is served by a running ikevpn");
        return exit_failure;
    }
    try {
        return run_connect(profile, options, events);
    } catch (const AlreadyConnected& e) {
        events.error(error_code::already_connected, e.what());
    } catch (const std::exception& e) {
        events.error(error_code::internal_error, e.what());
    }
    return exit_failure;
}

// Manual keying for benchmarks (client/manual_peer.hpp). Config errors and an unsupported transform exit 2.
int run_bench_peer_command(const Arguments& args) {
    EventSink events(false, verbosity_of(args));
    ManualPeerConfig config;
    try {
        config = load_manual_peer(args.profile);
        if (args.check) {
            check_manual_peer(config);
            events.progress("bench-peer: " + args.profile + " is usable (ESP " + config.esp + ")");
            return 0;
        }
    } catch (const ManualPeerError& e) {
        events.error(error_code::profile_error, e.what());
        return exit_usage;
    }
    if (::geteuid() != 0) {
        events.error(error_code::platform_error, "bench-peer needs root: it creates a TUN device and routes");
        return exit_failure;
    }
    try {
        return run_manual_peer(config, events);
    } catch (const std::exception& e) {
        events.error(error_code::platform_error, e.what());
    }
    return exit_failure;
}

fs::path socket_of(const Arguments& args) {
    return args.socket.empty() ? find_running_socket() : fs::path(args.socket);
}

int run_status_command(const Arguments& args) {
    const auto path = socket_of(args);
    const auto answer = control_request(path, {{"command", "status"}});
    if (answer.value("ok", false) != true) {
        fail_line(path.string() + ": " + answer.value("error", std::string("status failed")));
        return exit_failure;
    }
    const auto& status = answer.contains("status") ? answer["status"] : nlohmann::json::object();
    if (args.json) {
        std::cout << status.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    } else {
        std::cout << format_status(status);
    }
    return std::cout.flush() ? 0 : exit_failure;
}

int run_disconnect_command(const Arguments& args) {
    // A connect that was killed cannot answer; clean up what it left instead (client/run_state.hpp).
    if (auto code = disconnect_dead_connects(fs::path(args.socket))) return *code;
    const auto path = socket_of(args);
    const auto answer = control_request(path, {{"command", "disconnect"}});
    if (answer.value("ok", false) != true) {
        fail_line(path.string() + ": " + answer.value("error", std::string("disconnect failed")));
        return exit_failure;
    }
    std::fprintf(stderr, "ikevpn: disconnect requested (%s)\n", path.c_str());
    return 0;
}

void add_socket_option(CLI::App* command, Arguments& args, const char* help) {
    command->add_option("--socket", args.socket, help)->type_name("PATH");
}

constexpr const char* running_socket_help = "control socket of the connection (default: the only one in /run/ikevpn)";

int run(int argc, char** argv) {
    Arguments args;
    CLI::App app{"ikevpn: an IKEv2/IPsec VPN client", "ikevpn"};
    app.set_version_flag("--version", std::string("ikevpn ") + IKEVPN_VERSION);
    app.require_subcommand(1);
    app.footer("Run 'ikevpn COMMAND --help' for the options of a command.");

    auto* connect = app.add_subcommand("connect", "connect with a profile and stay in the foreground until "
                                                  "disconnected (Ctrl-C or 'ikevpn disconnect')");
    connect->add_option("profile", args.profile, "profile file (JSON)")->required()->type_name("PROFILE.json");
    connect->add_flag("--json-events", args.json_events, "also print one JSON object per event on stdout");
    add_socket_option(connect, args, "control socket to serve (default: /run/ikevpn/<profile name>.sock)");
    connect->add_flag("-v,--verbose", args.verbose, "more detail on stderr (repeat for more)");
    connect->add_option("--log-level", args.log_level, "error, info (default), debug or trace")
        ->check(CLI::IsMember({"error", "info", "debug", "trace"}));
    connect->footer("Example:\n  sudo ikevpn connect /etc/ikevpn/work.json --json-events");

    auto* status = app.add_subcommand("status", "show the running connection");
    status->add_flag("--json", args.json, "print the status as JSON (keys: see docs/status-json.md)");
    add_socket_option(status, args, running_socket_help);
    status->footer("Example:\n  sudo ikevpn status --json --socket /run/ikevpn/work.sock");

    auto* disconnect = app.add_subcommand("disconnect", "ask the running connection to disconnect");
    add_socket_option(disconnect, args, running_socket_help);
    disconnect->footer("Example:\n  sudo ikevpn disconnect");

    auto* bench_peer = app.add_subcommand(
        "bench-peer", "BENCHMARKS ONLY: a manually keyed ESP peer (static keys, NO IKE, NO authentication)");
    bench_peer->add_option("config", args.profile, "bench-peer config (JSON, see docs/benchmark.md)")
        ->required()
        ->type_name("CONFIG.json");
    bench_peer->add_flag("--check", args.check, "only validate the config and that the ESP engine accepts it");
    bench_peer->add_flag("-v,--verbose", args.verbose, "more detail on stderr");
    bench_peer->footer(
        "WARNING: diagnostic and benchmark use only. Both ends read the same static keys from a file, like\n"
        "`ip xfrm state` manual keying: there is no key exchange, no authentication and no rekeying, and\n"
        "anyone holding the file can read and forge the traffic. Never protect real traffic with it.\n"
        "Runs until SIGINT/SIGTERM, then removes its TUN device, addresses and routes.\n"
        "Example (tests/bench/throughput.sh does this in two namespaces):\n"
        "  sudo ikevpn bench-peer /tmp/peer-a.json");

    // CLI11 would call an unknown command "A subcommand is required", which hides the typo.
    const std::string first = argc > 1 ? argv[1] : "";
    if (!first.empty() && first[0] != '-' && first != "connect" && first != "status" && first != "disconnect" &&
        first != "bench-peer") {
        fail_line(std::string("unknown command '") + first +
                  "' (expected connect, status, disconnect or bench-peer)");
        return exit_usage;
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
        fail_line(std::string(e.what()) + " (see 'ikevpn --help')");
        return exit_usage;
    }
    if (connect->parsed()) return run_connect_command(args);
    if (status->parsed()) return run_status_command(args);
    if (bench_peer->parsed()) return run_bench_peer_command(args);
    return run_disconnect_command(args);
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        fail_line(e.what());
    } catch (...) {
        fail_line("unexpected failure");
    }
    return exit_failure;
}
