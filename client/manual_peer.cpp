// `ikevpn bench-peer`: config parsing and the run loop of a manually keyed ESP peer (benchmarks only; see
// manual_peer.hpp for why this must never protect real traffic).
#include "client/asio_address.hpp"
#include "client/manual_peer.hpp"

#include "client/data_path.hpp"
#include "client/events.hpp"
#include "platform/linux_network_builder.hpp"
#include "platform/tun_device.hpp"
#include "platform/udp_socket.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/signal_set.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <csignal>
#include <fstream>
#include <set>

namespace ikevpn::client {
namespace {

using nlohmann::json;

constexpr std::size_t max_config_size = 1 << 20;
constexpr int socket_buffer_bytes = 4 << 20;  // as `connect`: userspace ESP loses packets to small buffers
constexpr std::size_t salt_size = 4;          // RFC 4106 §8.1 (GCM) and RFC 7634 §2 (ChaCha20-Poly1305)

struct EspTransform {
    const char* name;
    std::uint16_t encr_id;  // IANA "Transform Type 1" IDs: 20 = AES-GCM-16 (RFC 4106), 28 = ChaCha20-Poly1305
    std::uint16_t key_bits;
};
constexpr std::array<EspTransform, 3> esp_transforms{{
    {"aes128gcm16", 20, 128},
    {"aes256gcm16", 20, 256},
    {"chacha20poly1305", 28, 256},
}};

const std::set<std::string> known_keys{"tun", "address", "routes", "local_port", "peer", "spi_in",
                                       "spi_out", "esp", "key_in", "key_out"};

class Reader {
public:
    explicit Reader(std::string label) : label_(std::move(label)) {}

    [[noreturn]] void fail(const std::string& key, const std::string& reason) const {
        throw ManualPeerError(label_ + ": key '" + key + "': " + reason);
    }
    const json& need(const json& object, const std::string& key) const {
        const auto it = object.find(key);
        if (it == object.end()) fail(key, "is required");
        return *it;
    }
    std::string string_of(const json& value, const std::string& key) const {
        if (!value.is_string()) fail(key, "must be a string");
        return value.get<std::string>();
    }
    std::int64_t integer_of(const json& value, const std::string& key, std::int64_t low, std::int64_t high) const {
        if (!value.is_number_integer()) fail(key, "must be an integer");
        const auto n = value.is_number_unsigned() ? static_cast<std::int64_t>(std::min<std::uint64_t>(
                                                        value.get<std::uint64_t>(), std::uint64_t(high) + 1))
                                                  : value.get<std::int64_t>();
        if (n < low || n > high)
            fail(key, "must be between " + std::to_string(low) + " and " + std::to_string(high));
        return n;
    }

    TunSettings tun(const json& value) const;
    std::pair<IpAddress, std::uint8_t> address(const json& value) const;
    std::vector<IpPrefix> routes(const json& value) const;
    std::pair<IpAddress, std::uint16_t> peer(const json& value) const;
    std::uint32_t spi(const json& value, const std::string& key) const;
    const EspTransform& esp(const json& value) const;
    SecureBytes key(const json& value, const std::string& key, std::size_t size) const;

private:
    std::string label_;
};

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

TunSettings Reader::tun(const json& value) const {
    if (!value.is_object()) fail("tun", "must be an object with \"name\" and \"mtu\"");
    TunSettings t{"bench0", 1400};
    for (const auto& [key, item] : value.items()) {
        if (key == "name") {
            t.name = string_of(item, "tun.name");
            if (t.name.empty() || t.name.size() > 15 || t.name == "." || t.name == ".." ||
                !std::all_of(t.name.begin(), t.name.end(), is_name_char))
                fail("tun.name", "must be 1 to 15 characters of A-Z a-z 0-9 _ . -");
        } else if (key == "mtu") {
            t.mtu = int(integer_of(item, "tun.mtu", 576, 9000));
        } else if (key == "offload") {
            if (!item.is_boolean()) fail("tun.offload", "expected true or false");
            t.offload = item.get<bool>();
        } else {
            fail("tun." + key, "unknown key");
        }
    }
    return t;
}

// "198.18.1.1/24": an interface address keeps its host bits, so IpPrefix::parse (which rejects them)
// does not fit.
std::pair<IpAddress, std::uint8_t> Reader::address(const json& value) const {
    const std::string text = string_of(value, "address");
    const auto slash = text.find('/');
    const auto address = IpAddress::parse(text.substr(0, slash));
    if (!address) fail("address", "'" + text + "' is not an IPv4 or IPv6 address");
    const unsigned max_len = address->is_v4() ? 32 : 128;
    unsigned len = max_len;
    if (slash != std::string::npos) {
        const char* first = text.data() + slash + 1;
        const char* last = text.data() + text.size();
        const auto [end, ec] = std::from_chars(first, last, len);
        if (first == last || ec != std::errc() || end != last || len > max_len)
            fail("address", "'" + text + "' has a bad prefix length (0.." + std::to_string(max_len) + ")");
    }
    return {*address, std::uint8_t(len)};
}

std::vector<IpPrefix> Reader::routes(const json& value) const {
    if (!value.is_array()) fail("routes", "must be an array of prefixes");
    std::vector<IpPrefix> out;
    for (std::size_t i = 0; i < value.size(); ++i) {
        const std::string key = "routes[" + std::to_string(i) + "]";
        const std::string text = string_of(value[i], key);
        const auto prefix = IpPrefix::parse(text);
        if (!prefix) fail(key, "'" + text + "' is not a prefix without host bits (e.g. 198.18.1.0/24)");
        out.push_back(*prefix);
    }
    return out;
}

// "192.0.2.1:4500" or "[2001:db8::1]:4500"
std::pair<IpAddress, std::uint16_t> Reader::peer(const json& value) const {
    const std::string text = string_of(value, "peer");
    std::string host;
    std::string port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find("]:");
        if (close == std::string::npos) fail("peer", "'" + text + "' must look like [2001:db8::1]:4500");
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string::npos || text.find(':') != colon)
            fail("peer", "'" + text + "' must look like 192.0.2.1:4500 (IPv6: [2001:db8::1]:4500)");
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    const auto address = IpAddress::parse(host);
    if (!address) fail("peer", "'" + host + "' is not an IP address");
    unsigned number = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || number == 0 || number > 65535)
        fail("peer", "'" + port + "' is not a port number (1..65535)");
    return {*address, std::uint16_t(number)};
}

// An integer, or a string in hex ("0x1001") or decimal. RFC 4303 §2.1: 0 is reserved for local use and
// 1..255 are reserved by IANA, so neither may appear on the wire.
std::uint32_t Reader::spi(const json& value, const std::string& key) const {
    constexpr std::int64_t low = 256, high = 0xffffffffLL;
    if (value.is_number_integer()) return std::uint32_t(integer_of(value, key, low, high));
    if (!value.is_string()) fail(key, "must be an integer or a string such as \"0x00001001\"");
    const std::string text = value.get<std::string>();
    const bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
    const char* first = text.data() + (hex ? 2 : 0);
    const char* last = text.data() + text.size();
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(first, last, n, hex ? 16 : 10);
    if (first == last || ec != std::errc() || end != last) fail(key, "'" + text + "' is not a number");
    if (n < std::uint64_t(low) || n > std::uint64_t(high))
        fail(key, "must be between 256 and 0xffffffff (RFC 4303 §2.1 reserves 0..255)");
    return std::uint32_t(n);
}

const EspTransform& Reader::esp(const json& value) const {
    const std::string text = string_of(value, "esp");
    for (const auto& t : esp_transforms)
        if (text == t.name) return t;
    fail("esp", "unknown ESP transform '" + text + "' (expected aes128gcm16, aes256gcm16 or chacha20poly1305)");
}

// Hex into a SecureBytes; the message never echoes the key.
SecureBytes Reader::key(const json& value, const std::string& key, std::size_t size) const {
    if (!value.is_string()) fail(key, "must be a hex string");
    const std::string& text = value.get_ref<const std::string&>();
    if (text.size() != 2 * size)
        fail(key, "must be " + std::to_string(size) + " bytes (" + std::to_string(2 * size) +
                      " hex digits: cipher key then 4-byte salt), not " + std::to_string(text.size()) + " digits");
    SecureBytes out(size);
    for (std::size_t i = 0; i < size; ++i) {
        std::uint8_t byte = 0;
        const auto [end, ec] = std::from_chars(text.data() + 2 * i, text.data() + 2 * i + 2, byte, 16);
        if (ec != std::errc() || end != text.data() + 2 * i + 2) fail(key, "contains a non-hex character");
        out[i] = byte;
    }
    return out;
}

std::vector<msg::TrafficSelector> any_selectors() {
    msg::TrafficSelector v4;
    v4.type = msg::TsType::ipv4_addr_range;
    v4.start_address = Bytes(4, 0x00);
    v4.end_address = Bytes(4, 0xff);
    msg::TrafficSelector v6;
    v6.type = msg::TsType::ipv6_addr_range;
    v6.start_address = Bytes(16, 0x00);
    v6.end_address = Bytes(16, 0xff);
    return {v4, v6};
}

}  // namespace

ManualPeerConfig parse_manual_peer(const json& document, const std::string& label) {
    const Reader r(label);
    if (!document.is_object()) throw ManualPeerError(label + ": the config must be a JSON object");
    for (const auto& [key, value] : document.items())
        if (!known_keys.count(key)) r.fail(key, "unknown key");
    ManualPeerConfig c;
    if (document.contains("tun")) c.tun = r.tun(document["tun"]);
    std::tie(c.address, c.prefix_len) = r.address(r.need(document, "address"));
    if (document.contains("routes")) c.routes = r.routes(document["routes"]);
    for (const auto& route : c.routes)
        if (route.address.is_v4() != c.address.is_v4())
            r.fail("routes", "route " + route.to_string() + " is not of the address's family");
    if (document.contains("local_port"))
        c.local_port = std::uint16_t(r.integer_of(document["local_port"], "local_port", 0, 65535));
    std::tie(c.peer, c.peer_port) = r.peer(r.need(document, "peer"));
    const EspTransform& t = r.esp(r.need(document, "esp"));
    c.esp = t.name;
    c.keys.encr_id = t.encr_id;
    c.keys.key_bits = t.key_bits;
    c.keys.spi_in = r.spi(r.need(document, "spi_in"), "spi_in");
    c.keys.spi_out = r.spi(r.need(document, "spi_out"), "spi_out");
    const std::size_t key_size = t.key_bits / 8 + salt_size;
    c.keys.key_in = r.key(r.need(document, "key_in"), "key_in", key_size);
    c.keys.key_out = r.key(r.need(document, "key_out"), "key_out", key_size);
    c.keys.local_ts = any_selectors();
    c.keys.remote_ts = any_selectors();
    return c;
}

ManualPeerConfig load_manual_peer(const std::filesystem::path& file) {
    const std::string label = file.string();
    std::ifstream in(file, std::ios::binary);
    if (!in) throw ManualPeerError(label + ": cannot read the file");
    std::string text(max_config_size + 1, '\0');
    in.read(text.data(), std::streamsize(text.size()));
    text.resize(std::size_t(in.gcount()));
    if (text.size() > max_config_size) throw ManualPeerError(label + ": larger than 1 MiB");
    json document;
    try {
        document = json::parse(text);
    } catch (const json::parse_error& e) {
        throw ManualPeerError(label + ": JSON syntax error at byte " + std::to_string(e.byte));
    }
    // The text held the keys; do not leave them in freed memory longer than needed.
    Botan::secure_scrub_memory(text.data(), text.size());
    return parse_manual_peer(document, label);
}

void check_manual_peer(const ManualPeerConfig& config) {
    asio::io_context io;
    asio::ip::udp::socket unopened(io);  // never used: install() only touches the ESP engine
    DataPath path(io, unopened, [](ByteView) {});
    try {
        path.install(config.keys);
    } catch (const std::invalid_argument& e) {
        throw ManualPeerError("key 'esp': " + config.esp + ": this build's ESP engine refused the SA (" + e.what() +
                              "); an unsupported transform or SPI shows up here");
    }
}

int run_manual_peer(const ManualPeerConfig& config, EventSink& events) {
    check_manual_peer(config);
    asio::io_context io;
    const platform::PolicyRouting policy;
    // Marked like `connect`'s sockets so that the policy rules send ESP around the TUN's own routes.
    const int fd = platform::open_udp_socket(config.peer.family(), policy.fwmark, socket_buffer_bytes,
                                             std::nullopt, config.local_port);
    asio::ip::udp::socket socket(io, config.peer.is_v4() ? asio::ip::udp::v4() : asio::ip::udp::v6(), fd);
    socket.connect(asio::ip::udp::endpoint(to_asio(config.peer), config.peer_port));
    std::uint64_t ike_ignored = 0;  // nobody speaks IKE here; count, never answer
    DataPath path(io, socket, [&ike_ignored](ByteView) { ++ike_ignored; });
    path.install(config.keys);
    path.start_receiving();

    platform::TunDevice tun = platform::TunDevice::open(config.tun.name, config.tun.offload);
    if (config.tun.offload && !tun.offload()) events.warning("the kernel refused TUN offloads; running without");
    const std::string tun_name = tun.name();
    platform::LinuxNetworkBuilder network(policy);
    network.set_tun(tun.ifindex(), tun_name, std::uint32_t(config.tun.mtu));
    network.add_address(config.address, config.prefix_len);
    for (const auto& route : config.routes) network.add_route(route, config.address);
    network.establish();
    path.attach_tun(std::move(tun));

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](std::error_code ec, int) {
        if (ec) return;
        path.stop();
        io.stop();
    });
    events.warning("bench-peer uses static keys without IKE or authentication: benchmarks only");
    events.progress("bench-peer up: " + tun_name + " " + config.address.to_string() + "/" +
                    std::to_string(config.prefix_len) + ", ESP " + config.esp + " to " +
                    config.peer.to_string() + ":" + std::to_string(config.peer_port));
    io.run();
    network.teardown();
    for (const auto& problem : network.teardown_errors()) events.warning("cleanup: " + problem);
    events.progress("bench-peer stopped: " + std::to_string(path.packets_in()) + " ESP packets in" +
                    (ike_ignored ? ", " + std::to_string(ike_ignored) + " IKE messages ignored" : "") +
                    "; data path " + path.offload_status().dump());
    return 0;
}

}  // namespace ikevpn::client
