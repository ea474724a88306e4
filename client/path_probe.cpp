#include "client/path_probe.hpp"

#include "client/asio_address.hpp"
#include "platform/udp_reconnect.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <array>
#include <unistd.h>

namespace ikevpn::client {

const core::Path& PathProbe::open(const IpAddress& local, const core::Endpoint& gateway, std::uint32_t fwmark) {
    close();
    const int fd = platform::open_udp_listener(local, 0, fwmark, true);
    std::uint16_t port = 0;
    try {
        port = platform::local_endpoint(fd).second;
    } catch (...) {
        ::close(fd);
        throw;
    }
    socket_ = std::make_shared<asio::ip::udp::socket>(io_, local.is_v4() ? asio::ip::udp::v4() : asio::ip::udp::v6(), fd);
    path_ = core::Path{{local, port}, gateway};
    asio::co_spawn(io_, run(socket_, path_), asio::detached);
    return path_;
}

bool PathProbe::send(ByteView message) {
    if (!socket_) return false;
    Bytes framed(4, 0);  // non-ESP marker
    append(framed, message);
    std::error_code ec;
    socket_->send_to(asio::buffer(framed), asio::ip::udp::endpoint(to_asio(path_.remote.address), path_.remote.port),
                     0, ec);
    return !ec;
}

void PathProbe::close() {
    if (!socket_) return;
    std::error_code ignored;
    socket_->close(ignored);  // ends run() with operation_aborted
    socket_.reset();
}

asio::awaitable<void> PathProbe::run(std::shared_ptr<asio::ip::udp::socket> socket, core::Path path) {
    std::array<std::uint8_t, 65536> buffer;
    for (;;) {
        std::error_code ec;
        asio::ip::udp::endpoint from;
        const std::size_t n = co_await socket->async_receive_from(asio::buffer(buffer), from,
                                                                  asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted || !socket->is_open()) co_return;
        if (ec || n <= 4) continue;  // errors (ICMP), keepalives
        if (buffer[0] != 0 || buffer[1] != 0 || buffer[2] != 0 || buffer[3] != 0) {
            on_esp_(ByteView(buffer.data(), n));  // ESP: the SPI and ICV decide
            continue;
        }
        on_ike_(ByteView(buffer.data() + 4, n - 4), path);
    }
}

}  // namespace ikevpn::client
