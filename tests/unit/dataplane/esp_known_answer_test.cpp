// Known-answer tests from draft-mcgrew-gcm-test-01 ("Test Cases for the use of GCM and GMAC in IPsec ESP",
// D. McGrew, March 2009), Section 4:
//   Test Case #2: AES-128, salt cafebabe, SPI 0000a5f8, Seq 0000000a, IV facedbaddecaf888
//   Test Case #3: AES-256, salt 11223344, SPI 4a2cbfe3, Seq 00000002, IV 0102030405060708
// Both use 32-bit sequence numbers (AAD = SPI | Seq). The draft's plaintexts end in an ESP trailer with
// Next Header 1, so the full tunnel-mode path must drop them as bad_next_header; open() must still return
// the stated plaintext.
#include "dataplane/aes_gcm_esp.hpp"
#include "dataplane/esp_format.hpp"
#include "dataplane/esp_sa.hpp"

#include "dp_test_util.hpp"

#include <doctest/doctest.h>

#include <string_view>

using namespace ikevpn::dataplane;
using ikevpn::SecureBytes;

namespace {

struct Vector {
    const char* name;
    unsigned key_bits;
    std::string_view keymat;  // key | salt
    std::uint32_t spi;
    std::string_view header_and_iv;  // SPI | Seq | IV
    std::string_view plaintext;      // payload | padding | pad length | next header
    std::string_view ciphertext_and_icv;
};

const Vector vectors[] = {
    {"draft-mcgrew-gcm-test-01 Test Case #2 (AES-128)", 128,
     "feffe9928665731c6d6a8f9467308308 cafebabe", 0x0000a5f8, "0000a5f8 0000000a facedbaddecaf888",
     "4500003e698f000080114dccc0a80102c0a801010a980035002a2343b2d00100"
     "0001000000000000037369700963796265726369747902646b00000100010001",
     "deb22cd9b07c72c16e3a65beeb8df304a5a5897d33ae530f1ba76d5d114d2a5c"
     "3de81827c10e9a4f51330d0eec416642cfbb85a5b47e48a4ec3b9ba95d918bd1"
     "83b70d3aa8bc6ee4c309e9d85a41ad4a"},
    {"draft-mcgrew-gcm-test-01 Test Case #3 (AES-256)", 256,
     "abbccddef00112233445566778899aababbccddef00112233445566778899aab 11223344", 0x4a2cbfe3,
     "4a2cbfe3 00000002 0102030405060708",
     "4500003069a6400080062690c0a801029389155e0a9e008b2dc57ee000000000"
     "7002400020bf0000020405b40101040201020201",
     "ff425c9b724599df7a3bcd510194e00d6a78107f1b0b1cbf06efae9d65a5d763"
     "748a637985771d347f0545659f14e99def842d8eb335f4eecfdbf831824b4c49"
     "15956c96"},
};

SecureBytes secure(std::string_view hex_text) {
    const auto b = test::hex(hex_text);
    return SecureBytes(b.begin(), b.end());
}

std::vector<std::uint8_t> esp_packet(const Vector& v) {
    auto packet = test::hex(v.header_and_iv);
    const auto body = test::hex(v.ciphertext_and_icv);
    packet.insert(packet.end(), body.begin(), body.end());
    return packet;
}

}  // namespace

TEST_CASE("AES-GCM ESP transform encrypts the draft-mcgrew-gcm-test-01 plaintexts to the stated bytes") {
    for (const Vector& v : vectors) {
        CAPTURE(v.name);
        const SecureBytes keymat = secure(v.keymat);
        AesGcmEsp transform(keymat, Direction::outbound);
        const auto header = test::hex(v.header_and_iv);
        auto text = test::hex(v.plaintext);
        std::vector<std::uint8_t> icv(16);
        REQUIRE(transform.seal({header.data(), 8}, header.data() + 8, text, icv.data()));
        text.insert(text.end(), icv.begin(), icv.end());
        CHECK(text == test::hex(v.ciphertext_and_icv));
        // The same transform object serves the next packet (nothing is left over from the last one).
        auto again = test::hex(v.plaintext);
        REQUIRE(transform.seal({header.data(), 8}, header.data() + 8, again, icv.data()));
        again.insert(again.end(), icv.begin(), icv.end());
        CHECK(again == test::hex(v.ciphertext_and_icv));
    }
}

TEST_CASE("inbound ESP SA decrypts the draft-mcgrew-gcm-test-01 packets to the stated plaintext") {
    for (const Vector& v : vectors) {
        CAPTURE(v.name);
        SaParams params;
        params.spi = v.spi;
        params.direction = Direction::inbound;
        params.key_bits = v.key_bits;
        params.key_material = secure(v.keymat);
        params.local_ts = {TrafficSelector::any_v4()};
        params.remote_ts = {TrafficSelector::any_v4()};
        EspSa sa(std::move(params));

        std::vector<std::uint8_t> storage;
        Packet packet = test::load(storage, esp_packet(v));
        std::uint8_t next_header = 0;
        REQUIRE(sa.open(packet, next_header) == PacketResult::ok);
        const auto plaintext = test::hex(v.plaintext);
        const std::size_t trailer = 2 + plaintext[plaintext.size() - 2];
        CHECK(test::bytes_of(packet) == std::vector<std::uint8_t>(plaintext.begin(), plaintext.end() - trailer));
        CHECK(next_header == 1);
        CHECK(packet.offset == 64 + 16);
        // The whole decrypted region, trailer included, equals the vector's plaintext.
        CHECK(std::vector<std::uint8_t>(packet.data(), packet.data() + plaintext.size()) == plaintext);

        // Through the tunnel-mode path the same packet (fresh sequence number needed: it is a replay now)
        // is refused: the draft's Next Header 1 is not an IP-in-ESP packet.
        Packet replayed = test::load(storage, esp_packet(v));
        CHECK(sa.decapsulate(replayed) == PacketResult::replay);
        CHECK(sa.counters().replay == 1);
    }
}

TEST_CASE("draft-mcgrew-gcm-test-01 Test Case #3 through decapsulate: Next Header 1 is dropped and counted") {
    const Vector& v = vectors[1];
    SaParams params;
    params.spi = v.spi;
    params.key_bits = v.key_bits;
    params.key_material = secure(v.keymat);
    params.local_ts = {TrafficSelector::any_v4()};
    params.remote_ts = {TrafficSelector::any_v4()};
    EspSa sa(std::move(params));
    std::vector<std::uint8_t> storage;
    Packet packet = test::load(storage, esp_packet(v));
    CHECK(sa.decapsulate(packet) == PacketResult::bad_next_header);
    CHECK(packet.result == PacketResult::bad_next_header);
    CHECK(sa.counters().bad_next_header == 1);
    CHECK(sa.counters().packets_in == 0);
    // It authenticated, so its sequence number is used up.
    CHECK(sa.replay_window()->check(2) == ReplayWindow::Verdict::duplicate);
}

TEST_CASE("a flipped Seq, IV, ciphertext or ICV bit of a draft-mcgrew-gcm-test-01 packet fails the ICV") {
    const Vector& v = vectors[0];
    const auto original = esp_packet(v);
    for (std::size_t i = 4; i < original.size(); i += 5) {  // Seq, IV, ciphertext, ICV
        SaParams params;
        params.spi = v.spi;
        params.key_bits = v.key_bits;
        params.key_material = secure(v.keymat);
        EspSa sa(std::move(params));
        auto corrupted = original;
        corrupted[i] ^= 0x20;
        std::vector<std::uint8_t> storage;
        Packet packet = test::load(storage, corrupted);
        std::uint8_t nh = 0;
        REQUIRE(sa.open(packet, nh) == PacketResult::icv);
        REQUIRE(sa.counters().icv == 1);
        // A forged packet must not move the window.
        REQUIRE(sa.replay_window()->highest() == 0);
    }
}
