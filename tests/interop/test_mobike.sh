#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# MOBIKE (RFC 4555) against strongSwan with mobike = yes, on a client with two uplinks (lab.sh
# LAB_UPLINKS=2): "wifi" (direct) and "cellular" (behind a NAT). One paced TCP transfer runs through the
# tunnel the whole time and must arrive byte-exact (sha256) while the client
#   1. loses wifi            → moves to cellular (NAT detected),
#   2. gets wifi back and loses cellular → moves back to wifi (direct),
#   3. is renumbered on wifi (DHCP-style: old address removed, new one added),
#   4. has no path at all for 20 s, then wifi returns → resumes without a new IKE SA.
# Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"
# shellcheck source=checks.sh
source "$here/checks.sh"
# shellcheck source=ikevpn.sh
source "$here/ikevpn.sh"
# shellcheck source=transfer.sh
source "$here/transfer.sh"

lab_require_root_and_tools swanctl jq socat sha256sum "$LAB_CHARON"
ikevpn_require
ikevpn_test_traps

LAB_UPLINKS=2
LAB_CELL_NAT=1
lab_up
lab_start_gateway --mobike yes --pool 203.0.113.0/25
work="$LAB_DIR/ikevpn"
ikevpn_write_profile "$work" '.mobike = true'
ikevpn_start "$work" -v
check_fatal "ikevpn connects over wifi" ikevpn_wait_event connected 20
first_spi=$(ikevpn_ctl status --json | jq -r '.ike_sa.spi_i')
mobike_on() { ikevpn_ctl status --json | jq -e '.mobike == true' >/dev/null; }
check "MOBIKE is negotiated" mobike_on

# A paced sender: 64 KiB every 0.4 s (about 1.3 Mbit/s) of a 6 MiB file, so the stream spans every move
# (about 40 s of sending; the 20 s without a path starts some 12 s in).
transfer_paced_start 96 150

# 1. wifi goes away: cellular, behind its NAT.
ip -n "$LAB_NS_CLIENT" link set "$LAB_CLIENT_IF" down
check "wifi down: a path_changed event within 5 s" ikevpn_wait_path_event 1 5
e=$(ikevpn_nth_path_event 1)
echo "INFO: $e"
to_cellular() { jq -e --arg ip "$LAB_CELL_IP" '(.new_local | startswith($ip + ":")) and .nat == true' <<<"$e" >/dev/null; }
check "the SAs moved to cellular and the NAT was detected" to_cellular
sleep 3

# 2. wifi is back, cellular goes: back to the direct path.
ip -n "$LAB_NS_CLIENT" link set "$LAB_CLIENT_IF" up
ip -n "$LAB_NS_CLIENT" link set "$LAB_CELL_IF" down
check "cellular down: a second path_changed event within 5 s" ikevpn_wait_path_event 2 5
e=$(ikevpn_nth_path_event 2)
echo "INFO: $e"
to_wifi() { jq -e --arg ip "$LAB_CLIENT_IP" '(.new_local | startswith($ip + ":")) and .nat == false' <<<"$e" >/dev/null; }
check "the SAs moved back to wifi, without NAT" to_wifi
sleep 3

# 3. DHCP renumbering on wifi.
ip -n "$LAB_NS_CLIENT" addr del "$LAB_CLIENT_IP/24" dev "$LAB_CLIENT_IF"
ip -n "$LAB_NS_CLIENT" addr add 192.0.2.3/24 dev "$LAB_CLIENT_IF"
check "renumbering: a third path_changed event within 5 s" ikevpn_wait_path_event 3 5
e=$(ikevpn_nth_path_event 3)
echo "INFO: $e"
renumbered() { jq -e '.new_local | startswith("192.0.2.3:")' <<<"$e" >/dev/null; }
check "the SAs moved to the new wifi address" renumbered
sleep 2

# 4. No path at all for 20 s (the tunnel waits quietly), then wifi returns.
ip -n "$LAB_NS_CLIENT" link set "$LAB_CLIENT_IF" down
sleep 1
roaming() { ikevpn_ctl status --json | jq -e '.state == "roaming"' >/dev/null; }
check "status says roaming while there is no path" roaming
sleep 19
alive() { lab_pid_alive "$IKEVPN_PID"; }
check "ikevpn still runs after 20 s without a path" alive
ip -n "$LAB_NS_CLIENT" link set "$LAB_CLIENT_IF" up
check "path back: a fourth path_changed event within 5 s" ikevpn_wait_path_event 4 5
echo "INFO: $(ikevpn_nth_path_event 4)"

# The stream: every byte, in order, over one TCP connection.
transfer_paced_check 90

status=$(ikevpn_ctl status --json)
same_ike_sa() { jq -e --arg first "$first_spi" '.ike_sa.spi_i == $first' <<<"$status" >/dev/null; }
check "no reconnect from scratch: the same IKE SA throughout" same_ike_sa
one_connect() { [[ $(jq -c -R 'fromjson? | select(.event == "connected")' "$IKEVPN_DIR/events.jsonl" | wc -l) == 1 ]]; }
check "exactly one connected event" one_connect
history_kept() { jq -e '(.path_history | length) == 4 and .state == "connected"' <<<"$status" >/dev/null; }
check "status lists the 4 switches and is connected again" history_kept
echo "INFO: handover_ms: $(ikevpn_path_events | jq -r '.handover_ms' | tr '\n' ' ')"
gateway_one_ike_sa() { [[ $(lab_gateway_sa_count) == 1 ]]; }
check "the gateway holds one IKE SA" gateway_one_ike_sa

check "ikevpn disconnect exits 0" ikevpn_ctl disconnect
if ikevpn_wait_exit 15; then
    check "connect exits with status 0 (got $IKEVPN_STATUS)" test "$IKEVPN_STATUS" -eq 0
else
    check "connect exits within 15 s of the disconnect" false
fi
checks_summary
