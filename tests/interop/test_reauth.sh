#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# Reauthentication, make-before-break (RFC 7296 §2.8.3, RFC 4478): the strongSwan gateway has a short
# reauth_time (15 s), so as responder it sends AUTH_LIFETIME in every IKE_AUTH response. While a ping runs
# every 10 ms, ikevpn builds a new IKE SA (IKE_SA_INIT + IKE_AUTH, no INITIAL_CONTACT, CP asking for its
# virtual IP) beside the old one, moves the traffic to the new CHILD SA and deletes the old IKE SA — at
# least twice, with not one echo request lost and the same virtual IP. Exit 0 pass, 1 fail, 77 skip.
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

ping_seconds=${REAUTH_PING_SECONDS:-40}
lab_up
# No rekeys of any kind but the reauthentication (its lifetime is the gateway's, not the profile's).
lab_start_gateway --reauth 15 --child-rekey 0
work="$LAB_DIR/ikevpn"
ikevpn_write_profile "$work" '.rekey = {"child_seconds": 0, "ike_seconds": 0}'
ikevpn_start "$work"
check_fatal "ikevpn connects" ikevpn_wait_event connected 20
first_spi=$(ikevpn_ctl status --json | jq -r '.ike_sa.spi_i')
first_vip=$(ikevpn_event connected | jq -r '.virtual_ip')
early=$(ikevpn_ctl status --json)
echo "INFO: first IKE SA $first_spi, virtual IP $first_vip"
reauth_shown() {
    jq -e '(.ike_sa.reauth_seconds | type) == "number" and .ike_sa.reauth_seconds <= 15 and
           (.ike_sa.auth_lifetime_seconds | type) == "number" and .ike_sa.auth_lifetime_seconds <= 15 and
           .ike_sa.reauth_seconds < .ike_sa.auth_lifetime_seconds' <<<"$early" >/dev/null
}
check "status --json shows ike_sa.reauth_seconds before ike_sa.auth_lifetime_seconds" reauth_shown
check "progress names the gateway's AUTH_LIFETIME" grep -q 'AUTH_LIFETIME' "$work/stderr.log"

# 100 echo requests per second for the whole time; every one must come back.
ping_out="$LAB_DIR/ping.out"
lab_exec_client ping -c $((ping_seconds * 100)) -i 0.01 -W 2 "$LAB_HOST_IP" >"$ping_out" 2>&1 || true
echo "INFO: $(grep -E 'packets transmitted' "$ping_out" || echo 'no ping summary')"

reauths=$(jq -c -R 'fromjson? | select(.event == "reauthenticated")' "$IKEVPN_DIR/events.jsonl")
count=$(grep -c . <<<"$reauths" || true)
echo "INFO: $count reauthentications"
at_least_twice() { ((count >= 2)); }
check "ikevpn reauthenticated at least twice ($count)" at_least_twice
asked_by_gateway() { jq -e -s 'all(.initiator == "gateway")' <<<"$reauths" >/dev/null; }
check "each reauthentication answered the gateway's AUTH_LIFETIME" asked_by_gateway
same_vip() { jq -e -s --arg vip "$first_vip" 'all(.virtual_ip == $vip and .virtual_ip_changed == false)' <<<"$reauths" >/dev/null; }
check "the gateway handed out the same virtual IP $first_vip each time" same_vip
no_ping_lost() { grep -q ' 0% packet loss' "$ping_out"; }
# Where a lost echo went, if one did: the data path's drop counters and late deliveries.
echo "INFO: data path: $(ikevpn_ctl status --json | jq -c '{early: .data_path.early_packets_delivered,
    drops: [.child_sas[].drops | with_entries(select(.value > 0))]}' 2>/dev/null)"
check "no echo request was lost across the reauthentications" no_ping_lost
no_initial_contact() { ! grep -q 'parsed IKE_AUTH request.*N(INIT_CONTACT)' "$LAB_GATEWAY_DIR/charon.log"; }
check "no IKE_AUTH carried INITIAL_CONTACT" no_initial_contact
several_ike_auth() { (($(grep -c 'parsed IKE_AUTH request' "$LAB_GATEWAY_DIR/charon.log") >= 3)); }
check "the gateway saw a full IKE_AUTH for each new IKE SA" several_ike_auth
no_over_time() { ! grep -q 'initiator did not reauthenticate as requested' "$LAB_GATEWAY_DIR/charon.log"; }
check "the gateway never had to wait past reauth_time" no_over_time

# A reauthentication may be in flight at this moment: give it up to 5 s to settle.
settled() { [[ $(lab_gateway_sa_count) == 1 ]] && [[ $(ikevpn_ctl status --json | jq '.child_sas | length') == 1 ]]; }
for _ in $(seq 50); do settled && break; sleep 0.1; done
status=$(ikevpn_ctl status --json)
gateway_one_ike_sa() { [[ $(lab_gateway_sa_count) == 1 ]]; }
check "the gateway holds exactly one IKE SA (each old one was deleted)" gateway_one_ike_sa
first_gone() { ! lab_gateway_sas | grep -qi "$first_spi"; }
check "the first IKE SA is gone at the gateway" first_gone
one_pair_here() { jq -e '(.child_sas | length) == 1' <<<"$status" >/dev/null; }
check "ikevpn has exactly one CHILD SA pair installed" one_pair_here
spi_is_new() { jq -e --arg first "$first_spi" '.ike_sa.spi_i != $first and .state == "connected"' <<<"$status" >/dev/null; }
check "status shows a new IKE SA, still connected" spi_is_new
one_connected() { [[ $(jq -c -R 'fromjson? | select(.event == "connected")' "$IKEVPN_DIR/events.jsonl" | wc -l) == 1 ]]; }
check "one connected event: the tunnel never went down" one_connected

ikevpn_disconnect_and_check
checks_summary
