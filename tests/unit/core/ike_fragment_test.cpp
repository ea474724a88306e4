// IKE fragmentation (RFC 7383): sizes, splitting into SKF messages, and reassembly in order, out of order,
// with duplicates, a missing fragment and the timeout, tampered fragments, wrong totals and the limits.
#include "core/ike_fragment.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace ikevpn;
using namespace ikevpn::core;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<crypto::Aead> aead() {
    Bytes key(20);  // AES-128-GCM key | 4-byte salt (RFC 5282)
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = std::uint8_t(0x10 + i);
    return crypto::make_aead(crypto::EncrId::aes_gcm_16, 128, key);
}

msg::Header header(std::uint32_t id = 1) {
    msg::Header h;
    h.spi_i = {1, 1, 1, 1, 1, 1, 1, 1};
    h.spi_r = {2, 2, 2, 2, 2, 2, 2, 2};
    h.exchange = msg::ExchangeType::ike_auth;
    h.flags = msg::flag_initiator;
    h.message_id = id;
    return h;
}

// An IKE_AUTH-like content: IDi, a 3000-byte CERT, a Notify.
std::vector<msg::Payload> big_inner() {
    Bytes cert(3000);
    for (std::size_t i = 0; i < cert.size(); ++i) cert[i] = std::uint8_t(i * 7);
    cert[0] = 4;  // X.509 certificate encoding
    return {{msg::PayloadType::id_i, false, msg::IdPayload{msg::IdType::fqdn, Bytes{'c', 'l', 'i'}}},
            {msg::PayloadType::cert, false, msg::RawPayload{cert}},
            msg::make_notify(msg::NotifyType::initial_contact)};
}

Bytes encoded(const std::vector<msg::Payload>& inner) { return msg::encode_payloads(inner, nullptr); }

struct Fragments {
    std::unique_ptr<crypto::Aead> cipher = aead();
    std::uint64_t iv = 0;
    std::vector<Bytes> datagrams;
    explicit Fragments(std::size_t limit = 1000, std::uint32_t id = 1) {
        datagrams = protect_fragments(header(id), big_inner(), *cipher, iv, limit);
    }
};

std::optional<std::vector<msg::Payload>> feed(FragmentReassembler& r, const Bytes& d, crypto::Aead& a,
                                              std::uint32_t expected = 1, TimePoint now = {}) {
    auto m = msg::decode(d);
    REQUIRE(m);
    return r.add(m.value(), d, a, expected, now);
}

}  // namespace

TEST_CASE("sizes: IP, UDP and marker overhead; IKE, SKF, IV, ICV and Pad Length per fragment") {
    CHECK(ike_message_limit(1280, false, true) == 1280 - 20 - 8 - 4);
    CHECK(ike_message_limit(1280, true, true) == 1280 - 40 - 8 - 4);
    CHECK(ike_message_limit(576, false, false) == 576 - 28);
    CHECK(ike_message_limit(30, false, true) == 0);
    auto a = aead();
    CHECK(fragment_content_size(1248, *a) == 1248 - 28 - 8 - 8 - 16 - 1);
    CHECK(fragment_content_size(60, *a) == 0);
}

TEST_CASE("a message that fits is not fragmented") {
    auto a = aead();
    std::uint64_t iv = 0;
    CHECK(protect_fragments(header(), {msg::make_notify(msg::NotifyType::initial_contact)}, *a, iv, 1000).empty());
    CHECK(iv == 0);
}

TEST_CASE("splitting: every fragment within the limit, numbered 1..n, one message ID, unique IVs") {
    Fragments f(1000);
    const std::size_t content = encoded(big_inner()).size();
    const std::size_t per = fragment_content_size(1000, *f.cipher);
    REQUIRE(f.datagrams.size() == (content + per - 1) / per);
    CHECK(f.datagrams.size() == 4);
    std::vector<Bytes> ivs;
    for (std::size_t i = 0; i < f.datagrams.size(); ++i) {
        const Bytes& d = f.datagrams[i];
        CHECK(d.size() <= 1000);
        auto m = msg::decode(d);
        REQUIRE(m);
        CHECK(m.value().header.message_id == 1);
        CHECK(m.value().header.exchange == msg::ExchangeType::ike_auth);
        auto skf = msg::read_fragment(m.value(), d);
        REQUIRE(skf);
        CHECK(skf.value().number == i + 1);
        CHECK(skf.value().total == f.datagrams.size());
        CHECK(skf.value().inner_first == (i == 0 ? msg::PayloadType::id_i : msg::PayloadType::none));
        ivs.emplace_back(skf.value().encrypted.begin(), skf.value().encrypted.begin() + 8);
    }
    std::sort(ivs.begin(), ivs.end());
    CHECK(std::adjacent_find(ivs.begin(), ivs.end()) == ivs.end());
}

TEST_CASE("reassembly in order and out of order gives the original payloads") {
    Fragments f;
    const Bytes original = encoded(big_inner());
    SUBCASE("in order") {
        FragmentReassembler r;
        for (std::size_t i = 0; i + 1 < f.datagrams.size(); ++i) CHECK_FALSE(feed(r, f.datagrams[i], *f.cipher));
        auto inner = feed(r, f.datagrams.back(), *f.cipher);
        REQUIRE(inner);
        CHECK(encoded(*inner) == original);
        CHECK(r.counters().received == f.datagrams.size());
        CHECK(r.counters().reassembled == 1);
        CHECK_FALSE(r.in_progress());
    }
    SUBCASE("reverse order, with duplicates ignored") {
        FragmentReassembler r;
        CHECK_FALSE(feed(r, f.datagrams[3], *f.cipher));
        CHECK_FALSE(feed(r, f.datagrams[3], *f.cipher));
        CHECK_FALSE(feed(r, f.datagrams[2], *f.cipher));
        CHECK_FALSE(feed(r, f.datagrams[1], *f.cipher));
        CHECK_FALSE(feed(r, f.datagrams[2], *f.cipher));
        auto inner = feed(r, f.datagrams[0], *f.cipher);
        REQUIRE(inner);
        CHECK(encoded(*inner) == original);
        CHECK(r.counters().duplicates == 2);
        CHECK(r.counters().received == 4);
    }
}

TEST_CASE("a missing fragment: nothing is delivered, and after the timeout the partial message is gone") {
    Fragments f;
    FragmentReassembler r(FragmentReassembler::Limits{128, 64 * 1024, 30s});
    const TimePoint t0{};
    CHECK_FALSE(feed(r, f.datagrams[0], *f.cipher, 1, t0));
    CHECK_FALSE(feed(r, f.datagrams[1], *f.cipher, 1, t0 + 1s));
    CHECK_FALSE(feed(r, f.datagrams[3], *f.cipher, 1, t0 + 2s));
    CHECK(r.in_progress());
    // Fragment 3 arrives too late: the others were discarded, so the message is still incomplete.
    CHECK_FALSE(feed(r, f.datagrams[2], *f.cipher, 1, t0 + 31s));
    CHECK(r.counters().timed_out == 1);
    // A retransmission of all fragments completes it.
    for (std::size_t i : {0u, 1u}) CHECK_FALSE(feed(r, f.datagrams[i], *f.cipher, 1, t0 + 32s));
    CHECK(feed(r, f.datagrams[3], *f.cipher, 1, t0 + 32s));
}

TEST_CASE("tampered fragments fail their ICV and are dropped before they are stored") {
    Fragments f;
    FragmentReassembler r;
    for (std::size_t at : {std::size_t(5), std::size_t(20), std::size_t(33), std::size_t(40), f.datagrams[1].size() - 1}) {
        Bytes bad = f.datagrams[1];
        bad[at] ^= 0x01;
        auto m = msg::decode(bad);
        if (m) CHECK_FALSE(r.add(m.value(), bad, *f.cipher, 1, {}));
    }
    CHECK(r.counters().received == 0);
    CHECK(r.counters().dropped >= 4);
    // A fragment protected with another key is dropped as well.
    Bytes other_key(20, 0x99);
    auto wrong = crypto::make_aead(crypto::EncrId::aes_gcm_16, 128, other_key);
    CHECK_FALSE(feed(r, f.datagrams[0], *wrong));
    // The genuine fragments still reassemble.
    std::optional<std::vector<msg::Payload>> inner;
    for (const auto& d : f.datagrams) inner = feed(r, d, *f.cipher);
    CHECK(inner);
}

TEST_CASE("fragments of another message ID are dropped") {
    Fragments f(1000, 7);
    FragmentReassembler r;
    for (const auto& d : f.datagrams) CHECK_FALSE(feed(r, d, *f.cipher, 1));
    CHECK(r.counters().dropped == f.datagrams.size());
    CHECK(r.counters().received == 0);
}

TEST_CASE("Total Fragments: a smaller total is dropped, a larger one restarts reassembly (RFC 7383 §2.6)") {
    Fragments coarse(1000), fine(600);
    // Same key and IV counter would repeat IVs; re-protect `fine` with the coarse cipher under fresh IVs.
    fine.datagrams = protect_fragments(header(), big_inner(), *coarse.cipher, coarse.iv, 600);
    REQUIRE(fine.datagrams.size() > coarse.datagrams.size());
    FragmentReassembler r;
    CHECK_FALSE(feed(r, fine.datagrams[0], *coarse.cipher));
    CHECK_FALSE(feed(r, coarse.datagrams[1], *coarse.cipher));  // smaller total: dropped
    CHECK(r.counters().dropped == 1);
    std::optional<std::vector<msg::Payload>> inner;
    for (std::size_t i = 1; i < fine.datagrams.size(); ++i) inner = feed(r, fine.datagrams[i], *coarse.cipher);
    REQUIRE(inner);
    CHECK(encoded(*inner) == encoded(big_inner()));

    // The other way round: a larger total discards what was collected under the smaller one.
    FragmentReassembler r2;
    CHECK_FALSE(feed(r2, coarse.datagrams[0], *coarse.cipher));
    CHECK_FALSE(feed(r2, coarse.datagrams[1], *coarse.cipher));
    CHECK_FALSE(feed(r2, fine.datagrams[2], *coarse.cipher));
    for (std::size_t i = 2; i < coarse.datagrams.size(); ++i) CHECK_FALSE(feed(r2, coarse.datagrams[i], *coarse.cipher));
}

TEST_CASE("limits: too many fragments, too many bytes") {
    Fragments f(600);
    SUBCASE("Total Fragments above max_fragments") {
        FragmentReassembler r(FragmentReassembler::Limits{unsigned(f.datagrams.size() - 1), 64 * 1024, 30s});
        for (const auto& d : f.datagrams) CHECK_FALSE(feed(r, d, *f.cipher));
        CHECK(r.counters().dropped == f.datagrams.size());
    }
    SUBCASE("more content than max_bytes") {
        FragmentReassembler r(FragmentReassembler::Limits{128, 1500, 30s});
        std::optional<std::vector<msg::Payload>> inner;
        for (const auto& d : f.datagrams) inner = feed(r, d, *f.cipher);
        CHECK_FALSE(inner);
        CHECK(r.counters().dropped >= 1);
        CHECK(r.counters().reassembled == 0);
    }
}

TEST_CASE("reassembled content that does not decode as payloads is dropped") {
    // Fragments whose content is not a payload chain: an IDi header claiming more bytes than there are.
    auto a = aead();
    std::uint64_t iv = 0;
    std::vector<Bytes> datagrams;
    const std::uint16_t total = 2;
    for (std::uint16_t n = 1; n <= total; ++n) {
        Bytes content = n == 1 ? Bytes{0, 0, 0x40, 0x00} : Bytes{1, 2, 3};
        content.push_back(0);  // Pad Length
        Bytes ivb(8);
        ivb[7] = std::uint8_t(++iv);
        Bytes d = msg::encode_fragment_head(header(), msg::PayloadType::id_i, n, total, 8 + content.size() + 16);
        const Bytes sealed = a->seal(ivb, d, content);
        append(d, ivb);
        append(d, sealed);
        datagrams.push_back(d);
    }
    FragmentReassembler r;
    CHECK_FALSE(feed(r, datagrams[0], *a));
    CHECK_FALSE(feed(r, datagrams[1], *a));
    CHECK(r.counters().received == 2);
    CHECK(r.counters().dropped == 1);
    CHECK(r.counters().reassembled == 0);
}

TEST_CASE("AES-CBC + HMAC: every fragment padded to the block size, within the limit, and reassembled") {
    // RFC 7383 §2.5: each fragment's content is encrypted like an SK payload's, so with a CBC cipher it is
    // padded to the block size (RFC 7296 §3.14) and the IV is random.
    const crypto::SkTransform cbc{crypto::EncrId::aes_cbc, 256, crypto::IntegId::hmac_sha2_384_192};
    Bytes encr_key(32, 0x21), integ_key(48, 0x42);
    auto cipher = crypto::make_sk_cipher(cbc, encr_key, integ_key);
    REQUIRE(cipher->block_size() == 16);
    std::uint64_t counter = 0;
    constexpr std::size_t limit = 700;
    const auto datagrams = protect_fragments(header(), big_inner(), *cipher, counter, limit);
    REQUIRE(datagrams.size() >= 5);
    for (const auto& d : datagrams) {
        CHECK(d.size() <= limit);
        const std::size_t encrypted = d.size() - msg::header_size - msg::skf_header_size - cipher->iv_size() -
                                      cipher->tag_size();
        CHECK(encrypted % 16 == 0);
    }
    FragmentReassembler r;
    std::optional<std::vector<msg::Payload>> inner;
    for (auto it = datagrams.rbegin(); it != datagrams.rend(); ++it) inner = feed(r, *it, *cipher);
    REQUIRE(inner);
    CHECK(encoded(*inner) == encoded(big_inner()));
}
