// Running a system tool (nft, resolvectl, resolvconf) with an argument vector — never through a shell, so
// nothing in a profile or a gateway's reply can become shell syntax.
#pragma once
#include <string>
#include <vector>

namespace ikevpn::platform {

struct CommandResult {
    int exit_status = -1;  // the tool's exit code; 127 when it could not be started; -1 when killed by a signal
    std::string output;    // stdout and stderr together, trimmed to the first 4 KiB
    bool ok() const { return exit_status == 0; }
    // "nft: Error: ..." — the first line of output, or "exit status N" when there is none.
    std::string first_line() const;
};

// Runs argv[0] (looked up in PATH) with `input` on its stdin and waits for it. Blocks: use only for short
// configuration tools. Throws PlatformError only when no pipe or process can be created.
CommandResult run_command(const std::vector<std::string>& argv, const std::string& input = {});

// True when `name` is an executable file in one of PATH's directories (or /usr/sbin, /sbin as fallback,
// since sudo and service environments often lack them).
bool command_exists(const std::string& name);

}  // namespace ikevpn::platform
