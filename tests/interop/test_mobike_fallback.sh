#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# A gateway with MOBIKE disabled (strongSwan mobike = no) and a client profile with "mobike": true on two
# uplinks (lab.sh LAB_UPLINKS=2): when wifi goes away the SAs cannot follow, so ikevpn says why (event
# "reconnecting" naming MOBIKE), deletes the old IKE SA from the new path and connects again over cellular.
# Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"
# shellcheck source=checks.sh
source "$here/checks.sh"
# shellcheck source=ikevpn.sh
source "$here/ikevpn.sh"

lab_require_root_and_tools swanctl jq ping "$LAB_CHARON"
ikevpn_require
ikevpn_test_traps

LAB_UPLINKS=2
lab_up
lab_start_gateway --mobike no --pool 203.0.113.0/25
work="$LAB_DIR/ikevpn"
ikevpn_write_profile "$work" '.mobike = true'
ikevpn_start "$work"
check_fatal "ikevpn connects over wifi" ikevpn_wait_event connected 20
no_mobike() { ikevpn_ctl status --json | jq -e '.mobike == false' >/dev/null; }
check "status: MOBIKE not negotiated with this gateway" no_mobike

connected_events() { jq -c -R 'fromjson? | select(.event == "connected")' "$IKEVPN_DIR/events.jsonl" | wc -l; }
second_connect() {
    local deadline=$((SECONDS + 15))
    while ((SECONDS < deadline)); do
        (($(connected_events) >= 2)) && return 0
        sleep 0.05
    done
    return 1
}
start=$(date +%s%N)
ip -n "$LAB_NS_CLIENT" link set "$LAB_CLIENT_IF" down
check "a second connected event within 15 s of wifi going down" second_connect
end=$(date +%s%N)
echo "INFO: wifi down -> connected again: $(((end - start) / 1000000)) ms"
said_why() { ikevpn_event reconnecting | jq -e '.reason | test("does not support MOBIKE")' >/dev/null; }
check "the reconnecting event says the gateway has no MOBIKE" said_why
on_cellular() { ikevpn_event connected | jq -e --arg ip "$LAB_CELL_IP" '.local | startswith($ip + ":")' >/dev/null; }
check "the new tunnel runs over cellular" on_cellular
check "a ping crosses the new tunnel" lab_exec_client ping -c 3 -i 0.2 -W 2 "$LAB_HOST_IP"
gateway_one_ike_sa() { [[ $(lab_gateway_sa_count) == 1 ]]; }
check "the gateway holds one IKE SA (the old one was deleted)" gateway_one_ike_sa

check "ikevpn disconnect exits 0" ikevpn_ctl disconnect
if ikevpn_wait_exit 15; then
    check "connect exits with status 0 (got $IKEVPN_STATUS)" test "$IKEVPN_STATUS" -eq 0
else
    check "connect exits within 15 s of the disconnect" false
fi
checks_summary
