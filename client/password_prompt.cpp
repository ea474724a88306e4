#include "client/password_prompt.hpp"

#include <cerrno>
#include <cstring>

#include <termios.h>
#include <unistd.h>

namespace ikevpn::client {

namespace {

// Echo off for as long as it lives; the previous settings come back even on an early return. TCSANOW, not
// TCSAFLUSH: a password typed before the prompt appeared is kept, not silently dropped.
class EchoOff {
public:
    explicit EchoOff(int fd) : fd_(fd) {
        if (::tcgetattr(fd_, &saved_) != 0) return;
        termios quiet = saved_;
        quiet.c_lflag &= ~tcflag_t(ECHO);
        quiet.c_lflag |= ECHONL;  // the user's Enter still ends the line on screen
        active_ = ::tcsetattr(fd_, TCSANOW, &quiet) == 0;
    }
    ~EchoOff() {
        if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
    }
    EchoOff(const EchoOff&) = delete;
    EchoOff& operator=(const EchoOff&) = delete;

private:
    int fd_;
    termios saved_{};
    bool active_ = false;
};

}  // namespace

std::optional<SecureBytes> read_password_line(int fd, std::FILE* out, const std::string& prompt, std::string& error) {
    const bool terminal = ::isatty(fd) == 1;
    if (terminal) {
        std::fputs(prompt.c_str(), out);
        std::fflush(out);
    }
    EchoOff echo_off(terminal ? fd : -1);
    SecureBytes line;
    for (;;) {
        char c = 0;
        const ssize_t n = ::read(fd, &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            error = std::string("cannot read the password: ") + std::strerror(errno);
            return std::nullopt;
        }
        if (n == 0) {
            error = "no password entered (end of input)";
            return std::nullopt;
        }
        if (c == '\n') break;
        line.push_back(std::uint8_t(c));
        if (line.size() > 1024) {
            error = "the password is longer than 1024 bytes";
            return std::nullopt;
        }
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
        error = "no password entered (empty line)";
        return std::nullopt;
    }
    return line;
}

std::optional<std::string> obtain_eap_password(Profile& profile, int fd, std::FILE* out) {
    if (profile.auth != AuthMethod::eap_mschapv2 || profile.eap_password_from_file) return std::nullopt;
    if (::isatty(fd) != 1)
        return profile.path.string() + ": key 'auth.password_file': not set, and standard input is not a terminal "
                                       "to ask for the EAP password (set auth.password_file)";
    std::string error;
    auto password = read_password_line(fd, out, "EAP password for '" + profile.eap_identity + "': ", error);
    if (!password) return error;
    profile.eap_password = std::move(*password);
    return std::nullopt;
}

}  // namespace ikevpn::client
