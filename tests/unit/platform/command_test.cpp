#include "platform/command.hpp"

#include <doctest/doctest.h>

using namespace ikevpn::platform;

TEST_CASE("run_command passes stdin, collects stdout and stderr, reports the exit status") {
    auto r = run_command({"sh", "-c", "cat; echo oops >&2; exit 3"}, "hello\n");
    CHECK(r.exit_status == 3);
    CHECK_FALSE(r.ok());
    CHECK(r.output == "hello\noops\n");
    CHECK(r.first_line() == "hello");
    CHECK(run_command({"true"}).ok());
    CHECK(run_command({"false"}).first_line() == "exit status 1");
}

TEST_CASE("arguments are not shell syntax") {
    auto r = run_command({"echo", "a; rm -rf /tmp/nothing $(id)"});
    CHECK(r.output == "a; rm -rf /tmp/nothing $(id)\n");
}

TEST_CASE("a missing program is exit status 127 with a clear line") {
    auto r = run_command({"ikevpn-no-such-tool"});
    CHECK(r.exit_status == 127);
    CHECK(r.first_line() == "ikevpn-no-such-tool: command not found");
    CHECK_FALSE(command_exists("ikevpn-no-such-tool"));
    CHECK(command_exists("sh"));
}

TEST_CASE("large input to a tool that does not read it: no SIGPIPE death, no deadlock; output is capped") {
    std::string big(1 << 20, 'x');
    auto r = run_command({"true"}, big);
    CHECK(r.ok());
    auto echo = run_command({"head", "-c", "100000", "/dev/zero"});
    CHECK(echo.ok());
    CHECK(echo.output.size() == 4096);
}
