#include "client/check_command.hpp"

#include "temp_dir.hpp"
#include "test_pem.hpp"

#include <doctest/doctest.h>

using namespace ikevpn::client;
using ikevpn::test::TempDir;

namespace {

bool has_line(const std::vector<std::string>& lines, const std::string& a, const std::string& b = "",
              const std::string& c = "") {
    for (const auto& line : lines)
        if (line.find(a) != std::string::npos && line.find(b) != std::string::npos && line.find(c) != std::string::npos)
            return true;
    return false;
}

constexpr const char* psk_profile = R"({"gateway": "192.0.2.1", "local_id": "alice@example.com",
    "auth": {"method": "psk", "psk_file": "work.psk"}})";

}  // namespace

TEST_CASE("check: a usable PSK profile passes with a summary") {
    TempDir dir;
    dir.write("work.psk", "correct horse battery staple\n");
    const auto file = dir.write("work.json", psk_profile);
    const auto result = check_profile(file);
    CHECK(result.errors.empty());
    CHECK(result.warnings.empty());
    CHECK(result.summary.find("work: gateway 192.0.2.1 port 500") == 0);
}

TEST_CASE("check: every problem names the profile file, the key and the referenced file") {
    TempDir dir;
    dir.write("open.psk", "secret", 0644);
    const auto file = dir.write("work.json", R"({"gateway": "192.0.2.1", "local_id": "alice@example.com",
        "auth": {"method": "psk", "psk_file": "missing.psk"}})");
    auto result = check_profile(file);
    REQUIRE(result.errors.size() == 1);
    CHECK(has_line(result.errors, file.string(), "key 'auth.psk_file'", "missing.psk"));

    const auto warned = dir.write("warned.json", R"({"gateway": "192.0.2.1", "local_id": "a@example.com",
        "auth": {"method": "psk", "psk_file": "open.psk"}})");
    result = check_profile(warned);
    CHECK(result.errors.empty());
    CHECK(has_line(result.warnings, "open.psk", "readable by group/others"));
}

TEST_CASE("check --json: ok, summary, errors with their keys, warnings") {
    TempDir dir;
    dir.write("work.psk", "correct horse battery staple\n", 0644);
    const auto good = dir.write("work.json", psk_profile);
    const auto ok = check_result_json(good, check_profile(good));
    CHECK(ok["file"] == good.string());
    CHECK(ok["ok"] == true);
    CHECK(ok["summary"].get<std::string>().find("work: gateway 192.0.2.1") == 0);
    CHECK(ok["errors"].empty());
    REQUIRE(ok["warnings"].size() == 1);
    CHECK(ok["warnings"][0].get<std::string>().find("work.psk") != std::string::npos);

    const auto bad = dir.write("bad.json", R"({"gateway": "192.0.2.1", "local_id": "alice@example.com",
        "auth": {"method": "psk", "psk_file": "missing.psk"}})");
    const auto failed = check_result_json(bad, check_profile(bad));
    CHECK(failed["ok"] == false);
    CHECK(failed["summary"].is_null());
    REQUIRE(failed["errors"].size() == 1);
    CHECK(failed["errors"][0]["key"] == "auth.psk_file");
    CHECK(failed["errors"][0]["message"].get<std::string>().find("missing.psk") != std::string::npos);

    const auto junk = dir.write("junk.json", "{not json");
    const auto unreadable = check_result_json(junk, check_profile(junk));
    CHECK(unreadable["ok"] == false);
    REQUIRE_FALSE(unreadable["errors"].empty());
    CHECK(unreadable["errors"][0]["key"].is_null());
}

TEST_CASE("check: certificate, key and CA files must exist and parse as PEM") {
    TempDir dir;
    dir.write("good-ca.pem", ikevpn::test::test_ca_pem, 0644);
    dir.write("good-key.pem", ikevpn::test::test_key_pem);
    dir.write("junk.pem", "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n");
    dir.write("text.pem", "hello\n");
    dir.write("locked-key.pem", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n");
    const auto file = dir.write("cert.json", R"({"gateway": "192.0.2.1", "local_id": "alice@example.com",
        "auth": {"method": "pubkey", "cert": "text.pem", "key": "locked-key.pem"},
        "ca": ["good-ca.pem", "junk.pem", "absent.pem", "good-key.pem"]})");
    const auto result = check_profile(file);
    // One line per bad file; the loader's own verdict (it stops at the first bad file, auth.cert) is
    // not repeated.
    CHECK(has_line(result.errors, "key 'auth.cert'", "'text.pem'", "no PEM CERTIFICATE block"));
    CHECK(has_line(result.errors, "key 'auth.key'", "'locked-key.pem'", "passphrase-protected"));
    CHECK(has_line(result.errors, "key 'ca[1]'", "'junk.pem'", "not an X.509 certificate"));
    CHECK(has_line(result.errors, "key 'ca[2]'", "'absent.pem'", "No such file"));
    CHECK(has_line(result.errors, "key 'ca[3]'", "'good-key.pem'", "no PEM CERTIFICATE block"));
    CHECK_FALSE(has_line(result.errors, "ca[0]"));
    CHECK(result.errors.size() == 5);
    for (const auto& line : result.errors) CHECK(line.find(file.string()) == 0);

    const auto keyed = dir.write("key.json", R"({"gateway": "192.0.2.1", "local_id": "a@example.com",
        "auth": {"method": "pubkey", "cert": "good-ca.pem", "key": "good-key.pem"}})");
    const auto good_files = check_profile(keyed);
    REQUIRE(good_files.errors.size() == 1);  // the files are fine; pubkey without "ca" is not
    CHECK(has_line(good_files.errors, "key 'ca'", "must authenticate with a certificate"));
}

TEST_CASE("check: an unreadable or malformed profile is one clear error") {
    TempDir dir;
    auto result = check_profile(dir.path() / "none.json");
    REQUIRE(result.errors.size() == 1);
    CHECK(has_line(result.errors, "none.json", "cannot read the profile"));
    result = check_profile(dir.write("bad.json", "{\"gateway\": }"));
    REQUIRE(result.errors.size() == 1);
    CHECK(has_line(result.errors, "bad.json", "line 1 column"));
}
