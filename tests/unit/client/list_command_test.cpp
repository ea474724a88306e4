#include "client/control_socket.hpp"
#include "client/list_command.hpp"

#include "temp_dir.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <doctest/doctest.h>

#include <optional>
#include <thread>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

using namespace ikevpn::client;
using ikevpn::test::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;

TEST_CASE("list: state from the control socket, the profile's own name, broken files reported") {
    TempDir profiles, run;
    profiles.write("work.json", R"({"name": "office", "gateway": "vpn.example.com"})");
    profiles.write("home.json", R"({"gateway": "192.0.2.1"})");
    profiles.write("stale.json", R"({"gateway": "198.51.100.7"})");
    profiles.write("broken.json", "{ nope");

    // A stale socket file for "stale" (bound, never listening): must read as disconnected.
    const auto stale = run.path() / "stale.sock";
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", stale.c_str());
    REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
    ::close(fd);

    asio::io_context io;
    std::optional<ControlServer> server;
    server.emplace(io, run.path() / "office.sock", [] { return json{{"state", "connected"}}; }, [] {});
    std::thread thread([&] {
        auto guard = asio::make_work_guard(io);
        io.run();
    });
    const json list = list_profiles({profiles.path()}, run.path());
    io.stop();
    thread.join();
    server.reset();

    REQUIRE(list.size() == 4);
    CHECK(list[0]["name"] == "broken");
    CHECK(list[0]["state"] == "disconnected");
    CHECK(list[0]["gateway"].is_null());
    CHECK(list[0]["error"].get<std::string>().find("not a JSON object") != std::string::npos);
    CHECK(list[1]["name"] == "home");
    CHECK(list[1]["gateway"] == "192.0.2.1");
    CHECK(list[1]["state"] == "disconnected");
    CHECK(list[2]["name"] == "stale");
    CHECK(list[2]["state"] == "disconnected");
    CHECK(list[3]["name"] == "work");
    CHECK(list[3]["profile"] == "office");
    CHECK(list[3]["state"] == "connected");
    CHECK_FALSE(list[3].contains("error"));

    const auto table = format_profile_list(list);
    CHECK(table.rfind("NAME    STATE         GATEWAY          FILE\n", 0) == 0);
    CHECK(table.find("work    connected     vpn.example.com  " + (profiles.path() / "work.json").string() + "\n") !=
          std::string::npos);
    CHECK(format_profile_list(json::array()) == "no profiles found\n");
}
