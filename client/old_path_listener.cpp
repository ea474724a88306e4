#include "client/old_path_listener.hpp"

#include "platform/udp_reconnect.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <array>

namespace ikevpn::client {

void OldPathListener::listen(const core::Path& current, const std::optional<core::Path>& old, std::uint32_t fwmark) {
    stop();
    open(current, fwmark, true);
    if (old && old->local != current.local) open(*old, fwmark, false);
}

void OldPathListener::open(const core::Path& path, std::uint32_t fwmark, bool shared) {
    try {
        const auto& local = path.local;
        const int fd = platform::open_udp_listener(local.address, local.port, fwmark, shared);
        auto socket = std::make_shared<asio::ip::udp::socket>(
            io_, local.address.is_v4() ? asio::ip::udp::v4() : asio::ip::udp::v6(), fd);
        sockets_.push_back(socket);
        asio::co_spawn(io_, run(std::move(socket), path), asio::detached);
    } catch (const std::exception&) {
        // The address is gone (or its port taken): nothing can arrive there anyway.
    }
}

void OldPathListener::stop() {
    for (auto& socket : sockets_) {
        std::error_code ignored;
        socket->close(ignored);  // ends run() with operation_aborted
    }
    sockets_.clear();
}

asio::awaitable<void> OldPathListener::run(std::shared_ptr<asio::ip::udp::socket> socket, core::Path path) {
    std::array<std::uint8_t, 65536> buffer;
    for (;;) {
        std::error_code ec;
        const std::size_t n = co_await socket->async_receive(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted || !socket->is_open()) co_return;
        if (ec) continue;  // e.g. ECONNREFUSED from an ICMP error
        // RFC 3948 §2.2: IKE on port 4500 starts with the four-octet non-ESP marker; ESP with its non-zero
        // SPI (a keepalive is the single octet 0xFF).
        if (n <= 4) continue;
        if (buffer[0] != 0 || buffer[1] != 0 || buffer[2] != 0 || buffer[3] != 0) {
            if (on_esp_) on_esp_(ByteView(buffer.data(), n));
            continue;
        }
        on_ike_(ByteView(buffer.data() + 4, n - 4), path);  // answered via the NAT-T socket
    }
}

}  // namespace ikevpn::client
