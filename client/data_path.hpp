// The packet path of a connected session: TUN → ESP → UDP 4500 and back, on the session's io_context.
// Every buffer comes from one PacketPool allocated up front; drops are counted by the ESP engine (or
// here, for what happens before an SA is found), never logged per packet.
#pragma once
#include "core/session.hpp"
#include "dataplane/packet.hpp"
#include "dataplane/engine.hpp"
#include "platform/tun_device.hpp"

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>

namespace ikevpn::client {

class DataPath {
public:
    using IkeHandler = std::function<void(ByteView message)>;

    // `natt_socket` is connected to the gateway's port 4500; IKE messages arriving on it (non-ESP marker)
    // are handed to `on_ike` without the marker.
    DataPath(asio::io_context& io, asio::ip::udp::socket& natt_socket, IkeHandler on_ike);
    ~DataPath();

    // Starts receiving on the NAT-T socket (IKE from the start; ESP once an SA exists).
    void start_receiving();
    // Throws std::invalid_argument for parameters the ESP engine cannot use.
    void install(const core::ChildSaKeys& child);
    void remove(std::uint32_t spi_in);
    // Starts moving packets between `tun` and the gateway.
    void attach_tun(platform::TunDevice tun);
    void stop();

    nlohmann::json child_sas_status() const;
    std::uint64_t packets_in() const;

private:
    asio::awaitable<void> run_udp_receiver();
    asio::awaitable<void> run_tun_reader();
    void handle_esp(dataplane::Packet& packet);
    void send_esp(const dataplane::Packet& packet);

    asio::io_context& io_;
    asio::ip::udp::socket& natt_socket_;
    IkeHandler on_ike_;
    dataplane::PacketPool pool_;
    dataplane::Engine engine_;
    std::optional<platform::TunDevice> tun_;
    std::optional<asio::posix::stream_descriptor> tun_stream_;
    std::shared_ptr<bool> alive_;
    std::uint64_t malformed_ = 0, send_errors_ = 0, tun_write_errors_ = 0, no_buffer_ = 0;
    std::uint32_t spi_in_ = 0, spi_out_ = 0;
    std::string esp_name_;
    std::vector<std::string> local_ts_, remote_ts_;
};

}  // namespace ikevpn::client
