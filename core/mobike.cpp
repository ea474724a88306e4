#include "core/mobike.hpp"

#include "core/crypto/nat_detection.hpp"

#include <algorithm>

namespace ikevpn::core {
namespace {

// RFC 4555 §4.2.6: "The data associated with this notification MUST be between 8 and 64 octets in length".
constexpr std::size_t cookie2_size = 16;

bool has_notify(const std::vector<msg::Payload>& payloads, msg::NotifyType type) {
    return msg::find_notify(payloads, type) != nullptr;
}

}  // namespace

std::string endpoint_text(const Endpoint& e) {
    const std::string a = e.address.to_string();
    return (e.address.is_v4() ? a : "[" + a + "]") + ":" + std::to_string(e.port);
}

void MobikeTask::build_auth(std::vector<msg::Payload>& payloads) const {
    // RFC 4555 §3.1: "The MOBIKE_SUPPORTED notification payload is included in the IKE_AUTH exchange".
    if (config_.mobike) payloads.push_back(msg::make_notify(msg::NotifyType::mobike_supported));
}

void MobikeTask::process_auth(const std::vector<msg::Payload>& payloads) {
    negotiated_ = config_.mobike && has_notify(payloads, msg::NotifyType::mobike_supported);
    read_addresses(payloads);
}

//  ADDITIONAL_IP4_ADDRESS (§4.2.1): Notify data = 4-octet IPv4 address
//  ADDITIONAL_IP6_ADDRESS (§4.2.2): Notify data = 16-octet IPv6 address
//  NO_ADDITIONAL_ADDRESSES (§4.2.3): no data — the peer has only the address in the IP header.
// A message with any of them replaces the whole list (§3.6: "the list is a complete list").
void MobikeTask::read_addresses(const std::vector<msg::Payload>& payloads) {
    std::vector<IpAddress> found;
    bool any = false;
    for (const auto& p : payloads) {
        const auto* n = std::get_if<msg::NotifyPayload>(&p.body);
        if (!n) continue;
        const auto type = msg::NotifyType(n->type);
        if (type == msg::NotifyType::no_additional_addresses) {
            any = true;
        } else if (type == msg::NotifyType::additional_ip4_address || type == msg::NotifyType::additional_ip6_address) {
            any = true;
            const std::size_t want = type == msg::NotifyType::additional_ip4_address ? 4 : 16;
            if (n->data.size() != want) continue;  // malformed entry: ignored, the rest still counts
            auto address = IpAddress::from_bytes(n->data);
            if (address && std::find(found.begin(), found.end(), *address) == found.end()) found.push_back(*address);
        }
    }
    if (any) gateway_addresses_ = std::move(found);
}

void MobikeTask::answer_peer_request(const std::vector<msg::Payload>& request, std::vector<msg::Payload>& response) {
    if (!negotiated_) return;
    read_addresses(request);
    // RFC 4555 §3.8: "the responder ... MUST copy the COOKIE2 notification ... to the response".
    if (const auto* cookie = msg::find_notify(request, msg::NotifyType::cookie2))
        response.push_back(msg::make_notify(msg::NotifyType::cookie2, cookie->data));
}

std::vector<msg::Payload> MobikeTask::build_update(const IkeSa& sa, const Path& path) {
    std::vector<msg::Payload> payloads;
    payloads.push_back(msg::make_notify(msg::NotifyType::update_sa_addresses));
    // NAT detection as in IKE_SA_INIT (core/ike_natd.hpp): a source hash that cannot match keeps the
    // gateway encapsulating ESP in UDP; the destination hash is the gateway's address on the new path.
    Bytes fake_source(20);
    random_.fill(fake_source);
    payloads.push_back(msg::make_notify(msg::NotifyType::nat_detection_source_ip, std::move(fake_source)));
    payloads.push_back(msg::make_notify(
        msg::NotifyType::nat_detection_destination_ip,
        crypto::nat_detection_hash(sa.spi_i, sa.spi_r, path.remote.address.bytes(), path.remote.port)));
    // §5.2: a return routability check — only the real gateway on this path can echo it.
    cookie2_.assign(cookie2_size, 0);
    random_.fill(cookie2_);
    payloads.push_back(msg::make_notify(msg::NotifyType::cookie2, cookie2_));
    return payloads;
}

MobikeTask::UpdateResult MobikeTask::process_update_response(const IkeSa& sa, const std::vector<msg::Payload>& payloads,
                                                             const Path& arrived_on) {
    UpdateResult r;
    for (const auto& p : payloads) {
        const auto* n = std::get_if<msg::NotifyPayload>(&p.body);
        if (!n) continue;
        const auto type = msg::NotifyType(n->type);
        if (type == msg::NotifyType::unacceptable_addresses || type == msg::NotifyType::unexpected_nat_detected ||
            type == msg::NotifyType::no_nats_allowed) {
            r.outcome = Outcome::refused;
            r.reason = "the gateway refused the path " + endpoint_text(arrived_on.local) + " with " +
                       (type == msg::NotifyType::no_nats_allowed ? std::string("NO_NATS_ALLOWED") : notify_name(n->type));
            return r;
        }
        if (msg::is_error_notify(n->type)) {
            r.reason = "the gateway answered UPDATE_SA_ADDRESSES with " + notify_name(n->type);
            return r;
        }
    }
    const auto* cookie = msg::find_notify(payloads, msg::NotifyType::cookie2);
    if (!cookie || cookie2_.empty() || !crypto::equal_constant_time(cookie->data, cookie2_)) {
        r.outcome = Outcome::cookie_mismatch;
        return r;
    }
    cookie2_.clear();  // one answer per cookie
    read_addresses(payloads);
    // RFC 7296 §2.23 hashes: the gateway's DESTINATION hash covers the address and port it saw us send from.
    const Bytes ours = crypto::nat_detection_hash(sa.spi_i, sa.spi_r, arrived_on.local.address.bytes(), arrived_on.local.port);
    const Bytes theirs = crypto::nat_detection_hash(sa.spi_i, sa.spi_r, arrived_on.remote.address.bytes(), arrived_on.remote.port);
    bool any_destination = false, destination_matches = false, any_source = false, source_matches = false;
    for (const auto& p : payloads) {
        const auto* n = std::get_if<msg::NotifyPayload>(&p.body);
        if (!n) continue;
        if (n->type == std::uint16_t(msg::NotifyType::nat_detection_destination_ip)) {
            any_destination = true;
            destination_matches |= n->data == ours;
        } else if (n->type == std::uint16_t(msg::NotifyType::nat_detection_source_ip)) {
            any_source = true;
            source_matches |= n->data == theirs;
        }
    }
    r.nat_local = any_destination && !destination_matches;
    r.nat_remote = any_source && !source_matches;
    r.outcome = Outcome::moved;
    return r;
}

}  // namespace ikevpn::core
