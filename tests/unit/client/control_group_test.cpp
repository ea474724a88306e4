// Control socket access for a configured group (profile "control_group", --control-group).
#include "client/control_socket.hpp"

#include "temp_dir.hpp"

#include <asio/io_context.hpp>
#include <doctest/doctest.h>

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace ikevpn::client;
using ikevpn::test::TempDir;
using nlohmann::json;

TEST_CASE("peer check: root and our own user always, others only through the group") {
    const unsigned me = ::geteuid();
    const unsigned stranger = me == 0 ? 65534 : me + 12345;  // nobody, or a uid that is not ours
    CHECK(control_peer_allowed(0, 0, std::nullopt));
    CHECK(control_peer_allowed(me, 0, std::nullopt));
    CHECK_FALSE(control_peer_allowed(stranger, 4242, std::nullopt));
    CHECK_FALSE(control_peer_allowed(stranger, 4242, 4343u));
    CHECK(control_peer_allowed(stranger, 4242, 4242u));  // primary group from SO_PEERCRED
}

TEST_CASE("group IDs are looked up by name; an unknown group is one clear error") {
    const group* root_group = ::getgrgid(0);
    REQUIRE(root_group);
    CHECK(control_group_id(root_group->gr_name) == 0u);
    try {
        control_group_id("no-such-group-ikevpn-test");
        FAIL("expected ControlError");
    } catch (const ControlError& e) {
        CHECK(std::string(e.what()) == "control group 'no-such-group-ikevpn-test' does not exist (create it with "
                                       "'groupadd no-such-group-ikevpn-test', or remove \"control_group\")");
    }
}

TEST_CASE("with a group the socket is 0660 and owned by that group; without it 0600") {
    TempDir dir;
    asio::io_context io;
    const unsigned my_group = ::getegid();  // a group we may always chown to
    {
        ControlServer server(io, dir.path() / "grp.sock", [] { return json::object(); }, [] {}, my_group);
        struct stat st {};
        REQUIRE(::stat((dir.path() / "grp.sock").c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0660);
        CHECK(st.st_gid == my_group);
    }
    ControlServer plain(io, dir.path() / "plain.sock", [] { return json::object(); }, [] {});
    struct stat st {};
    REQUIRE(::stat((dir.path() / "plain.sock").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
}
