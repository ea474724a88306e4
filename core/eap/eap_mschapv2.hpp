// EAP-MSCHAPv2 as the peer (draft-kamath-pppext-eap-mschapv2-02, RFC 2759): answer the Challenge with our
// NT-Response, accept the Success only when its Authenticator Response proves the server knows the
// password, acknowledge a Failure with a readable reason. The MSK (RFC 3079) exists after a verified
// Success. Only the NT password hash is kept, in SecureBytes.
#pragma once
#include "core/bytes.hpp"
#include "core/crypto/secure_bytes.hpp"

#include <optional>
#include <string>

namespace ikevpn::crypto { class RandomSource; }

namespace ikevpn::core::eap {

struct MethodStep {
    std::optional<Bytes> response;       // Type-Data of our Response (nullopt: send nothing)
    std::optional<std::string> failure;  // the method failed: the one-line reason
};

class MsChapV2Peer {
public:
    MsChapV2Peer(std::string username, const SecureBytes& password, crypto::RandomSource& random);
    MethodStep on_request(ByteView type_data);
    bool succeeded() const { return msk_.has_value(); }
    // After a verified Success: the 64-byte MSK (crypto::mschapv2::msk).
    const std::optional<SecureBytes>& msk() const { return msk_; }

private:
    MethodStep on_challenge(std::uint8_t ms_id, ByteView challenge);
    MethodStep on_success(const std::string& message);

    std::string username_;
    std::optional<SecureBytes> password_hash_;  // nullopt when the password is not UTF-8
    crypto::RandomSource& random_;
    Bytes auth_challenge_, peer_challenge_, nt_response_;
    std::optional<SecureBytes> msk_;
};

// "E=691 R=0 C=... V=3 M=..." → the user-facing reason for the error code (RFC 2759 §6).
std::string mschapv2_failure_reason(const std::string& message);

}  // namespace ikevpn::core::eap
