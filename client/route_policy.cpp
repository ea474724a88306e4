#include "client/route_policy.hpp"

#include <algorithm>

namespace ikevpn::client {

std::vector<IpPrefix> leak_blocking_routes(const std::vector<IpPrefix>& routes, bool ipv6_available) {
    auto has_family = [&](IpAddress::Family f) {
        return std::any_of(routes.begin(), routes.end(), [f](const IpPrefix& r) { return r.address.family() == f; });
    };
    auto tunnels_default = [&](IpAddress::Family f) {
        return std::any_of(routes.begin(), routes.end(),
                           [f](const IpPrefix& r) { return r.address.family() == f && r.length == 0; });
    };
    std::vector<IpPrefix> out;
    using F = IpAddress::Family;
    if (ipv6_available && tunnels_default(F::v4) && !has_family(F::v6)) out.push_back(*IpPrefix::parse("::/0"));
    if (tunnels_default(F::v6) && !has_family(F::v4)) out.push_back(*IpPrefix::parse("0.0.0.0/0"));
    return out;
}

}  // namespace ikevpn::client
