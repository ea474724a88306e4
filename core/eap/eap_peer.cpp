#include "core/eap/eap_peer.hpp"

#include "core/eap/eap_message.hpp"

namespace ikevpn::core::eap {

EapPeer::EapPeer(std::string identity, const SecureBytes& password, crypto::RandomSource& random)
    : identity_(identity), method_(std::move(identity), password, random) {}

PeerStep EapPeer::answer(std::uint8_t identifier, std::uint8_t type, Bytes data) const {
    return {encode(Packet{Code::response, identifier, type, std::move(data)}), false, std::nullopt};
}

PeerStep EapPeer::on_packet(ByteView bytes) {
    std::string error;
    auto packet = decode(bytes, error);
    if (!packet) return {std::nullopt, false, "EAP: malformed packet from the gateway: " + error};
    switch (packet->code) {
    case Code::success:
        if (!method_.succeeded())
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
    switch (Type(packet->type)) {
    case Type::identity: return answer(packet->identifier, packet->type, Bytes(identity_.begin(), identity_.end()));
    case Type::notification: return answer(packet->identifier, packet->type, {});  // RFC 3748 §5.2: empty
    case Type::mschapv2: {
        MethodStep step = method_.on_request(packet->data);
        if (step.failure && !step.response) return {std::nullopt, false, step.failure};
        if (step.failure) method_failure_ = step.failure;
        return answer(packet->identifier, packet->type, std::move(*step.response));
    }
    case Type::nak:  // RFC 3748 §5.3: a Nak is only a Response
        return {std::nullopt, false, "EAP: the gateway sent a Nak request"};
    default:  // RFC 3748 §5.3.1: Legacy Nak naming the method we want
        refused_type_ = packet->type;
        return answer(packet->identifier, std::uint8_t(Type::nak), Bytes{std::uint8_t(Type::mschapv2)});
    }
}

}  // namespace ikevpn::core::eap
