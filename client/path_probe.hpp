// Make-before-break for a better path that appears while the current one still works (issue 5: the
// "better uplink" handover). Moving the ESP socket at once sent our ESP into a link that had just come
// up — whose first packets are often lost for a while (tests/bench/handover.sh saw ~1 s gaps) — although
// the old path still carried traffic. Instead, a second socket on the new address sends the MOBIKE
// update (the core reports the path it is on, so NAT detection and COOKIE2 are built for it) and receives
// the gateway's answers, its requests and its ESP there; ESP keeps leaving on the old path. Only once the
// gateway has confirmed the new path does the ESP socket move, confirmed by a second, quick update from its
// own port (client/session.cpp). Requests the gateway sends to the probe are answered through it.
#pragma once
#include "core/bytes.hpp"
#include "core/session.hpp"

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>

#include <functional>
#include <memory>
#include <optional>

namespace ikevpn::client {

class PathProbe {
public:
    using IkeHandler = std::function<void(ByteView message, const core::Path& arrived_on)>;
    using EspHandler = std::function<void(ByteView datagram)>;
    PathProbe(asio::io_context& io, IkeHandler on_ike, EspHandler on_esp)
        : io_(io), on_ike_(std::move(on_ike)), on_esp_(std::move(on_esp)) {}
    ~PathProbe() { close(); }

    // A socket on `local` (a port the kernel picks) towards `gateway`, marked `fwmark`; the path it is on.
    // Throws PlatformError.
    const core::Path& open(const IpAddress& local, const core::Endpoint& gateway, std::uint32_t fwmark);
    bool active() const { return socket_ != nullptr; }
    const core::Path& path() const { return path_; }
    // An IKE message to the gateway, with the non-ESP marker (RFC 3948 §2.2). False when it could not be sent.
    bool send(ByteView message);
    void close();

private:
    asio::awaitable<void> run(std::shared_ptr<asio::ip::udp::socket> socket, core::Path path);

    asio::io_context& io_;
    IkeHandler on_ike_;
    EspHandler on_esp_;
    std::shared_ptr<asio::ip::udp::socket> socket_;
    core::Path path_;
};

}  // namespace ikevpn::client
