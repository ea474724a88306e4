#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# Rekeys the client starts itself: the strongSwan gateway's own rekeying is off (rekey_time = 0), the
# profile's "rekey" lifetimes are short (CHILD SA 10 s with PFS, IKE SA 15 s, jitter 2 s), and a ping runs
# through the tunnel all the while. ikevpn sends CREATE_CHILD_SA (REKEY_SA, KE) and IKE SA rekeys, installs
# each new pair before deleting the old one, deletes each old IKE SA, and not one echo request is lost;
# afterwards the gateway holds exactly one IKE SA and one CHILD SA. Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"
# shellcheck source=checks.sh
source "$here/checks.sh"
# shellcheck source=ikevpn.sh
source "$here/ikevpn.sh"

lab_require_root_and_tools swanctl ping jq "$LAB_CHARON"
ikevpn_require

ikevpn_test_traps

ping_seconds=${REKEY_PING_SECONDS:-45}
lab_up
# 0 disables the gateway's rekeying and hard lifetimes: every rekey below is the client's.
lab_start_gateway --child-rekey 0 --ike-rekey 0 --esp "aes256gcm16-x25519, aes256gcm16"
work="$LAB_DIR/ikevpn"
ikevpn_write_profile "$work" \
    '.esp = ["aes256gcm16-x25519"] | .rekey = {"child_seconds": 10, "ike_seconds": 15, "jitter_seconds": 2}'
ikevpn_start "$work"
check_fatal "ikevpn connects" ikevpn_wait_event connected 20
first_spi=$(ikevpn_ctl status --json | jq -r '.ike_sa.spi_i')
early=$(ikevpn_ctl status --json)
rekey_times_shown() {
    jq -e '(.ike_sa.rekey_seconds | type) == "number" and .ike_sa.rekey_seconds <= 15 and
           (.child_sas[0].rekey_seconds | type) == "number" and .child_sas[0].rekey_seconds <= 10' <<<"$early" >/dev/null
}
check "status --json shows seconds until the IKE and CHILD SA rekeys" rekey_times_shown

# 5 echo requests per second for the whole time; every one must come back.
ping_out="$LAB_DIR/ping.out"
lab_exec_client ping -c $((ping_seconds * 5)) -i 0.2 -W 2 "$LAB_HOST_IP" >"$ping_out" 2>&1 || true
echo "INFO: $(grep -E 'packets transmitted' "$ping_out" || echo 'no ping summary')"

events() { jq -c -R --arg sa "$1" --arg who "$2" 'fromjson? | select(.event == "rekeyed" and .sa == $sa and .initiator == $who)' "$IKEVPN_DIR/events.jsonl" | wc -l; }
child_rekeys=$(events child client)
ike_rekeys=$(events ike client)
gateway_rekeys=$(($(events child gateway) + $(events ike gateway)))
echo "INFO: the client rekeyed the CHILD SA $child_rekeys times and the IKE SA $ike_rekeys times; the gateway $gateway_rekeys times"
several_child() { ((child_rekeys >= 3)); }
several_ike() { ((ike_rekeys >= 2)); }
none_by_gateway() { ((gateway_rekeys == 0)); }
check "the client rekeyed the CHILD SA several times ($child_rekeys)" several_child
check "the client rekeyed the IKE SA several times ($ike_rekeys)" several_ike
check "no rekey came from the gateway (its rekeying is off)" none_by_gateway
pfs_used() { grep -q 'parsed CREATE_CHILD_SA request [0-9]* \[ N(REKEY_SA) SA No KE TSi TSr \]' "$LAB_GATEWAY_DIR/charon.log"; }
check "the CHILD SA rekeys carried a KE payload (PFS)" pfs_used
no_ping_lost() { grep -q ' 0% packet loss' "$ping_out"; }
check "no echo request was lost across the rekeys" no_ping_lost

# A rekey may be in flight at this moment: give the Deletes up to 5 s to settle.
gateway_child_count() { lab_swanctl "$LAB_GATEWAY_DIR" --list-sas 2>/dev/null | grep -c 'INSTALLED' || true; }
settled() { [[ $(lab_gateway_sa_count) == 1 && $(gateway_child_count) == 1 ]] &&
            [[ $(ikevpn_ctl status --json | jq '.child_sas | length') == 1 ]]; }
for _ in $(seq 50); do settled && break; sleep 0.1; done
status=$(ikevpn_ctl status --json)
gateway_one_ike_sa() { [[ $(lab_gateway_sa_count) == 1 ]]; }
gateway_one_child_sa() { [[ $(gateway_child_count) == 1 ]]; }
check "the gateway holds exactly one IKE SA (each old one was deleted)" gateway_one_ike_sa
check "the gateway holds exactly one CHILD SA (each old one was deleted)" gateway_one_child_sa
one_pair_here() { jq -e '(.child_sas | length) == 1' <<<"$status" >/dev/null; }
check "ikevpn has exactly one CHILD SA pair installed" one_pair_here
ike_spi_is_new() { jq -e --arg first "$first_spi" '.ike_sa.spi_i != $first' <<<"$status" >/dev/null; }
check "status shows the new IKE SA's SPIs" ike_spi_is_new
still_connected() { jq -e '.state == "connected"' <<<"$status" >/dev/null; }
check "ikevpn is still connected" still_connected

ikevpn_disconnect_and_check
checks_summary
