#include "core/eap/eap_peer.hpp"

#include "core/eap/eap_message.hpp"

namespace ikevpn::core::eap {

EapPeer::EapPeer(std::string identity, const SecureBytes& password, crypto::RandomSource& random)
    : identity_(identity), method_(std::in_place_type<MsChapV2Peer>, std::move(identity), password, random) {}

EapPeer::EapPeer(std::string identity, TlsPeer tls)
    : identity_(std::move(identity)), method_(std::in_place_type<TlsPeer>, std::move(tls)) {}

const std::optional<SecureBytes>& EapPeer::msk() const {
    return std::visit([](const auto& m) -> const std::optional<SecureBytes>& { return m.msk(); }, method_);
}

const char* EapPeer::method_name() const {
    return std::holds_alternative<TlsPeer>(method_) ? "EAP-TLS" : "EAP-MSCHAPv2";
}

crypto::TlsFailureKind EapPeer::tls_failure_kind() const {
    const auto* tls = std::get_if<TlsPeer>(&method_);
    return tls ? tls->failure_kind() : crypto::TlsFailureKind::handshake;
}

std::uint8_t EapPeer::method_type() const {
    return std::uint8_t(std::holds_alternative<TlsPeer>(method_) ? Type::tls : Type::mschapv2);
}

MethodStep EapPeer::run_method(ByteView type_data) {
    return std::visit([&](auto& m) { return m.on_request(type_data); }, method_);
}

bool EapPeer::method_succeeded() const {
    return std::visit([](const auto& m) { return m.succeeded(); }, method_);
}

PeerStep EapPeer::answer(std::uint8_t identifier, std::uint8_t type, Bytes data) const {
    return {encode(Packet{Code::response, identifier, type, std::move(data)}), false, std::nullopt};
}

PeerStep EapPeer::on_packet(ByteView bytes) {
    std::string error;
    auto packet = decode(bytes, error);
    if (!packet) return {std::nullopt, false, "EAP: malformed packet from the gateway: " + error};
    switch (packet->code) {
    case Code::success:
        if (!method_succeeded())
            return {std::nullopt, false, "EAP: the gateway sent EAP-Success before " + std::string(method_name()) + " succeeded"};
        return {std::nullopt, true, std::nullopt};
    case Code::failure:
        if (method_failure_) return {std::nullopt, false, method_failure_};
        if (refused_type_)
            return {std::nullopt, false, "EAP: the gateway offered EAP method " + std::to_string(*refused_type_) +
                                         ", which ikevpn does not support, and refused " + method_name()};
        return {std::nullopt, false, "EAP: the gateway rejected the authentication (EAP-Failure)"};
    case Code::response:
        return {std::nullopt, false, "EAP: the gateway sent an EAP Response (a peer does not answer those)"};
    case Code::request: break;
    }
    if (packet->type == method_type()) {
        MethodStep step = run_method(packet->data);
        if (step.failure && !step.response) return {std::nullopt, false, step.failure};
        if (step.failure) method_failure_ = step.failure;
        return answer(packet->identifier, packet->type, std::move(*step.response));
    }
    switch (Type(packet->type)) {
    case Type::identity: return answer(packet->identifier, packet->type, Bytes(identity_.begin(), identity_.end()));
    case Type::notification: return answer(packet->identifier, packet->type, {});  // RFC 3748 §5.2: empty
    case Type::nak:  // RFC 3748 §5.3: a Nak is only a Response
        return {std::nullopt, false, "EAP: the gateway sent a Nak request"};
    default:  // RFC 3748 §5.3.1: Legacy Nak naming the method we want
        refused_type_ = packet->type;
        return answer(packet->identifier, std::uint8_t(Type::nak), Bytes{method_type()});
    }
}

}  // namespace ikevpn::core::eap
