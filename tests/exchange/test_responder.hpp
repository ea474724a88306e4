// A minimal IKEv2 responder for in-memory exchange tests of core::IkeSession: just enough of a PSK
// road-warrior gateway (IKE_SA_INIT, IKE_AUTH with CP and one CHILD SA, INFORMATIONAL) to run the
// initiator through its states with a fake clock. Knobs let tests make it misbehave.
#pragma once
#include "core/crypto/crypto.hpp"
#include "core/crypto/public_key.hpp"
#include "core/message/message.hpp"
#include "core/session.hpp"

#include <map>
#include <optional>
#include <string>

namespace ikevpn::test {

// Deterministic randomness: a counter, so runs are reproducible.
class CountingRandom : public crypto::RandomSource {
public:
    explicit CountingRandom(std::uint8_t seed) : next_(seed) {}
    void fill(std::span<std::uint8_t> out) override {
        for (auto& b : out) b = next_++;
    }
private:
    std::uint8_t next_;
};

struct ResponderOptions {
    std::string psk = "correct horse battery staple";
    std::string identity = "gw.example.com";
    std::optional<std::uint16_t> demand_group;  // answer INVALID_KE_PAYLOAD unless the KE uses it
    bool demand_cookie = false;
    bool corrupt_auth = false;  // send a wrong AUTH value
    // IPv6 inside the tunnel: answered only when the CP request asks for INTERNAL_IP6_ADDRESS.
    bool offer_ip6 = true;           // false: assign no IPv6 address (and narrow away IPv6 selectors)
    std::size_t ip6_dns_size = 16;   // 17 sends INTERNAL_IP6_DNS with a prefix length, as libreswan 4.10 does
    // CREATE_CHILD_SA requests of the initiator (its rekeys): the first `rekey_errors` are answered with
    // `rekey_error` alone; the nonces of this side decide rekey collisions (RFC 7296 §2.8.1).
    unsigned rekey_errors = 0;
    msg::NotifyType rekey_error = msg::NotifyType::temporary_failure;
    std::uint8_t answer_nonce = 0x66;     // every byte of Nr in our answers to the initiator's rekeys
    std::uint8_t own_rekey_nonce = 0x44;  // every byte of Ni in make_child_rekey_request()
    // Certificate authentication (test_responder_certs.cpp): with `key` the responder signs its AUTH
    // (RFC 7427 when the initiator announced hash algorithms, the classic method otherwise) and sends
    // `certs` (leaf first) as CERT payloads. A signed AUTH from the initiator is checked against the first
    // CERT it sent.
    crypto::PrivateKeyPtr key;
    std::vector<crypto::CertificatePtr> certs;
    bool announce_hashes = true;  // SIGNATURE_HASH_ALGORITHMS in the IKE_SA_INIT response
    bool malformed_cert = false;  // a first CERT payload (encoding 4) whose DER is not a certificate
    // MOBIKE (RFC 4555): answer MOBIKE_SUPPORTED and list these addresses as ADDITIONAL_IP*_ADDRESS.
    bool mobike = false;
    std::vector<std::string> additional_addresses;
    bool wrong_cookie2 = false;              // echo a COOKIE2 that differs from the request's
    std::optional<std::uint16_t> refuse_update;  // answer UPDATE_SA_ADDRESSES with this error Notify
    // IKE fragmentation (RFC 7383, test_responder_fragments.cpp): announce FRAGMENTATION_SUPPORTED when the
    // initiator does; then handle_datagrams() reassembles fragmented requests and sends responses longer
    // than `fragment_limit` bytes (0: never) as fragments of at most that size.
    bool fragmentation = false;
    std::size_t fragment_limit = 0;
    // EAP-MSCHAPv2 (test_responder_eap.cpp): with `eap_password` an IKE_AUTH request without AUTH starts
    // EAP (Identity, an MS-CHAPv2 Challenge checked against this password, Success or Failure E=691) and
    // the final AUTHs are keyed with the MSK. Set `key`/`certs` too: the gateway signs before EAP.
    std::optional<std::string> eap_password;
    bool eap_skip_auth = false;            // no AUTH before EAP (an EAP-only gateway, RFC 5998)
    bool eap_wrong_authenticator = false;  // MS-CHAPv2 Success with a wrong Authenticator Response
    bool eap_corrupt_final_auth = false;   // a wrong AUTH in the final response
    bool eap_refuse_final = false;         // AUTHENTICATION_FAILED instead of the final response
    // Another EAP method instead of MS-CHAPv2 (EAP-TLS: eap_tls_session_test.cpp): after the Identity
    // round, its start() and on_response() packets go out as they are; its msk() keys the final AUTHs
    // once it sent EAP-Success.
    struct EapMethodServer {
        virtual ~EapMethodServer() = default;
        virtual Bytes start() = 0;                      // the first EAP Request of the method
        virtual Bytes on_response(ByteView eap) = 0;    // the next EAP Request, Success or Failure
        virtual SecureBytes msk() const = 0;
    };
    std::shared_ptr<EapMethodServer> eap_method;
    // Reauthentication (RFC 4478): AUTH_LIFETIME in the IKE_AUTH response; the IPv4 address assigned.
    std::optional<std::uint32_t> auth_lifetime;
    Bytes virtual_ip{203, 0, 113, 7};
    // RFC 5685: answer IKE_SA_INIT with N(REDIRECT) alone (Nonce Data = Ni, or a wrong one), or IKE_AUTH with
    // IDr, AUTH and N(REDIRECT) and no CHILD SA.
    std::optional<core::GatewayIdentity> redirect_init, redirect_auth;
    bool redirect_wrong_nonce = false;
};

class TestResponder {
public:
    explicit TestResponder(ResponderOptions options = {});
    // Handles one request from the initiator and returns the response (empty when it drops the message).
    Bytes handle(ByteView request);
    // handle() for a datagram that may be one fragment of a request: every datagram of the response (its
    // fragments when fragmentation was negotiated and it is longer than fragment_limit); empty while
    // fragments are missing or when the request is dropped.
    std::vector<Bytes> handle_datagrams(ByteView request);
    // A protected message of ours (a response, or a request from make_request()) as the fragments
    // handle_datagrams() would send; the message itself when it is not to be fragmented.
    std::vector<Bytes> split(const Bytes& whole);
    bool fragmentation_negotiated = false;
    unsigned fragments_seen = 0, fragments_rejected = 0, requests_reassembled = 0, fragmented_responses = 0;
    // A request of the gateway's own (e.g. a Delete of the IKE SA), protected with its keys.
    Bytes make_request(msg::ExchangeType exchange, const std::vector<msg::Payload>& inner);
    // Decrypts a response of the initiator to make_request().
    std::optional<std::vector<msg::Payload>> open_response(ByteView response);

    // A CREATE_CHILD_SA request that rekeys the CHILD SA whose inbound SPI (ours) is `spi`, with a KE
    // payload of `pfs_group` if set; and the KEYMAT it implies once the initiator answered.
    Bytes make_child_rekey_request(std::uint32_t spi, std::optional<std::uint16_t> pfs_group,
                                   const std::string& esp = "aes256gcm16");
    std::optional<SecureBytes> rekey_keymat(ByteView response, std::size_t length);

    // IKE SA rekey started by the gateway (RFC 7296 §1.3.2): the request, then — given the initiator's
    // response — the switch to the new IKE SA, of which this responder is now the initiator.
    Bytes make_ike_rekey_request(std::uint16_t group);
    bool finish_ike_rekey(ByteView response);

    // One IKE SA of this side as it stands (SPIs, keys, message IDs, cached response), so that a test can
    // run exchanges on several IKE SAs at once — rekey collisions (test_responder_collision.cpp). Restoring
    // rebuilds the SK ciphers as AES-GCM-256, the cipher of answer_ike_rekey() and of the PSK test config.
    struct SavedIkeSa {
        msg::Spi8 spi_i{}, spi_r{};
        crypto::IkeKeys keys;
        bool original_initiator = false;
        std::uint32_t next_own_request = 0;
        std::optional<std::uint32_t> last_id;
        Bytes last_response;
    };
    SavedIkeSa save_ike_sa() const;
    void restore_ike_sa(const SavedIkeSa& saved);

    // Rekeys the initiator started, as this side answered them.
    struct AnsweredChildRekey {
        std::uint32_t rekeyed_spi = 0;       // REKEY_SA: the SPI the initiator receives with (RFC 7296 §1.3.3)
        std::uint32_t initiator_spi = 0, responder_spi = 0;
        bool pfs = false;
        SecureBytes keymat;                  // KEYMAT = prf+(SK_d, [g^ir |] Ni | Nr), 72 bytes (AES-256-GCM)
    };
    std::vector<AnsweredChildRekey> child_rekeys;
    unsigned ike_rekeys = 0;
    unsigned create_child_requests = 0;     // every CREATE_CHILD_SA request handled (not retransmissions)
    std::vector<std::uint32_t> deleted_esp_spis;  // from the initiator's Delete payloads
    bool old_ike_sa_deleted = false;              // the initiator deleted the IKE SA it rekeyed

    // Values the tests compare with what the initiator derived.
    crypto::IkeKeys keys;
    msg::Proposal ike_chosen;  // the IKE proposal this side accepted in IKE_SA_INIT
    SecureBytes child_keymat;
    std::uint32_t esp_spi = 0xc0ffee01;
    std::uint32_t initiator_esp_spi = 0;
    bool auth_seen_ok = false;
    unsigned requests_seen = 0;
    std::vector<msg::Payload> last_inner;  // decrypted content of the last protected request
    std::vector<std::uint16_t> initiator_hashes;  // SIGNATURE_HASH_ALGORITHMS of the IKE_SA_INIT request
    std::uint8_t initiator_auth_method = 0;
    std::uint8_t own_auth_method = 0;  // of the AUTH this responder sent
    bool saw_redirect_supported = false;  // in the last IKE_SA_INIT request
    Bytes redirected_from;                // REDIRECTED_FROM data of the last IKE_SA_INIT request
    Bytes nat_destination_hash;            // NAT_DETECTION_DESTINATION_IP of the last IKE_SA_INIT request
    // MOBIKE: the source and the own address and port of the next request, as the gateway sees them (a NAT
    // may change the source); and the source of the last UPDATE_SA_ADDRESSES it accepted.
    core::Path seen_path;
    std::optional<core::Endpoint> updated_source;
    unsigned updates_seen = 0;
    std::string eap_identity_seen;  // the EAP-Identity response
    unsigned eap_rounds = 0;        // IKE_AUTH requests handled while EAP ran
    bool eap_first_had_auth = false;  // the first IKE_AUTH request carried AUTH (it must not, to ask for EAP)

private:
    Bytes handle_init(const msg::Message& m, ByteView raw);
    Bytes handle_auth(const msg::Message& m, ByteView raw);
    // test_responder_certs.cpp: the initiator's AUTH checked, and our own AUTH (+ CERTs) made.
    bool check_initiator_auth(const std::vector<msg::Payload>& inner, const msg::IdPayload& id_i,
                              const msg::AuthPayload& auth) const;
    void add_own_auth(const msg::IdPayload& id_r, std::vector<msg::Payload>& out);
    // test_responder_eap.cpp: one IKE_AUTH request of an EAP authentication.
    Bytes handle_eap_auth(std::uint32_t id, const std::vector<msg::Payload>& inner);
    std::vector<msg::Payload> eap_final_auth(const std::vector<msg::Payload>& inner);
    // SAr2, TSi/TSr, CP (and MOBIKE) answering the IKE_AUTH request `request`.
    void add_child_payloads(const std::vector<msg::Payload>& request, std::vector<msg::Payload>& out);
    // CP reply and narrowed TSi/TSr of IKE_AUTH for what the initiator asked.
    void add_network_payloads(const std::vector<msg::Payload>& request, std::vector<msg::Payload>& out) const;
    Bytes handle_informational(const msg::Message& m, ByteView raw);
    Bytes dispatch(const msg::Message& m, ByteView raw);
    Bytes handle_create_child(const msg::Message& m, ByteView raw);
    Bytes answer_child_rekey(std::uint32_t id, const std::vector<msg::Payload>& inner);
    Bytes answer_ike_rekey(std::uint32_t id, const std::vector<msg::Payload>& inner);
    void swap_previous();
    // UPDATE_SA_ADDRESSES (RFC 4555 §3.5): NAT detection for the path it came on, COOKIE2 echoed.
    std::vector<msg::Payload> answer_update(const std::vector<msg::Payload>& request);
    Bytes protect(msg::ExchangeType exchange, bool response, std::uint32_t id, const std::vector<msg::Payload>& inner);
    // test_responder_fragments.cpp: one fragment of a request (a whole SK message rebuilt once all are in).
    std::optional<Bytes> reassemble(const msg::Message& m, ByteView raw);

    ResponderOptions options_;
    CountingRandom random_{0x80};
    msg::Spi8 spi_i_{}, spi_r_{};
    Bytes nonce_i_, nonce_r_, init_request_, init_response_;
    std::unique_ptr<crypto::Prf> prf_;
    std::unique_ptr<crypto::Aead> aead_in_, aead_out_;
    std::uint64_t iv_counter_ = 1000;
    std::uint32_t next_own_request_ = 0;
    Bytes rekey_nonce_;
    bool original_initiator_ = false;  // becomes true once this side initiated a rekeyed IKE SA
    msg::Spi8 new_spi_i_{};
    std::unique_ptr<crypto::KeyExchange> rekey_ke_;
    // The IKE SA before the initiator rekeyed it: still answers until the initiator deletes it.
    msg::Spi8 prev_spi_i_{}, prev_spi_r_{};
    std::unique_ptr<crypto::Aead> prev_aead_in_, prev_aead_out_;
    std::uint32_t prev_next_own_request_ = 0;
    // Retransmitted requests get the cached response (RFC 7296 §2.1), as a real gateway does.
    std::optional<std::uint32_t> last_id_, prev_last_id_;
    Bytes last_response_, prev_last_response_;
    std::uint32_t next_esp_spi_ = 0xc0ffee10;
    std::map<std::uint16_t, Bytes> fragment_parts_;  // plaintext by Fragment Number
    std::uint32_t fragment_id_ = 0;
    std::uint16_t fragment_total_ = 0;
    msg::PayloadType fragment_first_ = msg::PayloadType::none;
    std::uint64_t rebuild_iv_ = 0;
    std::vector<msg::Payload> eap_first_request_;
    Bytes eap_id_i_body_, eap_nt_response_, eap_peer_challenge_;
    std::optional<SecureBytes> eap_msk_;
};

}  // namespace ikevpn::test
