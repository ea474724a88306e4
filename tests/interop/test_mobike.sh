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

# path_changed events so far, and a wait for the Nth one.
path_events() { jq -c -R 'fromjson? | select(.event == "path_changed")' "$IKEVPN_DIR/events.jsonl"; }
wait_path_event() {
    local n=$1 deadline=$((SECONDS + $2))
    while ((SECONDS < deadline)); do
        (($(path_events | wc -l) >= n)) && return 0
        lab_pid_alive "$IKEVPN_PID" || return 1
        sleep 0.05
    done
    return 1
}
nth_event() { path_events | sed -n "${1}p"; }

# A paced sender: 64 KiB every 0.4 s (about 1.3 Mbit/s) of a 6 MiB file, so the stream spans every move
# (about 40 s of sending; the 20 s without a path starts some 12 s in).
src="$LAB_DIR/stream.src"
dst="$LAB_DIR/stream.dst"
head -c $((6 * 1024 * 1024)) /dev/urandom >"$src"
lab_exec_host timeout --kill-after=5 150 socat -u "TCP-LISTEN:5001,bind=$LAB_HOST_IP,reuseaddr" "CREATE:$dst" \
    2>"$LAB_DIR/recv.err" </dev/null &
recv_pid=$!
sleep 0.5
# shellcheck disable=SC2016  # the loop is for the inner bash, which gets the file as $1
lab_exec_client timeout --kill-after=5 150 bash -c \
    'for ((i = 0; i < 96; i++)); do dd if="$1" bs=64k skip=$i count=1 status=none; sleep 0.4; done' _ "$src" |
    lab_exec_client socat -u STDIN "TCP:$LAB_HOST_IP:5001,connect-timeout=10" 2>"$LAB_DIR/send.err" &
send_pid=$!
sleep 2

# 1. wifi goes away: cellular, behind its NAT.
ip -n "$LAB_NS_CLIENT" link set "$LAB_CLIENT_IF" down
check "wifi down: a path_changed event within 5 s" wait_path_event 1 5
e=$(nth_event 1)
echo "INFO: $e"
to_cellular() { jq -e --arg ip "$LAB_CELL_IP" '(.new_local | startswith($ip + ":")) and .nat == true' <<<"$e" >/dev/null; }
check "the SAs moved to cellular and the NAT was detected" to_cellular
sleep 3

# 2. wifi is back, cellular goes: back to the direct path.
ip -n "$LAB_NS_CLIENT" link set "$LAB_CLIENT_IF" up
ip -n "$LAB_NS_CLIENT" link set "$LAB_CELL_IF" down
check "cellular down: a second path_changed event within 5 s" wait_path_event 2 5
e=$(nth_event 2)
echo "INFO: $e"
to_wifi() { jq -e --arg ip "$LAB_CLIENT_IP" '(.new_local | startswith($ip + ":")) and .nat == false' <<<"$e" >/dev/null; }
check "the SAs moved back to wifi, without NAT" to_wifi
sleep 3

# 3. DHCP renumbering on wifi.
ip -n "$LAB_NS_CLIENT" addr del "$LAB_CLIENT_IP/24" dev "$LAB_CLIENT_IF"
ip -n "$LAB_NS_CLIENT" addr add 192.0.2.3/24 dev "$LAB_CLIENT_IF"
check "renumbering: a third path_changed event within 5 s" wait_path_event 3 5
e=$(nth_event 3)
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
check "path back: a fourth path_changed event within 5 s" wait_path_event 4 5
echo "INFO: $(nth_event 4)"

# The stream: every byte, in order, over one TCP connection.
send_rc=0
wait "$send_pid" || send_rc=$?
check "the sender finished without a reset (exit $send_rc)" test "$send_rc" -eq 0
recv_done() { lab_wait_exit "$recv_pid" 90; }
check "the receiver got the end of the stream" recv_done
same_bytes() { [[ -f $dst ]] && [[ $(transfer_sha256_of "$src") == $(transfer_sha256_of "$dst") ]]; }
transfer_sha256_of() { sha256sum -- "$1" | cut -d' ' -f1; }
check "the stream arrived byte-exact (sha256, $(stat -c %s "$dst" 2>/dev/null || echo 0) bytes)" same_bytes

status=$(ikevpn_ctl status --json)
same_ike_sa() { jq -e --arg first "$first_spi" '.ike_sa.spi_i == $first' <<<"$status" >/dev/null; }
check "no reconnect from scratch: the same IKE SA throughout" same_ike_sa
one_connect() { [[ $(jq -c -R 'fromjson? | select(.event == "connected")' "$IKEVPN_DIR/events.jsonl" | wc -l) == 1 ]]; }
check "exactly one connected event" one_connect
history_kept() { jq -e '(.path_history | length) == 4 and .state == "connected"' <<<"$status" >/dev/null; }
check "status lists the 4 switches and is connected again" history_kept
echo "INFO: handover_ms: $(path_events | jq -r '.handover_ms' | tr '\n' ' ')"
gateway_one_ike_sa() { [[ $(lab_gateway_sa_count) == 1 ]]; }
check "the gateway holds one IKE SA" gateway_one_ike_sa

check "ikevpn disconnect exits 0" ikevpn_ctl disconnect
if ikevpn_wait_exit 15; then
    check "connect exits with status 0 (got $IKEVPN_STATUS)" test "$IKEVPN_STATUS" -eq 0
else
    check "connect exits within 15 s of the disconnect" false
fi
checks_summary
