#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# EAP-TLS against strongSwan (RFC 7296 §2.16, RFC 5216): the gateway authenticates in IKE_AUTH with its
# certificate (made by strongSwan's `pki`), asks for the EAP identity (eap_id = %any) and runs EAP-TLS; the
# client proves itself with its own certificate inside TLS (Botan 2, TLS 1.2), and the MSK keys both final
# AUTHs. Checks: connect with an ECDSA client certificate, the gateway's view (EAP_TLS succeeded, the
# client's identity in --list-sas, our MSK-keyed AUTH verified), ping through the tunnel, disconnect leaves
# nothing; an RSA client certificate with an explicit eap_identity (our flight goes out in 1000-byte
# EAP-TLS fragments); an RSA-4096 gateway (its flight comes in strongSwan's 1024-byte fragments); a client
# certificate from a CA the gateway does not trust → one-line error, AUTH_FAILED, exit 1; a gateway TLS
# certificate (aaa_id) that the profile's CA did not issue (CERT_INVALID), or that is for another name
# (ID_MISMATCH) → one-line errors naming the TLS certificate. After each failure the gateway holds no SA (our alert or ACK, then its EAP-Failure).
# Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"
# shellcheck source=checks.sh
source "$here/checks.sh"
# shellcheck source=ikevpn.sh
source "$here/ikevpn.sh"
# shellcheck source=auth_checks.sh
source "$here/auth_checks.sh"

lab_require_root_and_tools swanctl ping jq pki "$LAB_CHARON"
ikevpn_require
ikevpn_test_traps

lab_up
pkidir="$LAB_DIR/pki"
mkdir -p "$pkidir"
pki_q() { pki "$@" 2>/dev/null; }
# make_ca NAME DN — NAME.key / NAME.pem, a self-signed CA.
make_ca() {
    pki_q --gen --type ecdsa --size 256 --outform pem >"$pkidir/$1.key"
    pki_q --self --ca --lifetime 30 --in "$pkidir/$1.key" --type priv --dn "$2" --outform pem >"$pkidir/$1.pem"
}
# issue CA NAME KEYTYPE KEYSIZE DN SAN FLAG — NAME.key / NAME.pem issued by CA.
issue() {
    pki_q --gen --type "$3" --size "$4" --outform pem >"$pkidir/$2.key"
    pki_q --pub --in "$pkidir/$2.key" --type priv |
        pki_q --issue --cacert "$pkidir/$1.pem" --cakey "$pkidir/$1.key" --dn "$5" --san "$6" --flag "$7" \
            --outform pem >"$pkidir/$2.pem"
}
make_ca gwca "C=CH, O=Example, CN=EAP-TLS Gateway CA"
make_ca clientca "C=CH, O=Example, CN=EAP-TLS Client CA"
make_ca rogue "C=CH, O=Rogue, CN=Untrusted CA"
issue gwca gw ecdsa 256 "C=CH, O=Example, CN=vpn.example.com" vpn.example.com serverAuth
issue gwca gw-rsa4096 rsa 4096 "C=CH, O=Example, CN=vpn.example.com" vpn.example.com serverAuth
issue clientca client ecdsa 256 "C=CH, O=Example, CN=client" client@example.com clientAuth
issue clientca alice rsa 2048 "C=CH, O=Example, CN=alice" alice@example.com clientAuth
issue rogue intruder ecdsa 256 "C=CH, O=Rogue, CN=client" client@example.com clientAuth
# TLS server certificates other than the IKE one, picked by the gateway through remote aaa_id.
issue rogue tls-rogue ecdsa 256 "C=CH, O=Rogue, CN=tls.example.com" tls.example.com serverAuth
issue gwca tls-other ecdsa 256 "C=CH, O=Example, CN=tls.example.com" tls.example.com serverAuth

# start_gateway [REMOTE_EXTRA] [EXTRA_CERT_NAME] — the EAP-TLS gateway (certificate GW_CERT, default gw)
# trusting clientca; EXTRA_CERT_NAME is loaded as a second own certificate (its TLS certificate when
# REMOTE_EXTRA sets aaa_id).
start_gateway() {
    lab_stop_gateway
    if [[ -n ${LAB_GATEWAY_DIR:-} ]]; then
        rm -f "$LAB_GATEWAY_DIR"/swanctl/x509/tls-*.pem "$LAB_GATEWAY_DIR"/swanctl/private/tls-*.key
    fi
    LAB_GW_REMOTE_EXTRA="eap_id = %any
            ${1:-}" lab_start_gateway --cert "$pkidir/${GW_CERT:-gw}.pem" --key "$pkidir/${GW_CERT:-gw}.key" \
        --ca "$pkidir/clientca.pem" \
        --remote-auth eap-tls --id vpn.example.com
    if [[ -n ${2:-} ]]; then
        cp "$pkidir/$2.pem" "$LAB_GATEWAY_DIR/swanctl/x509/$2.pem"
        cp "$pkidir/$2.key" "$LAB_GATEWAY_DIR/swanctl/private/$2.key"
        lab_swanctl "$LAB_GATEWAY_DIR" --load-creds --noprompt >/dev/null
    fi
}
start_gateway

# profile NAME CERT [EXTRA_AUTH_JQ] — a profile dir with gwca.pem as 'ca' and CERT.pem/CERT.key.
profile() {
    dir="$LAB_DIR/$1"
    mkdir -p "$dir"
    cp "$pkidir/gwca.pem" "$dir/ca.pem"
    cp "$pkidir/$2.pem" "$dir/cert.pem"
    (umask 077 && cp "$pkidir/$2.key" "$dir/key.pem")
    ikevpn_write_profile "$dir" ".remote_id = \"vpn.example.com\" | .ca = [\"ca.pem\"] |
        .auth = {\"method\": \"eap-tls\", \"cert\": \"cert.pem\", \"key\": \"key.pem\"} ${3:-}"
}

auth_checks_record_rules
# eap_rounds sent|received request|response — IKE_AUTH messages carrying only EAP (trace log).
eap_rounds() { grep -c "$1 IKE_AUTH $2 .*SK{first EAP" "$IKEVPN_DIR/stderr.log" || true; }
# The gateway's SA names the client's IKE identity and its EAP identity.
sa_shows() { lab_gateway_sas | grep -F -- "$1"; }
# fails_with LABEL CODE MESSAGE — after ikevpn_run_foreground: exit 1, error event CODE, the message,
# nothing left on either side.
fails_with() {
    local label=$1 code=$2 message=$3
    check "$label: exits with status 1 by itself (got $IKEVPN_STATUS)" test "$IKEVPN_STATUS" -eq 1
    check "$label: error event $code" error_code_is "$code"
    check "$label: the one-line error '$message'" stderr_mentions "$message"
    echo "INFO: $label: $(grep -m1 -F "$message" "$IKEVPN_DIR/stderr.log" || tail -n 1 "$IKEVPN_DIR/stderr.log")"
    check "$label: no TUN left, ip rule unchanged" nothing_left
    check "$label: gateway holds no SA (our alert or ACK, then its EAP-Failure)" gateway_holds_no_sa
}

echo "== ECDSA client certificate, EAP identity = local_id"
profile ecdsa client
ikevpn_start "$dir" --log-level trace
check_fatal "ecdsa: connected event" ikevpn_wait_event connected 20
check "ecdsa: the gateway was authenticated by its certificate" \
    stderr_mentions "gateway certificate verified for 'vpn.example.com'; starting EAP-TLS"
check "ecdsa: EAP-TLS succeeded (client)" stderr_mentions "EAP-TLS succeeded"
check "ecdsa: the gateway got the EAP identity 'client@example.com'" \
    gateway_log_has "received EAP identity 'client@example.com'"
check "ecdsa: the gateway's EAP-TLS succeeded with an MSK" gateway_log_has "EAP method EAP_TLS succeeded, MSK established"
check "ecdsa: the gateway verified our MSK-keyed AUTH" \
    gateway_log_has "authentication of 'client@example.com' with EAP successful"
check "ecdsa: swanctl --list-sas shows the client's identity" sa_shows "remote 'client@example.com'"
echo "INFO: ecdsa: gateway TLS: $(grep -m1 -E "negotiated TLS|TLS_ECDHE" "$LAB_GATEWAY_DIR/charon.log" || echo "(suite not logged)")"
check "ecdsa: small flights, no fragments: 4 EAP requests and 4 EAP responses (got $(eap_rounds sent request)/$(eap_rounds received response))" \
    test "$(eap_rounds sent request)/$(eap_rounds received response)" = 4/4
check "ecdsa: ping through the tunnel" ping_host
disconnect_cleanly "ecdsa"

echo "== RSA client certificate, eap_identity 'alice@example.com'"
profile rsa alice '| .auth.eap_identity = "alice@example.com"'
ikevpn_start "$dir" --log-level trace
check_fatal "rsa: connected event" ikevpn_wait_event connected 20
check "rsa: the gateway got the EAP identity 'alice@example.com'" gateway_log_has "received EAP identity 'alice@example.com'"
check "rsa: swanctl --list-sas shows the EAP identity" sa_shows "alice@example.com"
# Unfragmented we send 4 EAP-only requests (Identity, ClientHello, our flight, the final empty response);
# our RSA flight is larger than the 1000-byte fragment size, so one more.
check "rsa: our TLS flight went out in EAP-TLS fragments ($(eap_rounds sent request) EAP requests > 4)" \
    test "$(eap_rounds sent request)" -gt 4
check "rsa: ping through the tunnel" ping_host
disconnect_cleanly "rsa"

echo "== an RSA-4096 gateway: its TLS flight exceeds strongSwan's 1024-byte EAP-TLS fragments"
GW_CERT=gw-rsa4096 start_gateway
profile big client
ikevpn_start "$dir" --log-level trace
check_fatal "rsa4096 gateway: connected event" ikevpn_wait_event connected 30
check "rsa4096 gateway: the gateway's EAP-TLS succeeded with an MSK" \
    gateway_log_has "EAP method EAP_TLS succeeded, MSK established"
# Unfragmented, the gateway sends 4 EAP-only responses (Start, its flight, Finished, Success); each
# further fragment adds one (we ACK it).
check "rsa4096 gateway: its TLS flight came in EAP-TLS fragments ($(eap_rounds received response) EAP responses > 4)" \
    test "$(eap_rounds received response)" -gt 4
check "rsa4096 gateway: ping through the tunnel" ping_host
disconnect_cleanly "rsa4096 gateway"
start_gateway

echo "== a client certificate from a CA the gateway does not trust"
profile intruder intruder
successes_before=$(grep -c "EAP method EAP_TLS succeeded" "$LAB_GATEWAY_DIR/charon.log" || true)
ikevpn_run_foreground "$dir" 40
fails_with "untrusted client CA" AUTH_FAILED "(it does not accept our certificate)"
tls_successes_unchanged() { [[ $(grep -c "EAP method EAP_TLS succeeded" "$LAB_GATEWAY_DIR/charon.log" || true) == "$successes_before" ]]; }
check "untrusted client CA: the gateway's EAP-TLS did not succeed" tls_successes_unchanged
check "untrusted client CA: no tunnel" not client_has_link ikevpn0

echo "== the gateway's TLS certificate is not from the profile's CA"
start_gateway "aaa_id = tls.example.com" tls-rogue
profile tls_ca client
ikevpn_run_foreground "$dir" 40
fails_with "TLS certificate CA" CERT_INVALID \
    "EAP-TLS: the gateway's TLS certificate 'C=CH, O=Rogue, CN=tls.example.com' is not valid for the profile's 'ca'"

echo "== the gateway's TLS certificate is for another name"
start_gateway "aaa_id = tls.example.com" tls-other
profile tls_name client
ikevpn_run_foreground "$dir" 40
fails_with "TLS certificate name" ID_MISMATCH \
    "EAP-TLS: the gateway's TLS certificate 'C=CH, O=Example, CN=tls.example.com' does not contain its identity 'vpn.example.com'"

checks_summary
