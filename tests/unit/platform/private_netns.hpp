// Tests that change links, routes and rules run in a network namespace of their own: the first call
// moves the whole test process into a fresh network and mount namespace (unshare), so nothing can touch
// the host's network and everything vanishes when the process exits. Without root they are skipped.
#pragma once
#include "platform/netlink.hpp"

#include <cstdio>
#include <doctest/doctest.h>
#include <sched.h>
#include <string>
#include <sys/mount.h>
#include <unistd.h>

namespace ikevpn::platform::testing {

inline bool enter_private_netns() {
    static const bool entered = [] {
        if (::geteuid() != 0 || ::unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) return false;
        // /sys shows the namespace that mounted it: a private mount of sysfs shows ours. Without it only
        // the sysfs cross-checks fail, so the result is not checked here.
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr);
        ::mount("sysfs", "/sys", "sysfs", 0, nullptr);
        Netlink netlink;  // loopback starts down in a new namespace
        netlink.set_link(netlink.link_index("lo"), true);
        return true;
    }();
    return entered;
}

// Output of a shell command (used to cross-check our netlink view with iproute2's).
inline std::string run(const std::string& command) {
    std::string output;
    if (FILE* pipe = ::popen(command.c_str(), "r")) {
        char chunk[512];
        std::size_t n;
        while ((n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0) output.append(chunk, n);
        ::pclose(pipe);
    }
    return output;
}

}  // namespace ikevpn::platform::testing

// At the top of a test case that needs root and a private namespace.
#define IKEVPN_REQUIRE_NETNS()                                                              \
    if (!::ikevpn::platform::testing::enter_private_netns()) {                              \
        MESSAGE("skipped: needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) for a private netns");  \
        return;                                                                             \
    }
