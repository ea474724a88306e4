// The service manager's readiness protocol (systemd's sd_notify(3), "Type=notify"): when $NOTIFY_SOCKET
// names an AF_UNIX datagram socket (a path, or "@name" for the abstract namespace), state lines such as
// "READY=1\nSTATUS=connected" are sent to it as one datagram. Without the variable nothing is sent, so
// `ikevpn connect` from a terminal is unaffected. Written here instead of linking libsystemd: it is one
// sendto() and the protocol is documented as stable.
#pragma once
#include <string>
#include <string_view>

namespace ikevpn::platform {

class ServiceNotifier {
public:
    // Reads $NOTIFY_SOCKET; an unusable value (empty, relative path, too long) disables the notifier.
    ServiceNotifier();
    explicit ServiceNotifier(std::string socket_name);  // tests: the socket to use ("" = disabled)
    ~ServiceNotifier();
    ServiceNotifier(const ServiceNotifier&) = delete;
    ServiceNotifier& operator=(const ServiceNotifier&) = delete;

    bool enabled() const { return fd_ >= 0; }
    // Sends `state` (newline-separated KEY=VALUE lines). Failures are ignored: the service manager may
    // be gone, and the VPN must not stop because of it.
    void notify(std::string_view state) const;

private:
    std::string socket_name_;
    int fd_ = -1;
};

}  // namespace ikevpn::platform
