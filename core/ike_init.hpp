// The IKE_SA_INIT exchange (RFC 7296 §1.2): offer proposals, exchange KE and nonces, derive the IKE SA's
// keys. Handles the two answers that ask for a second try: COOKIE (§2.6) and INVALID_KE_PAYLOAD (§1.3).
#pragma once
#include "core/crypto/crypto.hpp"
#include "core/ike_sa.hpp"
#include "core/session.hpp"

#include <memory>
#include <variant>

namespace ikevpn::core {

class IkeInitTask {
public:
    IkeInitTask(const SessionConfig& config, crypto::RandomSource& random);

    // Starts the exchange: chooses SPIi and Ni, returns the request bytes (kept in sa.init_request).
    Bytes build_request(IkeSa& sa);

    struct Retry {  // the request was rebuilt (cookie or other group): send it again
        std::string reason;  // for the progress line, e.g. "the gateway asked for a COOKIE"
    };
    struct Done {};
    using Result = std::variant<Done, Retry, Failure>;
    Result process_response(IkeSa& sa, const msg::Message& response, ByteView raw);

private:
    Result derive_keys(IkeSa& sa, const msg::Message& response);

    const SessionConfig& config_;
    crypto::RandomSource& random_;
    std::vector<msg::Proposal> offered_;
    std::unique_ptr<crypto::KeyExchange> ke_;
    Bytes cookie_;
    unsigned retries_ = 0;
    bool started_ = false;
};

}  // namespace ikevpn::core
