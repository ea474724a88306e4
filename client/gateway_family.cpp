#include "client/gateway_family.hpp"

#include <algorithm>

namespace ikevpn::client {

std::vector<IpAddress> connect_order(const std::vector<IpAddress>& resolved) {
    std::vector<IpAddress> out;
    for (const bool v4 : {true, false})
        for (const auto& a : resolved)
            if (a.is_v4() == v4 && std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
    return out;
}

std::optional<IpAddress> other_family_gateway(const IpAddress& current, const std::vector<IpAddress>& resolved,
                                              const std::vector<IpAddress>& announced,
                                              const std::function<bool(const IpAddress&)>& has_path) {
    for (const auto* list : {&resolved, &announced})
        for (const auto& a : *list)
            if (a.family() != current.family() && has_path(a)) return a;
    return std::nullopt;
}

}  // namespace ikevpn::client
