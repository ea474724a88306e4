// auth.method "eap-mschapv2": the profile keys (eap_identity/username, password_file, its permission
// warning, the required "ca") and the terminal password prompt (client/password_prompt.hpp), driven
// through a pseudo-terminal.
#include "client/password_prompt.hpp"
#include "client/profile.hpp"
#include "tests/support/test_pki.hpp"

#include "demo_profile_file.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

using ikevpn::SecureBytes;
using ikevpn::client::AuthMethod;
using ikevpn::client::obtain_eap_password;
using ikevpn::client::Profile;
using ikevpn::client::read_password_line;
using ikevpn::test::load_demo_profile;
using ikevpn::test::TempDir;
using ikevpn::test::TestPki;
using nlohmann::json;

namespace {

struct EapDir {
    TempDir dir;
    TestPki pki;
    EapDir() {
        dir.write("ca.pem", pki.ca_pem());
        dir.write("alice.pass", "pa55 word\n");
    }
    std::string load(const json& doc, Profile* out = nullptr, std::vector<std::string>* warnings = nullptr) {
        return load_demo_profile(dir, doc, out, warnings);
    }
};

json eap_profile(json auth) {
    auth["method"] = "eap-mschapv2";
    return {{"gateway", "192.0.2.1"}, {"local_id", "alice@example.com"}, {"remote_id", "vpn.example.com"},
            {"auth", auth}, {"ca", {"ca.pem"}}};
}

std::string text(const SecureBytes& s) { return std::string(s.begin(), s.end()); }

// A pseudo-terminal pair; the slave stands for the user's terminal on standard input.
struct Pty {
    int master = -1, slave = -1;
    Pty() { REQUIRE(::openpty(&master, &slave, nullptr, nullptr, nullptr) == 0); }
    ~Pty() {
        ::close(master);
        ::close(slave);
    }
    bool echo() const {
        termios t{};
        ::tcgetattr(slave, &t);
        return (t.c_lflag & ECHO) != 0;
    }
};

}  // namespace

TEST_CASE("eap-mschapv2 profile: username and password file") {
    EapDir d;
    Profile p;
    std::vector<std::string> warnings;
    REQUIRE(d.load(eap_profile({{"username", "alice"}, {"password_file", "alice.pass"}}), &p, &warnings) == "");
    CHECK(p.auth == AuthMethod::eap_mschapv2);
    CHECK(p.eap_identity == "alice");
    CHECK(text(p.eap_password) == "pa55 word");  // one trailing newline stripped, inner space kept
    CHECK(p.eap_password_from_file);
    CHECK(warnings.empty());

    REQUIRE(d.load(eap_profile({{"eap_identity", "bob"}}), &p) == "");
    CHECK(p.eap_identity == "bob");
    CHECK(p.eap_password.empty());
    CHECK_FALSE(p.eap_password_from_file);
    REQUIRE(d.load(eap_profile(json::object()), &p) == "");
    CHECK(p.eap_identity == "alice@example.com");  // default: local_id
}

TEST_CASE("eap-mschapv2 profile: a readable password file draws a warning") {
    EapDir d;
    d.dir.write("open.pass", "secret\n", 0644);
    std::vector<std::string> warnings;
    REQUIRE(d.load(eap_profile({{"password_file", "open.pass"}}), nullptr, &warnings) == "");
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("open.pass is readable by group/others (chmod 600)") != std::string::npos);
}

TEST_CASE("eap-mschapv2 profile: every error names its key") {
    EapDir d;
    d.dir.write("empty.pass", "\n");
    CHECK(d.load(eap_profile({{"password_file", "missing.pass"}})) ==
          "demo.json: key 'auth.password_file': cannot read 'missing.pass': No such file or directory");
    CHECK(d.load(eap_profile({{"password_file", "empty.pass"}})) == "demo.json: key 'auth.password_file': 'empty.pass' is empty");
    CHECK(d.load(eap_profile({{"username", "a"}, {"eap_identity", "b"}})) ==
          "demo.json: key 'auth': set at most one of 'eap_identity' and 'username' (they are the same)");
    CHECK(d.load(eap_profile({{"username", ""}})) == "demo.json: key 'auth.username': must not be empty");
    CHECK(d.load(eap_profile({{"eap_identity", "a\nb"}})) ==
          "demo.json: key 'auth.eap_identity': must not contain control characters");
    CHECK(d.load(eap_profile({{"username", std::string(256, 'a')}})) ==
          "demo.json: key 'auth.username': must be 1 to 255 printable characters");
    CHECK(d.load(eap_profile({{"psk_file", "x"}})) == "demo.json: unknown key 'auth.psk_file'");
    json no_ca = eap_profile(json::object());
    no_ca.erase("ca");
    CHECK(d.load(no_ca).find("demo.json: key 'ca': missing: with auth.method 'eap-mschapv2'") == 0);
}

TEST_CASE("password prompt: echo off while typing, restored after, the line without its ending") {
    Pty pty;
    REQUIRE(pty.echo());
    REQUIRE(::write(pty.master, "s3cret\r\n", 8) == 8);
    std::FILE* sink = std::tmpfile();
    std::string error;
    auto password = read_password_line(pty.slave, sink, "Password: ", error);
    REQUIRE(password);
    CHECK(text(*password) == "s3cret");
    CHECK(pty.echo());  // restored
    std::rewind(sink);
    char prompt[32] = {};
    CHECK(std::fgets(prompt, sizeof prompt, sink) != nullptr);
    CHECK(std::string(prompt) == "Password: ");
    std::fclose(sink);
}

TEST_CASE("password prompt: an empty line or end of input is an error") {
    Pty pty;
    REQUIRE(::write(pty.master, "\n", 1) == 1);
    std::string error;
    std::FILE* sink = std::tmpfile();
    CHECK_FALSE(read_password_line(pty.slave, sink, "P: ", error));
    CHECK(error == "no password entered (empty line)");
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    ::close(pipe_fds[1]);
    CHECK_FALSE(read_password_line(pipe_fds[0], sink, "P: ", error));
    CHECK(error == "no password entered (end of input)");
    ::close(pipe_fds[0]);
    std::fclose(sink);
}

TEST_CASE("obtain_eap_password: prompts on a terminal, refuses without one, skips when the file gave it") {
    EapDir d;
    Profile p;
    REQUIRE(d.load(eap_profile({{"username", "alice"}}), &p) == "");
    std::FILE* sink = std::tmpfile();
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    auto error = obtain_eap_password(p, pipe_fds[0], sink);
    REQUIRE(error);
    CHECK(error->find("key 'auth.password_file': not set, and standard input is not a terminal") != std::string::npos);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);

    Pty pty;
    REQUIRE(::write(pty.master, "typed\n", 6) == 6);
    CHECK_FALSE(obtain_eap_password(p, pty.slave, sink));
    CHECK(text(p.eap_password) == "typed");

    Profile from_file;
    REQUIRE(d.load(eap_profile({{"password_file", "alice.pass"}}), &from_file) == "");
    CHECK_FALSE(obtain_eap_password(from_file, -1, sink));  // never touches the (invalid) fd
    CHECK(text(from_file.eap_password) == "pa55 word");
    std::fclose(sink);
}
