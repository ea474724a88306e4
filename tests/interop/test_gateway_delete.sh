#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# A gateway-initiated Delete of the IKE SA (`swanctl --terminate --ike lab` on the strongSwan gateway):
# ikevpn answers it, ends with exit status 1, the one-line reason, an `error` event with code
# GATEWAY_DELETED and a `disconnected` event with the reason — and leaves nothing behind: no TUN device, no
# route or rule of its own, the namespace's resolv.conf byte-identical, no kill-switch table, no state
# file. Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"
# shellcheck source=checks.sh
source "$here/checks.sh"
# shellcheck source=ikevpn.sh
source "$here/ikevpn.sh"
# shellcheck source=netns_resolv.sh
source "$here/netns_resolv.sh"

lab_require_root_and_tools swanctl ping jq cmp nft "$LAB_CHARON"
ikevpn_require
netns_resolv_require_file_backend

ikevpn_test_traps

lab_up
lab_start_gateway
netns_resolv_setup
rules_before=$(client_rules)
work="$LAB_DIR/ikevpn"
ikevpn_write_profile "$work" '.dns = true | .kill_switch = true'
ikevpn_start "$work"
check_fatal "ikevpn connects" ikevpn_wait_event connected 20
check "ping through the tunnel" lab_exec_client ping -c 2 -W 2 "$LAB_HOST_IP"
check "kill switch table and DNS in place while connected" ikevpn_kill_switch_table_exists
check "resolv.conf names the gateway's DNS server while connected" netns_resolv_has_server 198.51.100.53

# The gateway deletes the IKE SA (and with it the CHILD SA): INFORMATIONAL with Delete(IKE).
check "swanctl --terminate --ike lab on the gateway" lab_swanctl "$LAB_GATEWAY_DIR" --terminate --ike lab --timeout 10
if ikevpn_wait_exit 10; then
    check "connect exits with status 1 (got $IKEVPN_STATUS)" test "$IKEVPN_STATUS" -eq 1
else
    check "connect exits within 10 s of the gateway's Delete" false
    ikevpn_stop
fi
error=$(ikevpn_event error)
disconnected=$(ikevpn_event disconnected)
echo "INFO: $error"
echo "INFO: $disconnected"
check "error event with code GATEWAY_DELETED" jq -e '.code == "GATEWAY_DELETED" and (.message | test("deleted the IKE SA"))' <<<"$error"
check "disconnected event with the reason" jq -e '.reason | test("gateway deleted the IKE SA")' <<<"${disconnected:-null}"
check "stderr has the one-line reason" grep -q 'the gateway deleted the IKE SA' "$work/stderr.log"
check "the gateway's Delete was answered" grep -qE 'parsed INFORMATIONAL response [0-9]+ \[ *\]' "$LAB_GATEWAY_DIR/charon.log"
ikevpn_check_nothing_left "$work" "$rules_before"
check "the gateway holds no SA" ikevpn_gateway_empty
checks_summary
