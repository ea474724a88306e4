// IKE requests the connected NAT-T socket cannot receive. That socket only accepts datagrams from the
// gateway's address and port 4500, on the path it is on now. But a MOBIKE gateway also probes paths from
// its other addresses (strongSwan: "checking path 203.0.113.129[4500] - ..."), and until it has processed
// our UPDATE_SA_ADDRESSES it sends to the address and port we left. Unanswered, such a request blocks the
// gateway's next exchange until its retransmission (strongSwan: 4 s), and with it the CHILD SA rekey a
// kernel-libipsec gateway needs to move its ESP (tests/bench/handover.sh showed 4 s gaps).
// So unconnected sockets listen for IKE: one on the current address and port (sharing them with the
// NAT-T socket through SO_REUSEADDR: datagrams from the gateway's main address still go to the connected
// socket) and one on each recent earlier address and port while that address exists. The core answers
// what arrives (its SPIs and integrity check decide what is real).
// Why more than the last one: a kernel-libipsec gateway (strongSwan) cannot move a CHILD SA; it rekeys it
// after each UPDATE_SA_ADDRESSES, and until that rekey is done it sends ESP to wherever the CHILD SA was
// made. When the rekey's request is lost (the first datagrams to an uplink that just came back are
// dropped while the gateway's ARP entry for it is still failing), strongSwan retransmits it only 4 s
// later, and by then we may have moved again: the ESP goes to the address and port of two moves ago.
// tests/bench/handover.sh saw 1.8 s gaps from exactly that. Earlier paths (and a path probe's socket,
// retain()) are kept for kRetention, at most kMaxRetained of them. ESP arriving there goes to the data path
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

#include <chrono>
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

    // Listens on `current.local` (shared with the NAT-T socket; replaces the previous current listener) and,
    // when given, keeps listening on `old.local` (retain()). A local address that is gone is silently
    // skipped (its bind fails).
    void listen(const core::Path& current, const std::optional<core::Path>& old, std::uint32_t fwmark);
    // Keeps listening on `path.local`, a path we left, for kRetention. Earlier ones beyond kMaxRetained, older
    // than kRetention, or on the current address and port are closed first.
    void retain(const core::Path& path, std::uint32_t fwmark);
    void stop();
    // Closes the retained listeners older than kRetention (also done by listen() and retain()).
    using Clock = std::chrono::steady_clock;
    void expire(Clock::time_point now);
    // Local endpoints listened on now, the current one first (for tests and the log).
    std::vector<core::Endpoint> endpoints() const;

    // strongSwan's first two retransmissions come 4 s and 11.2 s after a lost request.
    static constexpr std::chrono::seconds kRetention{20};
    static constexpr std::size_t kMaxRetained = 4;

private:
    struct Listener {
        std::shared_ptr<asio::ip::udp::socket> socket;
        core::Path path;
        Clock::time_point since;
    };
    std::optional<Listener> open(const core::Path& path, std::uint32_t fwmark, bool shared);
    static void close(Listener& listener);
    asio::awaitable<void> run(std::shared_ptr<asio::ip::udp::socket> socket, core::Path path);

    asio::io_context& io_;
    Handler on_ike_;
    EspHandler on_esp_;
    std::optional<Listener> current_;
    std::vector<Listener> retained_;  // oldest first
};

}  // namespace ikevpn::client
