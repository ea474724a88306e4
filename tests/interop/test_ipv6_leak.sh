#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# A full IPv4 tunnel must not let IPv6 leak beside it. The client namespace gets an IPv6 default route via
# the gateway's link (so IPv6 *would* leave by the uplink), the gateway offers 0.0.0.0/0, and the profile
# asks only for 0.0.0.0/0 (no virtual IPv6). While connected, an IPv6 ping must not appear on the uplink
# (tcpdump) and is counted as dropped inside the tunnel, while IPv4 works through it; after disconnect the
# same ping leaves by the uplink again — which shows the capture would have seen a leak.
# Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"
# shellcheck source=checks.sh
source "$here/checks.sh"
# shellcheck source=ikevpn.sh
source "$here/ikevpn.sh"

lab_require_root_and_tools swanctl ping jq tcpdump "$LAB_CHARON"
ikevpn_require
ikevpn_test_traps

# echo_requests_on_uplink FILE — IPv6 echo requests to the host captured in FILE.
echo_requests_on_uplink() {
    tcpdump -r "$1" -n "icmp6 and ip6[40] == 128 and dst host $LAB_HOST_IP6" 2>/dev/null | wc -l
}

# capture_ping6 FILE — capture the uplink while the client pings the host over IPv6 three times.
capture_ping6() {
    lab_exec_client tcpdump -i "$LAB_CLIENT_IF" -n -U -w "$1" icmp6 >/dev/null 2>&1 &
    local pid=$!
    sleep 1
    lab_exec_client ping -6 -c3 -i0.2 -W1 "$LAB_HOST_IP6" >/dev/null 2>&1 || true
    sleep 0.5
    lab_stop_pid "$pid"
}

LAB_IPV6=1
lab_up
lab_exec_client ip -6 route add default via "$LAB_GATEWAY_IP6" dev "$LAB_CLIENT_IF"
LAB_GW_LOCAL_TS=0.0.0.0/0 lab_start_gateway
work="$LAB_DIR/ikevpn"
ikevpn_write_profile "$work" '.routes = ["0.0.0.0/0"]'

ikevpn_start "$work"
check_fatal "ikevpn reports \"connected\" within 20 s" ikevpn_wait_event connected 20
check "connect says IPv6 is blocked" grep -q "IPv6 is blocked" "$work/stderr.log"
check "the connected event has no virtual IPv6 address" jq -e '.virtual_ip6 == null' <<<"$(ikevpn_event connected)"
check "IPv4 goes through the tunnel: ping $LAB_HOST_IP" lab_exec_client ping -c2 -i0.2 -W2 "$LAB_HOST_IP"
before=$(ikevpn_ctl status --json 2>/dev/null | jq '.child_sas[0].drops.no_sa // 0')
capture_ping6 "$LAB_DIR/connected.pcap"
leaked=$(echo_requests_on_uplink "$LAB_DIR/connected.pcap")
check "while connected, no IPv6 echo request left the uplink ($leaked seen)" test "$leaked" -eq 0
after=$(ikevpn_ctl status --json 2>/dev/null | jq '.child_sas[0].drops.no_sa // 0')
check "the blocked IPv6 packets were dropped inside the tunnel (drops.no_sa $before -> $after)" \
    test "$after" -ge $((before + 3))

check "ikevpn disconnect exits 0" ikevpn_ctl disconnect
ikevpn_wait_exit 15 || { check "connect exits within 15 s of disconnect" false; ikevpn_stop; }
check "the blocking route is gone" test -z "$(lab_exec_client ip -6 route show table all dev ikevpn0 2>/dev/null)"
capture_ping6 "$LAB_DIR/after.pcap"
seen=$(echo_requests_on_uplink "$LAB_DIR/after.pcap")
check "after disconnect the same ping leaves by the uplink again ($seen seen): the capture sees leaks" \
    test "$seen" -ge 1

if ! checks_summary; then
    lab_gateway_log_tail
    exit 1
fi
