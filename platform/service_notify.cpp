#include "platform/service_notify.hpp"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace ikevpn::platform {

namespace {

// Fills `address` from "/path" or "@abstract"; the length to pass to sendto, 0 when unusable.
socklen_t socket_address_of(const std::string& name, sockaddr_un& address) {
    address = {};
    address.sun_family = AF_UNIX;
    if (name.size() < 2 || name.size() >= sizeof(address.sun_path)) return 0;
    if (name[0] != '/' && name[0] != '@') return 0;
    std::memcpy(address.sun_path, name.data(), name.size());
    if (name[0] == '@') address.sun_path[0] = '\0';  // abstract namespace: no terminating NUL counted
    return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() + (name[0] == '/' ? 1 : 0));
}

std::string socket_name_from_environment() {
    const char* value = std::getenv("NOTIFY_SOCKET");
    return value != nullptr ? std::string(value) : std::string();
}

}  // namespace

ServiceNotifier::ServiceNotifier() : ServiceNotifier(socket_name_from_environment()) {}

ServiceNotifier::ServiceNotifier(std::string socket_name) : socket_name_(std::move(socket_name)) {
    sockaddr_un address;
    if (socket_address_of(socket_name_, address) == 0) return;
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

ServiceNotifier::~ServiceNotifier() {
    if (fd_ >= 0) ::close(fd_);
}

void ServiceNotifier::notify(std::string_view state) const {
    if (fd_ < 0) return;
    sockaddr_un address;
    const socklen_t length = socket_address_of(socket_name_, address);
    if (length == 0) return;
    (void)::sendto(fd_, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&address), length);
}

}  // namespace ikevpn::platform
