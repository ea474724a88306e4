#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# The strongSwan gateway rekeys the CHILD SA every few seconds and the IKE SA every 10 s while a ping runs
# through the tunnel: ikevpn answers each CREATE_CHILD_SA, installs a new CHILD SA pair before the gateway
# deletes the old one, moves to each new IKE SA and answers the Delete of the old one, and not one echo
# request is lost. Exit 0 pass, 1 fail, 77 skip.
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

rekey_seconds=6
ping_seconds=22
lab_up
# Without and with PFS: the gateway's first ESP proposal decides whether its rekey carries a KE payload.
lab_start_gateway --child-rekey "$rekey_seconds" --ike-rekey 10 --esp "aes256gcm16-x25519, aes256gcm16"
work="$LAB_DIR/ikevpn"
ikevpn_write_profile "$work"
ikevpn_start "$work"
check_fatal "ikevpn connects" ikevpn_wait_event connected 20
first_spi=$(ikevpn_ctl status --json | jq -r '.ike_sa.spi_i')

# 5 echo requests per second for the whole time; every one must come back.
ping_out="$LAB_DIR/ping.out"
lab_exec_client ping -c $((ping_seconds * 5)) -i 0.2 -W 2 "$LAB_HOST_IP" >"$ping_out" 2>&1 || true
echo "INFO: $(grep -E 'packets transmitted' "$ping_out" || echo 'no ping summary')"

rekeys=$(jq -c -R 'fromjson? | select(.event == "rekeyed" and .sa == "child")' "$IKEVPN_DIR/events.jsonl" | wc -l)
ike_rekeys=$(jq -c -R 'fromjson? | select(.event == "rekeyed" and .sa == "ike")' "$IKEVPN_DIR/events.jsonl" | wc -l)
echo "INFO: $rekeys CHILD SA and $ike_rekeys IKE SA rekeys during the ping"
at_least_two_rekeys() { ((rekeys >= 2)); }
ike_rekeyed() { ((ike_rekeys >= 1)); }
check "the gateway rekeyed the IKE SA ($ike_rekeys)" ike_rekeyed
no_ping_lost() { grep -q ' 0% packet loss' "$ping_out"; }
check "the gateway rekeyed the CHILD SA at least twice ($rekeys)" at_least_two_rekeys
check "no echo request was lost across the rekeys" no_ping_lost

status=$(ikevpn_ctl status --json)
one_pair_left() { jq -e '(.child_sas | length) >= 1 and (.child_sas | length) <= 2' <<<"$status" >/dev/null; }
pairs_carried() { jq -e '([.child_sas[].packets_in] | add) > 0' <<<"$status" >/dev/null; }
check "old pairs are removed once the gateway deletes them" one_pair_left
check "the installed pairs carried traffic" pairs_carried
gateway_child_count() { lab_swanctl "$LAB_GATEWAY_DIR" --list-sas 2>/dev/null | grep -c 'INSTALLED' || true; }
gateway_has_child() { (($(gateway_child_count) >= 1)); }
check "the gateway still has an installed CHILD SA" gateway_has_child
gateway_one_ike_sa() { [[ $(lab_gateway_sa_count) == 1 ]]; }
check "the gateway holds exactly one IKE SA (the old ones were deleted)" gateway_one_ike_sa
ike_spi_is_new() { jq -e --arg first "$first_spi" '.ike_sa.spi_i != $first' <<<"$status" >/dev/null; }
check "status shows the new IKE SA's SPIs" ike_spi_is_new
still_connected() { jq -e '.state == "connected"' <<<"$status" >/dev/null; }
check "ikevpn is still connected" still_connected

ikevpn_disconnect_and_check
checks_summary
