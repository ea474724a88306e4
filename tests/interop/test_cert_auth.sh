#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# Certificate authentication against strongSwan, with a throwaway PKI made by strongSwan's `pki` at test
# time: gateway certificate + client certificate (ECDSA P-256/P-384, RSA PKCS#1 v1.5 and PSS, Ed25519;
# RFC 7427 and, against a gateway with signature_authentication = no, the classic methods 1, 9 and 10),
# DN identities, IPv4/IPv6 identities in subjectAltName, gateway certificate + client PSK; and the failures — wrong CA, name mismatch, expired gateway
# certificate — each with its error code, a non-zero exit and nothing left behind.
# Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"
# shellcheck source=checks.sh
source "$here/checks.sh"
# shellcheck source=ikevpn.sh
source "$here/ikevpn.sh"

lab_require_root_and_tools swanctl ping jq pki "$LAB_CHARON"
ikevpn_require
ikevpn_test_traps

# --- the PKI -------------------------------------------------------------------------------------------
# pki prints plugin-loading noise (TPM) on stderr; its real errors still fail the script through set -e.
pki_q() { pki "$@" 2>/dev/null; }
# make_key TYPE FILE — rsa (2048), ecdsa (P-256), ecdsa384 or ed25519, PEM as pki writes it (PKCS#1/SEC1/PKCS#8).
make_key() {
    case $1 in
        rsa) pki_q --gen --type rsa --size 2048 --outform pem >"$2" ;;
        ecdsa) pki_q --gen --type ecdsa --size 256 --outform pem >"$2" ;;
        ecdsa384) pki_q --gen --type ecdsa --size 384 --outform pem >"$2" ;;
        ed25519) pki_q --gen --type ed25519 --outform pem >"$2" ;;
    esac
}
# make_ca NAME — NAME.key, NAME.pem (self-signed, ECDSA).
make_ca() {
    make_key ecdsa "$pkidir/$1.key"
    pki_q --self --ca --lifetime 30 --in "$pkidir/$1.key" --type priv --dn "C=CH, O=Example, CN=$1" \
        --outform pem >"$pkidir/$1.pem"
}
# issue CA NAME KEYTYPE DN SAN [pki --issue options] — NAME.key and NAME.pem signed by CA.
issue() {
    local ca=$1 name=$2 type=$3 dn=$4 san=$5
    shift 5
    make_key "$type" "$pkidir/$name.key"
    pki_q --pub --in "$pkidir/$name.key" --type priv |
        pki_q --issue --cacert "$pkidir/$ca.pem" --cakey "$pkidir/$ca.key" --dn "$dn" --san "$san" \
            --outform pem "$@" >"$pkidir/$name.pem"
}

lab_up
pkidir="$LAB_DIR/pki"
mkdir -p "$pkidir"
make_ca lab-ca
make_ca other-ca
gw_dn="C=CH, O=Example, CN=vpn.example.com"
issue lab-ca gw-ecdsa ecdsa "$gw_dn" vpn.example.com --flag serverAuth
issue lab-ca gw-rsa rsa "$gw_dn" vpn.example.com --flag serverAuth
issue lab-ca gw-ed25519 ed25519 "$gw_dn" vpn.example.com --flag serverAuth
issue lab-ca gw-ip ecdsa "$gw_dn" vpn.example.com --san 192.0.2.1 --san 2001:db8::10 --flag serverAuth
issue lab-ca gw-expired ecdsa "$gw_dn" vpn.example.com --flag serverAuth \
    --not-before "2020-01-01 00:00:00" --not-after "2021-01-01 00:00:00" --dateform "%Y-%m-%d %H:%M:%S"
issue lab-ca client-ecdsa ecdsa "C=CH, O=Example, CN=client" client@example.com --flag clientAuth
issue lab-ca client-rsa rsa "C=CH, O=Example, CN=client" client@example.com --flag clientAuth
issue lab-ca client-ecdsa384 ecdsa384 "C=CH, O=Example, CN=client" client@example.com --flag clientAuth
issue lab-ca client-ed25519 ed25519 "C=CH, O=Example, CN=client" client@example.com --flag clientAuth
echo "INFO: PKI made with strongSwan pki in $pkidir ($(head -n 1 "$pkidir/client-rsa.key"), $(head -n 1 "$pkidir/client-ecdsa.key"), $(head -n 1 "$pkidir/client-ed25519.key"))"

# --- helpers --------------------------------------------------------------------------------------------
rules_before=$(client_rules)
failed_cleanly() { [[ $IKEVPN_STATUS -ne 0 && $IKEVPN_STATUS -ne 124 && $IKEVPN_STATUS -ne 137 ]]; }
error_code_is() {
    jq -e -n -R --arg code "$1" \
        '[inputs | fromjson? | select(type == "object" and .event == "error" and .code == $code)] | length > 0' \
        "$IKEVPN_DIR/events.jsonl" >/dev/null
}
stderr_mentions() { grep -qiF -- "$1" "$IKEVPN_DIR/stderr.log"; }
no_tun_left() { ! client_has_link ikevpn0 && [[ -z $(client_tun_routes) ]]; }
nothing_left() { no_tun_left && [[ "$(client_rules)" == "$rules_before" ]]; }
ping_host() { lab_exec_client ping -c 2 -i 0.2 -W 2 "$LAB_HOST_IP" >/dev/null; }

# gateway CERT_NAME REMOTE_AUTH [--id ID] — (re)start the gateway with that certificate.
gateway() {
    local cert=$1 remote_auth=$2
    shift 2
    [[ -z $LAB_GATEWAY_PID ]] || lab_stop_gateway
    lab_start_gateway --cert "$pkidir/$cert.pem" --key "$pkidir/$cert.key" --ca "$pkidir/lab-ca.pem" \
        --remote-auth "$remote_auth" --id vpn.example.com "$@"
}

# profile NAME CLIENT_CERT|psk CA [JQ_FILTER] — a profile dir with the PEM files next to the profile.
profile() {
    local name=$1 client=$2 ca=$3 filter=${4:-.}
    dir="$LAB_DIR/$name"
    local auth='{"method": "psk", "psk_file": "demo.psk"}'
    if [[ $client != psk ]]; then
        auth='{"method": "pubkey", "cert": "client.pem", "key": "client.key"}'
        mkdir -p "$dir"
        cp "$pkidir/$client.pem" "$dir/client.pem"
        (umask 077 && cp "$pkidir/$client.key" "$dir/client.key")
    fi
    mkdir -p "$dir"
    cp "$pkidir/$ca.pem" "$dir/ca.pem"
    ikevpn_write_profile "$dir" ".remote_id = \"vpn.example.com\" | .ca = [\"ca.pem\"] | .auth = $auth | $filter"
}

# connects LABEL [SCHEME] — connect in the background, ping through the tunnel, disconnect: exit 0, nothing
# left. SCHEME: how the gateway's log must say it verified our AUTH (e.g. "ECDSA-256 signature").
connects() {
    local label=$1 scheme=${2:-}
    ikevpn_start "$dir"
    check_fatal "$label: connected event" ikevpn_wait_event connected 20
    check "$label: stderr says the gateway was authenticated" stderr_mentions "gateway authenticated as '${GW_NAME:-vpn.example.com}'"
    check "$label: ping through the tunnel" ping_host
    local line
    line=$(grep -o "authentication of '[^']*' with .* successful" "$LAB_GATEWAY_DIR/charon.log" | tail -n 1 || true)
    [[ -z $line ]] || echo "INFO: $label: gateway log: $line"
    [[ -z $scheme ]] || check "$label: the gateway verified our AUTH as $scheme" grep -q "with $scheme successful" <<<"$line"
    ikevpn_ctl disconnect >/dev/null 2>&1 || true
    ikevpn_wait_exit 20 || ikevpn_stop
    check "$label: disconnect → exit 0" test "$IKEVPN_STATUS" -eq 0
    check "$label: no TUN left, ip rule unchanged" nothing_left
    check "$label: gateway holds no SA" gateway_holds_no_sa
}

# fails LABEL CODE TEXT — connect runs to its end: non-zero exit, the error code, TEXT on stderr, nothing left.
fails() {
    local label=$1 code=$2 text=$3
    ikevpn_run_foreground "$dir" 40
    check "$label: exits non-zero by itself (status $IKEVPN_STATUS)" failed_cleanly
    check "$label: error event $code" error_code_is "$code"
    check "$label: stderr says '$text'" stderr_mentions "$text"
    echo "INFO: $label: $(grep -m1 -iF -- "$text" "$IKEVPN_DIR/stderr.log" || true)"
    check "$label: no TUN left, ip rule unchanged" nothing_left
    check "$label: gateway holds no SA" gateway_holds_no_sa
}

# --- (a) certificates both ways ---------------------------------------------------------------------------
echo "== gateway ECDSA P-256 certificate, client certificates"
gateway gw-ecdsa pubkey
profile ec-ec client-ecdsa lab-ca
connects "ECDSA gateway, ECDSA client" ECDSA_WITH_SHA256_DER
profile ec-rsa client-rsa lab-ca
connects "ECDSA gateway, RSA client (PKCS#1 v1.5)" RSA_EMSA_PKCS1_SHA2_256
profile ec-rsa-pss client-rsa lab-ca '.auth.rsa_pss = true'
connects "ECDSA gateway, RSA client (RSASSA-PSS)" RSA_EMSA_PSS_SHA2_256_SALT_32
profile ec-384 client-ecdsa384 lab-ca
connects "ECDSA gateway, ECDSA P-384 client" ECDSA_WITH_SHA384_DER
profile ec-dn client-ecdsa lab-ca '.local_id = "C=CH, O=Example, CN=client"'
connects "ECDSA gateway, ECDSA client identified by its subject DN"

echo "== gateway RSA certificate"
gateway gw-rsa pubkey
profile rsa-ec client-ecdsa lab-ca
connects "RSA gateway, ECDSA client"
# charon.rsa_pss: the gateway signs with RSASSA-PSS, so our parsing of its RSASSA-PSS-params meets a real one.
LAB_CHARON_OPTIONS="rsa_pss = yes" gateway gw-rsa pubkey
profile rsa-pss-ec client-ecdsa lab-ca
connects "RSA gateway signing with PSS, ECDSA client"
check "RSA gateway signing with PSS: its log says it signed with PSS" \
    grep -q "authentication of 'vpn.example.com' (myself) with RSA_EMSA_PSS" "$LAB_GATEWAY_DIR/charon.log"

echo "== classic signature methods: a gateway without RFC 7427 (signature_authentication = no)"
LAB_CHARON_OPTIONS="signature_authentication = no" gateway gw-ecdsa pubkey
profile classic-ec client-ecdsa lab-ca
connects "classic: ECDSA gateway (method 9), ECDSA client" "ECDSA-256 signature"
profile classic-rsa client-rsa lab-ca
connects "classic: ECDSA gateway (method 9), RSA client (method 1)" "RSA signature"
profile classic-384 client-ecdsa384 lab-ca
connects "classic: ECDSA gateway (method 9), ECDSA P-384 client (method 10)" "ECDSA-384 signature"
LAB_CHARON_OPTIONS="signature_authentication = no" gateway gw-rsa pubkey
profile classic-rsa-gw client-ecdsa lab-ca
connects "classic: RSA gateway (method 1), ECDSA client" "ECDSA-256 signature"

echo "== gateway identified by its DN"
gateway gw-ecdsa pubkey --id "$gw_dn"
profile dn-remote client-ecdsa lab-ca ".remote_id = \"$gw_dn\""
ikevpn_start "$dir"
check_fatal "DN remote_id: connected event" ikevpn_wait_event connected 20
check "DN remote_id: stderr names the gateway's DN" stderr_mentions "gateway authenticated as 'C=CH, O=Example, CN=vpn.example.com'"
ikevpn_ctl disconnect >/dev/null 2>&1 || true
ikevpn_wait_exit 20 || ikevpn_stop
check "DN remote_id: disconnect → exit 0" test "$IKEVPN_STATUS" -eq 0

echo "== gateway identified by an IPv4 / IPv6 address (subjectAltName iPAddress)"
gateway gw-ip pubkey --id 192.0.2.1
profile ip4-remote client-ecdsa lab-ca '.remote_id = "192.0.2.1"'
GW_NAME=192.0.2.1 connects "remote_id 192.0.2.1"
gateway gw-ip pubkey --id 2001:db8::10
profile ip6-remote client-ecdsa lab-ca '.remote_id = "2001:db8::10"'
GW_NAME=2001:db8::10 connects "remote_id 2001:db8::10"

echo "== Ed25519 (RFC 8420)"
if gateway gw-ed25519 pubkey 2>"$LAB_DIR/ed25519-gateway.err"; then
    profile ed-ed client-ed25519 lab-ca
    connects "Ed25519 gateway, Ed25519 client" ED25519
else
    echo "SKIP: the lab's strongSwan did not load an Ed25519 gateway certificate ($(tail -n 1 "$LAB_DIR/ed25519-gateway.err"))"
fi

# --- (b) gateway certificate, client PSK ------------------------------------------------------------------
echo "== gateway certificate, client PSK (asymmetric, RFC 7296 §2.15)"
gateway gw-ecdsa psk
profile ec-psk psk lab-ca
connects "ECDSA gateway, PSK client"
profile psk-vs-cert psk lab-ca '.ca = []'
fails "gateway certificate, profile without 'ca'" AUTH_FAILED "not a pre-shared key"

# --- failures ---------------------------------------------------------------------------------------------
echo "== failures"
gateway gw-ecdsa pubkey
profile wrong-ca client-ecdsa other-ca
fails "wrong CA" CERT_INVALID "certificate issuer not found"
profile name-mismatch client-ecdsa lab-ca '.remote_id = "other.example.com"'
fails "name mismatch" ID_MISMATCH "the gateway identifies as 'vpn.example.com', but the profile's remote_id is 'other.example.com'"
gateway gw-expired pubkey
profile expired client-ecdsa lab-ca
fails "expired gateway certificate" CERT_INVALID "certificate has expired"

checks_summary
