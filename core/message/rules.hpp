// Message structure rules (RFC 7296 §1.2-1.4, §2.6, §3): for each exchange and direction, which payloads
// may appear, how often, and whether they must be inside SK. One generic verifier checks a message against
// this table before any exchange code looks at its content.
#pragma once
#include "core/message/message.hpp"

#include <optional>
#include <string>
#include <vector>

namespace ikevpn::msg {

// `outer` are the payloads outside SK (for a protected message only SK itself, maybe SKF), `inner` the
// decrypted ones (empty for IKE_SA_INIT). Returns a reason when the message breaks the rules, e.g.
// "IKE_AUTH response: AUTH outside the encrypted payload", "IKE_SA_INIT request: 2 KE payloads".
// A response that carries an error Notify is allowed to omit the otherwise mandatory payloads.
std::optional<std::string> check_rules(ExchangeType exchange, bool is_response,
                                       const std::vector<Payload>& outer,
                                       const std::vector<Payload>& inner);

}  // namespace ikevpn::msg
