#include "core/eap/eap_mschapv2.hpp"

#include "core/crypto/crypto.hpp"
#include "core/crypto/mschapv2.hpp"
#include "core/eap/eap_message.hpp"

namespace ikevpn::core::eap {

namespace {

// RFC 2759 §8.2: the challenge hash takes the user name without a "DOMAIN\" prefix.
std::string_view without_domain(std::string_view name) {
    const auto slash = name.rfind('\\');
    return slash == std::string_view::npos ? name : name.substr(slash + 1);
}

}  // namespace

MsChapV2Peer::MsChapV2Peer(std::string username, const SecureBytes& password, crypto::RandomSource& random)
    : username_(std::move(username)), password_hash_(crypto::mschapv2::nt_password_hash(password)), random_(random) {}

MethodStep MsChapV2Peer::on_request(ByteView type_data) {
    std::string error;
    auto request = decode_mschapv2_request(type_data, error);
    if (!request) return {std::nullopt, "EAP-MSCHAPv2: malformed request from the gateway: " + error};
    switch (request->opcode) {
    case MsOpCode::challenge: return on_challenge(request->ms_id, request->value);
    case MsOpCode::success: return on_success(request->text);
    default:  // failure; the acknowledgement is the OpCode alone, then the gateway ends with EAP-Failure
        msk_.reset();
        return {Bytes{std::uint8_t(MsOpCode::failure)}, mschapv2_failure_reason(request->text)};
    }
}

MethodStep MsChapV2Peer::on_challenge(std::uint8_t ms_id, ByteView challenge) {
    if (!password_hash_) return {std::nullopt, "EAP-MSCHAPv2: the password is not valid UTF-8"};
    auth_challenge_.assign(challenge.begin(), challenge.end());
    peer_challenge_.assign(crypto::mschapv2::challenge_size, 0);
    random_.fill(peer_challenge_);
    nt_response_ = crypto::mschapv2::nt_response(auth_challenge_, peer_challenge_, without_domain(username_), *password_hash_);
    msk_.reset();
    return {encode_mschapv2_response(ms_id, peer_challenge_, nt_response_, username_), std::nullopt};
}

MethodStep MsChapV2Peer::on_success(const std::string& message) {
    if (nt_response_.empty()) return {std::nullopt, "EAP-MSCHAPv2: the gateway sent Success before any Challenge"};
    // Message = "S=<40 hex digits>" optionally followed by " M=<text>" (RFC 2759 §5).
    const std::string expected = crypto::mschapv2::authenticator_response(*password_hash_, nt_response_, peer_challenge_,
                                                                          auth_challenge_, without_domain(username_));
    const std::string got = message.substr(0, std::min<std::size_t>(message.size(), 42));
    const ByteView a(reinterpret_cast<const std::uint8_t*>(expected.data()), expected.size());
    const ByteView b(reinterpret_cast<const std::uint8_t*>(got.data()), got.size());
    if (!crypto::equal_constant_time(a, b))
        return {std::nullopt, "EAP-MSCHAPv2: the gateway's authenticator response is wrong (it does not know the "
                              "password: not the server we expect)"};
    msk_ = crypto::mschapv2::msk(*password_hash_, nt_response_);
    return {Bytes{std::uint8_t(MsOpCode::success)}, std::nullopt};
}

std::string mschapv2_failure_reason(const std::string& message) {
    int code = 0;
    if (message.rfind("E=", 0) == 0) {
        for (std::size_t i = 2; i < message.size() && i < 8 && message[i] >= '0' && message[i] <= '9'; ++i)
            code = code * 10 + (message[i] - '0');
    }
    switch (code) {
    case 646: return "EAP-MSCHAPv2: authentication failed (logon not allowed at this time, E=646)";
    case 647: return "EAP-MSCHAPv2: authentication failed (account disabled, E=647)";
    case 648: return "EAP-MSCHAPv2: authentication failed (password expired, E=648)";
    case 649: return "EAP-MSCHAPv2: authentication failed (no dial-in permission, E=649)";
    default: return "EAP-MSCHAPv2: authentication failed (wrong username or password)";
    }
}

}  // namespace ikevpn::core::eap
