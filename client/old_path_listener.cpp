#include "client/old_path_listener.hpp"

#include "platform/udp_reconnect.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <array>

namespace ikevpn::client {

void OldPathListener::listen(const core::Path& current, const std::optional<core::Path>& old, std::uint32_t fwmark) {
    if (current_) close(*current_);
    current_.reset();
    // An earlier listener on the new current address and port would take its datagrams: close it first.
    std::erase_if(retained_, [&](Listener& listener) {
        if (listener.path.local != current.local) return false;
        close(listener);
        return true;
    });
    expire(Clock::now());
    current_ = open(current, fwmark, true);
    if (old && old->local != current.local) retain(*old, fwmark);
}

void OldPathListener::retain(const core::Path& path, std::uint32_t fwmark) {
    if (current_ && current_->path.local == path.local) return;
    for (auto& listener : retained_)
        if (listener.path.local == path.local) {
            listener.since = Clock::now();  // left again: the gateway may send there again
            return;
        }
    expire(Clock::now());
    while (retained_.size() >= kMaxRetained) {
        close(retained_.front());
        retained_.erase(retained_.begin());
    }
    if (auto listener = open(path, fwmark, false)) retained_.push_back(std::move(*listener));
}

void OldPathListener::expire(Clock::time_point now) {
    std::erase_if(retained_, [&](Listener& listener) {
        if (now - listener.since < kRetention) return false;
        close(listener);
        return true;
    });
}

std::optional<OldPathListener::Listener> OldPathListener::open(const core::Path& path, std::uint32_t fwmark, bool shared) {
    try {
        const auto& local = path.local;
        const int fd = platform::open_udp_listener(local.address, local.port, fwmark, shared);
        auto socket = std::make_shared<asio::ip::udp::socket>(
            io_, local.address.is_v4() ? asio::ip::udp::v4() : asio::ip::udp::v6(), fd);
        asio::co_spawn(io_, run(socket, path), asio::detached);
        return Listener{std::move(socket), path, Clock::now()};
    } catch (const std::exception&) {
        return std::nullopt;  // the address is gone (or its port taken): nothing can arrive there anyway
    }
}

void OldPathListener::close(Listener& listener) {
    std::error_code ignored;
    listener.socket->close(ignored);  // ends run() with operation_aborted
}

void OldPathListener::stop() {
    if (current_) close(*current_);
    current_.reset();
    for (auto& listener : retained_) close(listener);
    retained_.clear();
}

std::vector<core::Endpoint> OldPathListener::endpoints() const {
    std::vector<core::Endpoint> out;
    if (current_) out.push_back(current_->path.local);
    for (const auto& listener : retained_) out.push_back(listener.path.local);
    return out;
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
