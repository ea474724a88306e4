// The message structure table (RFC 7296 §1.2-1.4 and §2.16 for EAP) and its one generic verifier.
//
// Each (exchange, direction) lists one or more shapes: IKE_AUTH has several legitimate forms (plain,
// the rounds of EAP, the final AUTH after EAP), CREATE_CHILD_SA creates a child or rekeys the IKE SA.
// A message is accepted when it fits one shape; otherwise the reason given is the first shape's, the
// ordinary form. Where a payload may be (inside or outside SK) is the same in every shape of an entry
// and is checked first, so "AUTH outside the encrypted payload" wins over any count.
#include "core/message/rules.hpp"

#include <array>
#include <span>

namespace ikevpn::msg {

namespace {

enum class Where : std::uint8_t { plain, encrypted };
constexpr std::uint8_t many = 255;

struct PayloadRule {
    PayloadType type;
    std::uint8_t min;
    std::uint8_t max;  // `many` = no limit
    Where where;
};

struct Shape {
    std::span<const PayloadRule> rules;
};

struct ExchangeRules {
    ExchangeType exchange;
    bool response;
    bool is_protected;  // everything but IKE_SA_INIT travels in SK (or SKF fragments)
    std::span<const Shape> shapes;
};

using P = PayloadType;
constexpr Where plain = Where::plain;
constexpr Where enc = Where::encrypted;

// IKE_SA_INIT (§1.2): HDR, SAi1, KEi, Ni [N+] [V+] / HDR, SAr1, KEr, Nr, [CERTREQ] [N+] [V+].
// CERTREQ is allowed in the request too: §3.7 does not forbid it and some initiators send one.
constexpr PayloadRule init_rules[] = {
    {P::sa, 1, 1, plain},       {P::ke, 1, 1, plain},           {P::nonce, 1, 1, plain},
    {P::notify, 0, many, plain}, {P::vendor, 0, many, plain},   {P::certreq, 0, many, plain},
};
constexpr Shape init_shapes[] = {{init_rules}};

// IKE_AUTH request (§1.2, §2.16): SK {IDi, [CERT+], [CERTREQ+], [IDr], [AUTH], SAi2, TSi, TSr, [CP]}
// (AUTH left out asks for EAP), then SK {EAP} rounds, then SK {AUTH}.
constexpr PayloadRule auth_req_rules[] = {
    {P::id_i, 1, 1, enc},        {P::cert, 0, many, enc},  {P::certreq, 0, many, enc},
    {P::id_r, 0, 1, enc},        {P::auth, 0, 1, enc},     {P::sa, 1, 1, enc},
    {P::ts_i, 1, 1, enc},        {P::ts_r, 1, 1, enc},     {P::cp, 0, 1, enc},
    {P::notify, 0, many, enc},   {P::vendor, 0, many, enc},
};
constexpr PayloadRule auth_req_eap_rules[] = {{P::eap, 1, 1, enc}, {P::notify, 0, many, enc}};
constexpr PayloadRule auth_req_final_rules[] = {{P::auth, 1, 1, enc}, {P::notify, 0, many, enc}};
constexpr Shape auth_req_shapes[] = {{auth_req_rules}, {auth_req_eap_rules}, {auth_req_final_rules}};

// IKE_AUTH response: SK {IDr, [CERT+], AUTH, SAr2, TSi, TSr, [CP]}; with EAP: SK {IDr, [CERT+], AUTH, EAP}
// (AUTH absent for EAP-only, RFC 5998), SK {EAP} rounds, then SK {AUTH, SAr2, TSi, TSr, [CP]}.
constexpr PayloadRule auth_resp_rules[] = {
    {P::id_r, 1, 1, enc},  {P::cert, 0, many, enc},   {P::auth, 1, 1, enc},
    {P::sa, 1, 1, enc},    {P::ts_i, 1, 1, enc},      {P::ts_r, 1, 1, enc},
    {P::cp, 0, 1, enc},    {P::notify, 0, many, enc}, {P::vendor, 0, many, enc},
};
constexpr PayloadRule auth_resp_eap_start_rules[] = {
    {P::id_r, 1, 1, enc}, {P::cert, 0, many, enc},   {P::auth, 0, 1, enc},
    {P::eap, 1, 1, enc},  {P::notify, 0, many, enc}, {P::vendor, 0, many, enc},
};
constexpr PayloadRule auth_resp_eap_rules[] = {{P::eap, 1, 1, enc}, {P::notify, 0, many, enc}};
constexpr PayloadRule auth_resp_eap_final_rules[] = {
    {P::auth, 1, 1, enc}, {P::sa, 1, 1, enc}, {P::ts_i, 1, 1, enc},
    {P::ts_r, 1, 1, enc}, {P::cp, 0, 1, enc}, {P::notify, 0, many, enc},
};
constexpr Shape auth_resp_shapes[] = {
    {auth_resp_rules}, {auth_resp_eap_start_rules}, {auth_resp_eap_rules}, {auth_resp_eap_final_rules}};

// CREATE_CHILD_SA (§1.3): SK {[N(REKEY_SA)], SA, Ni, [KEi], TSi, TSr} for a child SA,
// SK {SA, Ni, KEi} to rekey the IKE SA; the responses mirror them.
constexpr PayloadRule child_rules[] = {
    {P::sa, 1, 1, enc},   {P::nonce, 1, 1, enc}, {P::ke, 0, 1, enc},
    {P::ts_i, 1, 1, enc}, {P::ts_r, 1, 1, enc},  {P::notify, 0, many, enc},
};
constexpr PayloadRule ike_rekey_rules[] = {
    {P::sa, 1, 1, enc}, {P::nonce, 1, 1, enc}, {P::ke, 1, 1, enc}, {P::notify, 0, many, enc}};
constexpr Shape child_shapes[] = {{child_rules}, {ike_rekey_rules}};

// INFORMATIONAL (§1.4): SK {[N+], [D+], [CP]}; an empty one is a liveness check.
constexpr PayloadRule info_rules[] = {
    {P::notify, 0, many, enc}, {P::del, 0, many, enc}, {P::cp, 0, 1, enc}};
constexpr Shape info_shapes[] = {{info_rules}};

constexpr ExchangeRules table[] = {
    {ExchangeType::ike_sa_init, false, false, init_shapes},
    {ExchangeType::ike_sa_init, true, false, init_shapes},
    {ExchangeType::ike_auth, false, true, auth_req_shapes},
    {ExchangeType::ike_auth, true, true, auth_resp_shapes},
    {ExchangeType::create_child_sa, false, true, child_shapes},
    {ExchangeType::create_child_sa, true, true, child_shapes},
    {ExchangeType::informational, false, true, info_shapes},
    {ExchangeType::informational, true, true, info_shapes},
};

// Payloads that carry identities, authentication or configuration are never valid in the clear, whatever
// the exchange (OpenIKED's rule: enforced by structure, not by remembering).
constexpr PayloadType never_plain[] = {P::id_i, P::id_r, P::auth, P::cp, P::ts_i, P::ts_r,
                                       P::eap,  P::cert, P::del};

bool is_sk(PayloadType t) { return t == P::sk || t == P::skf; }

const PayloadRule* find_rule(std::span<const PayloadRule> rules, PayloadType type) {
    for (const auto& r : rules)
        if (r.type == type) return &r;
    return nullptr;
}

const PayloadRule* find_rule(const ExchangeRules& er, PayloadType type) {
    for (const auto& shape : er.shapes)
        if (const auto* r = find_rule(shape.rules, type)) return r;
    return nullptr;
}

std::optional<std::string> check_sk_placement(const ExchangeRules& er, const std::vector<Payload>& outer,
                                              const std::vector<Payload>& inner) {
    std::size_t sk_count = 0;
    for (const auto& p : outer) sk_count += is_sk(p.type);
    if (!er.is_protected) {
        if (sk_count || !inner.empty()) return "encrypted payload in an unprotected exchange";
        return std::nullopt;
    }
    if (sk_count != 1) return "expected one encrypted payload, found " + std::to_string(sk_count);
    if (!is_sk(outer.back().type)) return "encrypted payload is not the last payload";
    return std::nullopt;
}

std::optional<std::string> check_where(const ExchangeRules& er, const std::vector<Payload>& payloads,
                                       Where where) {
    for (const auto& p : payloads) {
        if (!is_known_payload(p.type)) continue;  // §2.5: unknown non-critical payloads are ignored
        const std::string name = payload_name(p.type);
        if (is_sk(p.type)) {
            if (where == Where::encrypted) return name + " inside the encrypted payload";
            continue;
        }
        const PayloadRule* rule = find_rule(er, p.type);
        if (where == Where::plain) {
            bool secret = rule && rule->where == Where::encrypted;
            for (auto t : never_plain) secret = secret || t == p.type;
            if (secret) return name + " outside the encrypted payload";
        }
        if (!rule) return "unexpected " + name + " payload";
        if (where == Where::encrypted && rule->where == Where::plain)
            return name + " must not be encrypted";
    }
    return std::nullopt;
}

std::optional<std::string> check_shape(const Shape& shape, const std::array<unsigned, 256>& counts,
                                       bool mandatory_waived) {
    for (unsigned t = 0; t < counts.size(); ++t)
        if (counts[t] && !find_rule(shape.rules, static_cast<PayloadType>(t)))
            return "unexpected " + payload_name(static_cast<PayloadType>(t)) + " payload";
    for (const auto& rule : shape.rules) {
        const unsigned n = counts[static_cast<std::uint8_t>(rule.type)];
        if (rule.max != many && n > rule.max)
            return std::to_string(n) + " " + payload_name(rule.type) + " payloads";
        if (n < rule.min && !mandatory_waived) return "missing " + payload_name(rule.type) + " payload";
    }
    return std::nullopt;
}

// §2.21 and §2.6: an error Notify (or, in IKE_SA_INIT, a COOKIE request) replaces the normal response.
bool waives_mandatory(ExchangeType exchange, const std::vector<Payload>& payloads) {
    for (const auto& p : payloads)
        if (const auto* n = std::get_if<NotifyPayload>(&p.body)) {
            if (p.type != P::notify) continue;
            if (is_error_notify(n->type)) return true;
            const bool cookie = n->type == static_cast<std::uint16_t>(NotifyType::cookie);
            if (exchange == ExchangeType::ike_sa_init && cookie) return true;
        }
    return false;
}

}  // namespace

std::optional<std::string> check_rules(ExchangeType exchange, bool is_response,
                                       const std::vector<Payload>& outer,
                                       const std::vector<Payload>& inner) {
    const std::string prefix = exchange_name(exchange) + (is_response ? " response: " : " request: ");
    const ExchangeRules* er = nullptr;
    for (const auto& e : table)
        if (e.exchange == exchange && e.response == is_response) er = &e;
    if (!er) return prefix + "unsupported exchange type";

    if (auto reason = check_where(*er, outer, Where::plain)) return prefix + *reason;
    if (auto reason = check_sk_placement(*er, outer, inner)) return prefix + *reason;
    if (auto reason = check_where(*er, inner, Where::encrypted)) return prefix + *reason;

    std::array<unsigned, 256> counts{};
    for (const auto* list : {&outer, &inner})
        for (const auto& p : *list)
            if (is_known_payload(p.type) && !is_sk(p.type)) ++counts[static_cast<std::uint8_t>(p.type)];
    const bool waived =
        is_response && (waives_mandatory(exchange, outer) || waives_mandatory(exchange, inner));

    std::optional<std::string> first_reason;
    for (const auto& shape : er->shapes) {
        auto reason = check_shape(shape, counts, waived);
        if (!reason) return std::nullopt;
        if (!first_reason) first_reason = std::move(reason);
    }
    return prefix + *first_reason;
}

}  // namespace ikevpn::msg
