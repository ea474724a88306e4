#include "core/ike_sa.hpp"

#include "core/sk_payload.hpp"

#include <cstdio>

namespace ikevpn::core {

msg::Header IkeSa::header(msg::ExchangeType exchange, bool response, std::uint32_t message_id) const {
    msg::Header h;
    h.spi_i = spi_i;
    h.spi_r = spi_r;
    h.exchange = exchange;
    h.flags = std::uint8_t((original_initiator ? msg::flag_initiator : 0) | (response ? msg::flag_response : 0));
    h.message_id = message_id;
    return h;
}

Bytes IkeSa::protect(msg::ExchangeType exchange, bool response, std::uint32_t message_id,
                     const std::vector<msg::Payload>& inner) {
    return protect_message(header(exchange, response, message_id), inner, *aead_out, iv_counter);
}

std::optional<std::vector<msg::Payload>> IkeSa::unprotect(ByteView datagram, const msg::Message& decoded) {
    if (!aead_in) return std::nullopt;
    return unprotect_message(datagram, decoded, *aead_in);
}

std::string transform_name(msg::TransformType type, std::uint16_t id, std::optional<std::uint16_t> key_bits) {
    using msg::TransformType;
    switch (type) {
    case TransformType::encr:
        if (id == 20) return "AES_GCM_16_" + std::to_string(key_bits.value_or(0));
        if (id == 12) return "AES_CBC_" + std::to_string(key_bits.value_or(0));
        if (id == 28) return "CHACHA20_POLY1305";
        if (id == 3) return "3DES";
        break;
    case TransformType::integ:
        if (id == 12) return "HMAC_SHA2_256_128";
        if (id == 13) return "HMAC_SHA2_384_192";
        if (id == 14) return "HMAC_SHA2_512_256";
        if (id == 1) return "HMAC_MD5_96";
        if (id == 2) return "HMAC_SHA1_96";
        break;
    case TransformType::prf:
        if (id == 5) return "PRF_HMAC_SHA2_256";
        if (id == 6) return "PRF_HMAC_SHA2_384";
        if (id == 7) return "PRF_HMAC_SHA2_512";
        if (id == 1) return "PRF_HMAC_MD5";
        if (id == 2) return "PRF_HMAC_SHA1";
        break;
    case TransformType::dh:
        if (id == 19) return "ECP_256";
        if (id == 20) return "ECP_384";
        if (id == 21) return "ECP_521";
        if (id == 2) return "MODP_1024";
        if (id >= 14 && id <= 16) return "MODP_" + std::to_string(id == 14 ? 2048 : id == 15 ? 3072 : 4096);
        if (id == 31) return "CURVE_25519";
        break;
    case TransformType::esn:
        return id == 0 ? "NO_ESN" : "ESN";
    default:
        break;
    }
    return "TRANSFORM_" + std::to_string(int(type)) + "_" + std::to_string(id);
}

std::string hex(ByteView bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (auto b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

std::string notify_name(std::uint16_t type) {
    struct Name { std::uint16_t type; const char* name; };
    static constexpr Name names[] = {
        {1, "UNSUPPORTED_CRITICAL_PAYLOAD"}, {4, "INVALID_IKE_SPI"}, {5, "INVALID_MAJOR_VERSION"},
        {7, "INVALID_SYNTAX"}, {9, "INVALID_MESSAGE_ID"}, {11, "INVALID_SPI"}, {14, "NO_PROPOSAL_CHOSEN"},
        {17, "INVALID_KE_PAYLOAD"}, {24, "AUTHENTICATION_FAILED"}, {34, "SINGLE_PAIR_REQUIRED"},
        {35, "NO_ADDITIONAL_SAS"}, {36, "INTERNAL_ADDRESS_FAILURE"}, {37, "FAILED_CP_REQUIRED"},
        {38, "TS_UNACCEPTABLE"}, {39, "INVALID_SELECTORS"}, {43, "TEMPORARY_FAILURE"},
        {44, "CHILD_SA_NOT_FOUND"},
        {40, "UNACCEPTABLE_ADDRESSES"}, {41, "UNEXPECTED_NAT_DETECTED"},
    };
    for (const auto& n : names)
        if (n.type == type) return n.name;
    return "notify type " + std::to_string(type);
}

std::optional<Failure> failure_from_notify(const std::vector<msg::Payload>& payloads, const char* exchange) {
    for (const auto& p : payloads) {
        const auto* n = std::get_if<msg::NotifyPayload>(&p.body);
        if (!n || !msg::is_error_notify(n->type)) continue;
        const std::string name = notify_name(n->type);
        const std::string prefix = std::string("the gateway refused ") + exchange + " with " + name;
        switch (msg::NotifyType(n->type)) {
        case msg::NotifyType::authentication_failed:
            return Failure{CloseCode::auth_failed,
                           "authentication failed: " + prefix + " (check the PSK and local_id)"};
        case msg::NotifyType::no_proposal_chosen:
            return Failure{CloseCode::no_proposal_chosen,
                           prefix + ": none of the profile's proposals is acceptable to it"};
        case msg::NotifyType::ts_unacceptable:
            return Failure{CloseCode::ts_unacceptable, prefix + ": it does not allow the requested routes"};
        case msg::NotifyType::internal_address_failure:
            return Failure{CloseCode::internal_address_failure, prefix + ": it could not assign a virtual IP"};
        case msg::NotifyType::failed_cp_required:
            return Failure{CloseCode::failed_cp_required, prefix + ": it requires a virtual IP request"};
        default:
            return Failure{CloseCode::protocol_error, prefix};
        }
    }
    return std::nullopt;
}

const char* error_code_name(CloseCode code) {
    switch (code) {
    case CloseCode::requested: return "REQUESTED";
    case CloseCode::auth_failed: return "AUTH_FAILED";
    case CloseCode::no_proposal_chosen: return "NO_PROPOSAL_CHOSEN";
    case CloseCode::timeout: return "TIMEOUT";
    case CloseCode::ts_unacceptable: return "TS_UNACCEPTABLE";
    case CloseCode::internal_address_failure: return "INTERNAL_ADDRESS_FAILURE";
    case CloseCode::failed_cp_required: return "FAILED_CP_REQUIRED";
    case CloseCode::protocol_error: return "PROTOCOL_ERROR";
    case CloseCode::gateway_deleted: return "GATEWAY_DELETED";
    case CloseCode::cert_invalid: return "CERT_INVALID";
    case CloseCode::id_mismatch: return "ID_MISMATCH";
    case CloseCode::path_lost: return "PATH_LOST";
    case CloseCode::reauth_failed: return "REAUTH_FAILED";
    case CloseCode::redirected: return "REDIRECTED";
    }
    return "PROTOCOL_ERROR";
}

}  // namespace ikevpn::core
