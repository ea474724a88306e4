// TestResponder's snapshots of whole IKE SAs (test_responder.hpp): a rekey collision leaves the gateway with
// three IKE SAs at once, more than its current/previous pair holds.
#include "test_responder.hpp"

namespace ikevpn::test {

TestResponder::SavedIkeSa TestResponder::save_ike_sa() const {
    return {spi_i_, spi_r_, keys, original_initiator_, next_own_request_, last_id_, last_response_};
}

void TestResponder::restore_ike_sa(const SavedIkeSa& saved) {
    spi_i_ = saved.spi_i;
    spi_r_ = saved.spi_r;
    keys = saved.keys;
    original_initiator_ = saved.original_initiator;
    next_own_request_ = saved.next_own_request;
    last_id_ = saved.last_id;
    last_response_ = saved.last_response;
    // The initiator of an IKE SA sends with SK_ei (RFC 7296 §2.14).
    const SecureBytes& own = original_initiator_ ? keys.sk_ei : keys.sk_er;
    const SecureBytes& theirs = original_initiator_ ? keys.sk_er : keys.sk_ei;
    aead_out_ = crypto::make_aead(crypto::EncrId::aes_gcm_16, 256, own);
    aead_in_ = crypto::make_aead(crypto::EncrId::aes_gcm_16, 256, theirs);
}

}  // namespace ikevpn::test
