#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# EAP-MSCHAPv2 against strongSwan (RFC 7296 §2.16): the gateway authenticates with a certificate made by
# strongSwan's `pki`, asks for the EAP identity (eap_id = %any) and runs EAP-MSCHAPv2; both final AUTHs use
# the MSK. Checks: connect with the password from a file, ping through the tunnel, disconnect; the EAP
# identity defaulting to local_id; a wrong password ends with the one-line error, a non-zero exit and
# nothing left behind; no password file and no terminal is a clear error; the terminal prompt (echo off)
# through a pseudo-terminal made by `script`; the password never appears in a trace-level log.
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

lab_require_root_and_tools swanctl ping jq pki od script "$LAB_CHARON"
ikevpn_require
ikevpn_test_traps

# Passwords no other test uses, so finding one in a log can only mean this run printed it.
password="eap-Pw-$$-$RANDOM-x7"
password_hex=$(printf '%s' "$password" | od -An -tx1 -v | tr -d ' \n')
default_password="eap-default-$$-$RANDOM"

lab_up
pkidir="$LAB_DIR/pki"
mkdir -p "$pkidir"
pki_q() { pki "$@" 2>/dev/null; }
pki_q --gen --type ecdsa --size 256 --outform pem >"$pkidir/ca.key"
pki_q --self --ca --lifetime 30 --in "$pkidir/ca.key" --type priv --dn "C=CH, O=Example, CN=EAP Lab CA" \
    --outform pem >"$pkidir/ca.pem"
pki_q --gen --type ecdsa --size 256 --outform pem >"$pkidir/gw.key"
pki_q --pub --in "$pkidir/gw.key" --type priv |
    pki_q --issue --cacert "$pkidir/ca.pem" --cakey "$pkidir/ca.key" --dn "C=CH, O=Example, CN=vpn.example.com" \
        --san vpn.example.com --flag serverAuth --outform pem >"$pkidir/gw.pem"

LAB_GW_REMOTE_EXTRA="eap_id = %any" \
    LAB_GW_SECRETS_EXTRA="eap-alice {
        id = alice
        secret = \"$password\"
    }
    eap-client {
        id = client@example.com
        secret = \"$default_password\"
    }" \
    lab_start_gateway --cert "$pkidir/gw.pem" --key "$pkidir/gw.key" --remote-auth eap-mschapv2 --id vpn.example.com

# profile NAME AUTH_JSON [PASSWORD] — a profile dir with ca.pem and, when PASSWORD is given, alice.pass.
profile() {
    dir="$LAB_DIR/$1"
    mkdir -p "$dir"
    cp "$pkidir/ca.pem" "$dir/ca.pem"
    if [[ -n ${3:-} ]]; then
        (umask 077 && printf '%s\n' "$3" >"$dir/alice.pass")
    fi
    ikevpn_write_profile "$dir" ".remote_id = \"vpn.example.com\" | .ca = [\"ca.pem\"] | .auth = $2"
}

auth_checks_record_rules
# The password, raw or as hex in either case, in nothing the client wrote.
password_not_logged() {
    ! grep -qiF -e "$password" -e "$password_hex" "$IKEVPN_DIR/stderr.log" "$IKEVPN_DIR/events.jsonl" "$@"
}

echo "== password file, EAP identity 'alice', trace logging"
profile file '{"method": "eap-mschapv2", "username": "alice", "password_file": "alice.pass"}' "$password"
ikevpn_start "$dir" --log-level trace
check_fatal "password file: connected event" ikevpn_wait_event connected 20
check "password file: the gateway was authenticated by its certificate" \
    stderr_mentions "gateway certificate verified for 'vpn.example.com'; starting EAP-MSCHAPv2"
check "password file: EAP-MSCHAPv2 succeeded (client)" stderr_mentions "EAP-MSCHAPv2 succeeded"
check "password file: the gateway asked for and got the EAP identity" gateway_log_has "received EAP identity 'alice'"
check "password file: the gateway's EAP-MSCHAPv2 succeeded with an MSK" gateway_log_has "EAP method EAP_MSCHAPV2 succeeded, MSK established"
check "password file: the gateway verified our MSK-keyed AUTH" \
    grep -q "authentication of 'client@example.com' with EAP successful" "$LAB_GATEWAY_DIR/charon.log"
check "password file: ping through the tunnel" ping_host
check "password file: the password is in no log line (trace level, raw or hex)" password_not_logged
disconnect_cleanly "password file"

echo "== EAP identity defaults to local_id"
profile default '{"method": "eap-mschapv2", "password_file": "alice.pass"}' "$default_password"
ikevpn_start "$dir"
check_fatal "default identity: connected event" ikevpn_wait_event connected 20
check "default identity: the gateway got 'client@example.com'" gateway_log_has "received EAP identity 'client@example.com'"
disconnect_cleanly "default identity"

echo "== wrong password"
profile wrong '{"method": "eap-mschapv2", "username": "alice", "password_file": "alice.pass"}' "not-the-password"
ikevpn_run_foreground "$dir" 40
check "wrong password: exits non-zero by itself (status $IKEVPN_STATUS)" \
    test "$IKEVPN_STATUS" -ne 0 -a "$IKEVPN_STATUS" -ne 124 -a "$IKEVPN_STATUS" -ne 137
check "wrong password: error event AUTH_FAILED" error_code_is AUTH_FAILED
check "wrong password: the one-line error" \
    stderr_mentions "EAP-MSCHAPv2: authentication failed (wrong username or password)"
echo "INFO: wrong password: $(grep -m1 -F "EAP-MSCHAPv2: authentication failed" "$IKEVPN_DIR/stderr.log" || true)"
check "wrong password: no TUN left, ip rule unchanged" nothing_left
check "wrong password: gateway holds no SA" gateway_holds_no_sa

echo "== no password file, no terminal"
profile noterm '{"method": "eap-mschapv2", "username": "alice"}'
identities_before=$(grep -c "received EAP identity" "$LAB_GATEWAY_DIR/charon.log" || true)
ikevpn_run_foreground "$dir" 20
check "no terminal: exit status 2 (got $IKEVPN_STATUS)" test "$IKEVPN_STATUS" -eq 2
check "no terminal: error event PROFILE_ERROR" error_code_is PROFILE_ERROR
check "no terminal: the error names auth.password_file" \
    stderr_mentions "key 'auth.password_file': not set, and standard input is not a terminal"
no_new_identity() { [[ $(grep -c "received EAP identity" "$LAB_GATEWAY_DIR/charon.log" || true) == "$identities_before" ]]; }
check "no terminal: no EAP exchange with the gateway" no_new_identity

echo "== the terminal prompt (a pseudo-terminal made by script)"
profile prompt '{"method": "eap-mschapv2", "username": "alice"}'
IKEVPN_DIR=$dir
typescript=$dir/typescript
mkfifo "$dir/keys"
# script gives connect a pseudo-terminal on stdin/stdout/stderr and copies everything it shows to $typescript.
script -qfec "ip netns exec $LAB_NS_CLIENT $IKEVPN connect $dir/profile.json --socket $dir/ctl.sock" "$typescript" \
    <"$dir/keys" >/dev/null 2>&1 &
IKEVPN_PID=$!
exec 7>"$dir/keys"
prompted() { grep -qF "EAP password for 'alice': " "$typescript" 2>/dev/null; }
wait_prompt() {
    for _ in $(seq 100); do prompted && return 0; sleep 0.1; done
    return 1
}
check_fatal "prompt: 'EAP password for 'alice': ' shown on the terminal" wait_prompt
sleep 0.3  # the prompt is written just before echo goes off
printf '%s\n' "$password" >&7
connected_on_tty() {
    for _ in $(seq 200); do
        grep -qE "[0-9]+\. connected in [0-9]+ ms" "$typescript" && return 0
        sleep 0.1
    done
    return 1
}
check "prompt: connected with the typed password" connected_on_tty
check "prompt: ping through the tunnel" ping_host
check "prompt: the typed password was not echoed" not grep -qF -- "$password" "$typescript"
ikevpn_ctl disconnect >/dev/null 2>&1 || true
ikevpn_wait_exit 20 || ikevpn_stop
exec 7>&-
check "prompt: disconnect → exit 0 (script -e passes connect's status)" test "$IKEVPN_STATUS" -eq 0
check "prompt: no TUN left, ip rule unchanged" nothing_left
check "prompt: gateway holds no SA" gateway_holds_no_sa

checks_summary
