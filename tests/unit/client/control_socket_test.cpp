#include "client/control_socket.hpp"

#include "temp_dir.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <optional>
#include <thread>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

using namespace ikevpn::client;
using ikevpn::test::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// A blocking unix socket bound (and optionally listening) on `path`, for hand-made clients and servers.
int raw_socket(const fs::path& path, bool bind_it, bool listen_it) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    const auto* sa = reinterpret_cast<const sockaddr*>(&address);
    if (bind_it) {
        REQUIRE(::bind(fd, sa, sizeof address) == 0);
        if (listen_it) REQUIRE(::listen(fd, 4) == 0);
    } else {
        REQUIRE(::connect(fd, sa, sizeof address) == 0);
    }
    return fd;
}

// Sends raw bytes and reads the answer until the server closes.
std::string raw_exchange(const fs::path& path, const std::string& bytes) {
    const int fd = raw_socket(path, false, false);
    REQUIRE(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    std::string answer;
    char buffer[512];
    for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) answer.append(buffer, static_cast<std::size_t>(n));
    ::close(fd);
    return answer;
}

// A ControlServer on its own thread: control_request() blocks, so the server must run elsewhere.
struct RunningServer {
    asio::io_context io;
    std::optional<ControlServer> server;
    std::atomic<int> disconnects{0};
    std::atomic<bool> status_throws{false};
    std::thread thread;

    explicit RunningServer(const fs::path& path) {
        server.emplace(
            io, path,
            [this] {
                if (status_throws) throw std::runtime_error("no IKE SA");
                return json{{"state", "connected"}, {"profile", "demo"}};
            },
            [this] { ++disconnects; });
        thread = std::thread([this] {
            auto guard = asio::make_work_guard(io);
            io.run();
        });
    }
    ~RunningServer() { stop(); }
    void stop() {
        if (!thread.joinable()) return;
        io.stop();
        thread.join();
        server.reset();  // after the thread: the server is destroyed while its io_context is not running
    }
};

}  // namespace

TEST_CASE("status and disconnect round trip") {
    TempDir dir;
    const auto path = dir.path() / "run" / "demo.sock";
    RunningServer running(path);

    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(::stat(path.parent_path().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0755);

    CHECK(control_request(path, {{"command", "status"}}) ==
          json{{"ok", true}, {"status", {{"state", "connected"}, {"profile", "demo"}}}});
    CHECK(running.disconnects == 0);
    CHECK(control_request(path, {{"command", "disconnect"}}) == json{{"ok", true}});
    CHECK(running.disconnects == 1);

    running.status_throws = true;
    const auto failed = control_request(path, {{"command", "status"}});
    CHECK(failed["ok"] == false);
    CHECK(failed["error"] == "internal error: no IKE SA");

    const auto unknown = control_request(path, {{"command", "reboot"}});
    CHECK(unknown["ok"] == false);
    CHECK(unknown["error"] == "unknown command 'reboot' (expected status or disconnect)");

    CHECK(find_running_socket(path.parent_path()) == path);
    CHECK(control_socket_in_use(path));

    running.stop();
    CHECK_FALSE(fs::exists(path));  // the destructor unlinks the socket file
    CHECK_THROWS_WITH_AS(control_request(path, {{"command", "status"}}),
                         ("no ikevpn connection: " + path.string() + " does not exist").c_str(), ControlError);
}

TEST_CASE("malformed and oversized requests are answered with ok:false, and the server keeps serving") {
    TempDir dir;
    const auto path = dir.path() / "demo.sock";
    RunningServer running(path);
    // A silent client holds a connection open; others must still be served.
    const int silent = raw_socket(path, false, false);

    const auto garbage = json::parse(raw_exchange(path, "not json\n"));
    CHECK(garbage["ok"] == false);
    CHECK(garbage["error"].get<std::string>().rfind("malformed request", 0) == 0);
    CHECK(json::parse(raw_exchange(path, "[1,2]\n"))["ok"] == false);
    CHECK(json::parse(raw_exchange(path, "{\"command\": 5}\n"))["error"] ==
          "malformed request: missing \"command\" (status or disconnect)");
    const auto huge = json::parse(raw_exchange(path, std::string(5000, 'x')));
    CHECK(huge["error"] == "request too long (at most 4096 bytes)");
    // A request ended by closing the write side instead of a newline still counts.
    const int half = raw_socket(path, false, false);
    const std::string request = R"({"command":"status"})";
    REQUIRE(::write(half, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
    ::shutdown(half, SHUT_WR);
    char buffer[256] = {};
    const auto n = ::read(half, buffer, sizeof buffer - 1);
    ::close(half);
    REQUIRE(n > 0);
    CHECK(json::parse(std::string(buffer, static_cast<std::size_t>(n)))["ok"] == true);

    CHECK(control_request(path, {{"command", "status"}})["ok"] == true);
    CHECK(running.disconnects == 0);
    ::close(silent);
}

TEST_CASE("a second server on a live socket fails; a stale socket is taken over") {
    TempDir dir;
    const auto path = dir.path() / "demo.sock";
    {
        RunningServer first(path);
        asio::io_context other;
        CHECK_THROWS_WITH_AS(ControlServer(other, path, {}, {}),
                             ("already connected: " + path.string() + " is served by a running ikevpn").c_str(),
                             AlreadyConnected);
        // The failed attempt must not have removed the live server's socket.
        CHECK(control_request(path, {{"command", "status"}})["ok"] == true);
    }
    // A crashed ikevpn leaves its socket file behind: nothing listens, connect() is refused.
    ::close(raw_socket(path, true, false));
    REQUIRE(fs::is_socket(path));
    CHECK_FALSE(control_socket_in_use(path));
    CHECK_THROWS_WITH_AS(control_request(path, {{"command", "status"}}),
                         doctest::Contains("nothing answers on"), ControlError);
    RunningServer second(path);
    CHECK(control_request(path, {{"command", "status"}})["status"]["state"] == "connected");
}

TEST_CASE("a path that is not a socket is not touched") {
    TempDir dir;
    const auto path = dir.write("demo.sock", "precious");
    asio::io_context io;
    CHECK_THROWS_WITH_AS(ControlServer(io, path, {}, {}), doctest::Contains("exists and is not a socket"),
                         ControlError);
    CHECK(fs::file_size(path) == 8);
}

TEST_CASE("a server that never answers times out on the client") {
    TempDir dir;
    const auto path = dir.path() / "mute.sock";
    const int mute = raw_socket(path, true, true);  // listens, never accepts
    CHECK_THROWS_WITH_AS(control_request(path, {{"command", "status"}}, std::chrono::milliseconds(100)),
                         ("ikevpn on " + path.string() + " did not answer within 100 ms").c_str(), ControlError);
    ::close(mute);
}

TEST_CASE("finding the running socket without --socket") {
    TempDir dir;
    CHECK_THROWS_WITH_AS(find_running_socket(dir.path() / "missing"),
                         doctest::Contains("no ikevpn connection is running"), ControlError);
    CHECK_THROWS_WITH_AS(find_running_socket(dir.path()), doctest::Contains("no ikevpn connection is running"),
                         ControlError);
    dir.write("notes.txt", "x");
    const int a = raw_socket(dir.path() / "a.sock", true, true);
    CHECK(find_running_socket(dir.path()) == dir.path() / "a.sock");
    const int b = raw_socket(dir.path() / "b.sock", true, true);
    CHECK_THROWS_WITH_AS(find_running_socket(dir.path()),
                         ("several ikevpn connections are running (" + (dir.path() / "a.sock").string() + ", " +
                          (dir.path() / "b.sock").string() + "); choose one with --socket PATH")
                             .c_str(),
                         ControlError);
    ::close(a);
    ::close(b);
    CHECK(default_socket_path("work") == fs::path("/run/ikevpn/work.sock"));
}

TEST_CASE("control_answer is the protocol without I/O") {
    int disconnects = 0;
    const ControlServer::StatusFn status = [] { return json{{"state", "connecting"}}; };
    const ControlServer::DisconnectFn disconnect = [&] { ++disconnects; };
    CHECK(control_answer(R"({"command":"status"})", status, disconnect) ==
          "{\"ok\":true,\"status\":{\"state\":\"connecting\"}}\n");
    CHECK(control_answer(R"({"command":"disconnect","extra":1})", status, disconnect) == "{\"ok\":true}\n");
    CHECK(disconnects == 1);
    CHECK(control_answer("", status, disconnect).find("\"ok\":false") != std::string::npos);
    CHECK(control_answer(std::string("{\"command\":\"\xff\"}"), status, disconnect).find("\"ok\":false") !=
          std::string::npos);
    CHECK(disconnects == 1);
}
