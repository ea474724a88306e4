#include "core/eap/eap_tls.hpp"

namespace ikevpn::core::eap {

namespace {

const Bytes empty_response{0};  // Flags 0, no data: the ACK of a fragment and the answer to the last message

MethodStep fail(std::string reason) { return {std::nullopt, std::move(reason)}; }

}  // namespace

std::optional<TlsFrame> decode_tls_frame(ByteView d, std::string& error) {
    if (d.empty()) {
        error = "EAP-TLS request without the Flags octet";
        return std::nullopt;
    }
    TlsFrame f;
    f.flags = d[0];
    std::size_t at = 1;
    if (f.flags & tls_flag::length_included) {
        if (d.size() < 5) {
            error = "EAP-TLS request with the L flag but without the 4-octet TLS Message Length";
            return std::nullopt;
        }
        f.message_length = std::uint32_t(d[1]) << 24 | std::uint32_t(d[2]) << 16 | std::uint32_t(d[3]) << 8 | d[4];
        at = 5;
    }
    f.data.assign(d.begin() + std::ptrdiff_t(at), d.end());
    return f;
}

Bytes encode_tls_frame(const TlsFrame& f) {
    Bytes out{std::uint8_t((f.flags & ~tls_flag::length_included) | (f.message_length ? tls_flag::length_included : 0))};
    if (f.message_length) {
        const std::uint32_t n = *f.message_length;
        for (int shift = 24; shift >= 0; shift -= 8) out.push_back(std::uint8_t(n >> shift));
    }
    append(out, f.data);
    return out;
}

std::variant<TlsReassembly::Status, std::string> TlsReassembly::add(const TlsFrame& f) {
    const bool more = f.flags & tls_flag::more_fragments;
    if (f.message_length) {
        // L must be on the first fragment; repeated later it must not change (RFC 5216 §2.1.5).
        if (*f.message_length > max_tls_message_size)
            return "EAP-TLS: the gateway announced a TLS message of " + std::to_string(*f.message_length) +
                   " bytes (at most " + std::to_string(max_tls_message_size) + " accepted)";
        if (in_progress_ && total_ && *total_ != *f.message_length)
            return std::string("EAP-TLS: the gateway changed the TLS Message Length between fragments");
        if (!in_progress_) total_ = f.message_length;
    }
    if (more && f.data.empty()) return std::string("EAP-TLS: the gateway sent an empty fragment with the M flag");
    const std::size_t limit = total_ ? std::size_t(*total_) : max_tls_message_size;
    if (f.data.size() > limit - std::min(limit, buffer_.size()) || buffer_.size() > limit)
        return "EAP-TLS: the gateway sent more than the " + std::to_string(limit) + " bytes " +
               (total_ ? "it announced" : "accepted") + " for one TLS message";
    append(buffer_, f.data);
    in_progress_ = true;
    if (more) return Status::incomplete;
    if (total_ && buffer_.size() != *total_)
        return "EAP-TLS: the gateway announced a TLS message of " + std::to_string(*total_) + " bytes but sent " +
               std::to_string(buffer_.size());
    return Status::complete;
}

Bytes TlsFragmenter::next() {
    const std::size_t n = std::min(fragment_size_, message_.size() - sent_);
    TlsFrame f;
    if (first_) f.message_length = std::uint32_t(message_.size());
    if (sent_ + n < message_.size()) f.flags |= tls_flag::more_fragments;
    f.data.assign(message_.begin() + std::ptrdiff_t(sent_), message_.begin() + std::ptrdiff_t(sent_ + n));
    sent_ += n;
    first_ = false;
    return encode_tls_frame(f);
}

MethodStep TlsPeer::on_request(ByteView type_data) {
    std::string error;
    auto frame = decode_tls_frame(type_data, error);
    if (!frame) return fail("EAP-TLS: malformed request from the gateway: " + error);
    if (failure_) return fail(*failure_);
    if (frame->flags & tls_flag::start) {
        if (started_) return fail("EAP-TLS: the gateway restarted EAP-TLS during the handshake");
        started_ = true;
        tls_->start();
        return send_output();
    }
    if (!started_) return fail("EAP-TLS: the gateway sent TLS data without an EAP-TLS Start");
    if (msk_) return fail("EAP-TLS: the gateway sent another request after the TLS handshake completed");
    if (out_.pending()) {
        // While our message is in flight, the gateway only ACKs (an empty request) each fragment.
        if (!frame->data.empty() || (frame->flags & tls_flag::more_fragments))
            return fail("EAP-TLS: the gateway sent TLS data before our fragmented message was complete");
        return {out_.next(), std::nullopt};
    }
    if (frame->data.empty() && !in_.in_progress())
        return fail("EAP-TLS: the gateway sent an empty request where a TLS message was due");
    auto added = in_.add(*frame);
    if (auto* reason = std::get_if<std::string>(&added)) return fail(std::move(*reason));
    if (std::get<TlsReassembly::Status>(added) == TlsReassembly::Status::incomplete) return {empty_response, std::nullopt};
    return on_message(in_.take());
}

MethodStep TlsPeer::on_message(Bytes message) {
    if (auto failure = tls_->received(message)) {
        // RFC 5216 §2.1.3: our fatal alert goes to the gateway (an empty response acknowledges its own);
        // it then ends with EAP-Failure, and the reason shown is this one.
        failure_ = std::move(failure);
        Bytes alert = tls_->take_output();
        if (alert.empty()) return {empty_response, failure_};
        out_.load(std::move(alert));
        return {out_.next(), failure_};
    }
    if (tls_->established()) {
        // The gateway's Finished arrived (§2.1.1): an empty response, then EAP-Success.
        SecureBytes key = tls_->export_key("client EAP encryption", 64);
        if (key.size() != 64) return fail("EAP-TLS: no MSK after the TLS handshake");
        msk_ = std::move(key);
        Bytes rest = tls_->take_output();
        if (!rest.empty()) return fail("EAP-TLS: the TLS client had more to send after the handshake completed");
        return {empty_response, std::nullopt};
    }
    return send_output();
}

MethodStep TlsPeer::send_output() {
    Bytes records = tls_->take_output();
    // A flight of the gateway that needs no answer yet (the rest follows in its next message).
    if (records.empty()) return {empty_response, std::nullopt};
    out_.load(std::move(records));
    return {out_.next(), std::nullopt};
}

}  // namespace ikevpn::core::eap
