// posix_spawn rather than fork: the client may run data-path threads, and spawn needs no care about what
// a forked child of a threaded process may call.
#include "platform/command.hpp"

#include "platform/platform_error.hpp"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <poll.h>
#include <csignal>
#include <ctime>
#include <spawn.h>
#include <string_view>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace ikevpn::platform {
namespace {

constexpr std::size_t max_output = 4096;

std::string find_executable(const std::string& name) {
    if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : std::string();
    const char* env = std::getenv("PATH");
    std::string path = std::string(env ? env : "/usr/bin:/bin") + ":/usr/sbin:/sbin";
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find(':', start);
        if (end == std::string::npos) end = path.size();
        std::string dir = path.substr(start, end - start);
        if (!dir.empty()) {
            std::string candidate = dir + "/" + name;
            struct stat st {};
            if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0)
                return candidate;
        }
        start = end + 1;
    }
    return {};
}

struct Pipe {
    int fd[2] = {-1, -1};
    Pipe() {
        if (::pipe2(fd, O_CLOEXEC) != 0) throw_errno("pipe");
    }
    ~Pipe() {
        close_end(0);
        close_end(1);
    }
    void close_end(int i) {
        if (fd[i] >= 0) ::close(fd[i]);
        fd[i] = -1;
    }
};

// Feeds `input` and collects output until both pipes are done; poll avoids a deadlock when the tool
// writes a lot before reading all its input.
void exchange(Pipe& in, Pipe& out, const std::string& input, std::string& output) {
    std::size_t written = 0;
    if (input.empty()) in.close_end(1);
    char buffer[1024];
    while (out.fd[0] >= 0) {
        pollfd fds[2] = {{out.fd[0], POLLIN, 0}, {in.fd[1], POLLOUT, 0}};
        int n = ::poll(fds, in.fd[1] >= 0 ? 2 : 1, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        if (in.fd[1] >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = ::write(in.fd[1], input.data() + written, input.size() - written);
            if (w > 0) written += std::size_t(w);
            if (w < 0 && errno != EINTR && errno != EAGAIN) written = input.size();  // EPIPE: it stopped reading
            if (written == input.size()) in.close_end(1);
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = ::read(out.fd[0], buffer, sizeof buffer);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                out.close_end(0);
            } else if (output.size() < max_output) {
                output.append(buffer, std::min(std::size_t(r), max_output - output.size()));
            }
        }
    }
}

}  // namespace

std::string CommandResult::first_line() const {
    std::string_view text = output;
    while (!text.empty() && (text.front() == '\n' || text.front() == ' ')) text.remove_prefix(1);
    text = text.substr(0, text.find('\n'));
    if (text.empty()) return "exit status " + std::to_string(exit_status);
    return std::string(text);
}

bool command_exists(const std::string& name) { return !find_executable(name).empty(); }

CommandResult run_command(const std::vector<std::string>& argv, const std::string& input) {
    CommandResult result;
    const std::string program = argv.empty() ? std::string() : find_executable(argv[0]);
    if (program.empty()) {
        result.exit_status = 127;
        result.output = (argv.empty() ? std::string("(none)") : argv[0]) + ": command not found";
        return result;
    }
    Pipe in, out;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in.fd[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out.fd[1], 1);
    posix_spawn_file_actions_adddup2(&actions, out.fd[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    int error = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (error != 0) {
        result.exit_status = 127;
        result.output = argv[0] + ": cannot start";
        return result;
    }
    in.close_end(0);
    out.close_end(1);
    // A tool that exits without reading its input must not kill us with SIGPIPE: block it while writing and
    // swallow one raised here (EPIPE is handled as "done").
    sigset_t pipe_set, old_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
    exchange(in, out, input, result.output);
    sigset_t pending;
    if (::sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) && !sigismember(&old_set, SIGPIPE)) {
        const timespec zero{0, 0};
        ::sigtimedwait(&pipe_set, nullptr, &zero);
    }
    ::pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

}  // namespace ikevpn::platform
