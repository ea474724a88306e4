#include "client/control_socket.hpp"

#include <asio/awaitable.hpp>
#include <asio/buffer.hpp>
#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace ikevpn::client {

namespace fs = std::filesystem;
using nlohmann::json;
using UnixSocket = asio::local::stream_protocol::socket;

namespace {

constexpr int max_concurrent_clients = 8;
constexpr std::size_t max_answer = 1 << 20;

std::string show(const fs::path& path) { return path.string(); }

void check_path_length(const fs::path& path) {
    if (path.native().size() >= sizeof(sockaddr_un{}.sun_path))
        throw ControlError("socket path too long (at most " + std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) +
                           " bytes): " + show(path));
}

// connect() to a unix socket path without Asio: 0 when something listens there, otherwise the errno
// (ECONNREFUSED for a stale file left by a crashed ikevpn).
int probe_socket(const fs::path& path) {
    check_path_length(path);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return errno;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.native().size());
    const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
    const int error = rc == 0 ? 0 : errno;
    ::close(fd);
    return error == EAGAIN ? 0 : error;  // a full backlog still means a live server
}

void prepare_directory(const fs::path& dir) {
    if (dir.empty()) return;
    std::error_code ec;
    if (fs::is_directory(dir, ec)) return;
    if (!fs::create_directories(dir, ec) && ec)
        throw ControlError("cannot create " + show(dir) + ": " + ec.message());
    // Anyone may look for sockets here; the sockets themselves are 0600.
    fs::permissions(dir, fs::perms(0755), ec);
}

void take_over_stale(const fs::path& path) {
    std::error_code ec;
    const auto status = fs::symlink_status(path, ec);
    if (!fs::exists(status)) return;
    if (!fs::is_socket(status))
        throw ControlError(show(path) + " exists and is not a socket; remove it or choose another --socket");
    const int error = probe_socket(path);
    if (error == 0)
        throw AlreadyConnected("already connected: " + show(path) + " is served by a running ikevpn");
    if (error != ECONNREFUSED)
        throw ControlError("cannot check " + show(path) + ": " + std::strerror(error));
    if (!fs::remove(path, ec) && ec) throw ControlError("cannot remove stale " + show(path) + ": " + ec.message());
}

// Only root, our own user or members of the control group may talk to us; the socket's mode already
// says so, this holds even if someone loosens the mode by hand.
bool peer_allowed(UnixSocket& socket, std::optional<unsigned> group) {
    ucred credentials{};
    socklen_t size = sizeof credentials;
    if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &credentials, &size) != 0) return false;
    return control_peer_allowed(credentials.uid, credentials.gid, group);
}

std::string dump_line(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"; }

std::string failure(const std::string& message) { return dump_line({{"ok", false}, {"error", message}}); }

}  // namespace

struct ControlServer::Shared {
    Shared(asio::io_context& io, StatusFn s, DisconnectFn d)
        : acceptor(io), status(std::move(s)), disconnect(std::move(d)) {}
    asio::local::stream_protocol::acceptor acceptor;
    StatusFn status;
    DisconnectFn disconnect;
    std::optional<unsigned> group;
    bool closed = false;
    int clients = 0;
    dev_t device = 0;  // identity of the socket file we bound, so that we only ever unlink our own
    ino_t inode = 0;
};

namespace {

asio::awaitable<void> run_client(std::shared_ptr<ControlServer::Shared> shared, std::shared_ptr<UnixSocket> socket) {
    ++shared->clients;
    struct Release {
        ControlServer::Shared& s;
        ~Release() { --s.clients; }
    } release{*shared};
    // A client that connects and says nothing must not hold a slot forever: the timer closes the socket,
    // which ends the pending read. The weak pointer keeps a late timer from touching a finished client.
    asio::steady_timer timer(socket->get_executor(), control_server_timeout);
    timer.async_wait([weak = std::weak_ptr<UnixSocket>(socket)](std::error_code ec) {
        std::error_code ignored;
        if (auto s = weak.lock(); s && !ec) s->close(ignored);
    });
    std::string request;
    std::string answer;
    std::error_code read_error;
    if (!peer_allowed(*socket, shared->group)) {
        answer = failure("permission denied");
    } else {
        try {
            const auto n = co_await asio::async_read_until(
                *socket, asio::dynamic_buffer(request, control_max_request), '\n', asio::use_awaitable);
            request.resize(n - 1);
        } catch (const std::system_error& e) {
            read_error = e.code();
        }
        if (read_error == asio::error::not_found) {
            answer = failure("request too long (at most " + std::to_string(control_max_request) + " bytes)");
        } else if (read_error && !(read_error == asio::error::eof && !request.empty())) {
            co_return;  // timed out or went away: nobody to answer
        } else if (shared->closed) {
            co_return;
        } else {
            answer = control_answer(request, shared->status, shared->disconnect);
        }
    }
    try {
        co_await asio::async_write(*socket, asio::buffer(answer), asio::use_awaitable);
    } catch (const std::system_error&) {
        // The client left before reading the answer: nothing to do.
    }
    timer.cancel();
    std::error_code ignored;
    socket->shutdown(UnixSocket::shutdown_both, ignored);
    socket->close(ignored);
}

asio::awaitable<void> run_accept(std::shared_ptr<ControlServer::Shared> shared) {
    auto executor = co_await asio::this_coro::executor;
    while (!shared->closed) {
        auto socket = std::make_shared<UnixSocket>(executor);
        std::error_code error;
        try {
            co_await shared->acceptor.async_accept(*socket, asio::use_awaitable);
        } catch (const std::system_error& e) {
            error = e.code();
        }
        if (shared->closed || error == asio::error::operation_aborted) co_return;
        if (error) {
            // e.g. EMFILE: wait a little instead of spinning on a failing accept.
            asio::steady_timer pause(executor, std::chrono::milliseconds(100));
            co_await pause.async_wait(asio::use_awaitable);
            continue;
        }
        if (shared->clients >= max_concurrent_clients) continue;  // dropping the socket closes it
        asio::co_spawn(executor, run_client(shared, std::move(socket)), asio::detached);
    }
}

}  // namespace

fs::path default_socket_path(const std::string& profile_name) { return control_socket_dir / (profile_name + ".sock"); }

fs::path find_running_socket(const fs::path& dir) {
    std::vector<fs::path> found;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->path().extension() == ".sock" && it->is_socket(ec)) found.push_back(it->path());
    }
    if (found.empty()) throw ControlError("no ikevpn connection is running (no socket in " + show(dir) + ")");
    if (found.size() == 1) return found.front();
    std::sort(found.begin(), found.end());
    std::string list;
    for (const auto& p : found) list += (list.empty() ? "" : ", ") + show(p);
    throw ControlError("several ikevpn connections are running (" + list + "); choose one with --socket PATH");
}

int probe_control_socket(const fs::path& path) { return probe_socket(path); }

unsigned control_group_id(const std::string& name) {
    std::vector<char> buffer(16384);
    group entry{};
    group* found = nullptr;
    const int rc = ::getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (rc != 0 || !found)
        throw ControlError("control group '" + name + "' does not exist (create it with 'groupadd " + name +
                           "', or remove \"control_group\")");
    return found->gr_gid;
}

bool control_peer_allowed(unsigned peer_uid, unsigned peer_gid, std::optional<unsigned> group) {
    if (peer_uid == 0 || peer_uid == ::geteuid()) return true;
    if (!group) return false;
    if (peer_gid == *group) return true;
    // SO_PEERCRED carries only the primary group; the supplementary ones come from the group database.
    std::vector<char> buffer(16384);
    passwd entry{};
    passwd* user = nullptr;
    if (::getpwuid_r(peer_uid, &entry, buffer.data(), buffer.size(), &user) != 0 || !user) return false;
    int count = 64;
    std::vector<gid_t> groups(static_cast<std::size_t>(count));
    if (::getgrouplist(user->pw_name, peer_gid, groups.data(), &count) < 0) {
        groups.resize(static_cast<std::size_t>(count));
        if (::getgrouplist(user->pw_name, peer_gid, groups.data(), &count) < 0) return false;
    }
    groups.resize(static_cast<std::size_t>(count));
    return std::find(groups.begin(), groups.end(), static_cast<gid_t>(*group)) != groups.end();
}

bool control_socket_in_use(const fs::path& path) {
    std::error_code ec;
    return fs::is_socket(fs::symlink_status(path, ec)) && probe_socket(path) == 0;
}

ControlServer::ControlServer(asio::io_context& io, fs::path path, StatusFn status, DisconnectFn disconnect,
                             std::optional<unsigned> group)
    : path_(std::move(path)), shared_(std::make_shared<Shared>(io, std::move(status), std::move(disconnect))) {
    shared_->group = group;
    check_path_length(path_);
    prepare_directory(path_.parent_path());
    take_over_stale(path_);
    auto& acceptor = shared_->acceptor;
    try {
        acceptor.open();
        // The file is created by bind() with the umask's mode; 0177 makes it 0600 from the first instant.
        const mode_t old_mask = ::umask(0177);
        std::error_code ec;
        acceptor.bind(asio::local::stream_protocol::endpoint(path_.string()), ec);
        ::umask(old_mask);
        if (ec) throw std::system_error(ec);
        ::chmod(path_.c_str(), 0600);
        // Group access only once the file belongs to the group: chown first, then widen the mode.
        if (group) {
            if (::chown(path_.c_str(), static_cast<uid_t>(-1), static_cast<gid_t>(*group)) != 0)
                throw std::system_error(errno, std::generic_category());
            ::chmod(path_.c_str(), 0660);
        }
        acceptor.listen();
    } catch (const std::system_error& e) {
        throw ControlError("cannot listen on " + show(path_) + ": " + e.code().message());
    }
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0) {
        shared_->device = st.st_dev;
        shared_->inode = st.st_ino;
    }
    asio::co_spawn(io, run_accept(shared_), asio::detached);
}

ControlServer::~ControlServer() {
    shared_->closed = true;
    std::error_code ignored;
    shared_->acceptor.close(ignored);
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == shared_->device && st.st_ino == shared_->inode)
        ::unlink(path_.c_str());
}

std::string control_answer(const std::string& request, const ControlServer::StatusFn& status,
                           const ControlServer::DisconnectFn& disconnect) {
    const json parsed = json::parse(request, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object())
        return failure("malformed request: expected a JSON object such as {\"command\":\"status\"}");
    const auto command = parsed.find("command");
    if (command == parsed.end() || !command->is_string())
        return failure("malformed request: missing \"command\" (status or disconnect)");
    const auto& name = command->get_ref<const std::string&>();
    try {
        if (name == "status") return dump_line({{"ok", true}, {"status", status ? status() : json::object()}});
        if (name == "disconnect") {
            if (disconnect) disconnect();
            return dump_line({{"ok", true}});
        }
    } catch (const std::exception& e) {
        return failure(std::string("internal error: ") + e.what());
    }
    return failure("unknown command '" + name.substr(0, 64) + "' (expected status or disconnect)");
}

namespace {

asio::awaitable<std::string> run_exchange(fs::path path, std::string request) {
    UnixSocket socket(co_await asio::this_coro::executor);
    co_await socket.async_connect(asio::local::stream_protocol::endpoint(path.string()), asio::use_awaitable);
    co_await asio::async_write(socket, asio::buffer(request), asio::use_awaitable);
    std::string answer;
    try {
        const auto n = co_await asio::async_read_until(socket, asio::dynamic_buffer(answer, max_answer), '\n',
                                                       asio::use_awaitable);
        answer.resize(n - 1);
    } catch (const std::system_error& e) {
        if (e.code() != asio::error::eof || answer.empty()) throw;
    }
    co_return answer;
}

}  // namespace

json control_request(const fs::path& path, const json& request, std::chrono::milliseconds timeout) {
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(path, ec)))
        throw ControlError("no ikevpn connection: " + show(path) + " does not exist");
    check_path_length(path);
    std::optional<std::string> answer;
    std::exception_ptr failure_ptr;
    {
        asio::io_context io;
        asio::co_spawn(io, run_exchange(path, dump_line(request)),
                       [&](std::exception_ptr e, std::string reply) {
                           if (e) failure_ptr = e;
                           else answer = std::move(reply);
                       });
        io.run_for(timeout);
    }
    if (failure_ptr) {
        try {
            std::rethrow_exception(failure_ptr);
        } catch (const std::system_error& e) {
            if (e.code() == asio::error::connection_refused)
                throw ControlError("no ikevpn connection: nothing answers on " + show(path) + " (a stale socket)");
            if (e.code() == asio::error::access_denied)
                throw ControlError("cannot reach " + show(path) + ": permission denied (run as root)");
            throw ControlError("control socket " + show(path) + ": " + e.code().message());
        }
    }
    if (!answer) {
        const auto ms = timeout.count();
        throw ControlError("ikevpn on " + show(path) + " did not answer within " +
                           (ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms"));
    }
    json parsed = json::parse(*answer, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("ok"))
        throw ControlError("unexpected answer on " + show(path) + " (not an ikevpn control socket?)");
    return parsed;
}

}  // namespace ikevpn::client
