#include "client/profile_paths.hpp"

#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <cstdlib>

using namespace ikevpn::client;
using ikevpn::test::TempDir;
namespace fs = std::filesystem;

namespace {

// Sets (or unsets, with nullptr) an environment variable for one scope.
class EnvVar {
public:
    EnvVar(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value) ::setenv(name, value, 1);
        else ::unsetenv(name);
    }
    ~EnvVar() {
        if (old_) ::setenv(name_, old_->c_str(), 1);
        else ::unsetenv(name_);
    }

private:
    const char* name_;
    std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("search path: --dir, then the environment variable, then ~/.config/ikevpn and /etc/ikevpn") {
    EnvVar env(profile_path_env, nullptr);
    EnvVar xdg("XDG_CONFIG_HOME", nullptr);
    EnvVar home("HOME", "/home/alice");
    CHECK(profile_search_path(std::nullopt) == std::vector<fs::path>{"/home/alice/.config/ikevpn", "/etc/ikevpn"});
    {
        EnvVar xdg_set("XDG_CONFIG_HOME", "/srv/conf");
        CHECK(profile_search_path(std::nullopt) == std::vector<fs::path>{"/srv/conf/ikevpn", "/etc/ikevpn"});
    }
    {
        EnvVar relative_xdg("XDG_CONFIG_HOME", "conf");  // not absolute: ignored, as the XDG spec says
        CHECK(profile_search_path(std::nullopt).front() == "/home/alice/.config/ikevpn");
    }
    {
        EnvVar no_home("HOME", nullptr);
        CHECK(profile_search_path(std::nullopt) == std::vector<fs::path>{"/etc/ikevpn"});
    }
    EnvVar set(profile_path_env, "/a::/b:");
    CHECK(profile_search_path(std::nullopt) == std::vector<fs::path>{"/a", "/b"});
    CHECK(profile_search_path(fs::path("/only")) == std::vector<fs::path>{"/only"});
    CHECK(describe_search_path({"/a", "/b"}) == "/a, /b");
}

TEST_CASE("a name is looked up along the search path; a path is used as given") {
    TempDir first, second;
    second.write("work.json", "{}");
    second.write("home.json", "{}");
    first.write("home.json", "{}");
    const std::vector<fs::path> path{first.path(), second.path() / "missing", second.path()};
    CHECK(resolve_profile("work", path) == second.path() / "work.json");
    CHECK(resolve_profile("home", path) == first.path() / "home.json");  // first match wins
    CHECK(resolve_profile("./work", path) == "./work");
    CHECK(resolve_profile("other.json", path) == "other.json");
    CHECK(resolve_profile("/etc/x", path) == "/etc/x");
    try {
        resolve_profile("nowhere", path);
        FAIL("expected ProfileLookupError");
    } catch (const ProfileLookupError& e) {
        const std::string what = e.what();
        CHECK(what.find("profile 'nowhere' not found") != std::string::npos);
        CHECK(what.find(first.path().string()) != std::string::npos);
        CHECK(what.find("--dir") != std::string::npos);
    }
}

TEST_CASE("find_profiles lists *.json per directory, sorted, and marks shadowed names") {
    TempDir first, second;
    first.write("b.json", "{}");
    first.write("a.json", "{}");
    first.write("notes.txt", "");
    fs::create_directory(first.path() / "dir.json");
    second.write("a.json", "{}");
    second.write("c.json", "{}");
    const auto found = find_profiles({first.path(), first.path() / "nope", second.path()});
    REQUIRE(found.size() == 4);
    CHECK(found[0].name == "a");
    CHECK_FALSE(found[0].shadowed);
    CHECK(found[1].name == "b");
    CHECK(found[2].name == "a");
    CHECK(found[2].shadowed);
    CHECK(found[2].file == second.path() / "a.json");
    CHECK(found[3].name == "c");
}
