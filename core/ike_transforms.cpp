#include "core/ike_transforms.hpp"

namespace ikevpn::core {

void set_transforms(IkeTransforms& t, const msg::Proposal& accepted) {
    t.integ = crypto::IntegId::none;
    for (const auto& transform : accepted.transforms) {
        switch (transform.type) {
        case msg::TransformType::encr:
            t.encr = crypto::EncrId(transform.id);
            t.key_bits = transform.key_length.value_or(0);
            break;
        case msg::TransformType::prf: t.prf = crypto::PrfId(transform.id); break;
        case msg::TransformType::integ: t.integ = crypto::IntegId(transform.id); break;
        case msg::TransformType::dh: t.dh = crypto::DhGroup(transform.id); break;
        default: break;
        }
    }
    // RFC 2451: 3DES carries no Key Length attribute; its key is 192 bits (168 effective).
    if (t.encr == crypto::EncrId::des3) t.key_bits = 192;
}

crypto::SkTransform sk_transform(const IkeTransforms& t) { return {t.encr, t.key_bits, t.integ}; }

std::size_t encr_key_size(const IkeTransforms& t) { return crypto::sk_encr_key_size(sk_transform(t)); }

std::size_t integ_key_size(const IkeTransforms& t) { return crypto::sk_integ_key_size(sk_transform(t)); }

void install_sk_ciphers(IkeSa& sa, bool we_initiated) {
    const auto& k = sa.keys;
    const auto t = sk_transform(sa.transforms);
    sa.aead_out = crypto::make_sk_cipher(t, we_initiated ? k.sk_ei : k.sk_er, we_initiated ? k.sk_ai : k.sk_ar);
    sa.aead_in = crypto::make_sk_cipher(t, we_initiated ? k.sk_er : k.sk_ei, we_initiated ? k.sk_ar : k.sk_ai);
}

std::string encryption_name(const IkeTransforms& t) {
    std::string name = transform_name(msg::TransformType::encr, std::uint16_t(t.encr), t.key_bits);
    if (t.integ != crypto::IntegId::none)
        name += "/" + transform_name(msg::TransformType::integ, std::uint16_t(t.integ), {});
    return name;
}

}  // namespace ikevpn::core
