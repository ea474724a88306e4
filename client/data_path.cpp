#include "client/data_path.hpp"

#include "core/ike_sa.hpp"
#include "dataplane/esp_format.hpp"
#include "platform/netlink.hpp"
#include "platform/udp_socket.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstdio>

namespace ikevpn::client {
namespace {

// Two batches in flight (one per direction) plus room for IKE to never starve.
constexpr std::size_t pool_size = 256;
constexpr std::uint32_t buffer_size = 9216 + 128;  // the largest TUN MTU a profile may set, plus ESP overhead
constexpr std::uint32_t esp_tailroom = 64;  // ESP trailer + ICV (at most 49 octets, esp_sa.hpp)
constexpr std::size_t non_esp_marker_size = 4;  // RFC 3948 §2.2
// A full socket buffer is waited out this many times per batch before the rest is dropped, so that a
// socket that keeps reporting writable but refuses data cannot spin the loop.
constexpr int max_send_waits = 8;

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

void clamp(const std::optional<dataplane::MssLimits>& limits, const dataplane::Packet& packet) {
    if (limits) dataplane::clamp_tcp_mss(packet.span(), *limits);
}

}  // namespace

std::size_t outer_udp_overhead(bool outer_v6) {
    constexpr std::size_t udp_header = 8;
    return (outer_v6 ? 40 : 20) + udp_header;
}

std::optional<std::uint32_t> tun_mtu_for_path(std::uint32_t path_mtu, bool outer_v6, const dataplane::EspSa& out) {
    const std::size_t outer = outer_udp_overhead(outer_v6);
    if (path_mtu <= outer) return std::nullopt;
    const std::size_t inner = out.max_inner_length(path_mtu - outer);
    if (inner == 0) return std::nullopt;
    return std::uint32_t(inner);
}

std::optional<std::string> mtu_warning_text(std::uint32_t tun_mtu, std::uint32_t path_mtu,
                                            std::uint32_t largest_fitting) {
    if (tun_mtu <= largest_fitting) return std::nullopt;
    return "tun.mtu " + std::to_string(tun_mtu) + " exceeds " + std::to_string(largest_fitting) +
           ", the largest packet the path MTU " + std::to_string(path_mtu) +
           " carries once encapsulated in ESP and UDP; large packets will be fragmented (set tun.mtu to " +
           std::to_string(largest_fitting) + " or \"auto\")";
}

DataPath::DataPath(asio::io_context& io, asio::ip::udp::socket& natt_socket, IkeHandler on_ike)
    : io_(io), natt_socket_(natt_socket), on_ike_(std::move(on_ike)), pool_(pool_size, buffer_size),
      udp_(natt_socket.native_handle()), keepalive_timer_(io), alive_(std::make_shared<bool>(true)) {}

DataPath::~DataPath() { stop(); }

void DataPath::stop() {
    *alive_ = false;
    keepalive_timer_.cancel();
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

void DataPath::install(const core::ChildSaKeys& child, bool send) {
    dataplane::EspCipher cipher;
    switch (child.encr_id) {
    case 20: cipher = dataplane::EspCipher::aes_gcm_16; break;
    case 28: cipher = dataplane::EspCipher::chacha20_poly1305; break;
    case 12: cipher = dataplane::EspCipher::aes_cbc; break;
    default: throw std::invalid_argument("unsupported ESP encryption transform " + std::to_string(child.encr_id));
    }
    dataplane::EspInteg integ = dataplane::EspInteg::none;
    switch (child.integ_id) {
    case 0: break;
    case 12: integ = dataplane::EspInteg::hmac_sha2_256_128; break;
    case 13: integ = dataplane::EspInteg::hmac_sha2_384_192; break;
    case 14: integ = dataplane::EspInteg::hmac_sha2_512_256; break;
    case 2: integ = dataplane::EspInteg::hmac_sha1_96; break;  // weak: only with allow_weak_algorithms
    default: throw std::invalid_argument("unsupported ESP integrity transform " + std::to_string(child.integ_id));
    }
    auto make = [&](dataplane::Direction direction, std::uint32_t spi, const SecureBytes& key,
                    const SecureBytes& integ_key) {
        dataplane::SaParams p;
        p.spi = spi;
        p.direction = direction;
        p.cipher = cipher;
        p.key_bits = child.key_bits;
        p.key_material = key;
        p.integ = integ;
        p.integ_key = integ_key;
        p.esn = child.esn;
        p.replay_window = replay_window_;
        for (const auto& ts : child.local_ts) p.local_ts.push_back(to_dataplane(ts));
        for (const auto& ts : child.remote_ts) p.remote_ts.push_back(to_dataplane(ts));
        const bool standby = direction == dataplane::Direction::outbound && installing_deferred_;
        if ((standby ? engine_.sas().install_standby(std::move(p)) : engine_.sas().install(std::move(p))) !=
            dataplane::InstallResult::ok)
            throw std::invalid_argument("the ESP engine refused the CHILD SA parameters");
    };
    if (send && !installing_deferred_) retire_deferred();  // superseded by this newer pair
    make(dataplane::Direction::inbound, child.spi_in, child.key_in, child.integ_key_in);
    if (send) make(dataplane::Direction::outbound, child.spi_out, child.key_out, child.integ_key_out);
    InstalledPair pair{child.spi_in, child.spi_out,
                       core::transform_name(msg::TransformType::encr, child.encr_id, child.key_bits),
                       ts_strings(child.local_ts), ts_strings(child.remote_ts)};
    if (child.integ_id != 0) pair.esp += "/" + core::transform_name(msg::TransformType::integ, child.integ_id, {});
    if (child.esn) pair.esp += "/ESN";
    // The last pair is the one carrying traffic; a receive-only one goes before it.
    if ((send && !installing_deferred_) || pairs_.empty()) pairs_.push_back(std::move(pair));
    else pairs_.insert(pairs_.end() - 1, std::move(pair));
    deliver_parked(child.spi_in);
}

void DataPath::deliver_parked(std::uint32_t spi_in) {
    const std::size_t count = parking_.take(spi_in, Clock::now(), parked_out_);
    if (count == 0) return;
    delivering_parked_ = true;
    deliver_esp(std::span(parked_out_.data(), count));
    delivering_parked_ = false;
}

void DataPath::remove(std::uint32_t spi_in) {
    auto it = std::find_if(pairs_.begin(), pairs_.end(), [&](const InstalledPair& p) { return p.spi_in == spi_in; });
    if (it == pairs_.end()) return;
    if (deferred_ && deferred_->behind_spi_in == spi_in) {
        // The gateway deleted the pair it replaced: it holds the new one. Switch before the old goes.
        promote_deferred(&DeferredCounters::old_pair_removed);
        it = std::find_if(pairs_.begin(), pairs_.end(), [&](const InstalledPair& p) { return p.spi_in == spi_in; });
    } else if (deferred_ && deferred_->spi_in == spi_in) {
        retire_deferred();
    }
    engine_.sas().remove(it->spi_in, dataplane::Direction::inbound);
    engine_.sas().remove(it->spi_out, dataplane::Direction::outbound);
    pairs_.erase(it);
}

void DataPath::attach_tun(platform::TunDevice tun) {
    configure_mtu(tun.ifindex());
    if (tun.offload()) {
        offload_ = std::make_unique<TunOffload>();
        // Split super-packets become trains of equal-sized ESP datagrams: send each train as one message,
        // and take the peer's trains the same way (without GRO the kernel would cut them up again).
        udp_.set_gso(true);
        gro_storage_ = std::make_unique<std::uint8_t[]>(TunOffload::gro_messages * gro_buffer_size);
        udp_.set_gro(true);
    }
    tun_.emplace(std::move(tun));
    tun_stream_.emplace(io_, tun_->fd());
    asio::co_spawn(io_, run_tun_reader(), asio::detached);
}

// The MTU a TCP segment must fit: the TUN's, or less when the uplink cannot carry a full TUN packet once
// encapsulated — then clamping the MSS to what fits keeps TCP clear of fragmented ESP packets. Blocking
// netlink queries, once, at configuration time.
void DataPath::configure_mtu(int tun_ifindex) {
    mss_.reset();
    mtu_warning_.reset();
    try {
        platform::Netlink netlink;
        const std::uint32_t tun_mtu = netlink.link_info(tun_ifindex).mtu;
        std::uint32_t effective = tun_mtu;
        if (const auto derived = derived_tun_mtu()) {
            mtu_warning_ = mtu_warning_text(tun_mtu, derived->path_mtu, derived->tun_mtu);
            effective = std::min(tun_mtu, derived->tun_mtu);
        }
        mss_ = dataplane::MssLimits::for_mtu(effective);
    } catch (const std::exception&) {
        // Without the numbers there is nothing to clamp to; the kernel's PMTU discovery is all that is left.
    }
}

std::optional<DataPath::DerivedMtu> DataPath::derived_tun_mtu() {
    const auto* out = engine_.sas().find(current_spi_out(), dataplane::Direction::outbound);
    if (!out) return std::nullopt;
    try {
        const auto path = uplink_mtu();
        if (!path) return std::nullopt;
        const auto remote = natt_socket_.remote_endpoint().address();  // a dual-stack socket: IPv4 as ::ffff:
        const bool v6 = remote.is_v6() && !remote.to_v6().is_v4_mapped();
        const auto inner = tun_mtu_for_path(*path, v6, *out);
        if (!inner) return std::nullopt;
        return DerivedMtu{*inner, *path};
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

// The MTU of the interface the encapsulated packets leave by: the route to the gateway for packets that
// carry the socket's firewall mark (the policy rules send those around the tunnel).
std::optional<std::uint32_t> DataPath::uplink_mtu() {
    std::error_code ec;
    const auto remote = natt_socket_.remote_endpoint(ec);
    if (ec) return std::nullopt;
    const auto address = remote.address().is_v4()
                             ? IpAddress::v4(remote.address().to_v4().to_bytes())
                             : platform::unmapped(IpAddress::v6(remote.address().to_v6().to_bytes()));
    std::uint32_t mark = 0;
    socklen_t length = sizeof mark;
    const bool marked = ::getsockopt(natt_socket_.native_handle(), SOL_SOCKET, SO_MARK, &mark, &length) == 0 &&
                        mark != 0;
    platform::Netlink netlink;
    const auto route = netlink.route_get(address, marked ? std::optional(mark) : std::nullopt);
    const std::uint32_t mtu = netlink.link_info(route.ifindex).mtu;
    return mtu ? std::optional(mtu) : std::nullopt;
}

std::size_t DataPath::acquire_batch(std::array<dataplane::Packet, batch_size>& packets,
                                    std::array<platform::PacketSlot, batch_size>& slots, std::uint32_t tailroom) {
    std::size_t n = 0;
    for (; n < batch_size; ++n) {
        if (!pool_.acquire(packets[n])) break;
        auto& p = packets[n];
        slots[n] = {p.data(), std::size_t(p.capacity - p.offset - tailroom), 0};
    }
    return n;
}

void DataPath::release_batch(std::array<dataplane::Packet, batch_size>& packets, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) pool_.release(packets[i]);
}

asio::awaitable<void> DataPath::run_udp_receiver() {
    auto alive = alive_;
    while (*alive) {
        const std::size_t n = receive_udp_batch();
        if (!*alive) co_return;
        if (n == batch_size) {
            // More may be waiting: let the TUN side run, then drain on. (Asio's epoll is edge-triggered, so
            // waiting again before the socket is drained could sleep on queued datagrams.)
            co_await asio::post(io_, asio::use_awaitable);
            continue;
        }
        std::error_code ec;
        co_await natt_socket_.async_wait(asio::ip::udp::socket::wait_read,
                                         asio::redirect_error(asio::use_awaitable, ec));
        if (!*alive || ec == asio::error::operation_aborted) co_return;
        // ICMP port unreachable from a vanished gateway shows up as ECONNREFUSED on a connected UDP socket;
        // UdpBatch counts it and the IKE retransmission timer decides when to give up.
    }
}

std::size_t DataPath::receive_udp_batch() {
    if (udp_.gro()) return receive_gro_batch();
    rx_acquired_ = acquire_batch(rx_packets_, rx_slots_, 0);
    if (rx_acquired_ == 0) {
        ++no_buffer_;  // cannot happen: each direction holds at most one batch of a pool of four
        return 0;
    }
    const std::size_t n = udp_.receive(std::span(rx_slots_.data(), rx_acquired_));
    for (std::size_t i = 0; i < n; ++i) rx_packets_[i].length = std::uint32_t(rx_slots_[i].length);
    process_datagrams(std::span(rx_packets_.data(), n));
    release_batch(rx_packets_, rx_acquired_);
    rx_acquired_ = 0;
    return n;
}

std::size_t DataPath::receive_gro_batch() {
    for (std::size_t i = 0; i < gro_slots_.size(); ++i)
        gro_slots_[i] = {gro_storage_.get() + i * gro_buffer_size, gro_buffer_size, 0, 0};
    const std::size_t n = udp_.receive(gro_slots_);
    std::size_t count = 0;
    for (std::size_t m = 0; m < n; ++m) {
        const platform::PacketSlot& slot = gro_slots_[m];
        const std::size_t step = slot.segment_size ? slot.segment_size : slot.length;
        if (slot.length == 0) {
            ++malformed_;  // truncated (handed out with length 0)
            continue;
        }
        // Descriptors into the GRO buffer itself: ESP is decrypted in place, and the inner packet keeps
        // the ESP header's octets in front of it for the virtio header of the TUN write.
        for (std::size_t at = 0; at < slot.length && count < gro_packets_.size(); at += step)
            gro_packets_[count++] = {slot.data, std::uint32_t(slot.length), std::uint32_t(at),
                                     std::uint32_t(std::min(step, slot.length - at))};
    }
    process_datagrams(std::span(gro_packets_.data(), count));
    // A full set of buffers means more may be waiting: report a full batch so that the reader drains on.
    return n == gro_slots_.size() ? batch_size : n;
}

void DataPath::process_datagrams(std::span<dataplane::Packet> datagrams) {
    // ESP packets are collected into runs and decrypted a run at a time; an IKE message ends the run first,
    // so that the order of ESP and IKE (e.g. a rekey) on the wire is the order of processing.
    std::size_t run_start = 0, run_length = 0;
    for (std::size_t i = 0; i < datagrams.size(); ++i) {
        dataplane::Packet& packet = datagrams[i];
        switch (dataplane::esp::classify_udp4500(packet.span())) {
        case dataplane::esp::Udp4500Kind::esp:
            std::swap(datagrams[run_start + run_length], packet);  // keep the run contiguous
            ++run_length;
            break;
        case dataplane::esp::Udp4500Kind::ike:
            deliver_esp(datagrams.subspan(run_start, run_length));
            run_start = i + 1;
            run_length = 0;
            on_ike_(ByteView(packet.data() + non_esp_marker_size, packet.length - non_esp_marker_size));
            break;
        case dataplane::esp::Udp4500Kind::keepalive:
            break;
        case dataplane::esp::Udp4500Kind::malformed:
            ++malformed_;  // including datagrams too long for a buffer (handed out with length 0)
            break;
        }
    }
    deliver_esp(datagrams.subspan(run_start, run_length));
}

void DataPath::deliver_esp(std::span<dataplane::Packet> batch) {
    if (batch.empty()) return;
    engine_.decrypt_batch(batch);  // drops counted by the engine
    if (deferred_) note_deferred_inbound(batch);  // the gateway uses the new pair: so do we
    if (!delivering_parked_) {
        for (const dataplane::Packet& packet : batch)
            if (packet.result == dataplane::PacketResult::unknown_spi) parking_.park(packet, Clock::now());
    }
    if (!tun_ || !*alive_) return;  // an IKE message may have closed the session mid-batch
    if (offload_) {
        std::size_t ok = 0;
        for (dataplane::Packet& packet : batch) {
            if (packet.result != dataplane::PacketResult::ok) continue;
            if (ok == rx_ok_.size()) {
                ++no_buffer_;  // cannot happen: a GRO batch holds at most rx_ok_.size() datagrams
                continue;
            }
            clamp(mss_, packet);
            rx_ok_[ok++] = &packet;
        }
        offload_->write(*tun_, std::span<dataplane::Packet* const>(rx_ok_.data(), ok));
        return;
    }
    std::size_t out = 0;
    for (const dataplane::Packet& packet : batch) {
        if (packet.result != dataplane::PacketResult::ok) continue;
        if (out == tun_out_slots_.size()) {
            ++no_buffer_;  // cannot happen: without offloads a receive batch holds at most batch_size
            continue;
        }
        clamp(mss_, packet);
        tun_out_slots_[out++] = {packet.data(), packet.length, packet.length};
    }
    const std::uint64_t refused_before = tun_->dropped_writes();
    const std::size_t written = tun_->write_batch(std::span<const platform::PacketSlot>(tun_out_slots_.data(), out));
    // A TUN write only blocks when the kernel's queue is full; like a full link, that drops.
    tun_write_errors_ += (out - written) + (tun_->dropped_writes() - refused_before);
}

asio::awaitable<void> DataPath::run_tun_reader() {
    auto alive = alive_;
    while (*alive && tun_stream_) {
        const std::size_t n = read_tun_batch();
        co_await send_tx_batch(alive);
        release_batch(tx_packets_, tx_acquired_);
        tx_acquired_ = 0;
        if (!*alive || !tun_stream_) co_return;
        if (n == batch_size) {
            co_await asio::post(io_, asio::use_awaitable);  // let the receiver run, then drain on
            continue;
        }
        std::error_code ec;
        co_await tun_stream_->async_wait(asio::posix::stream_descriptor::wait_read,
                                         asio::redirect_error(asio::use_awaitable, ec));
        if (!*alive || ec) co_return;
    }
}

std::size_t DataPath::read_tun_batch() {
    tx_count_ = 0;
    std::size_t n = 0;
    if (offload_) {
        n = tx_acquired_ = offload_->read(*tun_, pool_, tx_packets_, esp_tailroom, mss_);
    } else {
        tx_acquired_ = acquire_batch(tx_packets_, tx_slots_, esp_tailroom);
        if (tx_acquired_ == 0) {
            ++no_buffer_;
            return 0;
        }
        n = tun_->read_batch(std::span(tx_slots_.data(), tx_acquired_));
        for (std::size_t i = 0; i < n; ++i) {
            tx_packets_[i].length = std::uint32_t(tx_slots_[i].length);
            tx_packets_[i].spi = 0;  // choose the SA by traffic selector
            clamp(mss_, tx_packets_[i]);
        }
    }
    engine_.encrypt_batch(std::span(tx_packets_.data(), n));
    for (std::size_t i = 0; i < n; ++i) {
        const dataplane::Packet& p = tx_packets_[i];
        if (p.result == dataplane::PacketResult::ok) tx_slots_[tx_count_++] = {p.data(), p.length, p.length};
    }
    // The rest of a split super-packet waits in the offload reader, not in the fd: read on at once.
    return offload_ && offload_->more_pending() ? batch_size : n;
}

asio::awaitable<void> DataPath::send_tx_batch(std::shared_ptr<bool> alive) {
    std::size_t sent = 0;
    for (int waits = 0; sent < tx_count_; ++waits) {
        sent += udp_.send(std::span<const platform::PacketSlot>(tx_slots_.data() + sent, tx_count_ - sent));
        if (sent == tx_count_ || waits == max_send_waits) break;
        // EAGAIN: the socket buffer is full. Waiting for room pushes back on the TUN queue (and so on the
        // senders inside the tunnel) instead of dropping what TCP would only send again.
        std::error_code ec;
        co_await natt_socket_.async_wait(asio::ip::udp::socket::wait_write,
                                         asio::redirect_error(asio::use_awaitable, ec));
        if (!*alive || ec) break;
    }
    if (sent > 0) last_sent_ = Clock::now();
    send_errors_ += tx_count_ - sent;
    tx_count_ = 0;
}

asio::awaitable<void> DataPath::run_keepalives(std::chrono::milliseconds interval) {
    if (interval.count() <= 0) co_return;
    auto alive = alive_;
    while (*alive) {
        // Any datagram refreshes the NAT mapping, so a keepalive is only due after `interval` of silence.
        keepalive_timer_.expires_at(last_sent_ + interval);
        std::error_code ec;
        co_await keepalive_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (!*alive || ec) co_return;
        if (Clock::now() - last_sent_ >= interval) send_keepalive();
    }
}

void DataPath::send_keepalive() {
    const std::uint8_t keepalive = 0xff;  // RFC 3948 §2.3
    std::error_code ec;
    natt_socket_.send(asio::buffer(&keepalive, 1), 0, ec);
    last_sent_ = Clock::now();  // also after a failure: retry in one interval, not in a busy loop
    if (!ec) ++keepalives_sent_;
}

nlohmann::json DataPath::offload_status() const {
    // ESP that arrived for a new SA before the exchange creating it finished, delivered once it was installed.
    if (!offload_) return {{"tun_offload", false}, {"early_packets_delivered", parking_.handed_back()}};
    const auto& c = offload_->counters();
    return {{"tun_offload", true}, {"super_packets_read", c.super_packets_read}, {"coalesced_writes", c.runs_written},
            {"udp_gso", udp_.gso()}, {"udp_gso_trains", udp_.counters().gso_trains}, {"udp_gro", udp_.gro()},
            {"udp_gro_trains", udp_.counters().gro_trains}, {"early_packets_delivered", parking_.handed_back()}};
}

void DataPath::receive_elsewhere(ByteView datagram) {
    if (!*alive_ || pairs_.empty()) return;
    dataplane::Packet packet;
    if (!pool_.acquire(packet)) {
        ++no_buffer_;
        return;
    }
    if (datagram.size() <= packet.capacity - packet.offset) {
        std::copy(datagram.begin(), datagram.end(), packet.data());
        packet.length = std::uint32_t(datagram.size());
        if (dataplane::esp::classify_udp4500(packet.span()) == dataplane::esp::Udp4500Kind::esp) {
            ++esp_elsewhere_;
            deliver_esp(std::span(&packet, 1));
        }
    } else {
        ++malformed_;
    }
    pool_.release(packet);
}

DataPath::PairCounters DataPath::current_pair_counters() const {
    PairCounters c;
    if (pairs_.empty()) return c;
    const auto* in = engine_.sas().find(pairs_.back().spi_in, dataplane::Direction::inbound);
    const auto* out = engine_.sas().find(pairs_.back().spi_out, dataplane::Direction::outbound);
    if (!in || !out) return c;
    return {pairs_.back().spi_in, in->counters().packets_in, out->counters().packets_out};
}

std::uint64_t DataPath::packets_in() const {
    std::uint64_t total = 0;
    for (const auto& pair : pairs_)
        if (const auto* sa = engine_.sas().find(pair.spi_in, dataplane::Direction::inbound)) total += sa->counters().packets_in;
    return total;
}

std::vector<std::uint32_t> DataPath::pairs_needing_rekey(std::uint64_t byte_limit) const {
    std::vector<std::uint32_t> due;
    for (const auto& pair : pairs_) {
        const auto* in = engine_.sas().find(pair.spi_in, dataplane::Direction::inbound);
        const auto* out = engine_.sas().find(pair.spi_out, dataplane::Direction::outbound);
        if (in && out && dataplane::pair_needs_rekey(*in, *out, byte_limit)) due.push_back(pair.spi_in);
    }
    return due;
}

nlohmann::json DataPath::child_sas_status() const {
    nlohmann::json list = nlohmann::json::array();
    const auto& engine = engine_.counters();
    for (const auto& pair : pairs_) {
        const auto* in = engine_.sas().find(pair.spi_in, dataplane::Direction::inbound);
        const auto* out = engine_.sas().find(pair.spi_out, dataplane::Direction::outbound);
        if (!in || !out) continue;
        char spi_in[9], spi_out[9];
        std::snprintf(spi_in, sizeof spi_in, "%08x", pair.spi_in);
        std::snprintf(spi_out, sizeof spi_out, "%08x", pair.spi_out);
        const auto& ci = in->counters();
        const auto& co = out->counters();
        // Drops that happen before an SA is known (unknown SPI, no SA, socket and TUN errors) are the
        // data path's, shown with every pair.
        list.push_back({
            {"spi_in", spi_in}, {"spi_out", spi_out}, {"esp", pair.esp},
            {"local_ts", pair.local_ts}, {"remote_ts", pair.remote_ts},
            {"bytes_in", ci.bytes_in}, {"bytes_out", co.bytes_out},
            {"packets_in", ci.packets_in}, {"packets_out", co.packets_out},
            {"replay_window", in->replay_window() ? in->replay_window()->size() : 0},
            {"drops", {{"replay", ci.replay}, {"icv", ci.icv}, {"bad_padding", ci.bad_padding},
                       {"ts_mismatch", ci.ts_mismatch},
                       {"malformed", ci.malformed + malformed_ + engine.malformed +
                                         (offload_ ? offload_->counters().malformed : 0)},
                       // Packets parked for an SA installed just after them were delivered, not dropped.
                       {"unknown_spi", engine.unknown_spi - parking_.handed_back()}, {"no_sa", engine.no_sa},
                       {"dummy", ci.dummy},
                       {"send_errors", send_errors_},
                       {"tun_write_errors", tun_write_errors_ + (offload_ ? offload_->counters().write_errors : 0)},
                       {"seq_exhausted", co.seq_exhausted}}},
        });
    }
    return list;
}

}  // namespace ikevpn::client
