#include "platform/tun_device.hpp"

#include "platform/platform_error.hpp"

#include <bit>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <utility>

namespace ikevpn::platform {

namespace {

// IFF_VNET_HDR with TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6: the kernel may hand us TCP super-packets and
// packets whose checksum is still partial. The header is little-endian everywhere only with TUNSETVNETLE;
// without it a big-endian host would use its own order, so there it is a condition, here a formality.
bool enable_offloads(int fd) {
    const int header_size = 10;  // struct virtio_net_hdr
    if (::ioctl(fd, TUNSETVNETHDRSZ, &header_size) < 0) return false;
    const int little_endian = 1;
    if (::ioctl(fd, TUNSETVNETLE, &little_endian) < 0 && std::endian::native != std::endian::little) return false;
    const unsigned features = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
    return ::ioctl(fd, TUNSETOFFLOAD, features) == 0;
}

}  // namespace

TunDevice TunDevice::open(const std::string& name_or_template, bool offload) {
    if (name_or_template.empty() || name_or_template.size() >= IFNAMSIZ)
        throw PlatformError("open tun '" + name_or_template + "': name must be 1.." +
                                std::to_string(IFNAMSIZ - 1) + " characters",
                            EINVAL);
    int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) throw_errno("open /dev/net/tun");

    ifreq request{};
    request.ifr_flags = IFF_TUN | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0);
    std::memcpy(request.ifr_name, name_or_template.data(), name_or_template.size());
    if (::ioctl(fd, TUNSETIFF, &request) < 0) {
        int saved = errno;
        ::close(fd);
        throw PlatformError("create tun " + name_or_template, saved);
    }
    if (offload && !enable_offloads(fd)) {
        // The interface exists with IFF_VNET_HDR, which cannot be taken back: start over without it.
        ::close(fd);
        return open(name_or_template, false);
    }
    // The kernel wrote the resolved name back (a "%d" template becomes "ikevpn0").
    std::string name(request.ifr_name, ::strnlen(request.ifr_name, IFNAMSIZ));
    unsigned index = ::if_nametoindex(name.c_str());
    if (index == 0) {
        int saved = errno;
        ::close(fd);
        throw PlatformError("find index of tun " + name, saved);
    }
    return TunDevice(fd, std::move(name), static_cast<int>(index), offload);
}

TunDevice::TunDevice(TunDevice&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      name_(std::move(other.name_)),
      ifindex_(std::exchange(other.ifindex_, 0)),
      offload_(other.offload_),
      last_error_(other.last_error_),
      dropped_writes_(other.dropped_writes_) {}

TunDevice& TunDevice::operator=(TunDevice&& other) noexcept {
    if (this != &other) {
        close_fd();
        fd_ = std::exchange(other.fd_, -1);
        name_ = std::move(other.name_);
        ifindex_ = std::exchange(other.ifindex_, 0);
        offload_ = other.offload_;
        last_error_ = other.last_error_;
        dropped_writes_ = other.dropped_writes_;
    }
    return *this;
}

TunDevice::~TunDevice() { close_fd(); }

void TunDevice::close_fd() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

std::size_t TunDevice::read_batch(std::span<PacketSlot> slots) noexcept {
    last_error_ = 0;
    std::size_t count = 0;
    while (count < slots.size()) {
        PacketSlot& slot = slots[count];
        ssize_t n = ::read(fd_, slot.data, slot.capacity);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) last_error_ = errno;
            break;
        }
        slot.length = static_cast<std::size_t>(n);
        ++count;
    }
    return count;
}

std::size_t TunDevice::write_batch(std::span<const PacketSlot> slots) noexcept {
    last_error_ = 0;
    std::size_t count = 0;
    while (count < slots.size()) {
        const PacketSlot& slot = slots[count];
        ssize_t n = ::write(fd_, slot.data, slot.length);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            last_error_ = errno;
            ++dropped_writes_;
        }
        ++count;
    }
    return count;
}

std::optional<std::size_t> TunDevice::read_packet(std::span<std::uint8_t> buffer) noexcept {
    last_error_ = 0;
    for (;;) {
        const ssize_t n = ::read(fd_, buffer.data(), buffer.size());
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) last_error_ = errno;
        return std::nullopt;
    }
}

TunDevice::WriteResult TunDevice::write_gather(std::span<const ::iovec> pieces) noexcept {
    last_error_ = 0;
    for (;;) {
        if (::writev(fd_, pieces.data(), static_cast<int>(pieces.size())) >= 0) return WriteResult::written;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return WriteResult::again;
        last_error_ = errno;
        ++dropped_writes_;
        return WriteResult::refused;
    }
}

}  // namespace ikevpn::platform
