#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# Certificate authentication against libreswan's pluto in a User-Mode-Linux guest (lab_libreswan.sh), with
# a throwaway PKI made by strongSwan's `pki` and imported into pluto's NSS database (certutil, pk12util):
# RSA gateway + RSA client (authby=rsasig), ECDSA gateway + ECDSA P-256 client (pluto pinned to
# authby=ecdsa, see LAB-NOTES), each: connect, ping through the tunnel, pluto's log says how it verified our
# AUTH, clean disconnect, nothing left on either end. A client certificate from another CA: pluto refuses
# it, ikevpn exits non-zero with AUTH_FAILED and leaves nothing behind. Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"
# shellcheck source=checks.sh
source "$here/checks.sh"
# shellcheck source=ikevpn.sh
source "$here/ikevpn.sh"
# shellcheck source=lab_libreswan.sh
source "$here/lab_libreswan.sh"

lsw_require
lab_require_root_and_tools pki
ikevpn_require
trap 'ikevpn_stop; lsw_stop_gateway; lab_down' EXIT
trap 'exit 1' INT TERM
checks_on_fatal() {
    ikevpn_dump_logs
    lsw_log_tail
}

# --- the PKI (as in test_cert_auth.sh) -----------------------------------------------------------------
pki_q() { pki "$@" 2>/dev/null; }
make_key() {
    case $1 in
        rsa) pki_q --gen --type rsa --size 2048 --outform pem >"$2" ;;
        ecdsa) pki_q --gen --type ecdsa --size 256 --outform pem >"$2" ;;
    esac
}
make_ca() {
    make_key ecdsa "$pkidir/$1.key"
    pki_q --self --ca --lifetime 30 --in "$pkidir/$1.key" --type priv --dn "C=CH, O=Example, CN=$1" \
        --outform pem >"$pkidir/$1.pem"
}
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
issue lab-ca gw-rsa rsa "$gw_dn" vpn.example.com --flag serverAuth
issue lab-ca gw-ecdsa ecdsa "$gw_dn" vpn.example.com --flag serverAuth
issue lab-ca client-rsa rsa "C=CH, O=Example, CN=client" client@example.com --flag clientAuth
issue lab-ca client-ecdsa ecdsa "C=CH, O=Example, CN=client" client@example.com --flag clientAuth
issue other-ca client-other ecdsa "C=CH, O=Example, CN=client" client@example.com --flag clientAuth

rules_before=$(client_rules)
nothing_left() {
    ! client_has_link ikevpn0 && [[ -z $(client_tun_routes) && "$(client_rules)" == "$rules_before" ]]
}
pluto_empty() {
    local _
    for _ in $(seq 30); do
        [[ $(lsw_ike_sa_count) == 0 && $(lsw_child_sa_count) == 0 && $(lsw_kernel_sa_count) == 0 ]] && return 0
        sleep 0.1
    done
    return 1
}
ping_host() { lab_exec_client ping -c 2 -i 0.2 -W 2 "$LAB_HOST_IP" >/dev/null; }
stderr_mentions() { grep -qiF -- "$1" "$IKEVPN_DIR/stderr.log"; }
error_code_is() {
    jq -e -n -R --arg code "$1" \
        '[inputs | fromjson? | select(type == "object" and .event == "error" and .code == $code)] | length > 0' \
        "$IKEVPN_DIR/events.jsonl" >/dev/null
}

# gateway CERT AUTHBY — (re)boot the guest with pluto authenticating with CERT, trusting lab-ca.
gateway() {
    local booted=0
    lsw_stop_gateway
    # Not inside check: it sets LSW_DIR and LSW_UML_PID, which a subshell would lose.
    lsw_start_gateway --cert "$1" --ca lab-ca --pki "$pkidir" --authby "$2" --id @vpn.example.com || booted=$?
    check_fatal "pluto boots with certificate $1 (authby=$2)" test "$booted" -eq 0
}

# profile NAME CLIENT_CERT CA — a profile dir with the PEM files next to the profile. pluto keeps its
# default proposals here, which have no PRF-HMAC-SHA-384: it must take the profile's second IKE proposal.
profile() {
    local name=$1 client=$2 ca=$3
    dir="$LAB_DIR/$name"
    mkdir -p "$dir"
    cp "$pkidir/$client.pem" "$dir/client.pem"
    (umask 077 && cp "$pkidir/$client.key" "$dir/client.key")
    cp "$pkidir/$ca.pem" "$dir/ca.pem"
    ikevpn_write_profile "$dir" '.remote_id = "vpn.example.com" | .ca = ["ca.pem"]
        | .auth = {"method": "pubkey", "cert": "client.pem", "key": "client.key"}
        | .ike = ["aes256gcm16-prfsha384-x25519", "aes256gcm16-prfsha512-x25519"]'
}

# connects LABEL PATTERN — connect, ping, pluto's log line about our AUTH matches PATTERN, clean disconnect.
connects() {
    local label=$1 pattern=$2 line
    ikevpn_start "$dir"
    check_fatal "$label: connected event" ikevpn_wait_event connected 20
    check "$label: stderr says the gateway was authenticated" \
        stderr_mentions "gateway authenticated as 'vpn.example.com'"
    check "$label: ping through the tunnel" ping_host
    line=$(grep -E "authenticated peer|established IKE SA" "$LSW_DIR/pluto.log" | head -n 1 || true)
    echo "INFO: $label: pluto: ${line#*: }"
    check "$label: pluto verified our AUTH ($pattern)" grep -qE -- "$pattern" <<<"$line"
    check "$label: pluto holds one IKE SA and one CHILD SA" \
        test "$(lsw_ike_sa_count)/$(lsw_child_sa_count)" == "1/1"
    ikevpn_ctl disconnect >/dev/null 2>&1 || true
    ikevpn_wait_exit 20 || ikevpn_stop
    check "$label: disconnect → exit 0" test "$IKEVPN_STATUS" -eq 0
    check "$label: no TUN left, ip rule unchanged" nothing_left
    check "$label: pluto and the guest kernel hold no SA" pluto_empty
}

echo "== RSA gateway certificate, RSA client certificate (authby=rsasig)"
gateway gw-rsa rsasig
profile rsa-rsa client-rsa lab-ca
connects "RSA gateway, RSA client" "RSA"

echo "== ECDSA gateway certificate, ECDSA P-256 client certificate (authby=ecdsa)"
gateway gw-ecdsa ecdsa
profile ec-ec client-ecdsa lab-ca
connects "ECDSA gateway, ECDSA client" "ECDSA|P-256"

echo "== a client certificate from another CA"
profile other client-other other-ca
cp "$pkidir/lab-ca.pem" "$dir/ca.pem"
ikevpn_run_foreground "$dir" 40
check "other CA: exits non-zero by itself (status $IKEVPN_STATUS)" \
    test "$IKEVPN_STATUS" -ne 0 -a "$IKEVPN_STATUS" -ne 124 -a "$IKEVPN_STATUS" -ne 137
check "other CA: error event AUTH_FAILED" error_code_is AUTH_FAILED
echo "INFO: other CA: $(grep -m1 -o 'authentication failed.*' "$IKEVPN_DIR/stderr.log" || true)"
check "other CA: the message points at our certificate, not at a PSK" \
    grep -q "AUTHENTICATION_FAILED (check that it trusts our certificate's CA" "$IKEVPN_DIR/stderr.log"
check "other CA: pluto's log says why (SEC_ERROR_UNKNOWN_ISSUER)" \
    grep -q 'SEC_ERROR_UNKNOWN_ISSUER' "$LSW_DIR/pluto.log"
check "other CA: no TUN left, ip rule unchanged" nothing_left
check "other CA: pluto and the guest kernel hold no SA" pluto_empty

if ! checks_summary; then
    checks_on_fatal
    exit 1
fi
