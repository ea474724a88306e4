#include "client/run_state.hpp"

#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

using namespace ikevpn;
using namespace ikevpn::client;
using ikevpn::test::TempDir;
namespace fs = std::filesystem;

namespace {
std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}
}  // namespace

TEST_CASE("state and backup paths sit next to the control socket") {
    CHECK(state_path_for("/run/ikevpn/work.sock") == fs::path("/run/ikevpn/work.state"));
    CHECK(state_path_for("/tmp/x/ctl") == fs::path("/tmp/x/ctl.state"));
    CHECK(dns_backup_path_for("/run/ikevpn/work.sock") == fs::path("/run/ikevpn/work.state.resolv.conf"));
}

TEST_CASE("save and load round-trip, including non-UTF-8 resolv.conf bytes; mode 0600") {
    TempDir dir;
    RunState s;
    s.socket = dir.path() / "ctl.sock";
    s.pid = 4242;
    s.profile = "demo";
    s.tun = "ikevpn0";
    s.routing = true;
    s.nft_table = "ikevpn_demo";
    s.dns = platform::DnsRecord{platform::DnsBackend::resolv_conf_file, "ikevpn0", "/etc/resolv.conf",
                                "/run/ikevpn/demo.state.resolv.conf", std::string("nameserver 1\n\xff\x00z", 16)};
    const auto path = dir.path() / "ctl.state";
    save_run_state(path, s);
    CHECK((fs::status(path).permissions() & (fs::perms::group_all | fs::perms::others_all)) == fs::perms::none);
    auto loaded = load_run_state(path);
    REQUIRE(loaded);
    CHECK(loaded->socket == s.socket);
    CHECK(loaded->pid == 4242);
    CHECK(loaded->profile == "demo");
    CHECK(loaded->tun == "ikevpn0");
    CHECK(loaded->routing);
    CHECK(loaded->nft_table == "ikevpn_demo");
    REQUIRE(loaded->dns);
    CHECK(loaded->dns->backend == platform::DnsBackend::resolv_conf_file);
    CHECK(loaded->dns->written == s.dns->written);
    CHECK(loaded->dns->backup == s.dns->backup);
}

TEST_CASE("no file is nullopt; a garbled file is a one-line error") {
    TempDir dir;
    CHECK_FALSE(load_run_state(dir.path() / "none.state"));
    auto bad = dir.write("bad.state", "{\"pid\": 1}");
    CHECK_THROWS_WITH_AS(load_run_state(bad), doctest::Contains("is not an ikevpn state file ("), std::runtime_error);
}

TEST_CASE("clean_up_run restores a rewritten resolv.conf and removes the state and stale socket files") {
    TempDir dir;
    const std::string original = "nameserver 192.0.2.53\n";
    auto conf = dir.write("resolv.conf", original, 0644);
    auto backup = dir.path() / "ctl.state.resolv.conf";
    platform::DnsConfigurator dns;
    RunState s;
    s.socket = dir.path() / "ctl.sock";
    s.pid = 1;
    s.profile = "demo";
    s.dns = dns.prepare(platform::DnsBackend::resolv_conf_file, "ikevpn0",
                        {{*IpAddress::parse("198.51.100.53")}, {}, true}, "demo", backup, conf);
    dns.apply();
    CHECK(slurp(conf) != original);
    const auto path = dir.path() / "ctl.state";
    save_run_state(path, s);
    // The dead process's DnsConfigurator is never asked again; the state file alone restores.
    auto report = clean_up_run(path, *load_run_state(path));
    CHECK(report.problems.empty());
    REQUIRE(report.cleaned.size() == 1);
    CHECK(report.cleaned[0] == "restored DNS (/etc/resolv.conf)");
    CHECK(slurp(conf) == original);
    CHECK_FALSE(fs::exists(path));
    CHECK_FALSE(fs::exists(backup));
}
