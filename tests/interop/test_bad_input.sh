#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# ikevpn fails cleanly on bad input: a wrong PSK, an unreachable gateway and malformed profiles each end
# with a non-zero exit, an error that names the cause, and no TUN device or policy rule left behind.
# Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"
# shellcheck source=checks.sh
source "$here/checks.sh"
# shellcheck source=ikevpn.sh
source "$here/ikevpn.sh"

lab_require_root_and_tools swanctl jq "$LAB_CHARON"
ikevpn_require
trap lab_down EXIT
trap 'exit 1' INT TERM

checks_on_fatal() {
    ikevpn_dump_logs
    lab_gateway_log_tail
}

# failed_cleanly — the connect run ended by itself (not by our timeout) with a non-zero status.
failed_cleanly() { [[ $IKEVPN_STATUS -ne 0 && $IKEVPN_STATUS -ne 124 && $IKEVPN_STATUS -ne 137 ]]; }
stderr_mentions() { grep -qiF -- "$1" "$IKEVPN_DIR/stderr.log"; }
error_code_is() {
    # jq -n with inputs: jq 1.6's -e would judge only the last line.
    jq -e -n -R --arg code "$1" \
        '[inputs | fromjson? | select(type == "object" and .event == "error" and .code == $code)] | length > 0' \
        "$IKEVPN_DIR/events.jsonl" >/dev/null
}
no_tun_left() { ! client_has_link ikevpn0 && [[ -z $(client_tun_routes) ]]; }

lab_up
LAB_PSK="the-gateway-secret-$RANDOM$RANDOM"
lab_start_gateway --psk "$LAB_PSK"
rules_before=$(client_rules)

echo "== wrong PSK"
dir="$LAB_DIR/wrong-psk"
ikevpn_write_profile "$dir" . "not-the-gateway-secret"
ikevpn_run_foreground "$dir" 30
check "wrong PSK: connect exits non-zero by itself (status $IKEVPN_STATUS)" failed_cleanly
check "wrong PSK: stderr says authentication failed" stderr_mentions "authentication failed"
check "wrong PSK: event {\"event\":\"error\",\"code\":\"AUTH_FAILED\"}" error_code_is AUTH_FAILED
check "wrong PSK: no TUN device or TUN route left" no_tun_left
check "wrong PSK: ip rule unchanged" test "$(client_rules)" == "$rules_before"
for _ in $(seq 30); do
    [[ $(lab_gateway_sa_count) -eq 0 ]] && break
    sleep 0.1
done
check "wrong PSK: gateway holds no SA" test "$(lab_gateway_sa_count)" -eq 0

echo "== unreachable gateway (192.0.2.99, nothing there)"
dir="$LAB_DIR/unreachable"
ikevpn_write_profile "$dir" '.gateway = "192.0.2.99"'
ikevpn_run_foreground "$dir" 90
echo "INFO: gave up after $IKEVPN_ELAPSED_MS ms"
check "unreachable: connect exits non-zero by itself (status $IKEVPN_STATUS)" failed_cleanly
check "unreachable: gives up within 60 s ($IKEVPN_ELAPSED_MS ms)" test "$IKEVPN_ELAPSED_MS" -le 60000
check "unreachable: event {\"event\":\"error\",\"code\":\"TIMEOUT\"}" error_code_is TIMEOUT
check "unreachable: no TUN device or TUN route left" no_tun_left
check "unreachable: ip rule unchanged" test "$(client_rules)" == "$rules_before"

# malformed NAME JQ_FILTER_OR_RAW EXPECTED — the profile is rejected, naming EXPECTED (grep -iE pattern).
malformed() {
    local name=$1 edit=$2 expected=$3
    dir="$LAB_DIR/bad-$name"
    if [[ $edit == raw:* ]]; then
        ikevpn_write_profile "$dir"
        printf '%s' "${edit#raw:}" >"$dir/profile.json"
    else
        ikevpn_write_profile "$dir" "$edit"
    fi
    ikevpn_run_foreground "$dir" 10
    check "$name: connect exits non-zero by itself (status $IKEVPN_STATUS)" failed_cleanly
    check "$name: the message names '$expected'" grep -qiE -- "$expected" "$dir/stderr.log"
    check "$name: no TUN device created" no_tun_left
}

echo "== malformed profiles"
malformed unknown-key '. + {"gatewy": "192.0.2.1"}' 'gatewy'
malformed bad-json 'raw:{"name": "demo", "gateway": "192.0.2.1",' 'json|parse|syntax'
malformed bad-route '.routes = ["10.0.0.1/8"]' '10\.0\.0\.1/8'
malformed unknown-proposal-token '.ike = ["aes256gcm16-prfsha384-frobnicate512"]' 'frobnicate512'
malformed unknown-esp-token '.esp = ["aes256gcm16-snakeoil"]' 'snakeoil'

if ! checks_summary; then
    checks_on_fatal
    exit 1
fi
