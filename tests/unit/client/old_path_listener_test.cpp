// client/old_path_listener: which local endpoints keep listening after moves, and that what arrives there
// reaches the right handler. Loopback sockets only (no root); time is passed to expire(), never slept.
#include "client/old_path_listener.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>

namespace {

using ikevpn::IpAddress;
using ikevpn::client::OldPathListener;
using ikevpn::core::Endpoint;
using ikevpn::core::Path;

constexpr std::uint32_t kNoMark = 0;

// A free loopback port: bound by a throwaway socket, then released.
std::uint16_t free_port(asio::io_context& io) {
    asio::ip::udp::socket s(io, asio::ip::udp::endpoint(asio::ip::address_v4::loopback(), 0));
    return s.local_endpoint().port();
}

Path loopback_path(std::uint16_t port) {
    const IpAddress lo = *IpAddress::parse("127.0.0.1");
    return Path{{lo, port}, {lo, 4500}};
}

bool listens_on(const OldPathListener& l, const Path& p) {
    const auto e = l.endpoints();
    return std::find(e.begin(), e.end(), p.local) != e.end();
}

// Sends `bytes` to the path's local endpoint and runs the io_context until something was handled.
void send_to(asio::io_context& io, const Path& p, std::vector<std::uint8_t> bytes) {
    asio::ip::udp::socket s(io, asio::ip::udp::v4());
    s.send_to(asio::buffer(bytes), asio::ip::udp::endpoint(asio::ip::address_v4::loopback(), p.local.port));
    io.restart();
    io.run_for(std::chrono::milliseconds(200));
}

struct Fixture {
    asio::io_context io;
    std::vector<Path> ike_on;
    std::size_t esp_datagrams = 0;
    OldPathListener listener{io, [this](ikevpn::ByteView, const Path& arrived_on) { ike_on.push_back(arrived_on); }};
    Fixture() {
        listener.set_esp_handler([this](ikevpn::ByteView) { ++esp_datagrams; });
    }
};

}  // namespace

TEST_CASE("the paths of earlier moves keep listening, not only the last one") {
    Fixture f;
    const Path a = loopback_path(free_port(f.io)), b = loopback_path(free_port(f.io)), c = loopback_path(free_port(f.io));
    f.listener.listen(a, std::nullopt, kNoMark);
    CHECK(f.listener.endpoints() == std::vector<Endpoint>{a.local});
    f.listener.listen(b, a, kNoMark);
    f.listener.listen(c, b, kNoMark);
    // Current first, then the retained ones, oldest first.
    CHECK(f.listener.endpoints() == std::vector<Endpoint>{c.local, a.local, b.local});

    // ESP (non-zero SPI) sent to the path of two moves ago reaches the data path; IKE (the non-ESP marker)
    // reaches the core with the path it arrived on.
    send_to(f.io, a, {0x12, 0x34, 0x56, 0x78, 0, 0, 0, 1, 0xaa});
    CHECK(f.esp_datagrams == 1);
    send_to(f.io, a, {0, 0, 0, 0, 0x01, 0x02, 0x03});
    REQUIRE(f.ike_on.size() == 1);
    CHECK(f.ike_on[0] == a);
    // A NAT-T keepalive (one octet 0xFF) is neither.
    send_to(f.io, b, {0xff});
    CHECK(f.esp_datagrams == 1);
    CHECK(f.ike_on.size() == 1);
}

TEST_CASE("retained listeners end after kRetention, beyond kMaxRetained, and on the new current endpoint") {
    Fixture f;
    std::vector<Path> paths;
    for (std::size_t i = 0; i < OldPathListener::kMaxRetained + 2; ++i) paths.push_back(loopback_path(free_port(f.io)));

    f.listener.listen(paths[0], std::nullopt, kNoMark);
    for (std::size_t i = 1; i < paths.size(); ++i) f.listener.listen(paths[i], paths[i - 1], kNoMark);
    // kMaxRetained earlier paths: the oldest went first.
    CHECK(f.listener.endpoints().size() == 1 + OldPathListener::kMaxRetained);
    CHECK_FALSE(listens_on(f.listener, paths[0]));
    CHECK(listens_on(f.listener, paths[1]));

    // Moving back to a retained endpoint makes it the current one, once.
    f.listener.listen(paths[2], paths.back(), kNoMark);
    const auto e = f.listener.endpoints();
    CHECK(e.front() == paths[2].local);
    CHECK(std::count(e.begin(), e.end(), paths[2].local) == 1);

    // Its port is free again once closed: a plain bind succeeds after expiry.
    f.listener.expire(OldPathListener::Clock::now() + OldPathListener::kRetention - std::chrono::seconds(1));
    CHECK(f.listener.endpoints().size() == e.size());
    f.listener.expire(OldPathListener::Clock::now() + OldPathListener::kRetention);
    CHECK(f.listener.endpoints() == std::vector<Endpoint>{paths[2].local});
    asio::ip::udp::socket rebind(f.io, asio::ip::udp::v4());
    std::error_code ec;
    rebind.bind(asio::ip::udp::endpoint(asio::ip::address_v4::loopback(), paths[1].local.port), ec);
    CHECK_FALSE(ec);

    f.listener.stop();
    CHECK(f.listener.endpoints().empty());
}

TEST_CASE("retain() of a path probe's endpoint, and of one that cannot be bound") {
    Fixture f;
    const Path current = loopback_path(free_port(f.io)), probe = loopback_path(free_port(f.io));
    f.listener.listen(current, std::nullopt, kNoMark);
    f.listener.retain(probe, kNoMark);
    CHECK(listens_on(f.listener, probe));
    f.listener.retain(current, kNoMark);  // the current endpoint is no earlier path
    CHECK(f.listener.endpoints().size() == 2);
    // An address that is not ours (the uplink went away): skipped without an error.
    const Path gone{{*IpAddress::parse("192.0.2.77"), 40000}, {*IpAddress::parse("198.51.100.1"), 4500}};
    f.listener.retain(gone, kNoMark);
    CHECK(f.listener.endpoints().size() == 2);
}
