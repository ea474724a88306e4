// The packet path must not allocate: after warm-up, encrypt_batch()/decrypt_batch() of good packets make no
// call to the global operator new. (Botan's secure_vector memory comes from its own allocator and is not
// seen here; see engine.hpp for what Botan 2 still allocates internally.)
#include "dataplane/engine.hpp"

#include "dp_test_util.hpp"

#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <new>

#include "tests/support/counting_new.hpp"

using ikevpn::test::new_calls;

using namespace ikevpn::dataplane;

TEST_CASE("steady-state encrypt and decrypt batches call operator new zero times, for every transform") {
    // The counter itself works (so that the zeros below mean something).
    const std::uint64_t probe = new_calls.load();
    ::operator delete(::operator new(16));  // an explicit call, which the compiler may not elide
    REQUIRE(new_calls.load() == probe + 1);

    for (const test::Suite& suite : test::all_suites) {
        for (bool esn : {false, true}) {
            const std::string suite_name = suite.name;
            CAPTURE(suite_name);
            CAPTURE(esn);
            Engine client;
            Engine gateway;
            const auto any4 = TrafficSelector::any_v4();
            const auto any6 = TrafficSelector::any_v6();
            REQUIRE(client.sas().install(test::suite_params(suite, 0xa110c, Direction::outbound, 1, {any4, any6},
                                                            {any4, any6}, esn)) == InstallResult::ok);
            REQUIRE(gateway.sas().install(test::suite_params(suite, 0xa110c, Direction::inbound, 1, {any4, any6},
                                                             {any4, any6}, esn)) == InstallResult::ok);
            PacketPool pool(16);
            std::array<Packet, 16> batch{};
            for (Packet& p : batch) REQUIRE(pool.acquire(p));
            const auto inner4 = test::ipv4_packet({10, 0, 0, 1}, {10, 0, 0, 2}, 1400);
            const auto inner6 = test::ipv6_packet(test::v6(1), test::v6(2), 77);

            std::uint64_t allocations = 0;
            for (int round = 0; round < 20; ++round) {
                for (std::size_t i = 0; i < batch.size(); ++i) {
                    const auto& inner = i % 2 == 0 ? inner4 : inner6;
                    batch[i].offset = pool.headroom();
                    batch[i].length = static_cast<std::uint32_t>(inner.size());
                    batch[i].spi = 0;
                    std::memcpy(batch[i].data(), inner.data(), inner.size());
                }
                const std::uint64_t before = new_calls.load();
                client.encrypt_batch(batch);
                gateway.decrypt_batch(batch);
                const std::uint64_t used = new_calls.load() - before;
                if (round > 0) allocations += used;  // the first round may warm up lazily built state
                for (const Packet& p : batch) REQUIRE(p.result == PacketResult::ok);
            }
            CHECK(allocations == 0);
            CHECK(gateway.sas().find(0xa110c, Direction::inbound)->counters().packets_in == 20 * 16);
        }
    }
}
