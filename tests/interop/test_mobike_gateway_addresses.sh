#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# MOBIKE towards the gateway's other addresses (issue 5; RFC 4555 §3.5/§3.6): the strongSwan gateway gets a
# second address on the client's link, 192.0.2.5, and lists it (with its unreachable 198.51.100.1) in
# ADDITIONAL_IP4_ADDRESS. Then the address in use, 192.0.2.1, becomes unreachable (an nftables drop in the
# gateway namespace). A ping stream through the tunnel goes unanswered, so the dead-data-path watch
# (profile "data_path_timeout": 8) starts a CHILD SA rekey; its retransmissions to 192.0.2.1 time out and the
# second one goes to 192.0.2.5 instead (198.51.100.1 has no route from the client and is skipped); the
# gateway answers there, the client moves the SAs with UPDATE_SA_ADDRESSES and the tunnel carries traffic
# again — the same IKE SA, no reconnect. Traffic must flow within 3 s of the move: a CHILD SA still tied to
# the gateway's old address must not wait for the next dead-data-path verdict (another 8 s) to be rekeyed.
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

second=192.0.2.5
lab_up
ip -n "$LAB_NS_GATEWAY" addr add "$second/24" dev "$LAB_GATEWAY_CLIENT_IF"
lab_start_gateway --mobike yes
work="$LAB_DIR/ikevpn"
ikevpn_write_profile "$work" '.mobike = true | .data_path_timeout = 8'
ikevpn_start "$work" -v
check_fatal "ikevpn connects to $LAB_GATEWAY_IP" ikevpn_wait_event connected 20
first_spi=$(ikevpn_ctl status --json | jq -r '.ike_sa.spi_i')
lists_second() { ikevpn_ctl status --json | jq -e --arg a "$second" '.gateway_addresses | index($a) != null' >/dev/null; }
check "status lists the gateway's other address $second (ADDITIONAL_IP4_ADDRESS)" lists_second
echo "INFO: gateway_addresses: $(ikevpn_ctl status --json | jq -c '.gateway_addresses')"

# A TCP-free, loss-tolerant check that the tunnel works: a ping stream, and single pings.
lab_exec_client ping -D -n -i 0.2 -W 1 "$LAB_HOST_IP" >"$LAB_DIR/ping.log" 2>&1 &
ping_pid=$!
sleep 1
lab_exec_gateway nft add rule inet lab input ip daddr "$LAB_GATEWAY_IP" udp dport '{ 500, 4500 }' counter drop
cut_at=$SECONDS

path_event() { jq -c -R 'fromjson? | select(.event == "path_changed")' "$IKEVPN_DIR/events.jsonl" | tail -n 1; }
moved() {
    local deadline=$((SECONDS + 35))
    while ((SECONDS < deadline)); do
        local e
        e=$(path_event)
        # (jq -e succeeds on empty input: the event must be there first)
        [[ -n $e ]] && jq -e --arg a "$second" '.remote | startswith($a + ":")' <<<"$e" >/dev/null 2>&1 && return 0
        lab_pid_alive "$IKEVPN_PID" || return 1
        sleep 0.1
    done
    return 1
}
check "the SAs move to $second within 35 s (path_changed)" moved
moved_ns=$(date +%s%N)
echo "INFO: $(path_event) after $((SECONDS - cut_at)) s"
tunnel_ping() { lab_exec_client ping -c 1 -W 1 "$LAB_HOST_IP" >/dev/null; }
# (measured here, not inside check, which runs its command in a subshell)
recovered_ms=""
deadline=$((SECONDS + 20))
while ((SECONDS < deadline)); do
    if tunnel_ping; then
        recovered_ms=$((($(date +%s%N) - moved_ns) / 1000000))
        break
    fi
done
recovered() { [[ -n $recovered_ms ]]; }
check "traffic flows through the tunnel via $second" recovered
echo "INFO: first tunnel ping answered ${recovered_ms:-never} ms after the move was confirmed"
soon() { [[ -n $recovered_ms ]] && ((recovered_ms <= 3000)); }
check "traffic flows again within 3 s of the move (${recovered_ms:-never} ms)" soon
lab_stop_pid "$ping_pid"
tried() { grep -q "does not answer at $LAB_GATEWAY_IP: trying its address $second" "$IKEVPN_DIR/stderr.log"; }
check "stderr says which address was tried" tried
skipped() { ! grep -q "trying its address $LAB_GATEWAY_INNER_IP" "$IKEVPN_DIR/stderr.log"; }
check "the unreachable $LAB_GATEWAY_INNER_IP was never tried" skipped

status=$(ikevpn_ctl status --json)
same_ike_sa() { [[ -n $status ]] && jq -e --arg first "$first_spi" '.ike_sa.spi_i == $first and .state == "connected"' <<<"$status" >/dev/null; }
check "the same IKE SA throughout, connected" same_ike_sa
remote_second() { [[ -n $status ]] && jq -e --arg a "$second" '.remote | startswith($a + ":")' <<<"$status" >/dev/null; }
check "status: remote is $second" remote_second
gateway_moved() { lab_gateway_sas | grep -q "$second\[4500\]"; }
check "the gateway's IKE SA uses $second now" gateway_moved
no_reconnect() { [[ -z $(ikevpn_event reconnecting) ]]; }
check "no reconnecting event" no_reconnect

ikevpn_disconnect_and_check
checks_summary
