#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR/..
# README command 1: sudo packaging/demo.sh
# Builds ikevpn, starts a strongSwan gateway in a throwaway network-namespace lab, connects to it with
# ikevpn, pings a host behind the gateway through the tunnel, shows both ends' view of the tunnel,
# disconnects and proves that nothing is left behind. Only documentation address ranges are used and no
# packet leaves this machine. Exit status 0 when every step worked.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
build_dir=${BUILD_DIR:-build}

if [[ $(id -u) -ne 0 ]]; then
    echo "demo: needs root for network namespaces and TUN devices: sudo $0" >&2
    exit 1
fi

step_no=0
bold="" plain=""
if [[ -t 1 ]]; then
    bold=$'\033[1m' plain=$'\033[0m'
fi
step() {
    step_no=$((step_no + 1))
    printf '\n%s==== Step %d: %s%s\n' "$bold" "$step_no" "$*" "$plain"
}
# show WHERE COMMAND... — print the command as a prompt of namespace WHERE, then run it there.
show() {
    local where=$1
    shift
    printf '[%s]# %s\n' "$where" "$*"
    case $where in
        client) ip netns exec "$LAB_NS_CLIENT" "$@" ;;
        gateway) ip netns exec "$LAB_NS_GATEWAY" "$@" ;;
        *) "$@" ;;
    esac
}

step "install missing dependencies and build ikevpn ($build_dir/)"
bash packaging/install-deps.sh
if [[ ! -f $build_dir/build.ninja ]]; then
    meson setup "$build_dir"
fi
ninja -C "$build_dir"
export IKEVPN="$repo/$build_dir/client/ikevpn"

# shellcheck source=tests/interop/lab.sh
source tests/interop/lab.sh
# shellcheck source=tests/interop/ikevpn.sh
source tests/interop/ikevpn.sh
ikevpn_require

demo_ok=0
cleanup() {
    local status=$?
    ikevpn_stop
    if ((demo_ok == 0)); then
        echo
        echo "demo: FAILED in step $step_no" >&2
        ikevpn_dump_logs
        lab_gateway_log_tail
    fi
    step "tear the lab down"
    lab_down
    echo "namespaces, gateway and temporary files removed"
    if ((demo_ok == 0 && status == 0)); then
        status=1
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() {
    echo "demo: $*" >&2
    exit 1
}

step "build the lab: client | gateway | host in network namespaces"
lab_up
cat <<EOF
  client  $LAB_NS_CLIENT   $LAB_CLIENT_IF $LAB_CLIENT_IP/24 (no route to 198.51.100.0/24)
  gateway $LAB_NS_GATEWAY    $LAB_GATEWAY_CLIENT_IF $LAB_GATEWAY_IP/24, $LAB_GATEWAY_HOST_IF $LAB_GATEWAY_INNER_IP/24 (forwards only tunnel traffic)
  host    $LAB_NS_HOST  $LAB_HOST_IF $LAB_HOST_IP/24
EOF
echo "Without the tunnel the client cannot reach the host:"
if lab_exec_client ping -c1 -W1 "$LAB_HOST_IP" >/dev/null 2>&1; then
    fail "the client reached $LAB_HOST_IP without a tunnel; the lab is broken"
fi
echo "  ping $LAB_HOST_IP from the client: no route (as expected)"

step "start the strongSwan gateway (IKEv2, PSK, virtual IP pool 203.0.113.0/24)"
LAB_PSK="demo-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
lab_start_gateway --psk "$LAB_PSK" --dns 198.51.100.53
echo "gateway charon PID $LAB_GATEWAY_PID, log $LAB_GATEWAY_DIR/charon.log"

step "connect with ikevpn"
work="$LAB_DIR/demo"
mkdir -p "$work"
cp packaging/demo/profile.json "$work/profile.json"
(umask 077 && printf '%s' "$LAB_PSK" >"$work/demo.psk")
echo "profile ($work/profile.json):"
sed 's/^/  /' "$work/profile.json"
rules_before=$(client_rules)
echo "[client]# ikevpn connect $work/profile.json --json-events --socket $work/ctl.sock &"
ikevpn_start "$work"
ikevpn_wait_event connected 30 || fail "ikevpn did not report \"connected\" within 30 s"
connected=$(ikevpn_event connected)
echo "progress (ikevpn's stderr):"
sed 's/^/  /' "$work/stderr.log"
echo "event (ikevpn's stdout): $connected"
vip=$(jq -r '.virtual_ip // empty' <<<"$connected")
[[ -n $vip ]] || fail "the connected event carries no virtual_ip"

step "the virtual IP the gateway assigned: $vip"
show client ip addr show dev ikevpn0
show client ip route show table all dev ikevpn0
show client ip rule show

step "ping the host $LAB_HOST_IP through the tunnel"
show client ping -c3 -i0.3 -W2 "$LAB_HOST_IP" || fail "ping through the tunnel failed"

step "the client's view: ikevpn status"
show client "$IKEVPN" status --socket "$work/ctl.sock" || fail "ikevpn status failed"

step "the gateway's view: swanctl --list-sas"
printf '[gateway]# swanctl --list-sas\n'
lab_gateway_sas || fail "swanctl --list-sas failed"

step "disconnect"
show client "$IKEVPN" disconnect --socket "$work/ctl.sock" || fail "ikevpn disconnect failed"
ikevpn_wait_exit 15 || fail "ikevpn connect did not exit within 15 s of the disconnect"
echo "ikevpn connect exited with status $IKEVPN_STATUS"
[[ $IKEVPN_STATUS -eq 0 ]] || fail "ikevpn connect exited with status $IKEVPN_STATUS"
echo "event (ikevpn's stdout): $(ikevpn_event disconnected)"

step "nothing is left behind"
if client_has_link ikevpn0; then
    fail "TUN device ikevpn0 still exists"
fi
echo "TUN device ikevpn0: gone"
if [[ -n $(client_tun_routes) ]]; then
    fail "routes via ikevpn0 are left: $(client_tun_routes)"
fi
echo "routes via ikevpn0 (all tables): none"
show client ip rule show
[[ $(client_rules) == "$rules_before" ]] || fail "ip rule differs from before connecting"
echo "policy rules: the same as before connecting"
sas=$(lab_gateway_sa_count)
[[ $sas -eq 0 ]] || fail "the gateway still holds $sas IKE SA(s)"
echo "gateway IKE SAs: none"
if lab_exec_client ping -c1 -W1 "$LAB_HOST_IP" >/dev/null 2>&1; then
    fail "the host is still reachable without the tunnel"
fi
echo "ping $LAB_HOST_IP from the client: unreachable again"

demo_ok=1
echo
echo "demo: every step worked"
