// Message structure rules: one generic verifier over the table in core/message/rules.cpp.
#include "core/message/rules.hpp"

#include <doctest/doctest.h>

using namespace ikevpn;
using namespace ikevpn::msg;

namespace {

Payload pl(PayloadType type) {
    Payload p;
    p.type = type;
    switch (type) {
        case PayloadType::sa: p.body = SaPayload{{Proposal{}}}; break;
        case PayloadType::ke: p.body = KePayload{31, Bytes(32, 1)}; break;
        case PayloadType::nonce: p.body = NoncePayload{Bytes(32, 2)}; break;
        case PayloadType::id_i:
        case PayloadType::id_r: p.body = IdPayload{IdType::fqdn, {'x'}}; break;
        case PayloadType::auth: p.body = AuthPayload{AuthMethod::shared_key_mic, Bytes(32, 3)}; break;
        case PayloadType::ts_i:
        case PayloadType::ts_r: p.body = TsPayload{}; break;
        case PayloadType::cp: p.body = CpPayload{}; break;
        case PayloadType::del: p.body = DeletePayload{}; break;
        case PayloadType::sk:
        case PayloadType::skf: p.body = SkPayload{PayloadType::none, Bytes(32, 4)}; break;
        default: p.body = RawPayload{{1, 2, 3, 4}}; break;
    }
    return p;
}

std::vector<Payload> pls(std::initializer_list<PayloadType> types) {
    std::vector<Payload> out;
    for (auto t : types) out.push_back(pl(t));
    return out;
}

Payload notify(NotifyType t) { return make_notify(t); }

using P = PayloadType;
const std::vector<Payload> sk_only = pls({P::sk});
const std::vector<Payload> none;

}  // namespace

TEST_CASE("IKE_SA_INIT") {
    const auto init = ExchangeType::ike_sa_init;
    auto req = pls({P::sa, P::ke, P::nonce, P::vendor});
    req.push_back(notify(NotifyType::nat_detection_source_ip));
    req.push_back(notify(NotifyType::nat_detection_destination_ip));
    CHECK(check_rules(init, false, req, none) == std::nullopt);
    CHECK(check_rules(init, true, req, none) == std::nullopt);

    auto two_ke = req;
    two_ke.push_back(pl(P::ke));
    CHECK(check_rules(init, false, two_ke, none) == "IKE_SA_INIT request: 2 KE payloads");

    CHECK(check_rules(init, false, pls({P::sa, P::ke}), none) == "IKE_SA_INIT request: missing Nonce payload");
    CHECK(check_rules(init, true, pls({P::sa, P::nonce}), none) == "IKE_SA_INIT response: missing KE payload");

    // IDs and AUTH never travel in the clear.
    auto with_id = req;
    with_id.push_back(pl(P::id_i));
    CHECK(check_rules(init, false, with_id, none) == "IKE_SA_INIT request: IDi outside the encrypted payload");
    auto with_del = req;
    with_del.push_back(pl(P::del));
    CHECK(check_rules(init, true, with_del, none) ==
          "IKE_SA_INIT response: Delete outside the encrypted payload");

    auto with_sk = req;
    with_sk.push_back(pl(P::sk));
    CHECK(check_rules(init, false, with_sk, none).has_value());
    CHECK(check_rules(init, false, req, pls({P::notify})).has_value());

    auto with_unknown = req;  // an unknown non-critical payload is ignored (RFC 7296 §2.5)
    with_unknown.push_back(pl(static_cast<PayloadType>(99)));
    CHECK(check_rules(init, false, with_unknown, none) == std::nullopt);
}

TEST_CASE("IKE_SA_INIT error and cookie responses may omit mandatory payloads") {
    const auto init = ExchangeType::ike_sa_init;
    std::vector<Payload> invalid_ke = {make_notify(NotifyType::invalid_ke_payload, {0, 19})};
    CHECK(check_rules(init, true, invalid_ke, none) == std::nullopt);
    std::vector<Payload> cookie = {make_notify(NotifyType::cookie, Bytes(16, 7))};
    CHECK(check_rules(init, true, cookie, none) == std::nullopt);
    // A request is never excused.
    CHECK(check_rules(init, false, invalid_ke, none) == "IKE_SA_INIT request: missing SA payload");
    // Maximum counts still hold.
    auto err_two_sa = pls({P::sa, P::sa});
    err_two_sa.push_back(notify(NotifyType::no_proposal_chosen));
    CHECK(check_rules(init, true, err_two_sa, none) == "IKE_SA_INIT response: 2 SA payloads");
    // A status notify is no excuse.
    std::vector<Payload> status = {notify(NotifyType::fragmentation_supported)};
    CHECK(check_rules(init, true, status, none).has_value());
}

TEST_CASE("IKE_AUTH request") {
    const auto auth = ExchangeType::ike_auth;
    auto inner = pls({P::id_i, P::cert, P::certreq, P::id_r, P::auth, P::cp, P::sa, P::ts_i, P::ts_r});
    inner.push_back(notify(NotifyType::initial_contact));
    inner.push_back(notify(NotifyType::mobike_supported));
    CHECK(check_rules(auth, false, sk_only, inner) == std::nullopt);
    CHECK(check_rules(auth, false, pls({P::skf}), inner) == std::nullopt);

    SUBCASE("EAP rounds") {
        auto first = pls({P::id_i, P::sa, P::ts_i, P::ts_r, P::cp});  // no AUTH: asks for EAP (§2.16)
        CHECK(check_rules(auth, false, sk_only, first) == std::nullopt);
        CHECK(check_rules(auth, false, sk_only, pls({P::eap})) == std::nullopt);
        CHECK(check_rules(auth, false, sk_only, pls({P::auth})) == std::nullopt);
        CHECK(check_rules(auth, false, sk_only, pls({P::eap, P::auth})).has_value());
    }
    SUBCASE("missing and repeated payloads") {
        CHECK(check_rules(auth, false, sk_only, pls({P::id_i, P::auth, P::sa, P::ts_i})) ==
              "IKE_AUTH request: missing TSr payload");
        CHECK(check_rules(auth, false, sk_only, pls({P::id_i, P::id_i, P::auth, P::sa, P::ts_i, P::ts_r})) ==
              "IKE_AUTH request: 2 IDi payloads");
        CHECK(check_rules(auth, false, sk_only, none).has_value());
    }
    SUBCASE("no SK, or something in the clear") {
        CHECK(check_rules(auth, false, none, none) ==
              "IKE_AUTH request: expected one encrypted payload, found 0");
        CHECK(check_rules(auth, false, inner, none) == "IKE_AUTH request: IDi outside the encrypted payload");
        std::vector<Payload> outer = {notify(NotifyType::initial_contact), pl(P::sk)};
        CHECK(check_rules(auth, false, outer, inner) ==
              "IKE_AUTH request: Notify outside the encrypted payload");
        CHECK(check_rules(auth, false, pls({P::sk, P::sk}), inner).has_value());
        CHECK(check_rules(auth, false, pls({P::sk, P::vendor}), inner).has_value());
    }
    SUBCASE("payloads not belonging to IKE_AUTH") {
        auto with_ke = inner;
        with_ke.push_back(pl(P::ke));
        CHECK(check_rules(auth, false, sk_only, with_ke) == "IKE_AUTH request: unexpected KE payload");
        auto nested = inner;
        nested.push_back(pl(P::sk));
        CHECK(check_rules(auth, false, sk_only, nested) == "IKE_AUTH request: SK inside the encrypted payload");
    }
}

TEST_CASE("IKE_AUTH response") {
    const auto auth = ExchangeType::ike_auth;
    const auto full = pls({P::id_r, P::cert, P::auth, P::cp, P::sa, P::ts_i, P::ts_r});
    CHECK(check_rules(auth, true, sk_only, full) == std::nullopt);

    for (auto type : {P::auth, P::id_r, P::cp, P::ts_i, P::ts_r}) {
        CAPTURE(payload_name(type));
        std::vector<Payload> outer = {pl(type), pl(P::sk)};
        CHECK(check_rules(auth, true, outer, full) ==
              "IKE_AUTH response: " + payload_name(type) + " outside the encrypted payload");
    }
    CHECK(check_rules(auth, true, full, none) == "IKE_AUTH response: IDr outside the encrypted payload");

    // The IKE SA is up but the child SA failed (§1.2): IDr, AUTH and an error notify.
    auto child_failed = pls({P::id_r, P::auth});
    child_failed.push_back(notify(NotifyType::ts_unacceptable));
    CHECK(check_rules(auth, true, sk_only, child_failed) == std::nullopt);
    std::vector<Payload> auth_failed = {notify(NotifyType::authentication_failed)};
    CHECK(check_rules(auth, true, sk_only, auth_failed) == std::nullopt);
    // Without an error notify the same payloads break the rules.
    CHECK(check_rules(auth, true, sk_only, pls({P::id_r, P::auth})) ==
          "IKE_AUTH response: missing SA payload");

    // EAP (§2.16): IDr, AUTH, EAP; EAP...; AUTH, SA, TSi, TSr, CP.
    CHECK(check_rules(auth, true, sk_only, pls({P::id_r, P::cert, P::auth, P::eap})) == std::nullopt);
    CHECK(check_rules(auth, true, sk_only, pls({P::eap})) == std::nullopt);
    CHECK(check_rules(auth, true, sk_only, pls({P::auth, P::sa, P::ts_i, P::ts_r, P::cp})) == std::nullopt);
    CHECK(check_rules(auth, true, sk_only, pls({P::eap, P::sa})).has_value());
}

TEST_CASE("CREATE_CHILD_SA") {
    const auto ccs = ExchangeType::create_child_sa;
    auto child = pls({P::sa, P::nonce, P::ts_i, P::ts_r});
    child.insert(child.begin(), make_notify(NotifyType::rekey_sa, {}, ProtocolId::esp, {1, 2, 3, 4}));
    CHECK(check_rules(ccs, false, sk_only, child) == std::nullopt);
    child.push_back(pl(P::ke));
    CHECK(check_rules(ccs, true, sk_only, child) == std::nullopt);
    // Rekeying the IKE SA: SA, Nonce, KE and no traffic selectors.
    CHECK(check_rules(ccs, false, sk_only, pls({P::sa, P::nonce, P::ke})) == std::nullopt);
    CHECK(check_rules(ccs, false, sk_only, pls({P::sa, P::nonce, P::ke, P::ts_i})) ==
          "CREATE_CHILD_SA request: missing TSr payload");
    CHECK(check_rules(ccs, false, sk_only, pls({P::sa, P::ts_i, P::ts_r})) ==
          "CREATE_CHILD_SA request: missing Nonce payload");
    CHECK(check_rules(ccs, false, pls({P::sa, P::nonce, P::ke, P::sk}), none).has_value());
    std::vector<Payload> refused = {notify(NotifyType::no_additional_sas)};
    CHECK(check_rules(ccs, true, sk_only, refused) == std::nullopt);
    CHECK(check_rules(ccs, false, sk_only, refused).has_value());
}

TEST_CASE("INFORMATIONAL") {
    const auto info = ExchangeType::informational;
    CHECK(check_rules(info, false, sk_only, none) == std::nullopt);  // liveness check
    CHECK(check_rules(info, true, sk_only, none) == std::nullopt);
    auto mixed = pls({P::del, P::del, P::cp});
    mixed.push_back(notify(NotifyType::authentication_failed));
    CHECK(check_rules(info, false, sk_only, mixed) == std::nullopt);
    CHECK(check_rules(info, false, pls({P::cp, P::sk}), none) ==
          "INFORMATIONAL request: CP outside the encrypted payload");
    CHECK(check_rules(info, false, sk_only, pls({P::cp, P::cp})) == "INFORMATIONAL request: 2 CP payloads");
    CHECK(check_rules(info, true, sk_only, pls({P::ke})) == "INFORMATIONAL response: unexpected KE payload");
}

TEST_CASE("unknown exchange type") {
    CHECK(check_rules(static_cast<ExchangeType>(43), false, sk_only, none) ==
          "exchange 43 request: unsupported exchange type");
}
