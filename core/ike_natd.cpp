#include "core/ike_natd.hpp"

#include "core/crypto/nat_detection.hpp"

namespace ikevpn::core {

void add_nat_detection(std::vector<msg::Payload>& payloads, const msg::Spi8& spi_i, const IpAddress& gateway,
                       std::uint16_t gateway_port, crypto::RandomSource& random) {
    const msg::Spi8 zero_spi{};  // SPIr is still zero in the first message
    Bytes fake_source(20);
    random.fill(fake_source);
    payloads.push_back(msg::make_notify(msg::NotifyType::nat_detection_source_ip, std::move(fake_source)));
    payloads.push_back(msg::make_notify(msg::NotifyType::nat_detection_destination_ip,
                                        crypto::nat_detection_hash(spi_i, zero_spi, gateway.bytes(), gateway_port)));
}

void process_nat_detection(IkeSa& sa, const std::vector<msg::Payload>& payloads, const IpAddress& gateway,
                           std::uint16_t gateway_port) {
    const Bytes expected_source = crypto::nat_detection_hash(sa.spi_i, sa.spi_r, gateway.bytes(), gateway_port);
    bool any_source = false, source_matches = false;
    for (const auto& p : payloads) {
        const auto* n = std::get_if<msg::NotifyPayload>(&p.body);
        if (!n || n->type != std::uint16_t(msg::NotifyType::nat_detection_source_ip)) continue;
        any_source = true;
        source_matches |= n->data == expected_source;
    }
    sa.nat_remote = any_source && !source_matches;
    sa.nat_local = true;
}

}  // namespace ikevpn::core
