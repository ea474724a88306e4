// The packet path of a connected session: TUN → ESP → UDP 4500 and back, on the session's io_context.
// Both directions move batches: Asio only reports readiness (async_wait on the fds), then non-blocking
// batched calls drain them — recvmmsg/sendmmsg on the socket (platform::UdpBatch), up to 64 packets per
// TUN wake-up — and the ESP engine works on the whole batch at once. Every buffer comes from one PacketPool
// allocated up front and every descriptor array is a member, so no packet costs an allocation here; drops
// are counted (by the ESP engine, or here for what happens outside it), never logged per packet.
//
//   inbound:  recvmmsg ≤64 → classify each (IKE → on_ike, keepalive → ignore, ESP → collect) →
//             decrypt_batch → MSS clamp → TUN writes (with offloads: coalesced, one writev per run)
//   outbound: TUN reads ≤64 (with offloads: TSO super-packets split into segments) → MSS clamp →
//             encrypt_batch → sendmmsg
//
// TCP MSS clamping (dataplane/mss_clamp.hpp) keeps TCP segments within the tunnel MTU, so large transfers
// neither depend on fragments of ESP packets nor stall where ICMP "too big" is filtered.
#pragma once
#include "client/tun_offload.hpp"
#include "core/session.hpp"
#include "dataplane/engine.hpp"
#include "dataplane/mss_clamp.hpp"
#include "dataplane/packet.hpp"
#include "dataplane/spi_parking.hpp"
#include "platform/tun_device.hpp"
#include "platform/udp_batch.hpp"

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace ikevpn::client {

// Octets in front of an ESP packet sent in UDP (RFC 3948): the outer IP header (20, or 40 for IPv6) and
// the UDP header (8). What ESP itself adds depends on the transform (EspSa::max_inner_length).
std::size_t outer_udp_overhead(bool outer_v6);
// The TUN MTU that fills a path of `path_mtu` octets exactly once `out` (the outbound SA) has wrapped a
// packet in ESP, UDP and an outer IPv4 or IPv6 header — 20 octets less over IPv6. Nothing if none fits.
std::optional<std::uint32_t> tun_mtu_for_path(std::uint32_t path_mtu, bool outer_v6, const dataplane::EspSa& out);

// The one-line warning when a full-sized tunnel packet cannot fit the uplink once encapsulated
// (tun_mtu > largest_fitting, see DataPath::derived_tun_mtu()), or nothing.
std::optional<std::string> mtu_warning_text(std::uint32_t tun_mtu, std::uint32_t path_mtu,
                                            std::uint32_t largest_fitting);

class DataPath {
public:
    using IkeHandler = std::function<void(ByteView message)>;
    using Clock = std::chrono::steady_clock;
    static constexpr std::size_t batch_size = platform::UdpBatch::max_batch;

    // `natt_socket` is connected to the gateway's port 4500; IKE messages arriving on it (non-ESP marker)
    // are handed to `on_ike` without the marker.
    DataPath(asio::io_context& io, asio::ip::udp::socket& natt_socket, IkeHandler on_ike);
    ~DataPath();

    // Starts receiving on the NAT-T socket (IKE from the start; ESP once an SA exists).
    void start_receiving();
    // Throws std::invalid_argument for parameters the ESP engine cannot use. Without `send` only the
    // inbound SA is installed (a rekey collision's redundant pair, core::InstallChildSa::redundant).
    void install(const core::ChildSaKeys& child, bool send = true);
    void remove(std::uint32_t spi_in);
    // The gateway's CHILD SA rekey (core::InstallChildSa::outbound_deferred; client/data_path_deferred.cpp):
    // the new pair receives at once, its outbound SA waits on standby and our traffic stays on the current
    // pair until the first ESP packet decrypted on the new inbound SA, the removal of the pair it replaces,
    // promote(), or deferred_send_limit() — whichever comes first. A later install() supersedes a pair
    // still waiting (it stays receive-only: after a collision it is the redundant one).
    void install_deferred(const core::ChildSaKeys& child);
    // Sends on the waiting pair `spi_in` from now on; false if no pair with that SPI waits.
    bool promote(std::uint32_t spi_in);
    // The inbound SPI of the pair our traffic uses (0: none).
    std::uint32_t sending_spi_in() const { return pairs_.empty() ? 0 : pairs_.back().spi_in; }
    void set_deferred_send_limit(std::chrono::milliseconds limit) { deferred_send_limit_ = limit; }
    // The outbound SPI the ESP engine would encrypt a packet from `source` to `destination` with (0: none).
    std::uint32_t routed_spi_out(const IpAddress& source, const IpAddress& destination);
    // {"first_packet": n, "old_pair_removed": n, "promoted": n, "timeout": n, "superseded": n, "waiting": bool}
    nlohmann::json deferred_status() const;
    // Starts moving packets between `tun` (already configured: up, MTU set) and the gateway. Reads the TUN
    // and uplink MTUs to set the MSS limits and, when a full-sized packet will not fit the path once
    // encapsulated, the warning mtu_warning() returns.
    void attach_tun(platform::TunDevice tun);
    void stop();

    // The TUN MTU that fills the uplink exactly: the path MTU towards the gateway minus the outer IP and
    // UDP headers, then the largest inner packet the current outbound SA's transform fits into the rest
    // (EspSa::max_inner_length). Nothing before an SA is installed or when netlink cannot tell the MTU.
    struct DerivedMtu { std::uint32_t tun_mtu = 0, path_mtu = 0; };
    std::optional<DerivedMtu> derived_tun_mtu();
    // The anti-replay window of inbound SAs installed from now on (RFC 4303 §3.4.3; profile `replay_window`).
    void set_replay_window(std::uint32_t packets) { replay_window_ = packets; }

    // Set by attach_tun() when tun.mtu is too large for the uplink (see mtu_warning_text()).
    const std::optional<std::string>& mtu_warning() const { return mtu_warning_; }
    // The MSS limits in force (none before attach_tun() or when the MTUs could not be read).
    const std::optional<dataplane::MssLimits>& mss_limits() const { return mss_; }
    // After a MOBIKE move (the outer family or the uplink changed) and a new TUN MTU: the MSS limits and the
    // MTU warning again, from the TUN's MTU and the path now. No-op before attach_tun().
    void refresh_mtu() {
        if (tun_) configure_mtu(tun_->ifindex());
    }
    std::optional<int> tun_ifindex() const { return tun_ ? std::optional(tun_->ifindex()) : std::nullopt; }

    // Sends NAT-T keepalives (RFC 3948 §2.3: one octet 0xFF) on the NAT-T socket whenever nothing was
    // sent on it for `interval`, until stop(). An interval of zero returns at once.
    asio::awaitable<void> run_keepalives(std::chrono::milliseconds interval);
    void send_keepalive();
    std::uint64_t keepalives_sent() const { return keepalives_sent_; }
    Clock::time_point last_sent() const { return last_sent_; }

    nlohmann::json child_sas_status() const;
    // {"tun_offload": bool, "super_packets_read": n, "coalesced_writes": n}: whether the TUN device runs
    // with TSO/GRO offloads and how often they batched.
    nlohmann::json offload_status() const;
    // Inbound SPIs of the pairs that are due for a rekey: sequence-number soft limit, or `byte_limit`
    // inner octets carried (0 = none); see dataplane::pair_needs_rekey().
    std::vector<std::uint32_t> pairs_needing_rekey(std::uint64_t byte_limit) const;
    std::uint64_t packets_in() const;
    // The current (newest) pair's packets in and out, for the dead-data-path watch (client/esp_liveness.hpp);
    // spi_in 0 when none is installed.
    struct PairCounters {
        std::uint32_t spi_in = 0;
        std::uint64_t packets_in = 0, packets_out = 0;
    };
    PairCounters current_pair_counters() const;

    // A datagram that arrived for us on another socket — the MOBIKE path just left (client/
    // old_path_listener.hpp), where the gateway keeps sending ESP until it has moved its SAs. ESP in it is
    // decrypted and delivered like ESP from the NAT-T socket (the SPI and ICV decide; the replay window
    // drops duplicates); anything else is ignored. Copies into one pool buffer: only during a handover.
    void receive_elsewhere(ByteView datagram);
    std::uint64_t esp_elsewhere() const { return esp_elsewhere_; }

private:
    asio::awaitable<void> run_udp_receiver();
    asio::awaitable<void> run_tun_reader();
    // One recvmmsg batch, processed to the end; returns the datagrams received.
    std::size_t receive_udp_batch();
    // With UDP GRO: one recvmmsg of up to gro_messages buffers, each cut into its datagrams (in place).
    std::size_t receive_gro_batch();
    // Classifies received datagrams (IKE, keepalive, ESP) and decrypts and delivers the ESP ones.
    void process_datagrams(std::span<dataplane::Packet> datagrams);
    // Decrypts rx_packets_[first, first + count) and writes the ok ones to the TUN.
    void deliver_esp(std::span<dataplane::Packet> batch);
    // Decrypts and delivers the packets that arrived for `spi_in` before its SA was installed (the rekey
    // race, dataplane/spi_parking.hpp).
    void deliver_parked(std::uint32_t spi_in);
    // One TUN batch, read, clamped and encrypted; fills tx_slots_[0, tx_count_) with the ESP packets to
    // send and returns the packets read.
    std::size_t read_tun_batch();
    asio::awaitable<void> send_tx_batch(std::shared_ptr<bool> alive);
    // Acquires up to batch_size buffers into `packets`/`slots` (slot capacity leaves `tailroom` free).
    std::size_t acquire_batch(std::array<dataplane::Packet, batch_size>& packets,
                              std::array<platform::PacketSlot, batch_size>& slots, std::uint32_t tailroom);
    void release_batch(std::array<dataplane::Packet, batch_size>& packets, std::size_t count);
    void configure_mtu(int tun_ifindex);
    std::optional<std::uint32_t> uplink_mtu();

    asio::io_context& io_;
    asio::ip::udp::socket& natt_socket_;
    IkeHandler on_ike_;
    dataplane::PacketPool pool_;
    dataplane::Engine engine_;
    platform::UdpBatch udp_;
    std::optional<platform::TunDevice> tun_;
    std::optional<asio::posix::stream_descriptor> tun_stream_;
    asio::steady_timer keepalive_timer_;
    std::shared_ptr<bool> alive_;

    // Descriptor arrays for one batch in each direction (members: no allocation, and small coroutine frames).
    std::array<dataplane::Packet, batch_size> rx_packets_{}, tx_packets_{};
    std::array<platform::PacketSlot, batch_size> rx_slots_{}, tx_slots_{}, tun_out_slots_{};
    std::size_t rx_acquired_ = 0, tx_acquired_ = 0, tx_count_ = 0;
    std::array<dataplane::Packet*, TunOffload::max_write> rx_ok_{};  // decrypted packets for a coalescing write
    std::unique_ptr<TunOffload> offload_;  // set when the TUN device has offloads
    // UDP GRO receive buffers (64 KiB each) and the datagrams cut out of them; allocated with offloads.
    static constexpr std::size_t gro_buffer_size = 65536;
    std::unique_ptr<std::uint8_t[]> gro_storage_;
    std::array<platform::PacketSlot, TunOffload::gro_messages> gro_slots_{};
    std::array<dataplane::Packet, TunOffload::max_write> gro_packets_{};

    dataplane::SpiParking parking_;
    std::array<dataplane::Packet, dataplane::SpiParking::default_slots> parked_out_{};
    bool delivering_parked_ = false;

    std::optional<dataplane::MssLimits> mss_;
    std::optional<std::string> mtu_warning_;
    std::uint32_t replay_window_ = 1024;
    Clock::time_point last_sent_ = Clock::now();
    std::uint64_t keepalives_sent_ = 0;
    std::uint64_t esp_elsewhere_ = 0;
    std::uint64_t malformed_ = 0, send_errors_ = 0, tun_write_errors_ = 0, no_buffer_ = 0;
    // Installed CHILD SA pairs, oldest first; the last one is current. During a rekey there are two.
    struct InstalledPair {
        std::uint32_t spi_in = 0, spi_out = 0;
        std::string esp;
        std::vector<std::string> local_ts, remote_ts;
    };
    std::vector<InstalledPair> pairs_;
    // A pair installed with install_deferred() whose outbound SA is on standby (client/data_path_deferred.cpp).
    struct DeferredPair {
        std::uint32_t spi_in = 0, spi_out = 0;
        std::uint32_t behind_spi_in = 0;  // the pair that sends until then
    };
    std::optional<DeferredPair> deferred_;
    bool installing_deferred_ = false;
    std::optional<asio::steady_timer> deferred_timer_;
    // Longer than strongSwan's first two retransmissions of a rekey request (4 s, then 7.2 s later), so a
    // lost or late answer costs nothing; see data_path_deferred.cpp.
    std::chrono::milliseconds deferred_send_limit_{std::chrono::seconds(15)};
    struct DeferredCounters {
        std::uint64_t first_packet = 0, old_pair_removed = 0, promoted = 0, timeout = 0, superseded = 0;
    } deferred_counters_;
    void note_deferred_inbound(std::span<const dataplane::Packet> batch);
    void promote_deferred(std::uint64_t DeferredCounters::*reason);
    void retire_deferred();  // the waiting pair stays receive-only
    std::uint32_t current_spi_out() const { return pairs_.empty() ? 0 : pairs_.back().spi_out; }
};

}  // namespace ikevpn::client
