#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# The service manager's readiness protocol (ikevpn@.service is Type=notify): with $NOTIFY_SOCKET set, as
# systemd sets it, `ikevpn connect` sends READY=1 only once the tunnel is up (with a STATUS line naming the
# gateway and the virtual IP), and STOPPING=1 when it disconnects; a failed connect sends an error STATUS
# and never READY=1. A socat datagram listener stands in for systemd. Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"
# shellcheck source=checks.sh
source "$here/checks.sh"
# shellcheck source=ikevpn.sh
source "$here/ikevpn.sh"

lab_require_root_and_tools swanctl jq socat "$LAB_CHARON"
ikevpn_require

listener_pid=""
stop_listener() {
    [[ -z $listener_pid ]] || lab_stop_pid "$listener_pid"
    listener_pid=""
}
trap 'ikevpn_stop; stop_listener; lab_down' EXIT
trap 'exit 1' INT TERM

lab_up
lab_start_gateway
work="$LAB_DIR/ikevpn"

# start_listener NAME — a datagram socket $LAB_DIR/NAME.sock whose datagrams are appended to NAME.log
# (back to back, no separator between datagrams: checked with unanchored grep only).
start_listener() {
    notify_socket="$LAB_DIR/$1.sock"
    notify_log="$LAB_DIR/$1.log"
    : >"$notify_log"
    socat -u "UNIX-RECV:$notify_socket" "OPEN:$notify_log,append" </dev/null >/dev/null 2>&1 &
    listener_pid=$!
    local i
    for ((i = 0; i < 50; i++)); do
        [[ -S $notify_socket ]] && return 0
        sleep 0.1
    done
    return 1
}
notified() { grep -q -- "$1" "$notify_log"; }

# 1. a successful connect and disconnect
start_listener ok || true
check_fatal "listener up" test -S "$notify_socket"
ikevpn_write_profile "$work"
IKEVPN_START_ENV=("NOTIFY_SOCKET=$notify_socket")
ikevpn_start "$work"
IKEVPN_START_ENV=()
check_fatal "ikevpn reports \"connected\" within 20 s" ikevpn_wait_event connected 20
sleep 0.2
vip=$(ikevpn_event connected | jq -r .virtual_ip)
check "READY=1 was sent once connected" notified 'READY=1'
check "STATUS names the gateway and the virtual IP $vip" notified "STATUS=connected to $LAB_GATEWAY_IP:4500, virtual IP $vip"
check "no STOPPING=1 while connected" not notified 'STOPPING=1'
check "ikevpn disconnect exits 0" ikevpn_ctl disconnect
ikevpn_wait_exit 15 || true
check "connect exits 0 (status $IKEVPN_STATUS)" test "$IKEVPN_STATUS" -eq 0
check "STOPPING=1 was sent on disconnect" notified 'STOPPING=1'
check "STATUS says disconnected" notified 'STATUS=disconnected'
stop_listener

# 2. a failed connect (wrong PSK): an error STATUS, never READY=1
start_listener bad || true
check_fatal "listener up again" test -S "$notify_socket"
ikevpn_write_profile "$work/bad" '' "not-the-right-psk-0123456789"
IKEVPN_START_ENV=("NOTIFY_SOCKET=$notify_socket")
ikevpn_start "$work/bad"
IKEVPN_START_ENV=()
ikevpn_wait_exit 30 || true
check "wrong PSK: connect fails (status $IKEVPN_STATUS)" test "$IKEVPN_STATUS" -ne 0 -a "$IKEVPN_STATUS" -ne 124
sleep 0.2
check "wrong PSK: STATUS=error names the authentication failure" notified 'STATUS=error: .*authentication'
check "wrong PSK: READY=1 was never sent" not notified 'READY=1'
stop_listener

# 3. without NOTIFY_SOCKET nothing changes (every other test runs that way); the unit file asks for it
unit="$IKEVPN_REPO_ROOT/packaging/systemd/ikevpn@.service.in"
[[ -f $unit ]] || unit=$(find "$IKEVPN_REPO_ROOT/packaging/systemd" -name 'ikevpn@.service*' | head -n 1)
check "ikevpn@.service is Type=notify" grep -qx 'Type=notify' "$unit"
checks_summary
