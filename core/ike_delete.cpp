#include "core/ike_delete.hpp"

namespace ikevpn::core {

std::vector<msg::Payload> build_ike_delete() {
    msg::DeletePayload del;
    del.protocol = msg::ProtocolId::ike;
    del.spi_size = 0;
    return {msg::Payload{msg::PayloadType::del, false, std::move(del)}};
}

PeerDelete read_peer_deletes(const std::vector<msg::Payload>& payloads) {
    PeerDelete out;
    for (const auto& p : payloads) {
        const auto* del = std::get_if<msg::DeletePayload>(&p.body);
        if (!del) continue;
        if (del->protocol == msg::ProtocolId::ike) out.ike_sa = true;
        if (del->protocol != msg::ProtocolId::esp || del->spi_size != 4) continue;
        for (const auto& spi : del->spis)
            if (spi.size() == 4)
                out.esp_spis.push_back(std::uint32_t(spi[0]) << 24 | std::uint32_t(spi[1]) << 16 |
                                       std::uint32_t(spi[2]) << 8 | spi[3]);
    }
    return out;
}

msg::Payload build_esp_delete(const std::vector<std::uint32_t>& spis_in) {
    msg::DeletePayload del;
    del.protocol = msg::ProtocolId::esp;
    del.spi_size = 4;
    for (auto spi : spis_in)
        del.spis.push_back({std::uint8_t(spi >> 24), std::uint8_t(spi >> 16), std::uint8_t(spi >> 8), std::uint8_t(spi)});
    return {msg::PayloadType::del, false, std::move(del)};
}

}  // namespace ikevpn::core
