// ikevpn: the command line (DESIGN.md, "The command line" — a contract scripts rely on).
//
//   ikevpn connect PROFILE [--json-events] [--socket PATH] [-v|--log-level LEVEL] [--dir DIR]
//                  [--control-group GROUP]
//   ikevpn status [--json] [--socket PATH]
//   ikevpn disconnect [--json] [--socket PATH]
//   ikevpn list [--json] [--dir DIR]
//   ikevpn check PROFILE [--json] [--dir DIR]
//   ikevpn import FILE.sswan [--json] [--dir DIR] [--name NAME]
// PROFILE is a file path or a name looked up in the search path (client/profile_paths.hpp).
//   ikevpn bench-peer CONFIG.json [--check]   (benchmarks only: static keys, no IKE, no authentication)
#include "client/check_command.hpp"
#include "client/control_socket.hpp"
#include "client/events.hpp"
#include "client/list_command.hpp"
#include "client/manual_peer.hpp"
#include "client/password_prompt.hpp"
#include "client/profile.hpp"
#include "client/run_state.hpp"
#include "client/profile_paths.hpp"
#include "client/session.hpp"
#include "client/sswan_import.hpp"
#include "client/status_format.hpp"
#include "platform/service_notify.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <iostream>
#include <cstdlib>
#include <optional>
#include <set>

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
    std::string dir;            // --dir: the one profile directory to use instead of the search path
    std::string control_group;  // --control-group: overrides the profile's "control_group"
    std::string name;           // import --name
};

void fail_line(const std::string& message) { std::fprintf(stderr, "ikevpn: error: %s\n", message.c_str()); }

// With --json a script reads stdout only: failures are an object too (docs/cli-json.md).
nlohmann::json failure_json(const std::string& message) { return {{"ok", false}, {"error", message}}; }

int print_json(const nlohmann::json& value, int exit_code) {
    std::cout << value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    return std::cout.flush() ? exit_code : exit_failure;
}

int verbosity_of(const Arguments& args) {
    if (const auto level = parse_log_level(args.log_level))
        return static_cast<int>(*level) - static_cast<int>(LogLevel::info);
    return verbosity_info + args.verbose;
}

std::vector<fs::path> search_path_of(const Arguments& args) {
    return profile_search_path(args.dir.empty() ? std::nullopt : std::optional<fs::path>(args.dir));
}

int run_connect_command(const Arguments& args) {
    EventSink events(args.json_events, verbosity_of(args));
    // Under systemd (Type=notify): READY=1 once connected, STATUS lines, STOPPING=1 (client/events.hpp).
    const ikevpn::platform::ServiceNotifier service_manager;
    if (service_manager.enabled()) {
        events.set_observer([&service_manager](const nlohmann::json& event) {
            if (const auto state = service_notification_for(event)) service_manager.notify(*state);
        });
    }
    std::vector<std::string> warnings;
    Profile profile;
    try {
        profile = load_profile(resolve_profile(args.profile, search_path_of(args)), warnings);
    } catch (const ProfileLookupError& e) {
        events.error(error_code::profile_error, e.what());
        return exit_usage;
    } catch (const ProfileError& e) {
        events.error(error_code::profile_error, e.what());
        return exit_usage;
    }
    // Nothing formats the PSK; should a future line do so anyway, the logger prints "<redacted>".
    events.log().add_secret(profile.psk);
    for (const auto& warning : warnings) events.warning(warning);
    if (::geteuid() != 0) {
        events.error(error_code::platform_error,
                     "connect needs root: it creates a TUN device, addresses and routes (run it with sudo)");
        return exit_failure;
    }
    ConnectOptions options;
    options.socket_path = args.socket.empty() ? default_socket_path(profile.name) : fs::path(args.socket);
    const std::string group = args.control_group.empty() ? profile.control_group : args.control_group;
    try {
        if (!group.empty()) options.control_group = control_group_id(group);
    } catch (const ControlError& e) {
        events.error(error_code::profile_error, e.what());
        return exit_usage;
    }
    // Checked here as well as by the session's ControlServer so that a second connect fails before it
    // touches the network.
    if (control_socket_in_use(options.socket_path)) {
        events.error(error_code::already_connected,
                     "already connected: " + options.socket_path.string() + " is served by a running ikevpn");
        return exit_failure;
    }
    // The EAP password prompt (no auth.password_file) comes last, once nothing else can stop the connect.
    if (auto error = obtain_eap_password(profile, STDIN_FILENO, stderr)) {
        events.error(error_code::profile_error, *error);
        return exit_usage;
    }
    events.log().add_secret(profile.eap_password);
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

void print_dead_connects(const DeadConnects& dead) {
    for (const auto& line : dead.unreadable) fail_line(line);
    for (const auto& run : dead.cleaned) {
        std::fprintf(stderr, "ikevpn: no ikevpn is running for profile %s (pid %d is gone); cleaned up what it left:\n",
                     run.profile.c_str(), run.pid);
        for (const auto& line : run.report.cleaned) std::fprintf(stderr, "ikevpn:   %s\n", line.c_str());
        if (run.report.cleaned.empty()) std::fprintf(stderr, "ikevpn:   nothing was left to undo\n");
        for (const auto& line : run.report.problems) fail_line(line);
    }
}

// `disconnect --json` (docs/status-json.md): {"ok", "disconnect_requested": SOCKET or null, "cleaned_up":
// [{"profile", "pid", "cleaned", "problems"}], "error"}.
nlohmann::json dead_connects_json(const DeadConnects& dead) {
    nlohmann::json runs = nlohmann::json::array();
    for (const auto& run : dead.cleaned)
        runs.push_back({{"profile", run.profile}, {"pid", run.pid}, {"cleaned", run.report.cleaned},
                        {"problems", run.report.problems}});
    nlohmann::json out = {{"ok", true}, {"disconnect_requested", nullptr}, {"cleaned_up", std::move(runs)}};
    if (!dead.unreadable.empty()) out["unreadable_state"] = dead.unreadable;
    return out;
}

int run_disconnect_command(const Arguments& args) {
    // A connect that was killed cannot answer; clean up what it left instead (client/run_state.hpp).
    const DeadConnects dead = clean_up_dead_connects(fs::path(args.socket));
    nlohmann::json out = dead_connects_json(dead);
    if (!args.json) print_dead_connects(dead);
    if (auto code = dead.exit_code()) {
        if (!args.json) return *code;
        out["ok"] = *code == 0;
        return print_json(out, *code);
    }
    fs::path path;
    nlohmann::json answer;
    try {
        path = socket_of(args);
        answer = control_request(path, {{"command", "disconnect"}});
    } catch (const std::exception& e) {
        if (!args.json) throw;
        out["ok"] = false;
        out["error"] = e.what();
        return print_json(out, exit_failure);
    }
    if (answer.value("ok", false) != true) {
        const std::string error = path.string() + ": " + answer.value("error", std::string("disconnect failed"));
        if (!args.json) {
            fail_line(error);
            return exit_failure;
        }
        out["ok"] = false;
        out["error"] = error;
        return print_json(out, exit_failure);
    }
    if (!args.json) {
        std::fprintf(stderr, "ikevpn: disconnect requested (%s)\n", path.c_str());
        return 0;
    }
    out["disconnect_requested"] = path.string();
    return print_json(out, 0);
}

int run_list_command(const Arguments& args) {
    const auto list = list_profiles(search_path_of(args), control_socket_dir);
    if (args.json) std::cout << list.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    else std::cout << format_profile_list(list);
    return std::cout.flush() ? 0 : exit_failure;
}

// Exit 0 when `connect` could use the profile, 1 otherwise; every problem on its own line.
int run_check_command(const Arguments& args) {
    fs::path file;
    try {
        file = resolve_profile(args.profile, search_path_of(args));
    } catch (const ProfileLookupError& e) {
        if (args.json) return print_json(failure_json(e.what()), exit_failure);
        fail_line(e.what());
        return exit_failure;
    }
    const CheckResult result = check_profile(file);
    if (args.json) return print_json(check_result_json(file, result), result.errors.empty() ? 0 : exit_failure);
    for (const auto& warning : result.warnings) std::fprintf(stderr, "ikevpn: warning: %s\n", warning.c_str());
    for (const auto& error : result.errors) fail_line(error);
    if (!result.errors.empty()) return exit_failure;
    std::printf("%s: OK (%s)\n", file.c_str(), result.summary.c_str());
    return 0;
}

int run_import_command(const Arguments& args) {
    const auto search_path = search_path_of(args);
    if (search_path.empty()) {
        fail_line(std::string("no profile directory: ") + profile_path_env + " is empty; use --dir DIR");
        return exit_failure;
    }
    // Root's profiles are system-wide; everyone else's go to the first (per-user) directory.
    const fs::path dir = args.dir.empty() && ::geteuid() == 0 && !std::getenv(profile_path_env) ? system_profile_dir
                                                                                                 : search_path.front();
    try {
        const auto result = import_sswan(args.profile, dir, args.name.empty() ? std::nullopt
                                                                                : std::optional<std::string>(args.name));
        if (args.json) return print_json(import_result_json(result), 0);
        for (const auto& warning : result.mapped.warnings)
            std::fprintf(stderr, "ikevpn: warning: %s\n", warning.c_str());
        for (const auto& path : result.written) std::printf("wrote %s\n", path.c_str());
        for (const auto& step : result.mapped.next_steps) std::printf("next: %s\n", step.c_str());
        std::printf("then: ikevpn check %s && sudo ikevpn connect %s\n", result.written.front().c_str(),
                    result.written.front().c_str());
    } catch (const ImportError& e) {
        if (args.json) return print_json(failure_json(e.what()), exit_failure);
        fail_line(e.what());
        return exit_failure;
    }
    return 0;
}

void add_socket_option(CLI::App* command, Arguments& args, const char* help) {
    command->add_option("--socket", args.socket, help)->type_name("PATH");
}

void add_dir_option(CLI::App* command, Arguments& args) {
    command->add_option("--dir", args.dir,
                        "profile directory to use instead of the search path ($IKEVPN_PROFILE_PATH, or "
                        "~/.config/ikevpn then /etc/ikevpn)")
        ->type_name("DIR");
}

constexpr const char* running_socket_help = "control socket of the connection (default: the only one in /run/ikevpn)";

CLI::App* add_connect(CLI::App& app, Arguments& args) {
    auto* connect = app.add_subcommand("connect", "connect with a profile and stay in the foreground until "
                                                  "disconnected (Ctrl-C or 'ikevpn disconnect')");
    connect->add_option("profile", args.profile, "profile file, or a profile name looked up in the search path")
        ->required()
        ->type_name("PROFILE");
    connect->add_flag("--json-events", args.json_events, "also print one JSON object per event on stdout");
    add_socket_option(connect, args, "control socket to serve (default: /run/ikevpn/<profile name>.sock)");
    connect->add_flag("-v,--verbose", args.verbose, "more detail on stderr: -v debug, -vv trace");
    connect->add_option("--log-level", args.log_level, "error, warn, info (default), debug or trace")
        ->check(CLI::IsMember({"error", "warn", "info", "debug", "trace"}));
    add_dir_option(connect, args);
    connect->add_option("--control-group", args.control_group,
                        "let members of GROUP use status/disconnect (overrides the profile's \"control_group\")")
        ->type_name("GROUP");
    connect->footer("Examples:\n"
                    "  sudo ikevpn connect work                    # work.json from ~/.config/ikevpn or /etc/ikevpn\n"
                    "  sudo ikevpn connect /etc/ikevpn/work.json --json-events\n"
                    "  sudo ikevpn connect work --log-level trace  # every IKE message; secrets are never printed");
    return connect;
}

CLI::App* add_bench_peer(CLI::App& app, Arguments& args) {
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
    return bench_peer;
}

void add_profile_commands(CLI::App& app, Arguments& args, CLI::App*& list, CLI::App*& check, CLI::App*& import) {
    list = app.add_subcommand("list", "list the profiles in the search path and whether each is connected");
    list->add_flag("--json", args.json, "print a JSON array (name, profile, file, gateway, state, shadowed, error)");
    add_dir_option(list, args);
    list->footer("Examples:\n  ikevpn list\n  sudo ikevpn list --json    # root can ask every connection its state");

    check = app.add_subcommand("check", "validate a profile and the files it names, without connecting");
    check->add_option("profile", args.profile, "profile file or name")->required()->type_name("PROFILE");
    check->add_flag("--json", args.json, "print the result as JSON (file, ok, summary, errors[key, message], warnings)");
    add_dir_option(check, args);
    check->footer("Exit status 0 when the profile is usable, 1 otherwise (one line per problem).\nExamples:\n"
                  "  ikevpn check work\n  ikevpn check ./test.json");

    import = app.add_subcommand("import", "convert a strongSwan .sswan profile into an ikevpn profile");
    import->add_option("file", args.profile, "the .sswan file (JSON)")->required()->type_name("FILE.sswan");
    add_dir_option(import, args);
    import->add_option("--name", args.name, "profile name (default: from the .sswan \"name\")")->type_name("NAME");
    import->add_flag("--json", args.json, "print the result as JSON (ok, name, profile, written, warnings, next_steps)");
    import->footer("Writes <dir>/<name>.json (and <name>-ca.pem for remote.cert) into ~/.config/ikevpn, or\n"
                   "/etc/ikevpn as root; never overwrites a file.\nExamples:\n"
                   "  ikevpn import ~/Downloads/work.sswan\n  sudo ikevpn import work.sswan --name work");
}

int run(int argc, char** argv) {
    Arguments args;
    CLI::App app{"ikevpn: an IKEv2/IPsec VPN client", "ikevpn"};
    app.set_version_flag("--version", std::string("ikevpn ") + IKEVPN_VERSION);
    app.require_subcommand(1);
    app.footer("Run 'ikevpn COMMAND --help' for the options and examples of a command. Manual: man 8 ikevpn");

    auto* connect = add_connect(app, args);
    auto* status = app.add_subcommand("status", "show the running connection");
    status->add_flag("--json", args.json, "print the status as JSON (keys: see docs/status-json.md)");
    add_socket_option(status, args, running_socket_help);
    status->footer("Examples:\n  sudo ikevpn status\n  sudo ikevpn status --json --socket /run/ikevpn/work.sock");

    auto* disconnect = app.add_subcommand("disconnect", "ask the running connection to disconnect");
    add_socket_option(disconnect, args, running_socket_help);
    disconnect->add_flag("--json", args.json, "print the result as JSON (ok, disconnect_requested, cleaned_up, error)");
    disconnect->footer("Examples:\n  sudo ikevpn disconnect\n  sudo ikevpn disconnect --socket /run/ikevpn/work.sock");

    CLI::App *list = nullptr, *check = nullptr, *import = nullptr;
    add_profile_commands(app, args, list, check, import);
    auto* bench_peer = add_bench_peer(app, args);

    // CLI11 would call an unknown command "A subcommand is required", which hides the typo.
    static const std::set<std::string> commands{"connect", "status", "disconnect", "list", "check", "import",
                                                "bench-peer"};
    const std::string first = argc > 1 ? argv[1] : "";
    if (!first.empty() && first[0] != '-' && !commands.count(first)) {
        fail_line(std::string("unknown command '") + first +
                  "' (expected connect, status, disconnect, list, check, import or bench-peer)");
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
    if (list->parsed()) return run_list_command(args);
    if (check->parsed()) return run_check_command(args);
    if (import->parsed()) return run_import_command(args);
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
