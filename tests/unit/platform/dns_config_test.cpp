#include "platform/dns_config.hpp"

#include "../client/temp_dir.hpp"
#include "platform/platform_error.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace ikevpn;
using namespace ikevpn::platform;
using ikevpn::test::TempDir;

namespace {

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

const std::string original_conf = "# from DHCP\nsearch lan.example\nnameserver 192.0.2.53\noptions edns0 trust-ad\n"
                                  "nameserver 2001:db8::53\n\xff binary junk stays\n";

}  // namespace

TEST_CASE("resolvectl: per-link servers, '~.' routing domain and default route for a full tunnel") {
    DnsSettings s{{ip("198.51.100.53"), ip("2001:db8:2::53")}, {}, true};
    auto commands = resolvectl_apply_commands("ikevpn0", s);
    REQUIRE(commands.size() == 3);
    CHECK(commands[0] == std::vector<std::string>{"resolvectl", "dns", "ikevpn0", "198.51.100.53", "2001:db8:2::53"});
    CHECK(commands[1] == std::vector<std::string>{"resolvectl", "domain", "ikevpn0", "~."});
    CHECK(commands[2] == std::vector<std::string>{"resolvectl", "default-route", "ikevpn0", "yes"});
    CHECK(resolvectl_revert_command("ikevpn0") == std::vector<std::string>{"resolvectl", "revert", "ikevpn0"});
}

TEST_CASE("resolvectl: split tunnel with domains routes only those domains to the link") {
    DnsSettings s{{ip("198.51.100.53")}, {"corp.example", "lab.example"}, false};
    auto commands = resolvectl_apply_commands("vpn1", s);
    REQUIRE(commands.size() == 3);
    CHECK(commands[1] == std::vector<std::string>{"resolvectl", "domain", "vpn1", "~corp.example", "~lab.example"});
    CHECK(commands[2] == std::vector<std::string>{"resolvectl", "default-route", "vpn1", "no"});
}

TEST_CASE("resolvectl: split tunnel without domains keeps the link a default route (no domain is known)") {
    DnsSettings s{{ip("198.51.100.53")}, {}, false};
    auto commands = resolvectl_apply_commands("vpn1", s);
    CHECK(commands[1] == std::vector<std::string>{"resolvectl", "domain", "vpn1"});
    CHECK(commands[2] == std::vector<std::string>{"resolvectl", "default-route", "vpn1", "yes"});
}

TEST_CASE("resolvconf fragment") {
    CHECK(resolvconf_fragment({{ip("198.51.100.53"), ip("2001:db8::1")}, {}, true}) ==
          "nameserver 198.51.100.53\nnameserver 2001:db8::1\n");
    CHECK(resolvconf_fragment({{ip("198.51.100.53")}, {"corp.example"}, false}) ==
          "nameserver 198.51.100.53\nsearch corp.example\n");
}

TEST_CASE("resolvconf command: exclusive (-x) only for a full tunnel through openresolv") {
    const DnsSettings full{{ip("198.51.100.53")}, {}, true};
    const DnsSettings split{{ip("198.51.100.53")}, {"corp.example"}, false};
    using argv = std::vector<std::string>;
    CHECK(resolvconf_add_command("ikevpn0", full, true) == argv{"resolvconf", "-x", "-a", "ikevpn0"});
    CHECK(resolvconf_add_command("ikevpn0", split, true) == argv{"resolvconf", "-a", "ikevpn0"});
    CHECK(resolvconf_add_command("ikevpn0", full, false) == argv{"resolvconf", "-a", "ikevpn0"});
}

TEST_CASE("backend names round-trip") {
    for (auto b : {DnsBackend::resolved, DnsBackend::resolvconf, DnsBackend::resolv_conf_file}) {
        DnsBackend parsed = DnsBackend::resolved;
        CHECK(parse_dns_backend(dns_backend_name(b), parsed));
        CHECK(parsed == b);
    }
    DnsBackend unused;
    CHECK_FALSE(parse_dns_backend("bind", unused));
}

TEST_CASE("resolv.conf rewrite: marker, our servers (at most 3), other servers and search dropped, options kept") {
    DnsSettings s{{ip("198.51.100.53"), ip("198.51.100.54"), ip("198.51.100.55"), ip("198.51.100.56")}, {}, true};
    std::string text = resolv_conf_rewrite(original_conf, s, "work", "/run/ikevpn/work.state.resolv.conf");
    CHECK(text.rfind("# Written by ikevpn (profile work)", 0) == 0);
    CHECK(text.find("/run/ikevpn/work.state.resolv.conf") != std::string::npos);
    CHECK(text.find("nameserver 198.51.100.53\nnameserver 198.51.100.54\nnameserver 198.51.100.55\n") !=
          std::string::npos);
    CHECK(text.find("198.51.100.56") == std::string::npos);
    CHECK(text.find("192.0.2.53") == std::string::npos);
    CHECK(text.find("2001:db8::53") == std::string::npos);
    CHECK(text.find("lan.example") == std::string::npos);
    CHECK(text.find("options edns0 trust-ad\n") != std::string::npos);
    CHECK(text.find("# from DHCP\n") != std::string::npos);
    DnsSettings with_domain{{ip("198.51.100.53")}, {"corp.example"}, false};
    CHECK(resolv_conf_rewrite("", with_domain, "w", "/b").find("search corp.example\n") != std::string::npos);
}

TEST_CASE("file backend: apply, then restore byte for byte") {
    TempDir dir;
    auto conf = dir.write("resolv.conf", original_conf, 0644);
    auto backup = dir.path() / "backup";
    DnsConfigurator dns;
    DnsRecord record = dns.prepare(DnsBackend::resolv_conf_file, "ikevpn0", {{ip("198.51.100.53")}, {}, true}, "demo",
                                   backup, conf);
    CHECK(slurp(conf) == original_conf);  // prepare changes nothing but the backup
    CHECK(slurp(backup) == original_conf);
    CHECK((std::filesystem::status(backup).permissions() & std::filesystem::perms::others_read) ==
          std::filesystem::perms::none);
    dns.apply();
    CHECK(slurp(conf) == record.written);
    CHECK(slurp(conf).find("nameserver 198.51.100.53\n") != std::string::npos);
    CHECK(dns.restore().empty());
    CHECK(slurp(conf) == original_conf);
    CHECK_FALSE(std::filesystem::exists(backup));
    CHECK(dns.restore().empty());  // twice is harmless
}

TEST_CASE("file backend: a file changed by someone else meanwhile is left alone, the backup kept") {
    TempDir dir;
    auto conf = dir.write("resolv.conf", original_conf, 0644);
    auto backup = dir.path() / "backup";
    DnsConfigurator dns;
    dns.prepare(DnsBackend::resolv_conf_file, "ikevpn0", {{ip("198.51.100.53")}, {}, true}, "demo", backup, conf);
    dns.apply();
    dir.write("resolv.conf", "nameserver 192.0.2.99\n", 0644);
    auto problems = dns.restore();
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].find("was changed by someone else") != std::string::npos);
    CHECK(problems[0].find(backup.string()) != std::string::npos);
    CHECK(slurp(conf) == "nameserver 192.0.2.99\n");
    CHECK(slurp(backup) == original_conf);
}

TEST_CASE("file backend: restore after prepare without apply just drops the backup") {
    TempDir dir;
    auto conf = dir.write("resolv.conf", original_conf, 0644);
    auto backup = dir.path() / "backup";
    DnsConfigurator dns;
    dns.prepare(DnsBackend::resolv_conf_file, "ikevpn0", {{ip("198.51.100.53")}, {}, true}, "demo", backup, conf);
    CHECK(dns.restore().empty());
    CHECK(slurp(conf) == original_conf);
    CHECK_FALSE(std::filesystem::exists(backup));
}

TEST_CASE("file backend refuses a symlinked resolv.conf and never overwrites an existing backup") {
    TempDir dir;
    auto target = dir.write("stub-resolv.conf", "nameserver 127.0.0.53\n", 0644);
    auto link = dir.path() / "resolv.conf";
    std::filesystem::create_symlink(target, link);
    DnsConfigurator dns;
    DnsSettings s{{ip("198.51.100.53")}, {}, true};
    CHECK_THROWS_WITH_AS(dns.prepare(DnsBackend::resolv_conf_file, "t", s, "demo", dir.path() / "b", link),
                         doctest::Contains("is a symlink"), PlatformError);
    auto conf = dir.write("plain.conf", "nameserver 192.0.2.1\n", 0644);
    auto backup = dir.write("b2", "older backup\n");
    CHECK_THROWS_AS(dns.prepare(DnsBackend::resolv_conf_file, "t", s, "demo", backup, conf), PlatformError);
    CHECK(slurp(backup) == "older backup\n");
}
