// EAP-TLS as the peer (RFC 5216): the TLS handshake (crypto::TlsClient, Botan) carried in EAP type 13,
// with the method's own fragmentation. The gateway's messages are reassembled (every fragment ACKed with
// an empty response), ours are cut into fragments it ACKs; once the handshake completed, the server's
// final message is answered with an empty response and the MSK (RFC 5216 §2.3) is exported.
#pragma once
#include "core/bytes.hpp"
#include "core/crypto/secure_bytes.hpp"
#include "core/crypto/tls_client.hpp"
#include "core/eap/eap_mschapv2.hpp"  // MethodStep

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace ikevpn::core::eap {

// EAP-TLS Type-Data (RFC 5216 §3.1, §3.2), after the Type octet (13):
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |     Flags     |      TLS Message Length (only with L) ...
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |      ...      |       TLS Data...
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// Flags: L M S R R R R R — L: TLS Message Length present (the total of all fragments), M: more fragments
// follow, S: EAP-TLS Start (server only, no data).
namespace tls_flag {
inline constexpr std::uint8_t length_included = 0x80;
inline constexpr std::uint8_t more_fragments = 0x40;
inline constexpr std::uint8_t start = 0x20;
}  // namespace tls_flag

struct TlsFrame {
    std::uint8_t flags = 0;
    std::optional<std::uint32_t> message_length;  // set exactly when flags has L
    Bytes data;
};
std::optional<TlsFrame> decode_tls_frame(ByteView type_data, std::string& error);
Bytes encode_tls_frame(const TlsFrame& frame);  // L is taken from message_length, not from flags

// The largest TLS message (all fragments together) we take from the gateway: a certificate chain of a few
// kilobytes fits many times over; anything larger is refused before it is buffered.
inline constexpr std::size_t max_tls_message_size = 64 * 1024;

// Reassembles the gateway's fragments (RFC 5216 §2.1.5).
class TlsReassembly {
public:
    enum class Status : std::uint8_t { incomplete, complete };
    // A Status, or the one-line reason the fragment is refused.
    std::variant<Status, std::string> add(const TlsFrame& frame);
    Bytes take() { in_progress_ = false; total_.reset(); return std::exchange(buffer_, {}); }
    bool in_progress() const { return in_progress_; }

private:
    Bytes buffer_;
    std::optional<std::uint32_t> total_;
    bool in_progress_ = false;
};

// Cuts our TLS message into fragments of at most `fragment_size` data bytes: L on the first, M on all but
// the last (RFC 5216 §2.1.5).
class TlsFragmenter {
public:
    explicit TlsFragmenter(std::size_t fragment_size) : fragment_size_(fragment_size < 1 ? 1 : fragment_size) {}
    void load(Bytes message) { message_ = std::move(message); sent_ = 0; first_ = true; }
    bool pending() const { return sent_ < message_.size(); }
    Bytes next();  // Type-Data of the next fragment; call only while pending()

private:
    std::size_t fragment_size_;
    Bytes message_;
    std::size_t sent_ = 0;
    bool first_ = true;
};

class TlsPeer {
public:
    static constexpr std::size_t default_fragment_size = 1000;  // keeps each IKE_AUTH request small
    TlsPeer(std::unique_ptr<crypto::TlsClient> tls, std::size_t fragment_size = default_fragment_size)
        : tls_(std::move(tls)), out_(fragment_size) {}
    MethodStep on_request(ByteView type_data);
    bool succeeded() const { return msk_.has_value(); }
    // MSK = TLS-PRF-64(master secret, "client EAP encryption", client.random || server.random) (§2.3).
    const std::optional<SecureBytes>& msk() const { return msk_; }
    // After a failure: whether the gateway's TLS certificate (or its identity) was the reason.
    crypto::TlsFailureKind failure_kind() const { return tls_->failure_kind(); }

private:
    MethodStep on_message(Bytes message);
    MethodStep send_output();

    std::unique_ptr<crypto::TlsClient> tls_;
    TlsReassembly in_;
    TlsFragmenter out_;
    bool started_ = false;
    std::optional<SecureBytes> msk_;
    std::optional<std::string> failure_;  // TLS failed: EAP-Failure is all that may follow
};

}  // namespace ikevpn::core::eap
