#include "platform/tun_device.hpp"

#include "platform/platform_error.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <utility>

namespace ikevpn::platform {

TunDevice TunDevice::open(const std::string& name_or_template) {
    if (name_or_template.empty() || name_or_template.size() >= IFNAMSIZ)
        throw PlatformError("open tun '" + name_or_template + "': name must be 1.." +
                                std::to_string(IFNAMSIZ - 1) + " characters",
                            EINVAL);
    int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) throw_errno("open /dev/net/tun");

    ifreq request{};
    request.ifr_flags = IFF_TUN | IFF_NO_PI;
    std::memcpy(request.ifr_name, name_or_template.data(), name_or_template.size());
    if (::ioctl(fd, TUNSETIFF, &request) < 0) {
        int saved = errno;
        ::close(fd);
        throw PlatformError("create tun " + name_or_template, saved);
    }
    // The kernel wrote the resolved name back (a "%d" template becomes "ikevpn0").
    std::string name(request.ifr_name, ::strnlen(request.ifr_name, IFNAMSIZ));
    unsigned index = ::if_nametoindex(name.c_str());
    if (index == 0) {
        int saved = errno;
        ::close(fd);
        throw PlatformError("find index of tun " + name, saved);
    }
    return TunDevice(fd, std::move(name), static_cast<int>(index));
}

TunDevice::TunDevice(TunDevice&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      name_(std::move(other.name_)),
      ifindex_(std::exchange(other.ifindex_, 0)),
      last_error_(other.last_error_),
      dropped_writes_(other.dropped_writes_) {}

TunDevice& TunDevice::operator=(TunDevice&& other) noexcept {
    if (this != &other) {
        close_fd();
        fd_ = std::exchange(other.fd_, -1);
        name_ = std::move(other.name_);
        ifindex_ = std::exchange(other.ifindex_, 0);
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

}  // namespace ikevpn::platform
