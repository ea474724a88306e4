#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# A dead data path (issue 5, libreswan#1645-style): the gateway's outbound ESP of the current CHILD SA is
# dropped — an nftables rule in the gateway namespace matching the SPI in the first four octets of the UDP
# 4500 payload (ESP; IKE there starts with the zero non-ESP marker, so IKE keeps flowing). ikevpn (profile
# "data_path_timeout": 3) keeps sending, receives nothing, says why (event data_path_dead, action rekey),
# rekeys the CHILD SA (new SPIs the rule does not match) and traffic flows again — within the stated time:
# 3 s of silence, one sample second and one CREATE_CHILD_SA round trip; 10 s are allowed for a busy machine.
# Then all of its ESP is dropped: the rekey does not help, and 3 s after it the client re-establishes the
# tunnel (event reconnecting naming the dead data path).
# Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"
# shellcheck source=checks.sh
source "$here/checks.sh"
# shellcheck source=ikevpn.sh
source "$here/ikevpn.sh"

lab_require_root_and_tools swanctl jq ping nft "$LAB_CHARON"
ikevpn_require
ikevpn_test_traps

lab_up
lab_start_gateway
work="$LAB_DIR/ikevpn"
ikevpn_write_profile "$work" '.data_path_timeout = 3'
ikevpn_start "$work" -v
check_fatal "ikevpn connects" ikevpn_wait_event connected 20
tunnel_ping() { lab_exec_client ping -c 1 -W 2 "$LAB_HOST_IP" >/dev/null; }
check "traffic flows through the tunnel" tunnel_ping
status=$(ikevpn_ctl status --json)
first_spi=$(jq -r '.ike_sa.spi_i' <<<"$status")
spi_in=$(jq -r '.child_sas[-1].spi_in' <<<"$status")
echo "INFO: dropping the gateway's ESP with SPI 0x$spi_in"

# The gateway's outbound ESP with our inbound SPI: UDP from port 4500, payload octets 0-3 (the SPI).
lab_exec_gateway nft add chain inet lab output '{ type filter hook output priority 0; policy accept; }'
lab_exec_gateway nft add rule inet lab output udp sport 4500 @th,64,32 "0x$spi_in" counter drop
dropping=$(date +%s.%N)

# Traffic keeps going out (a 0.2 s ping stream through the tunnel).
lab_exec_client ping -n -i 0.2 -W 1 "$LAB_HOST_IP" >"$LAB_DIR/ping.log" 2>&1 &
ping_pid=$!
check "the client says why within 10 s (event data_path_dead)" ikevpn_wait_event data_path_dead 10
e=$(ikevpn_event data_path_dead)
echo "INFO: $e"
rekey_action() { [[ -n $e ]] && jq -e '.action == "rekey" and (.reason | test("no ESP from the gateway for [0-9]+ s"))' <<<"$e" >/dev/null; }
check "the first remedy is a CHILD SA rekey, with the reason" rekey_action
check "the client rekeyed the CHILD SA (event rekeyed)" ikevpn_wait_event rekeyed 10
recovered() {
    local deadline=$((SECONDS + 10))
    while ((SECONDS < deadline)); do
        tunnel_ping && return 0
    done
    return 1
}
check "traffic flows again on the new SPIs" recovered
recovered_at=$(date +%s.%N)
echo "INFO: from the drop rule to a working tunnel: $(awk -v a="$dropping" -v b="$recovered_at" 'BEGIN { printf "%.1f", b - a }') s"
dropped() { lab_exec_gateway nft list chain inet lab output | grep -Eq 'counter packets [1-9]'; }
check "the rule did drop the gateway's ESP" dropped
lab_stop_pid "$ping_pid"

status=$(ikevpn_ctl status --json)
new_spi() { [[ -n $status ]] && jq -e --arg old "$spi_in" '.child_sas[-1].spi_in != $old and .state == "connected"' <<<"$status" >/dev/null; }
check "a new inbound SPI, connected" new_spi
same_ike_sa() { [[ -n $status ]] && jq -e --arg first "$first_spi" '.ike_sa.spi_i == $first' <<<"$status" >/dev/null; }
check "the same IKE SA (IKE kept answering: no re-establishment)" same_ike_sa
no_reconnect() { [[ -z $(ikevpn_event reconnecting) ]]; }
check "no reconnecting event" no_reconnect
warned() { grep -q "dead data path: no ESP from the gateway" "$IKEVPN_DIR/stderr.log"; }
check "stderr explains it in one line" warned

# 2. All of the gateway's ESP is dropped (any SPI: the first four payload octets are not the zero marker),
# so the rekey cannot help: as long again after it, the client re-establishes the tunnel and says why.
lab_exec_gateway nft flush chain inet lab output
lab_exec_gateway nft add rule inet lab output udp sport 4500 @th,64,32 != 0 counter drop
lab_exec_client ping -n -i 0.2 -W 1 "$LAB_HOST_IP" >"$LAB_DIR/ping2.log" 2>&1 &
ping_pid=$!
check "all ESP dropped: a reconnecting event within 15 s" ikevpn_wait_event reconnecting 15
e=$(ikevpn_event reconnecting)
echo "INFO: $e"
says_dead() { [[ -n $e ]] && jq -e '.reason | startswith("dead data path: ") and test("also after a CHILD SA rekey")' <<<"$e" >/dev/null; }
check "its reason names the dead data path and the rekey that did not help" says_dead
last_dead=$(ikevpn_event data_path_dead)
reestablish_action() { [[ -n $last_dead ]] && jq -e '.action == "reestablish"' <<<"$last_dead" >/dev/null; }
check "the last data_path_dead event says reestablish" reestablish_action
lab_exec_gateway nft flush chain inet lab output
connected_twice() {
    local deadline=$((SECONDS + 15))
    while ((SECONDS < deadline)); do
        (($(jq -c -R 'fromjson? | select(.event == "connected")' "$IKEVPN_DIR/events.jsonl" | wc -l) >= 2)) && return 0
        sleep 0.2
    done
    return 1
}
check "a new tunnel comes up (second connected event)" connected_twice
check "traffic flows through the new tunnel" recovered
lab_stop_pid "$ping_pid"
status=$(ikevpn_ctl status --json)
new_ike_sa() { [[ -n $status ]] && jq -e --arg first "$first_spi" '.ike_sa.spi_i != $first and .state == "connected"' <<<"$status" >/dev/null; }
check "a new IKE SA, connected" new_ike_sa

ikevpn_disconnect_and_check
checks_summary
