// IKE requests the connected NAT-T socket cannot receive. That socket only accepts datagrams from the
// gateway's address and port 4500, on the path it is on now. But a MOBIKE gateway also probes paths from
// its other addresses (strongSwan: "checking path 203.0.113.129[4500] - ..."), and until it has processed
// our UPDATE_SA_ADDRESSES it sends to the address and port we left. Unanswered, such a request blocks the
// gateway's next exchange until its retransmission (strongSwan: 4 s), and with it the CHILD SA rekey a
// kernel-libipsec gateway needs to move its ESP (tests/bench/handover.sh showed 4 s gaps).
// So two unconnected sockets listen for IKE: one on the current address and port (sharing them with the
// NAT-T socket through SO_REUSEADDR: datagrams from the gateway's main address still go to the connected
// socket) and one on the previous address and port while that address exists. The core answers what
// arrives (its SPIs and integrity check decide what is real). ESP arriving there goes to the data path
// (set_esp_handler): when a better uplink appears the old path still works, and the gateway keeps sending
// ESP to the address we left until it has processed our update (a kernel-libipsec gateway: until it has
// rekeyed the CHILD SA) — dropping that ESP was a gap of two round trips with both paths up. Keepalives
// are ignored.
#pragma once
#include "core/bytes.hpp"
#include "core/session.hpp"

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace ikevpn::client {

class OldPathListener {
public:
    using Handler = std::function<void(ByteView message, const core::Path& arrived_on)>;
    using EspHandler = std::function<void(ByteView datagram)>;
    OldPathListener(asio::io_context& io, Handler on_ike) : io_(io), on_ike_(std::move(on_ike)) {}
    void set_esp_handler(EspHandler on_esp) { on_esp_ = std::move(on_esp); }
    ~OldPathListener() { stop(); }

    // Listens on `current.local` (shared with the NAT-T socket) and, when given, `old.local`, replacing the
    // earlier listeners. A local address that is gone is silently skipped (its bind fails).
    void listen(const core::Path& current, const std::optional<core::Path>& old, std::uint32_t fwmark);
    void stop();

private:
    void open(const core::Path& path, std::uint32_t fwmark, bool shared);
    asio::awaitable<void> run(std::shared_ptr<asio::ip::udp::socket> socket, core::Path path);

    asio::io_context& io_;
    Handler on_ike_;
    EspHandler on_esp_;
    std::vector<std::shared_ptr<asio::ip::udp::socket>> sockets_;
};

}  // namespace ikevpn::client
