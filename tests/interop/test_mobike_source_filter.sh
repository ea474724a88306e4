#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# Make before break on a network that filters source addresses (issue 5). When wifi comes back while the
# tunnel runs over cellular, the kernel's best route to the gateway leads into wifi at once — and a UDP
# socket connected from the cellular address would send its ESP out of wifi with that cellular source
# address until the client has confirmed wifi and moved (300 ms of settling plus a round trip). A real
# wifi network drops such datagrams (BCP 38 ingress filtering) or NATs them to an address the gateway's
# answers cannot reach: the "make before break" move would lose every packet of that time. ikevpn holds
# the NAT-T socket on the device of the path in use while a better one is confirmed (client/session_paths.cpp).
# Here the gateway's end of the wifi link drops what arrives with a source outside the wifi subnet and
# counts it; a 10 ms ping stream runs through the tunnel. Checks: nothing from the cellular address came in
# over wifi, and the better-uplink move lost no more than two echo replies.
# Lab: lab.sh LAB_UPLINKS=2, strongSwan with mobike = yes. Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"
# shellcheck source=checks.sh
source "$here/checks.sh"
# shellcheck source=ikevpn.sh
source "$here/ikevpn.sh"

lab_require_root_and_tools swanctl jq ping nft awk "$LAB_CHARON"
ikevpn_require
ikevpn_test_traps

LAB_UPLINKS=2
lab_up
lab_start_gateway --mobike yes --pool 203.0.113.0/25
work="$LAB_DIR/ikevpn"
ikevpn_write_profile "$work" '.mobike = true'
ikevpn_start "$work" -v
check_fatal "ikevpn connects over wifi" ikevpn_wait_event connected 20

# 1. wifi goes away: the tunnel moves to cellular.
ip -n "$LAB_NS_CLIENT" link set "$LAB_CLIENT_IF" down
check_fatal "wifi down: a path_changed event within 5 s" ikevpn_wait_path_event 1 5
on_cellular() { jq -e --arg ip "$LAB_CELL_IP" '.new_local | startswith($ip + ":")' <<<"$(ikevpn_nth_path_event 1)" >/dev/null; }
check "the SAs moved to cellular" on_cellular

# 2. The wifi network filters source addresses (at the gateway's end of the link, before anything else).
lab_exec_gateway nft -f - <<EOF
table inet srcfilter {
    chain ingress {
        type filter hook prerouting priority -300; policy accept;
        iifname "$LAB_GATEWAY_CLIENT_IF" ip saddr != 192.0.2.0/24 counter drop
    }
}
EOF
foreign_on_wifi() { lab_exec_gateway nft list chain inet srcfilter ingress | grep -Eo 'counter packets [0-9]+' | awk '{ print $3 }'; }

ping_log="$LAB_DIR/ping.log"
lab_exec_client ping -D -n -i 0.01 -W 1 "$LAB_HOST_IP" >"$ping_log" 2>&1 &
ping_pid=$!
sleep 1
wifi_up_at=$(date +%s.%N)
ip -n "$LAB_NS_CLIENT" link set "$LAB_CLIENT_IF" up
check "wifi back: a second path_changed event within 5 s" ikevpn_wait_path_event 2 5
on_wifi() { jq -e --arg ip "$LAB_CLIENT_IP" '.new_local | startswith($ip + ":")' <<<"$(ikevpn_nth_path_event 2)" >/dev/null; }
check "the SAs moved back to wifi" on_wifi
sleep 2
kill -INT "$ping_pid" 2>/dev/null || true
lab_wait_exit "$ping_pid" 5 || true
lab_stop_pid "$ping_pid"

dropped=$(foreign_on_wifi)
echo "INFO: datagrams from outside the wifi subnet that came in over wifi: ${dropped:-?}"
none_foreign() { [[ $dropped == 0 ]]; }
check "nothing left over wifi with the cellular source address" none_foreign
# Echo replies lost around the move: from 0.5 s before wifi came back to the end of the stream, the replies
# missing between consecutive ones (the stream's sequence numbers).
lost=$(awk -v from="$wifi_up_at" '/bytes from/ {
        gsub(/[][]/, "", $1); split($0, a, "icmp_seq="); split(a[2], b, " "); seq = b[1] + 0
        if ($1 + 0 > from - 0.5) { if (prev) lost += seq - prev - 1; prev = seq }
    } END { print lost + 0 }' "$ping_log")
echo "INFO: echo replies lost around the better-uplink move: $lost"
few_lost() { ((lost <= 2)); }
check "the better-uplink move lost at most 2 echo replies (lost $lost)" few_lost
held() { grep -q "held on device" "$IKEVPN_DIR/stderr.log"; }
check "stderr says the socket stayed on the old device meanwhile" held

ikevpn_disconnect_and_check
checks_summary
