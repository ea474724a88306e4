// HostIntegration::hand_over (issue 5, roaming follow-ups): a re-establish within one connect keeps the
// kill switch table and its state file, the next begin() of the same process takes them over without the
// "did not stop cleanly" cleanup (which would remove the table for a moment), and clean_up_handed_over()
// removes what no later session took over. Needs root and nft (a private network namespace).
#include "client/host_integration.hpp"

#include "../platform/private_netns.hpp"
#include "minimal_profile.hpp"
#include "temp_dir.hpp"

#include "platform/command.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <memory>

using namespace ikevpn;
using namespace ikevpn::client;

namespace {

bool table_exists() { return platform::run_command({"nft", "list", "table", "inet", "ikevpn_demo"}).ok(); }

struct Sink {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> human{std::tmpfile(), &std::fclose};
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> json{std::tmpfile(), &std::fclose};
    EventSink events{false, verbosity_debug, human.get(), json.get()};
    std::string text() {
        std::fflush(human.get());
        std::rewind(human.get());
        std::string out;
        for (int c; (c = std::fgetc(human.get())) != EOF;) out += char(c);
        return out;
    }
};

}  // namespace

TEST_CASE("hand_over keeps the kill switch for the next session; clean_up_handed_over removes leftovers") {
    IKEVPN_REQUIRE_NETNS();
    if (!platform::command_exists("nft")) {
        MESSAGE("skipped: nft not installed");
        return;
    }
    const Profile profile = test::load_minimal_profile("", {{"name", "demo"}, {"kill_switch", true}});
    REQUIRE(profile.kill_switch);
    test::TempDir dir;
    const auto socket = dir.path() / "demo.sock";
    const auto gateway = *IpAddress::parse("192.0.2.1");
    Sink sink;
    {
        HostIntegration first(profile, socket, sink.events);
        first.begin(gateway);
        REQUIRE(table_exists());
        first.hand_over();
        first.release();
        CHECK(table_exists());  // kept for the next session
        CHECK(std::filesystem::exists(state_path_for(socket)));
    }
    CHECK(table_exists());  // the destructor's release() keeps it too
    {
        HostIntegration second(profile, socket, sink.events);
        second.begin(gateway);  // takes over: no stale-run cleanup of our own table
        CHECK(table_exists());
        CHECK(sink.text().find("did not stop cleanly") == std::string::npos);
        second.release();  // a normal end
        CHECK_FALSE(table_exists());
        CHECK_FALSE(std::filesystem::exists(state_path_for(socket)));
    }
    {
        HostIntegration third(profile, socket, sink.events);
        third.begin(gateway);
        third.hand_over();
        third.release();
    }
    REQUIRE(table_exists());
    clean_up_handed_over(socket, sink.events);  // no session took it over: the connect ends
    CHECK_FALSE(table_exists());
    CHECK_FALSE(std::filesystem::exists(state_path_for(socket)));
}

TEST_CASE("without a kill switch hand_over changes nothing: release() removes the state file") {
    const Profile profile = test::load_minimal_profile("", {{"name", "demo"}});
    REQUIRE_FALSE(profile.kill_switch);
    test::TempDir dir;
    const auto socket = dir.path() / "demo.sock";
    Sink sink;
    HostIntegration host(profile, socket, sink.events);
    host.begin(*IpAddress::parse("192.0.2.1"));
    REQUIRE(std::filesystem::exists(state_path_for(socket)));
    host.hand_over();
    host.release();
    CHECK_FALSE(std::filesystem::exists(state_path_for(socket)));
}
