#include "test_responder.hpp"

#include <algorithm>

#include "core/certificate_auth.hpp"
#include "core/crypto/nat_detection.hpp"
#include "core/identity.hpp"
#include "core/proposal.hpp"
#include "core/reauth.hpp"
#include "core/redirect.hpp"
#include "core/sk_payload.hpp"

namespace ikevpn::test {
namespace {

Bytes text_bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

msg::Proposal choose(const msg::Proposal& offered) {
    msg::Proposal chosen;
    chosen.number = offered.number;
    chosen.protocol = offered.protocol;
    bool seen[6] = {};
    for (const auto& t : offered.transforms) {
        auto type = std::size_t(t.type);
        if (type < 6 && !seen[type]) {
            seen[type] = true;
            chosen.transforms.push_back(t);
        }
    }
    return chosen;
}

}  // namespace

TestResponder::TestResponder(ResponderOptions options) : options_(std::move(options)) {}

Bytes TestResponder::protect(msg::ExchangeType exchange, bool response, std::uint32_t id,
                             const std::vector<msg::Payload>& inner) {
    msg::Header h;
    h.spi_i = spi_i_;
    h.spi_r = spi_r_;
    h.exchange = exchange;
    h.flags = std::uint8_t((response ? msg::flag_response : 0) | (original_initiator_ ? msg::flag_initiator : 0));
    h.message_id = id;
    return core::protect_message(h, inner, *aead_out_, iv_counter_);
}

Bytes TestResponder::handle(ByteView request) {
    auto decoded = msg::decode(request);
    if (!decoded) return {};
    ++requests_seen;
    const auto& m = decoded.value();
    if (prev_aead_in_ && m.header.spi_i == prev_spi_i_ && m.header.spi_r == prev_spi_r_) {
        swap_previous();  // a request on the IKE SA the initiator rekeyed (its Delete)
        Bytes reply = dispatch(m, request);
        swap_previous();
        old_ike_sa_deleted = old_ike_sa_deleted || (!reply.empty() && m.header.exchange == msg::ExchangeType::informational &&
                                                    msg::find<msg::DeletePayload>(last_inner, msg::PayloadType::del));
        return reply;
    }
    return dispatch(m, request);
}

void TestResponder::swap_previous() {
    std::swap(spi_i_, prev_spi_i_);
    std::swap(spi_r_, prev_spi_r_);
    std::swap(aead_in_, prev_aead_in_);
    std::swap(aead_out_, prev_aead_out_);
    std::swap(next_own_request_, prev_next_own_request_);
    std::swap(last_id_, prev_last_id_);
    std::swap(last_response_, prev_last_response_);
}

Bytes TestResponder::dispatch(const msg::Message& m, ByteView raw) {
    if (m.header.exchange != msg::ExchangeType::ike_sa_init && last_id_ == m.header.message_id && !last_response_.empty())
        return last_response_;
    Bytes reply;
    const msg::Spi8 sa_before = spi_i_;
    switch (m.header.exchange) {
    case msg::ExchangeType::ike_sa_init: return handle_init(m, raw);
    case msg::ExchangeType::ike_auth: reply = handle_auth(m, raw); break;
    case msg::ExchangeType::informational: reply = handle_informational(m, raw); break;
    case msg::ExchangeType::create_child_sa: reply = handle_create_child(m, raw); break;
    default: return {};
    }
    if (spi_i_ != sa_before) {  // the initiator rekeyed the IKE SA: the answer belongs to the old one
        prev_last_id_ = m.header.message_id;
        prev_last_response_ = reply;
    } else if (!reply.empty()) {
        last_id_ = m.header.message_id;
        last_response_ = reply;
    }
    return reply;
}

Bytes TestResponder::handle_init(const msg::Message& m, ByteView raw) {
    msg::Message reply;
    reply.header = m.header;
    reply.header.flags = msg::flag_response;
    const auto* ke = msg::find<msg::KePayload>(m.payloads, msg::PayloadType::ke);
    saw_redirect_supported = msg::find_notify(m.payloads, msg::NotifyType(core::notify_redirect_supported)) != nullptr;
    const auto* from = msg::find_notify(m.payloads, msg::NotifyType(core::notify_redirected_from));
    redirected_from = from ? from->data : Bytes{};
    if (options_.redirect_init) {
        const auto* ni = msg::find<msg::NoncePayload>(m.payloads, msg::PayloadType::nonce);
        Bytes nonce = ni ? ni->data : Bytes{};
        if (options_.redirect_wrong_nonce && !nonce.empty()) nonce[0] ^= 1;
        reply.payloads.push_back(core::make_redirect(*options_.redirect_init, nonce));
        return msg::encode(reply);
    }
    if (options_.demand_cookie && !msg::find_notify(m.payloads, msg::NotifyType::cookie)) {
        reply.payloads.push_back(msg::make_notify(msg::NotifyType::cookie, text_bytes("cookie-value-123")));
        return msg::encode(reply);
    }
    if (options_.demand_group && ke->group != *options_.demand_group) {
        Bytes group{std::uint8_t(*options_.demand_group >> 8), std::uint8_t(*options_.demand_group)};
        reply.payloads.push_back(msg::make_notify(msg::NotifyType::invalid_ke_payload, group));
        return msg::encode(reply);
    }
    if (const auto* natd = msg::find_notify(m.payloads, msg::NotifyType::nat_detection_destination_ip))
        nat_destination_hash = natd->data;
    initiator_hashes = core::read_signature_hash_algorithms(m.payloads);
    spi_i_ = m.header.spi_i;
    spi_r_ = {0x52, 0x52, 0x52, 0x52, 0x52, 0x52, 0x52, 0x52};
    init_request_.assign(raw.begin(), raw.end());
    nonce_i_ = msg::find<msg::NoncePayload>(m.payloads, msg::PayloadType::nonce)->data;
    nonce_r_.assign(32, 0x33);
    const auto* sa = msg::find<msg::SaPayload>(m.payloads, msg::PayloadType::sa);
    msg::Proposal chosen = choose(sa->proposals.front());
    for (auto& t : chosen.transforms)
        if (t.type == msg::TransformType::dh) t.id = ke->group;

    auto own_ke = crypto::make_key_exchange(crypto::DhGroup(ke->group), random_);
    auto shared = own_ke->shared_secret(ke->data);
    // The SK cipher of the chosen transforms, read here rather than with core's helpers so that the
    // initiator's key sizes are checked against an independent reading.
    crypto::PrfId prf_id{};
    crypto::SkTransform sk;
    for (const auto& t : chosen.transforms) {
        if (t.type == msg::TransformType::prf) prf_id = crypto::PrfId(t.id);
        if (t.type == msg::TransformType::integ) sk.integ = crypto::IntegId(t.id);
        if (t.type == msg::TransformType::encr) {
            sk.encr = crypto::EncrId(t.id);
            sk.key_bits = t.key_length.value_or(0);
        }
    }
    ike_chosen = chosen;
    prf_ = crypto::make_prf(prf_id);
    keys = crypto::derive_ike_keys(*prf_, nonce_i_, nonce_r_, *shared, spi_i_, spi_r_, crypto::sk_encr_key_size(sk),
                                   crypto::sk_integ_key_size(sk));
    aead_in_ = crypto::make_sk_cipher(sk, keys.sk_ei, keys.sk_ai);
    aead_out_ = crypto::make_sk_cipher(sk, keys.sk_er, keys.sk_ar);

    reply.header.spi_r = spi_r_;
    reply.payloads.push_back({msg::PayloadType::sa, false, msg::SaPayload{{chosen}}});
    reply.payloads.push_back({msg::PayloadType::ke, false, msg::KePayload{ke->group, own_ke->public_value()}});
    reply.payloads.push_back({msg::PayloadType::nonce, false, msg::NoncePayload{nonce_r_}});
    if (options_.key && options_.announce_hashes) reply.payloads.push_back(core::build_signature_hash_algorithms());
    if (options_.fragmentation && msg::find_notify(m.payloads, msg::NotifyType::fragmentation_supported)) {
        fragmentation_negotiated = true;
        reply.payloads.push_back(msg::make_notify(msg::NotifyType::fragmentation_supported));
    }
    init_response_ = msg::encode(reply);
    return init_response_;
}

Bytes TestResponder::handle_auth(const msg::Message& m, ByteView raw) {
    if (!aead_in_) return {};
    auto inner = core::unprotect_message(raw, m, *aead_in_);
    if (!inner) return {};
    last_inner = *inner;
    if (options_.eap_password || options_.eap_method) return handle_eap_auth(m.header.message_id, *inner);
    const SecureBytes psk(options_.psk.begin(), options_.psk.end());
    const auto* id_i = msg::find<msg::IdPayload>(*inner, msg::PayloadType::id_i);
    const auto* auth = msg::find<msg::AuthPayload>(*inner, msg::PayloadType::auth);
    initiator_auth_method = std::uint8_t(auth->method);
    Bytes expected = crypto::psk_auth(*prf_, psk, init_request_, nonce_r_, keys.sk_pi, id_i->body());
    auth_seen_ok = auth->method == msg::AuthMethod::shared_key_mic ? crypto::equal_constant_time(expected, auth->data)
                                                                  : check_initiator_auth(*inner, *id_i, *auth);
    if (!auth_seen_ok)
        return protect(msg::ExchangeType::ike_auth, true, m.header.message_id,
                       {msg::make_notify(msg::NotifyType::authentication_failed)});

    msg::IdPayload id_r = core::make_identity(options_.identity);
    Bytes own_auth = crypto::psk_auth(*prf_, psk, init_response_, nonce_i_, keys.sk_pr, id_r.body());
    if (options_.corrupt_auth) own_auth[0] ^= 1;
    std::vector<msg::Payload> out{
        {msg::PayloadType::id_r, false, id_r},
        {msg::PayloadType::auth, false, msg::AuthPayload{msg::AuthMethod::shared_key_mic, own_auth}},
    };
    if (options_.key) add_own_auth(id_r, out);
    if (options_.redirect_auth) {
        out.push_back(core::make_redirect(*options_.redirect_auth));
        return protect(msg::ExchangeType::ike_auth, true, m.header.message_id, out);
    }
    add_child_payloads(*inner, out);
    return protect(msg::ExchangeType::ike_auth, true, m.header.message_id, out);
}

// SAr2 (our ESP SPI, the CHILD SA keys), TSi/TSr and CP, and MOBIKE, for the IKE_AUTH request `request`.
void TestResponder::add_child_payloads(const std::vector<msg::Payload>& request, std::vector<msg::Payload>& out) {
    const auto* sa = msg::find<msg::SaPayload>(request, msg::PayloadType::sa);
    msg::Proposal chosen = choose(sa->proposals.front());
    const auto& spi = sa->proposals.front().spi;
    initiator_esp_spi = std::uint32_t(spi[0]) << 24 | std::uint32_t(spi[1]) << 16 | std::uint32_t(spi[2]) << 8 | spi[3];
    chosen.spi = {std::uint8_t(esp_spi >> 24), std::uint8_t(esp_spi >> 16), std::uint8_t(esp_spi >> 8), std::uint8_t(esp_spi)};
    std::uint16_t key_bits = 0;
    for (const auto& t : chosen.transforms)
        if (t.type == msg::TransformType::encr) key_bits = t.key_length.value_or(0);
    child_keymat = crypto::derive_child_keymat(*prf_, keys.sk_d, nonce_i_, nonce_r_,
                                               2 * crypto::aead_key_material_size(crypto::EncrId::aes_gcm_16, key_bits));

    add_network_payloads(request, out);
    if (options_.auth_lifetime) out.push_back(core::make_auth_lifetime(*options_.auth_lifetime));
    if (options_.mobike && msg::find_notify(request, msg::NotifyType::mobike_supported)) {
        out.push_back(msg::make_notify(msg::NotifyType::mobike_supported));
        for (const auto& text : options_.additional_addresses) {
            const auto a = *IpAddress::parse(text);
            out.push_back(msg::make_notify(a.is_v4() ? msg::NotifyType::additional_ip4_address
                                                     : msg::NotifyType::additional_ip6_address,
                                           Bytes(a.bytes().begin(), a.bytes().end())));
        }
    }
}

void TestResponder::add_network_payloads(const std::vector<msg::Payload>& request,
                                         std::vector<msg::Payload>& out) const {
    bool asks_ip4 = false, asks_ip6 = false;
    if (const auto* cp_request = msg::find<msg::CpPayload>(request, msg::PayloadType::cp)) {
        for (const auto& attr : cp_request->attributes) {
            asks_ip4 |= attr.type == std::uint16_t(msg::CfgAttr::internal_ip4_address);
            asks_ip6 |= attr.type == std::uint16_t(msg::CfgAttr::internal_ip6_address);
        }
    }
    const bool give_ip6 = asks_ip6 && options_.offer_ip6;
    // The IPv4 answer of the original responder, unless the initiator asked for IPv6 only.
    const bool give_ip4 = asks_ip4 || !asks_ip6;
    msg::CpPayload cp{msg::CfgType::reply, {}};
    std::vector<msg::TrafficSelector> ts_i, ts_r;
    if (give_ip4) {
        cp.attributes.push_back({std::uint16_t(msg::CfgAttr::internal_ip4_address), options_.virtual_ip});
        cp.attributes.push_back({std::uint16_t(msg::CfgAttr::internal_ip4_dns), {198, 51, 100, 53}});
        ts_i.push_back({msg::TsType::ipv4_addr_range, 0, 0, 65535, options_.virtual_ip, options_.virtual_ip});
        ts_r.push_back({msg::TsType::ipv4_addr_range, 0, 0, 65535, {198, 51, 100, 0}, {198, 51, 100, 255}});
    }
    if (give_ip6) {
        const Bytes vip6{0x20, 0x01, 0x0d, 0xb8, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
        Bytes address = vip6;
        address.push_back(112);  // prefix length (RFC 7296 §3.15.1)
        Bytes dns{0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53};
        dns.resize(options_.ip6_dns_size, 128);
        cp.attributes.push_back({std::uint16_t(msg::CfgAttr::internal_ip6_address), address});
        cp.attributes.push_back({std::uint16_t(msg::CfgAttr::internal_ip6_dns), dns});
        ts_i.push_back({msg::TsType::ipv6_addr_range, 0, 0, 65535, vip6, vip6});
        Bytes first{0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, last = first;
        std::fill(last.begin() + 8, last.end(), 0xff);
        ts_r.push_back({msg::TsType::ipv6_addr_range, 0, 0, 65535, first, last});
    }
    out.push_back({msg::PayloadType::cp, false, cp});
    const auto* sa = msg::find<msg::SaPayload>(request, msg::PayloadType::sa);
    msg::Proposal chosen = choose(sa->proposals.front());
    chosen.spi = {std::uint8_t(esp_spi >> 24), std::uint8_t(esp_spi >> 16), std::uint8_t(esp_spi >> 8), std::uint8_t(esp_spi)};
    out.push_back({msg::PayloadType::sa, false, msg::SaPayload{{chosen}}});
    out.push_back({msg::PayloadType::ts_i, false, msg::TsPayload{ts_i}});
    out.push_back({msg::PayloadType::ts_r, false, msg::TsPayload{ts_r}});
}

Bytes TestResponder::handle_informational(const msg::Message& m, ByteView raw) {
    if (!aead_in_) return {};
    auto inner = core::unprotect_message(raw, m, *aead_in_);
    if (!inner) return {};
    last_inner = *inner;
    for (const auto& p : *inner) {
        const auto* del = std::get_if<msg::DeletePayload>(&p.body);
        if (!del) continue;
        for (const auto& spi : del->spis)
            if (del->protocol == msg::ProtocolId::esp && spi.size() == 4)
                deleted_esp_spis.push_back(std::uint32_t(spi[0]) << 24 | std::uint32_t(spi[1]) << 16 |
                                           std::uint32_t(spi[2]) << 8 | spi[3]);
    }
    if (msg::find_notify(*inner, msg::NotifyType::update_sa_addresses))
        return protect(msg::ExchangeType::informational, true, m.header.message_id, answer_update(*inner));
    return protect(msg::ExchangeType::informational, true, m.header.message_id, {});
}

Bytes TestResponder::handle_create_child(const msg::Message& m, ByteView raw) {
    if (!aead_in_) return {};
    auto inner = core::unprotect_message(raw, m, *aead_in_);
    if (!inner) return {};
    last_inner = *inner;
    ++create_child_requests;
    if (options_.rekey_errors > 0) {
        --options_.rekey_errors;
        return protect(msg::ExchangeType::create_child_sa, true, m.header.message_id, {msg::make_notify(options_.rekey_error)});
    }
    const auto* sa = msg::find<msg::SaPayload>(*inner, msg::PayloadType::sa);
    if (sa && !sa->proposals.empty() && sa->proposals.front().protocol == msg::ProtocolId::ike)
        return answer_ike_rekey(m.header.message_id, *inner);
    return answer_child_rekey(m.header.message_id, *inner);
}

Bytes TestResponder::answer_child_rekey(std::uint32_t id, const std::vector<msg::Payload>& inner) {
    const auto* rekey = msg::find_notify(inner, msg::NotifyType::rekey_sa);
    const auto* sa = msg::find<msg::SaPayload>(inner, msg::PayloadType::sa);
    const auto* nonce = msg::find<msg::NoncePayload>(inner, msg::PayloadType::nonce);
    const auto* ke = msg::find<msg::KePayload>(inner, msg::PayloadType::ke);
    const auto* ts_i = msg::find<msg::TsPayload>(inner, msg::PayloadType::ts_i);
    const auto* ts_r = msg::find<msg::TsPayload>(inner, msg::PayloadType::ts_r);
    if (!rekey || rekey->spi.size() != 4 || !sa || sa->proposals.empty() || !nonce || !ts_i || !ts_r)
        return protect(msg::ExchangeType::create_child_sa, true, id, {msg::make_notify(msg::NotifyType::invalid_syntax)});
    AnsweredChildRekey answered;
    answered.rekeyed_spi = std::uint32_t(rekey->spi[0]) << 24 | std::uint32_t(rekey->spi[1]) << 16 |
                           std::uint32_t(rekey->spi[2]) << 8 | rekey->spi[3];
    const auto& offered = sa->proposals.front();
    answered.initiator_spi = std::uint32_t(offered.spi[0]) << 24 | std::uint32_t(offered.spi[1]) << 16 |
                             std::uint32_t(offered.spi[2]) << 8 | offered.spi[3];
    answered.responder_spi = next_esp_spi_++;
    msg::Proposal chosen = choose(offered);
    const std::uint32_t spi = answered.responder_spi;
    chosen.spi = {std::uint8_t(spi >> 24), std::uint8_t(spi >> 16), std::uint8_t(spi >> 8), std::uint8_t(spi)};
    const Bytes nonce_r(32, options_.answer_nonce);
    std::vector<msg::Payload> out{{msg::PayloadType::sa, false, msg::SaPayload{{chosen}}},
                                  {msg::PayloadType::nonce, false, msg::NoncePayload{nonce_r}}};
    Bytes seed;
    if (ke) {
        auto own = crypto::make_key_exchange(crypto::DhGroup(ke->group), random_);
        auto shared = own->shared_secret(ke->data);
        seed.assign(shared->begin(), shared->end());
        out.push_back({msg::PayloadType::ke, false, msg::KePayload{ke->group, own->public_value()}});
        answered.pfs = true;
    }
    append(seed, nonce->data);
    append(seed, nonce_r);
    answered.keymat = crypto::prf_plus(*prf_, keys.sk_d, seed, 72);
    out.push_back({msg::PayloadType::ts_i, false, *ts_i});
    out.push_back({msg::PayloadType::ts_r, false, *ts_r});
    child_rekeys.push_back(std::move(answered));
    return protect(msg::ExchangeType::create_child_sa, true, id, out);
}

Bytes TestResponder::answer_ike_rekey(std::uint32_t id, const std::vector<msg::Payload>& inner) {
    const auto* sa = msg::find<msg::SaPayload>(inner, msg::PayloadType::sa);
    const auto* nonce = msg::find<msg::NoncePayload>(inner, msg::PayloadType::nonce);
    const auto* ke = msg::find<msg::KePayload>(inner, msg::PayloadType::ke);
    if (!nonce || !ke || sa->proposals.front().spi.size() != 8)
        return protect(msg::ExchangeType::create_child_sa, true, id, {msg::make_notify(msg::NotifyType::invalid_syntax)});
    msg::Proposal chosen = choose(sa->proposals.front());
    for (auto& t : chosen.transforms)
        if (t.type == msg::TransformType::dh) t.id = ke->group;
    msg::Spi8 new_spi_i{}, new_spi_r{0x72, 0x72, 0x72, 0x72, 0x72, 0x72, 0x72, std::uint8_t(0x72 + ike_rekeys)};
    std::copy(sa->proposals.front().spi.begin(), sa->proposals.front().spi.end(), new_spi_i.begin());
    chosen.spi.assign(new_spi_r.begin(), new_spi_r.end());
    const Bytes nonce_r(32, options_.answer_nonce);
    auto own = crypto::make_key_exchange(crypto::DhGroup(ke->group), random_);
    auto shared = own->shared_secret(ke->data);
    const Bytes reply = protect(msg::ExchangeType::create_child_sa, true, id,
                                {{msg::PayloadType::sa, false, msg::SaPayload{{chosen}}},
                                 {msg::PayloadType::nonce, false, msg::NoncePayload{nonce_r}},
                                 {msg::PayloadType::ke, false, msg::KePayload{ke->group, own->public_value()}}});
    // SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) (RFC 7296 §2.18), spelled out independently here.
    Bytes seed(shared->begin(), shared->end());
    append(seed, nonce->data);
    append(seed, nonce_r);
    const SecureBytes skeyseed = prf_->compute(keys.sk_d, seed);
    Bytes stream = nonce->data;
    append(stream, nonce_r);
    append(stream, new_spi_i);
    append(stream, new_spi_r);
    const std::size_t encr = crypto::aead_key_material_size(crypto::EncrId::aes_gcm_16, 256);
    SecureBytes keymat = crypto::prf_plus(*prf_, skeyseed, stream, 3 * prf_->output_size() + 2 * encr);
    // The old IKE SA stays for the initiator's Delete of it.
    prev_spi_i_ = spi_i_;
    prev_spi_r_ = spi_r_;
    prev_aead_in_ = std::move(aead_in_);
    prev_aead_out_ = std::move(aead_out_);
    prev_next_own_request_ = next_own_request_;
    auto at = keymat.begin();
    keys.sk_d.assign(at, at + std::ptrdiff_t(prf_->output_size()));
    at += std::ptrdiff_t(prf_->output_size());
    keys.sk_ei.assign(at, at + std::ptrdiff_t(encr));
    keys.sk_er.assign(at + std::ptrdiff_t(encr), at + std::ptrdiff_t(2 * encr));
    // The initiator started the new IKE SA: this side receives with SK_ei and sends with SK_er.
    aead_in_ = crypto::make_aead(crypto::EncrId::aes_gcm_16, 256, keys.sk_ei);
    aead_out_ = crypto::make_aead(crypto::EncrId::aes_gcm_16, 256, keys.sk_er);
    spi_i_ = new_spi_i;
    spi_r_ = new_spi_r;
    original_initiator_ = false;
    next_own_request_ = 0;
    last_id_.reset();  // message IDs start again at 0 on the new IKE SA
    last_response_.clear();
    ++ike_rekeys;
    return reply;
}

std::vector<msg::Payload> TestResponder::answer_update(const std::vector<msg::Payload>& request) {
    ++updates_seen;
    if (options_.refuse_update) return {msg::make_notify(msg::NotifyType(*options_.refuse_update))};
    updated_source = seen_path.local;
    std::vector<msg::Payload> out;
    // RFC 7296 §2.23: SOURCE = hash(our address, port), DESTINATION = hash(where the request came from).
    out.push_back(msg::make_notify(msg::NotifyType::nat_detection_source_ip,
                                   crypto::nat_detection_hash(spi_i_, spi_r_, seen_path.remote.address.bytes(),
                                                              seen_path.remote.port)));
    out.push_back(msg::make_notify(msg::NotifyType::nat_detection_destination_ip,
                                   crypto::nat_detection_hash(spi_i_, spi_r_, seen_path.local.address.bytes(),
                                                              seen_path.local.port)));
    if (const auto* cookie = msg::find_notify(request, msg::NotifyType::cookie2)) {
        Bytes echo = cookie->data;
        if (options_.wrong_cookie2) echo[0] ^= 0x5a;
        out.push_back(msg::make_notify(msg::NotifyType::cookie2, echo));
    }
    return out;
}

Bytes TestResponder::make_request(msg::ExchangeType exchange, const std::vector<msg::Payload>& inner) {
    return protect(exchange, false, next_own_request_++, inner);
}

std::optional<std::vector<msg::Payload>> TestResponder::open_response(ByteView response) {
    auto decoded = msg::decode(response);
    if (!decoded) return std::nullopt;
    return core::unprotect_message(response, decoded.value(), *aead_in_);
}

Bytes TestResponder::make_child_rekey_request(std::uint32_t spi, std::optional<std::uint16_t> pfs_group,
                                              const std::string& esp) {
    rekey_nonce_.assign(32, options_.own_rekey_nonce);
    msg::Proposal p = core::parse_esp_proposal(esp);
    p.spi = {0xc0, 0xff, 0xee, 0x02};
    if (pfs_group) p.transforms.insert(p.transforms.end() - 1, {msg::TransformType::dh, *pfs_group, std::nullopt});
    Bytes spi_bytes{std::uint8_t(spi >> 24), std::uint8_t(spi >> 16), std::uint8_t(spi >> 8), std::uint8_t(spi)};
    std::vector<msg::Payload> inner{
        msg::make_notify(msg::NotifyType::rekey_sa, {}, msg::ProtocolId::esp, spi_bytes),
        {msg::PayloadType::sa, false, msg::SaPayload{{p}}},
        {msg::PayloadType::nonce, false, msg::NoncePayload{rekey_nonce_}},
    };
    if (pfs_group) {
        rekey_ke_ = crypto::make_key_exchange(crypto::DhGroup(*pfs_group), random_);
        inner.push_back({msg::PayloadType::ke, false, msg::KePayload{*pfs_group, rekey_ke_->public_value()}});
    }
    msg::TrafficSelector net{msg::TsType::ipv4_addr_range, 0, 0, 65535, {198, 51, 100, 0}, {198, 51, 100, 255}};
    msg::TrafficSelector vip{msg::TsType::ipv4_addr_range, 0, 0, 65535, {203, 0, 113, 7}, {203, 0, 113, 7}};
    inner.push_back({msg::PayloadType::ts_i, false, msg::TsPayload{{net}}});
    inner.push_back({msg::PayloadType::ts_r, false, msg::TsPayload{{vip}}});
    return make_request(msg::ExchangeType::create_child_sa, inner);
}

std::optional<SecureBytes> TestResponder::rekey_keymat(ByteView response, std::size_t length) {
    auto inner = open_response(response);
    if (!inner) return std::nullopt;
    const auto* nonce = msg::find<msg::NoncePayload>(*inner, msg::PayloadType::nonce);
    if (!nonce) return std::nullopt;
    Bytes seed;
    if (rekey_ke_) {
        const auto* ke = msg::find<msg::KePayload>(*inner, msg::PayloadType::ke);
        if (!ke) return std::nullopt;
        auto shared = rekey_ke_->shared_secret(ke->data);
        seed.assign(shared->begin(), shared->end());
    }
    append(seed, rekey_nonce_);
    append(seed, nonce->data);
    return crypto::prf_plus(*prf_, keys.sk_d, seed, length);
}

Bytes TestResponder::make_ike_rekey_request(std::uint16_t group) {
    rekey_nonce_.assign(32, 0x55);
    msg::Proposal p = core::parse_ike_proposal("aes256gcm16-prfsha384-x25519-ecp256");
    p.transforms.erase(std::remove_if(p.transforms.begin(), p.transforms.end(),
                                      [&](const msg::Transform& t) { return t.type == msg::TransformType::dh && t.id != group; }),
                       p.transforms.end());
    new_spi_i_ = {0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68};
    p.spi.assign(new_spi_i_.begin(), new_spi_i_.end());
    rekey_ke_ = crypto::make_key_exchange(crypto::DhGroup(group), random_);
    return make_request(msg::ExchangeType::create_child_sa,
                        {{msg::PayloadType::sa, false, msg::SaPayload{{p}}},
                         {msg::PayloadType::nonce, false, msg::NoncePayload{rekey_nonce_}},
                         {msg::PayloadType::ke, false, msg::KePayload{group, rekey_ke_->public_value()}}});
}

bool TestResponder::finish_ike_rekey(ByteView response) {
    auto inner = open_response(response);
    if (!inner) return false;
    const auto* sa = msg::find<msg::SaPayload>(*inner, msg::PayloadType::sa);
    const auto* nonce = msg::find<msg::NoncePayload>(*inner, msg::PayloadType::nonce);
    const auto* ke = msg::find<msg::KePayload>(*inner, msg::PayloadType::ke);
    if (!sa || !nonce || !ke || sa->proposals.size() != 1 || sa->proposals[0].spi.size() != 8) return false;
    auto shared = rekey_ke_->shared_secret(ke->data);
    if (!shared) return false;
    // SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), computed here the way RFC 7296 §2.18 spells it.
    Bytes seed(shared->begin(), shared->end());
    append(seed, rekey_nonce_);
    append(seed, nonce->data);
    const SecureBytes skeyseed = prf_->compute(keys.sk_d, seed);
    msg::Spi8 new_spi_r{};
    std::copy(sa->proposals[0].spi.begin(), sa->proposals[0].spi.end(), new_spi_r.begin());
    Bytes stream = rekey_nonce_;
    append(stream, nonce->data);
    append(stream, new_spi_i_);
    append(stream, new_spi_r);
    const std::size_t encr = crypto::aead_key_material_size(crypto::EncrId::aes_gcm_16, 256);
    SecureBytes keymat = crypto::prf_plus(*prf_, skeyseed, stream, 3 * prf_->output_size() + 2 * encr);
    auto at = keymat.begin();
    keys.sk_d.assign(at, at + std::ptrdiff_t(prf_->output_size()));
    at += std::ptrdiff_t(prf_->output_size());
    keys.sk_ei.assign(at, at + std::ptrdiff_t(encr));
    keys.sk_er.assign(at + std::ptrdiff_t(encr), at + std::ptrdiff_t(2 * encr));
    // This side initiated the new IKE SA: it sends with SK_ei and receives with SK_er.
    aead_out_ = crypto::make_aead(crypto::EncrId::aes_gcm_16, 256, keys.sk_ei);
    aead_in_ = crypto::make_aead(crypto::EncrId::aes_gcm_16, 256, keys.sk_er);
    spi_i_ = new_spi_i_;
    spi_r_ = new_spi_r;
    original_initiator_ = true;
    next_own_request_ = 0;
    last_id_.reset();  // message IDs start again at 0 on the new IKE SA
    last_response_.clear();
    return true;
}

}  // namespace ikevpn::test
