#include "client/route_policy.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace ikevpn;
using ikevpn::client::leak_blocking_routes;

namespace {

std::vector<IpPrefix> prefixes(std::initializer_list<const char*> texts) {
    std::vector<IpPrefix> out;
    for (const char* t : texts) out.push_back(*IpPrefix::parse(t));
    return out;
}

std::vector<std::string> texts(const std::vector<IpPrefix>& routes) {
    std::vector<std::string> out;
    for (const auto& r : routes) out.push_back(r.to_string());
    return out;
}

}  // namespace

TEST_CASE("a full tunnel of one family blocks the other family beside it") {
    using V = std::vector<std::string>;
    CHECK(texts(leak_blocking_routes(prefixes({"0.0.0.0/0"}), true)) == V{"::/0"});
    CHECK(texts(leak_blocking_routes(prefixes({"::/0"}), true)) == V{"0.0.0.0/0"});
    // Without IPv6 on the host there is nothing to block (and no way to add the route).
    CHECK(leak_blocking_routes(prefixes({"0.0.0.0/0"}), false).empty());
    CHECK(texts(leak_blocking_routes(prefixes({"::/0"}), false)) == V{"0.0.0.0/0"});
}

TEST_CASE("split tunnels and tunnels that carry both families add nothing") {
    CHECK(leak_blocking_routes(prefixes({"198.51.100.0/24"}), true).empty());
    CHECK(leak_blocking_routes(prefixes({"0.0.0.0/0", "::/0"}), true).empty());
    CHECK(leak_blocking_routes(prefixes({"0.0.0.0/0", "2001:db8::/32"}), true).empty());
    CHECK(leak_blocking_routes({}, true).empty());
}
