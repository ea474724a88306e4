// The one exception type of platform/: configuration-time failures of netlink, ioctls and sockets.
// what() names the operation and ends with strerror, e.g.
// "add route 0.0.0.0/0 dev ikevpn0 table 51880: File exists"; code() keeps the errno so callers can
// tolerate expected failures (teardown ignores ENOENT/ESRCH/ENODEV).
#pragma once
#include <stdexcept>
#include <string>

namespace ikevpn::platform {

class PlatformError : public std::runtime_error {
public:
    // `detail` is an optional kernel extended-ack message, appended in parentheses.
    PlatformError(const std::string& what_failed, int error_number, const std::string& detail = {});
    int code() const noexcept { return code_; }

private:
    int code_;
};

// Throws PlatformError(what_failed, errno) — for use right after a failed system call.
[[noreturn]] void throw_errno(const std::string& what_failed);

}  // namespace ikevpn::platform
