#include "dataplane/engine.hpp"

#include "dataplane/esp_format.hpp"

namespace ikevpn::dataplane {

void Engine::encrypt_batch(std::span<Packet> packets) {
    // Sequential for now; the stages (route, assign sequence numbers, encrypt) can later be split so that
    // encryption runs on several cores while the order on the wire stays the same.
    for (Packet& packet : packets) encrypt_one(packet);
}

void Engine::decrypt_batch(std::span<Packet> packets) {
    for (Packet& packet : packets) decrypt_one(packet);
}

void Engine::encrypt_one(Packet& packet) {
    if (!packet.valid()) {
        ++counters_.malformed;
        packet.result = PacketResult::malformed;
        return;
    }
    EspSa* sa = nullptr;
    if (packet.spi != 0) {
        sa = sas_.find_outbound(packet.spi);
    } else {
        const esp::InnerAddresses a = esp::inner_addresses(packet.span());
        if (!a.valid) {
            ++counters_.malformed;
            packet.result = PacketResult::malformed;
            return;
        }
        sa = sas_.route_outbound(a.source, a.destination, a.v6);
    }
    if (sa == nullptr) {
        ++counters_.no_sa;
        packet.result = PacketResult::no_sa;
        return;
    }
    sa->encapsulate(packet);
}

void Engine::decrypt_one(Packet& packet) {
    if (!packet.valid() || packet.length < esp::header_size) {
        ++counters_.malformed;
        packet.result = PacketResult::malformed;
        return;
    }
    const std::uint32_t spi = esp::read_be32(packet.data());
    packet.spi = spi;
    EspSa* sa = sas_.find_inbound(spi);
    if (sa == nullptr) {
        ++counters_.unknown_spi;
        packet.result = PacketResult::unknown_spi;
        return;
    }
    sa->decapsulate(packet);
}

}  // namespace ikevpn::dataplane
