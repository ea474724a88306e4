// The ESP engine: an SA table plus the batch entry points the I/O layer calls.
//
//   outbound: TUN read batch → encrypt_batch() → each ok packet is a UDP payload for port 4500
//   inbound:  UDP 4500 batch → esp::classify_udp4500() says ESP → decrypt_batch() → each ok packet is an
//             inner IP packet for the TUN device
//
// Packets are rewritten in place (see packet.hpp); a packet whose result is not ok is to be dropped and
// has already been counted. No exception leaves encrypt_batch()/decrypt_batch(), nothing is logged and
// the engine's own code allocates nothing per packet (Botan 2's GCM and ChaCha20Poly1305 start() make one
// small secure_vector allocation per message from Botan's own allocator — never operator new, as
// esp_alloc_test checks; a bad AEAD tag costs a caught Botan exception, a bad HMAC ICV does not throw).
//
// Thread-safety: none inside. One thread owns an Engine — it runs the batches and also installs and removes
// SAs between batches (for this slice the single-threaded Asio driver does all of it). A multi-threaded
// data plane will hand SA changes over to its thread explicitly rather than lock here.
#pragma once
#include "dataplane/packet.hpp"
#include "dataplane/sa_table.hpp"

#include <cstdint>
#include <span>

namespace ikevpn::dataplane {

// Drops that happen before any SA is found.
struct EngineCounters {
    std::uint64_t unknown_spi = 0;  // inbound SPI not in the table
    std::uint64_t no_sa = 0;        // outbound packet no SA's traffic selectors cover
    std::uint64_t malformed = 0;    // bad descriptor, too short to carry an SPI, or not an IP packet
};

class Engine {
public:
    SaTable& sas() { return sas_; }
    const SaTable& sas() const { return sas_; }
    const EngineCounters& counters() const { return counters_; }

    // Each packet holds an inner IP packet. With packet.spi == 0 the SA is chosen by traffic selector,
    // otherwise packet.spi names the outbound SA. Sets packet.result; ok packets hold ESP packets.
    void encrypt_batch(std::span<Packet> packets);
    // Each packet holds an ESP packet (UDP payload that classify_udp4500() called ESP). Sets
    // packet.result and packet.spi; ok packets hold inner IP packets.
    void decrypt_batch(std::span<Packet> packets);

private:
    void encrypt_one(Packet& packet);
    void decrypt_one(Packet& packet);

    SaTable sas_;
    EngineCounters counters_;
};

}  // namespace ikevpn::dataplane
