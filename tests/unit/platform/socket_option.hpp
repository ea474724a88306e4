// Reading an int socket option in the platform tests (SO_MARK, IPV6_V6ONLY, ...): the test fails here when
// getsockopt does.
#pragma once
#include <doctest/doctest.h>
#include <sys/socket.h>

namespace ikevpn::platform::testing {

inline int int_option(int fd, int level, int option) {
    int value = -1;
    socklen_t length = sizeof value;
    REQUIRE(::getsockopt(fd, level, option, &value, &length) == 0);
    return value;
}

}  // namespace ikevpn::platform::testing
