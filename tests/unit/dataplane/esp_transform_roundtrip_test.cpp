// Every cipher × integrity combination through the engine: round trips of IPv4 and IPv6 inner packets (with
// and without ESN), the packet layout each transform must produce, and hostile input per transform
// (truncation, bit flips, bad padding, misaligned CBC ciphertext) — each dropped under the right counter.
#include "dataplane/engine.hpp"
#include "dataplane/esp_format.hpp"
#include "dataplane/esp_transform.hpp"

#include "dp_test_util.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace ikevpn::dataplane;

namespace {

constexpr std::uint32_t spi = 0x5117e5;
const auto any4 = TrafficSelector::any_v4();
const auto any6 = TrafficSelector::any_v6();

void install_pair(Engine& client, Engine& gateway, const test::Suite& suite, bool esn = false) {
    REQUIRE(client.sas().install(test::suite_params(suite, spi, Direction::outbound, 11, {any4, any6}, {any4, any6},
                                                    esn)) == InstallResult::ok);
    REQUIRE(gateway.sas().install(test::suite_params(suite, spi, Direction::inbound, 11, {any4, any6}, {any4, any6},
                                                     esn)) == InstallResult::ok);
}

const SaCounters& inbound_counters(Engine& gateway) { return gateway.sas().find(spi, Direction::inbound)->counters(); }

PacketResult decrypt(Engine& gateway, const std::vector<std::uint8_t>& bytes) {
    std::vector<std::uint8_t> storage;
    Packet p = test::load(storage, bytes);
    gateway.decrypt_batch({&p, 1});
    return p.result;
}

// An authenticated ESP packet of `suite` whose plaintext (payload + trailer) is given verbatim, so that the
// trailer can be wrong in ways encapsulate() never produces. `plaintext` must fit the cipher's block.
std::vector<std::uint8_t> forge(const test::Suite& suite, std::uint32_t seq, const std::vector<std::uint8_t>& plaintext) {
    const auto transform = make_esp_transform(test::suite_params(suite, spi, Direction::outbound, 11, {}, {}));
    const std::size_t front = 8 + transform->iv_length();
    std::vector<std::uint8_t> packet(front + plaintext.size() + transform->icv_length());
    esp::write_be32(packet.data(), spi);
    esp::write_be32(packet.data() + 4, seq);
    transform->make_iv(seq, packet.data() + 8);
    std::copy(plaintext.begin(), plaintext.end(), packet.begin() + static_cast<std::ptrdiff_t>(front));
    const EspFrame frame{packet.data(), {packet.data() + front, plaintext.size()},
                         packet.data() + front + plaintext.size(), false, 0};
    REQUIRE(transform->seal(frame));
    return packet;
}

// `inner` followed by a trailer of `pad` padding octets (counting 1, 2, ... unless overridden), Pad Length
// and Next Header.
std::vector<std::uint8_t> plaintext_of(std::vector<std::uint8_t> inner, std::size_t pad, std::uint8_t pad_length,
                                       std::uint8_t next_header) {
    for (std::size_t i = 0; i < pad; ++i) inner.push_back(static_cast<std::uint8_t>(i + 1));
    inner.push_back(pad_length);
    inner.push_back(next_header);
    return inner;
}

}  // namespace

TEST_CASE("every transform: IPv4 and IPv6 round trips with the transform's layout, with and without ESN") {
    for (const test::Suite& suite : test::all_suites) {
        for (bool esn : {false, true}) {
            const std::string suite_name = suite.name;
            CAPTURE(suite_name);
            CAPTURE(esn);
            Engine client;
            Engine gateway;
            install_pair(client, gateway, suite, esn);
            const std::size_t front = 8 + test::iv_size(suite);
            const std::size_t icv = test::icv_size(suite);
            std::vector<std::uint8_t> storage;
            std::uint32_t seq = 1;
            for (std::size_t length : {20, 21, 22, 23, 24, 40, 41, 63, 64, 65, 100, 1400, 1500}) {
                for (bool v6 : {false, true}) {
                    if (v6 && length < 40) continue;
                    CAPTURE(length);
                    CAPTURE(v6);
                    const auto inner = v6 ? test::ipv6_packet(test::v6(1), test::v6(2), length)
                                          : test::ipv4_packet({10, 1, 0, 5}, {192, 168, 1, 9}, length);
                    Packet p = test::load(storage, inner);
                    client.encrypt_batch({&p, 1});
                    REQUIRE(p.result == PacketResult::ok);
                    CHECK(p.offset == 64 - front);
                    CHECK(esp::read_be32(p.data()) == spi);
                    CHECK(esp::read_be32(p.data() + 4) == seq);
                    const std::size_t ct = p.length - front - icv;
                    CHECK(ct % test::alignment(suite) == 0);
                    CHECK(ct == inner.size() + esp::padding_for(inner.size(), test::alignment(suite)) + 2);
                    // The payload is not in the clear.
                    CHECK(std::vector<std::uint8_t>(p.data() + front, p.data() + front + 20) !=
                          std::vector<std::uint8_t>(inner.begin(), inner.begin() + 20));
                    ++seq;
                    gateway.decrypt_batch({&p, 1});
                    REQUIRE(p.result == PacketResult::ok);
                    CHECK(p.offset == 64);
                    CHECK(test::bytes_of(p) == inner);
                }
            }
            CHECK(inbound_counters(gateway).packets_in == seq - 1);
        }
    }
}

TEST_CASE("every transform: truncation at every length is malformed or icv, and consumes nothing") {
    for (const test::Suite& suite : test::all_suites) {
        const std::string suite_name = suite.name;
        CAPTURE(suite_name);
        Engine client;
        Engine gateway;
        install_pair(client, gateway, suite);
        std::vector<std::uint8_t> storage;
        Packet p = test::load(storage, test::ipv4_packet({1, 2, 3, 4}, {5, 6, 7, 8}, 77));
        client.encrypt_batch({&p, 1});
        REQUIRE(p.result == PacketResult::ok);
        const auto full = test::bytes_of(p);
        const std::size_t front = 8 + test::iv_size(suite);
        const std::size_t icv = test::icv_size(suite);
        const std::size_t block = test::is_aead(suite) ? 1 : 16;
        const std::size_t min_text = test::is_aead(suite) ? 2 : 16;
        std::uint64_t engine_malformed = 0, sa_malformed = 0, icv_failures = 0;
        for (std::size_t len = 0; len < full.size(); ++len) {
            CAPTURE(len);
            const PacketResult r = decrypt(gateway, {full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len)});
            if (len < 8) {
                REQUIRE(r == PacketResult::malformed);
                ++engine_malformed;
            } else if (len < front + min_text + icv || (len - front - icv) % block != 0) {
                REQUIRE(r == PacketResult::malformed);
                ++sa_malformed;
            } else {
                REQUIRE(r == PacketResult::icv);  // the ICV is read from the wrong place
                ++icv_failures;
            }
        }
        CHECK(gateway.counters().malformed == engine_malformed);
        CHECK(inbound_counters(gateway).malformed == sa_malformed);
        CHECK(inbound_counters(gateway).icv == icv_failures);
        CHECK(icv_failures > 0);
        CHECK(decrypt(gateway, full) == PacketResult::ok);
    }
}

TEST_CASE("every transform: a flipped bit anywhere after the SPI fails the ICV; the window does not move") {
    for (const test::Suite& suite : test::all_suites) {
        const std::string suite_name = suite.name;
        CAPTURE(suite_name);
        Engine client;
        Engine gateway;
        install_pair(client, gateway, suite);
        std::vector<std::uint8_t> storage;
        Packet p = test::load(storage, test::ipv6_packet(test::v6(3), test::v6(4), 90));
        client.encrypt_batch({&p, 1});
        REQUIRE(p.result == PacketResult::ok);
        const auto good = test::bytes_of(p);
        std::uint64_t flips = 0;
        for (std::size_t i = 4; i < good.size(); i += 7) {
            auto bad = good;
            bad[i] ^= 0x10;
            // A flip in the sequence number may turn it into 0, which the replay check refuses first.
            const PacketResult r = decrypt(gateway, bad);
            REQUIRE((r == PacketResult::icv || (i < 8 && r == PacketResult::replay)));
            if (r == PacketResult::icv) ++flips;
        }
        CHECK(inbound_counters(gateway).icv == flips);
        CHECK(gateway.sas().find(spi, Direction::inbound)->replay_window()->highest() == 0);
        CHECK(decrypt(gateway, good) == PacketResult::ok);
        CHECK(decrypt(gateway, good) == PacketResult::replay);
    }
}

TEST_CASE("every transform: authenticated packets with a bad trailer are bad_padding / bad_next_header / dummy") {
    for (const test::Suite& suite : test::all_suites) {
        const std::string suite_name = suite.name;
        CAPTURE(suite_name);
        Engine gateway;
        REQUIRE(gateway.sas().install(test::suite_params(suite, spi, Direction::inbound, 11, {any4, any6},
                                                         {any4, any6})) == InstallResult::ok);
        // 42 + pad + 2 is a multiple of 16 (and of 4) with pad = 4.
        const auto inner = test::ipv4_packet({1, 2, 3, 4}, {5, 6, 7, 8}, 42);
        CHECK(decrypt(gateway, forge(suite, 1, plaintext_of(inner, 4, 4, 4))) == PacketResult::ok);
        auto wrong_octet = plaintext_of(inner, 4, 4, 4);
        wrong_octet[42 + 2] = 9;  // padding 1, 2, 9, 4
        CHECK(decrypt(gateway, forge(suite, 2, wrong_octet)) == PacketResult::bad_padding);
        CHECK(decrypt(gateway, forge(suite, 3, plaintext_of(inner, 4, 200, 4))) == PacketResult::bad_padding);
        CHECK(decrypt(gateway, forge(suite, 4, plaintext_of(inner, 4, 4, 17))) == PacketResult::bad_next_header);
        CHECK(decrypt(gateway, forge(suite, 5, plaintext_of(inner, 4, 4, 59))) == PacketResult::dummy);
        // Next Header says IPv6 but the payload is IPv4.
        CHECK(decrypt(gateway, forge(suite, 6, plaintext_of(inner, 4, 4, 41))) == PacketResult::malformed);
        const SaCounters& c = inbound_counters(gateway);
        CHECK(c.packets_in == 1);
        CHECK(c.bad_padding == 2);
        CHECK(c.bad_next_header == 1);
        CHECK(c.dummy == 1);
        CHECK(c.malformed == 1);
        CHECK(c.icv == 0);
        // They all authenticated, so their numbers are used up.
        CHECK(decrypt(gateway, forge(suite, 2, plaintext_of(inner, 4, 4, 4))) == PacketResult::replay);
    }
}

TEST_CASE("outbound: each transform needs its own headroom and tailroom") {
    for (const test::Suite& suite : test::all_suites) {
        const std::string suite_name = suite.name;
        CAPTURE(suite_name);
        Engine client;
        REQUIRE(client.sas().install(test::suite_params(suite, spi, Direction::outbound, 11, {any4}, {any4})) ==
                InstallResult::ok);
        const EspSa* sa = client.sas().find(spi, Direction::outbound);
        const std::size_t front = 8 + test::iv_size(suite);
        CHECK(sa->overhead_front() == front);
        CHECK(sa->max_overhead_back() == test::alignment(suite) + 1 + test::icv_size(suite));
        const auto inner = test::ipv4_packet({1, 2, 3, 4}, {5, 6, 7, 8}, 100);
        const std::size_t back = esp::padding_for(100, test::alignment(suite)) + 2 + test::icv_size(suite);
        std::vector<std::uint8_t> storage;
        Packet p = test::load(storage, inner, static_cast<std::uint32_t>(front - 1), 1000);
        client.encrypt_batch({&p, 1});
        CHECK(p.result == PacketResult::no_room);
        p = test::load(storage, inner, static_cast<std::uint32_t>(front),
                       static_cast<std::uint32_t>(front + 100 + back - 1));
        client.encrypt_batch({&p, 1});
        CHECK(p.result == PacketResult::no_room);
        CHECK(test::bytes_of(p) == inner);
        p = test::load(storage, inner, static_cast<std::uint32_t>(front), static_cast<std::uint32_t>(front + 100 + back));
        client.encrypt_batch({&p, 1});
        CHECK(p.result == PacketResult::ok);
        CHECK(p.offset == 0);
        CHECK(p.length == p.capacity);
    }
}

TEST_CASE("install refuses unusable cipher / integrity / key combinations") {
    SaTable table;
    std::uint32_t next_spi = 100;
    auto params = [&](const test::Suite& suite) {
        return test::suite_params(suite, ++next_spi, Direction::inbound, 1, {any4}, {any4});
    };
    for (const test::Suite& suite : test::all_suites) {
        const std::string suite_name = suite.name;
        CAPTURE(suite_name);
        CHECK(table.install(params(suite)) == InstallResult::ok);
        auto short_key = params(suite);
        short_key.key_material.pop_back();
        CHECK(table.install(std::move(short_key)) == InstallResult::invalid_params);
        if (test::is_aead(suite)) {
            auto with_integ = params(suite);
            with_integ.integ = EspInteg::hmac_sha2_256_128;
            with_integ.integ_key.assign(32, 1);
            CHECK(table.install(std::move(with_integ)) == InstallResult::invalid_params);
        } else {
            auto no_integ = params(suite);
            no_integ.integ = EspInteg::none;
            no_integ.integ_key.clear();
            CHECK(table.install(std::move(no_integ)) == InstallResult::invalid_params);
            auto wrong_integ_key = params(suite);
            wrong_integ_key.integ_key.push_back(0);
            CHECK(table.install(std::move(wrong_integ_key)) == InstallResult::invalid_params);
            auto salted = params(suite);  // an AEAD-style KEYMAT with a salt is not an AES-CBC key
            salted.key_material.resize(salted.key_material.size() + 4);
            CHECK(table.install(std::move(salted)) == InstallResult::invalid_params);
        }
    }
    auto chacha128 = params(test::all_suites[2]);
    chacha128.key_bits = 128;
    chacha128.key_material.resize(20);
    CHECK(table.install(std::move(chacha128)) == InstallResult::invalid_params);
    auto gcm192 = params(test::all_suites[0]);
    gcm192.key_bits = 192;
    gcm192.key_material.resize(28);
    CHECK(table.install(std::move(gcm192)) == InstallResult::invalid_params);
}

// The TUN MTU is derived from max_inner_length(): an inner packet of that length must encrypt to an ESP
// packet that fits the room, and one octet more must not — checked by encrypting, for every transform and
// for rooms that hit each padding remainder.
TEST_CASE("outbound: max_inner_length is the exact largest inner packet that fits") {
    for (const test::Suite& suite : test::all_suites) {
        const std::string suite_name = suite.name;
        CAPTURE(suite_name);
        Engine client;
        REQUIRE(client.sas().install(test::suite_params(suite, spi, Direction::outbound, 11, {any4}, {any4})) ==
                InstallResult::ok);
        const EspSa* sa = client.sas().find(spi, Direction::outbound);
        auto esp_length = [&](std::size_t inner_length) {
            const auto inner = test::ipv4_packet({1, 2, 3, 4}, {5, 6, 7, 8}, inner_length);
            std::vector<std::uint8_t> storage;
            Packet p = test::load(storage, inner, 64, 64 + 2000);
            client.encrypt_batch({&p, 1});
            REQUIRE(p.result == PacketResult::ok);
            return std::size_t{p.length};
        };
        for (std::size_t room = 1440; room < 1472; ++room) {
            CAPTURE(room);
            const std::size_t largest = sa->max_inner_length(room);
            CHECK(largest > 1300);
            CHECK(esp_length(largest) <= room);
            CHECK(esp_length(largest + 1) > room);
        }
        CHECK(sa->max_inner_length(sa->overhead_front() + test::icv_size(suite)) == 0);
        CHECK(sa->max_inner_length(0) == 0);
    }
}
