#include "client/data_path.hpp"

#include "core/ike_sa.hpp"
#include "dataplane/esp_format.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <array>

namespace ikevpn::client {
namespace {

constexpr std::size_t pool_size = 256;
constexpr std::size_t tun_batch = 32;
constexpr std::uint32_t buffer_size = 9216 + 128;  // the largest TUN MTU a profile may set, plus ESP overhead
constexpr std::size_t non_esp_marker_size = 4;  // RFC 3948 §2.2

dataplane::TrafficSelector to_dataplane(const msg::TrafficSelector& ts) {
    auto first = IpAddress::from_bytes(ts.start_address), last = IpAddress::from_bytes(ts.end_address);
    if (!first || !last || first->family() != last->family()) return {};
    return dataplane::TrafficSelector::from_addresses(*first, *last);
}

std::vector<std::string> ts_strings(const std::vector<msg::TrafficSelector>& selectors) {
    std::vector<std::string> out;
    for (const auto& ts : selectors) {
        auto first = IpAddress::from_bytes(ts.start_address), last = IpAddress::from_bytes(ts.end_address);
        if (!first || !last) continue;
        for (const auto& p : range_to_prefixes(*first, *last)) out.push_back(p.to_string());
    }
    return out;
}

}  // namespace

DataPath::DataPath(asio::io_context& io, asio::ip::udp::socket& natt_socket, IkeHandler on_ike)
    : io_(io), natt_socket_(natt_socket), on_ike_(std::move(on_ike)), pool_(pool_size, buffer_size),
      alive_(std::make_shared<bool>(true)) {}

DataPath::~DataPath() { stop(); }

void DataPath::stop() {
    *alive_ = false;
    if (tun_stream_) {
        tun_stream_->cancel();
        tun_stream_->release();  // the fd belongs to TunDevice, which closes it
        tun_stream_.reset();
    }
    tun_.reset();
}

void DataPath::start_receiving() {
    asio::co_spawn(io_, run_udp_receiver(), asio::detached);
}

void DataPath::install(const core::ChildSaKeys& child) {
    if (child.encr_id != 20) throw std::invalid_argument("unsupported ESP transform");
    auto make = [&](dataplane::Direction direction, std::uint32_t spi, const SecureBytes& key) {
        dataplane::SaParams p;
        p.spi = spi;
        p.direction = direction;
        p.cipher = dataplane::EspCipher::aes_gcm_16;
        p.key_bits = child.key_bits;
        p.key_material = key;
        for (const auto& ts : child.local_ts) p.local_ts.push_back(to_dataplane(ts));
        for (const auto& ts : child.remote_ts) p.remote_ts.push_back(to_dataplane(ts));
        if (engine_.sas().install(std::move(p)) != dataplane::InstallResult::ok)
            throw std::invalid_argument("the ESP engine refused the CHILD SA parameters");
    };
    make(dataplane::Direction::inbound, child.spi_in, child.key_in);
    make(dataplane::Direction::outbound, child.spi_out, child.key_out);
    spi_in_ = child.spi_in;
    spi_out_ = child.spi_out;
    esp_name_ = core::transform_name(msg::TransformType::encr, child.encr_id, child.key_bits);
    local_ts_ = ts_strings(child.local_ts);
    remote_ts_ = ts_strings(child.remote_ts);
}

void DataPath::remove(std::uint32_t spi_in) {
    engine_.sas().remove(spi_in, dataplane::Direction::inbound);
    if (spi_in == spi_in_) engine_.sas().remove(spi_out_, dataplane::Direction::outbound);
}

void DataPath::attach_tun(platform::TunDevice tun) {
    tun_.emplace(std::move(tun));
    tun_stream_.emplace(io_, tun_->fd());
    asio::co_spawn(io_, run_tun_reader(), asio::detached);
}

asio::awaitable<void> DataPath::run_udp_receiver() {
    auto alive = alive_;
    while (*alive) {
        dataplane::Packet packet;
        if (!pool_.acquire(packet)) {
            ++no_buffer_;
            co_return;  // cannot happen: every buffer is released before the next receive
        }
        std::error_code ec;
        std::size_t n = co_await natt_socket_.async_receive(
            asio::buffer(packet.data(), packet.capacity - packet.offset),
            asio::redirect_error(asio::use_awaitable, ec));
        if (!*alive || ec == asio::error::operation_aborted) {
            pool_.release(packet);
            co_return;
        }
        if (!ec) {
            packet.length = std::uint32_t(n);
            switch (dataplane::esp::classify_udp4500(packet.span())) {
            case dataplane::esp::Udp4500Kind::ike:
                on_ike_(ByteView(packet.data() + non_esp_marker_size, n - non_esp_marker_size));
                break;
            case dataplane::esp::Udp4500Kind::esp:
                handle_esp(packet);
                break;
            case dataplane::esp::Udp4500Kind::keepalive:
                break;
            case dataplane::esp::Udp4500Kind::malformed:
                ++malformed_;
                break;
            }
        }
        pool_.release(packet);
        // ICMP port unreachable from a vanished gateway shows up as ECONNREFUSED on a connected UDP
        // socket; the IKE retransmission timer decides when to give up, so just keep receiving.
    }
}

void DataPath::handle_esp(dataplane::Packet& packet) {
    engine_.decrypt_batch(std::span(&packet, 1));
    if (packet.result != dataplane::PacketResult::ok || !tun_) return;  // counted by the engine
    platform::PacketSlot slot{packet.data(), packet.length, packet.length};
    if (tun_->write_batch(std::span<const platform::PacketSlot>(&slot, 1)) != 1) ++tun_write_errors_;
}

void DataPath::send_esp(const dataplane::Packet& packet) {
    std::error_code ec;
    natt_socket_.send(asio::buffer(packet.data(), packet.length), 0, ec);
    if (ec) ++send_errors_;  // UDP: a full socket buffer drops, like a full link would
}

asio::awaitable<void> DataPath::run_tun_reader() {
    auto alive = alive_;
    std::array<dataplane::Packet, tun_batch> packets;
    std::array<platform::PacketSlot, tun_batch> slots;
    while (*alive && tun_stream_) {
        std::error_code ec;
        co_await tun_stream_->async_wait(asio::posix::stream_descriptor::wait_read,
                                         asio::redirect_error(asio::use_awaitable, ec));
        if (!*alive || ec) co_return;
        std::size_t acquired = 0;
        for (; acquired < tun_batch; ++acquired) {
            if (!pool_.acquire(packets[acquired])) break;
            auto& p = packets[acquired];
            // Leave the ESP trailer's room at the end of the buffer.
            slots[acquired] = {p.data(), std::size_t(p.capacity - p.offset - 64), 0};
        }
        const std::size_t n = tun_->read_batch(std::span(slots.data(), acquired));
        for (std::size_t i = 0; i < n; ++i) {
            packets[i].length = std::uint32_t(slots[i].length);
            packets[i].spi = 0;  // choose the SA by traffic selector
        }
        engine_.encrypt_batch(std::span(packets.data(), n));
        for (std::size_t i = 0; i < n; ++i)
            if (packets[i].result == dataplane::PacketResult::ok) send_esp(packets[i]);
        for (std::size_t i = 0; i < acquired; ++i) pool_.release(packets[i]);
    }
}

std::uint64_t DataPath::packets_in() const {
    const auto* sa = engine_.sas().find(spi_in_, dataplane::Direction::inbound);
    return sa ? sa->counters().packets_in : 0;
}

nlohmann::json DataPath::child_sas_status() const {
    nlohmann::json list = nlohmann::json::array();
    const auto* in = engine_.sas().find(spi_in_, dataplane::Direction::inbound);
    const auto* out = engine_.sas().find(spi_out_, dataplane::Direction::outbound);
    const auto& engine = engine_.counters();
    if (!in || !out) return list;
    char spi_in[9], spi_out[9];
    std::snprintf(spi_in, sizeof spi_in, "%08x", spi_in_);
    std::snprintf(spi_out, sizeof spi_out, "%08x", spi_out_);
    const auto& ci = in->counters();
    const auto& co = out->counters();
    list.push_back({
        {"spi_in", spi_in}, {"spi_out", spi_out}, {"esp", esp_name_},
        {"local_ts", local_ts_}, {"remote_ts", remote_ts_},
        {"bytes_in", ci.bytes_in}, {"bytes_out", co.bytes_out},
        {"packets_in", ci.packets_in}, {"packets_out", co.packets_out},
        {"drops", {{"replay", ci.replay}, {"icv", ci.icv}, {"bad_padding", ci.bad_padding},
                   {"ts_mismatch", ci.ts_mismatch},
                   {"malformed", ci.malformed + malformed_ + engine.malformed},
                   {"unknown_spi", engine.unknown_spi}, {"no_sa", engine.no_sa}, {"dummy", ci.dummy},
                   {"send_errors", send_errors_}, {"tun_write_errors", tun_write_errors_},
                   {"seq_exhausted", co.seq_exhausted}}},
    });
    return list;
}

}  // namespace ikevpn::client
