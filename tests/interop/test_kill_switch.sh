#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# "kill_switch": true — nftables table inet ikevpn_demo in the client namespace from before the first IKE
# packet until disconnect. With the tunnel dead mid-session (the gateway drops everything from the client),
# traffic to the LAN, the gateway's other services and the tunnel's networks is attempted; a capture on
# the uplink proves that only IKE/ESP (UDP 500/4500) to the gateway left, and the table's drop counter
# counts what was stopped. After disconnect the table is gone. Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"
# shellcheck source=checks.sh
source "$here/checks.sh"
# shellcheck source=ikevpn.sh
source "$here/ikevpn.sh"

lab_require_root_and_tools swanctl jq ping tcpdump "$LAB_CHARON"
ikevpn_require

TCPDUMP_PID=""
trap 'lab_stop_pid "$TCPDUMP_PID"; ikevpn_stop; lab_down' EXIT
trap 'exit 1' INT TERM

table_exists() { lab_exec_client nft list table inet ikevpn_demo >/dev/null 2>&1; }
drop_count() {
    lab_exec_client nft list table inet ikevpn_demo | sed -n 's/.*counter packets \([0-9]*\) bytes [0-9]* drop.*/\1/p'
}

lab_up
lab_start_gateway
work="$LAB_DIR/ikevpn"
ikevpn_write_profile "$work" '.kill_switch = true'
uplink=c-gw

check "no kill switch table before connecting" not table_exists
ikevpn_start "$work"
check_fatal "ikevpn reports \"connected\" within 20 s" ikevpn_wait_event connected 20
check "kill switch table inet ikevpn_demo exists while connected" table_exists
check "progress announces the kill switch" grep -q 'kill switch on' "$work/stderr.log"
ks_line=$(grep -n -m1 'kill switch on' "$work/stderr.log" | cut -d: -f1 || true)
ike_line=$(grep -n -m1 'connecting to' "$work/stderr.log" | cut -d: -f1 || true)
check "the kill switch is on before the first IKE packet (stderr line ${ks_line:-?} < ${ike_line:-?})" \
    test "${ks_line:-999}" -lt "${ike_line:-0}"
check "status --json: kill_switch true, dns_applied null" \
    jq -e '.kill_switch == true and .dns_applied == null' <<<"$(ikevpn_ctl status --json)"
check "state file names the table" jq -e '.nft_table == "ikevpn_demo"' "$work/ctl.state"
check "ping through the tunnel works with the kill switch on" lab_exec_client ping -c2 -i0.2 -W2 "$LAB_HOST_IP"
check "the plain path to the gateway (ICMP to 192.0.2.1) is blocked" not lab_exec_client ping -c1 -W1 192.0.2.1

# The tunnel dies: the gateway drops everything the client sends.
lab_exec_gateway nft add rule inet lab input ip saddr 192.0.2.2 drop
drops_before=$(drop_count)
capture="$LAB_DIR/uplink.pcap"
ip netns exec "$LAB_NS_CLIENT" tcpdump -i "$uplink" -Q out -n -U -w "$capture" 'ip or ip6' 2>"$LAB_DIR/tcpdump.err" &
TCPDUMP_PID=$!
sleep 1
# Traffic that would leak without the kill switch: ICMP and UDP to the LAN and the gateway's other ports,
# a TCP connect, IPv6 multicast; and tunnel traffic (ESP to the gateway, allowed).
lab_exec_client ping -c2 -i0.2 -W1 192.0.2.1 >/dev/null 2>&1 || true
lab_exec_client ping -c2 -i0.2 -W1 192.0.2.99 >/dev/null 2>&1 || true
lab_exec_client bash -c 'echo leak >/dev/udp/192.0.2.1/53; echo leak >/dev/udp/192.0.2.99/53' 2>/dev/null || true
lab_exec_client timeout 2 bash -c 'echo leak >/dev/tcp/192.0.2.1/80' 2>/dev/null || true
lab_exec_client ping -6 -c1 -W1 "ff02::1%$uplink" >/dev/null 2>&1 || true
lab_exec_client ping -c3 -i0.2 -W1 "$LAB_HOST_IP" >/dev/null 2>&1 || true
sleep 1
lab_stop_pid "$TCPDUMP_PID"
TCPDUMP_PID=""
allowed='udp and dst host 192.0.2.1 and (dst port 500 or dst port 4500)'
# ICMPv6 router/neighbour discovery (types 133, 135, 136) is link housekeeping the switch lets through.
nd='icmp6 and (ip6[40] == 133 or ip6[40] == 135 or ip6[40] == 136)'
total=$(tcpdump -r "$capture" -n 2>/dev/null | wc -l)
esp=$(tcpdump -r "$capture" -n "$allowed" 2>/dev/null | wc -l)
leaks=$(tcpdump -r "$capture" -n "not ($allowed) and not ($nd)" 2>/dev/null | wc -l)
echo "INFO: uplink capture while the tunnel was dead: $total packets out, $esp UDP 500/4500 to the gateway, $leaks other"
check "capture saw the tunnel's own packets (ESP/IKE to the gateway)" test "$esp" -gt 0
check "nothing else left the uplink ($leaks packets)" test "$leaks" -eq 0
[[ $leaks -eq 0 ]] || tcpdump -r "$capture" -n "not ($allowed) and not ($nd)" 2>/dev/null | head -n 10 | sed 's/^/INFO: leak: /'
drops_after=$(drop_count)
echo "INFO: kill switch drop counter: $drops_before -> $drops_after"
check "the kill switch's drop counter rose (it stopped the attempts)" test "$drops_after" -gt "$drops_before"

# The gateway comes back; a normal disconnect removes the table.
lab_exec_gateway nft flush chain inet lab input
check "ikevpn disconnect exits 0" ikevpn_ctl disconnect
ikevpn_wait_exit 20 || true
check "connect exits 0 (status $IKEVPN_STATUS)" test "$IKEVPN_STATUS" -eq 0
check "kill switch table gone after disconnect" not table_exists
check "the plain path works again (ICMP to 192.0.2.1)" lab_exec_client ping -c1 -W2 192.0.2.1
check "no state file left" not test -e "$work/ctl.state"

# A failed connect (wrong PSK) removes the table as well.
ikevpn_write_profile "$work/bad" '.kill_switch = true' "not-the-right-psk-0123456789"
ikevpn_run_foreground "$work/bad" 30
check "wrong PSK with the kill switch: connect fails (status $IKEVPN_STATUS)" \
    test "$IKEVPN_STATUS" -ne 0 -a "$IKEVPN_STATUS" -ne 124
check "kill switch table gone after the failed connect" not table_exists
checks_summary
