#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# Crash cleanup and double connect. A SIGKILLed `ikevpn connect` (profile with "dns": true and the kill
# switch) leaves its state file, the kill switch (fail closed), the rewritten resolv.conf and its policy
# rules; `ikevpn disconnect` with no live connect cleans all of it and says what it cleaned. A second crash is
# cleaned by the next `connect` instead. A second `connect` of a running profile fails with
# ALREADY_CONNECTED and leaves the first one alone. Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"
# shellcheck source=checks.sh
source "$here/checks.sh"
# shellcheck source=ikevpn.sh
source "$here/ikevpn.sh"
# shellcheck source=netns_resolv.sh
source "$here/netns_resolv.sh"

lab_require_root_and_tools swanctl jq cmp "$LAB_CHARON"
ikevpn_require
if command -v resolvconf >/dev/null 2>&1 || [[ -e /run/systemd/resolve/io.systemd.Resolve ]]; then
    echo "SKIP: resolvconf or systemd-resolved is present; this test uses the resolv.conf file backend"
    exit 77
fi

trap 'ikevpn_stop; netns_resolv_cleanup; lab_down' EXIT
trap 'exit 1' INT TERM

table_exists() { lab_exec_client nft list table inet ikevpn_demo >/dev/null 2>&1; }
kill_connect() {
    kill -KILL "$IKEVPN_PID"
    ikevpn_wait_exit 10 || true
}

lab_up
lab_start_gateway
netns_resolv_setup
work="$LAB_DIR/ikevpn"
ikevpn_write_profile "$work" '.dns = true | .kill_switch = true'
rules_before=$(client_rules)

# 1. SIGKILL, then `disconnect` cleans up
ikevpn_start "$work"
check_fatal "ikevpn reports \"connected\" within 20 s" ikevpn_wait_event connected 20
check "state file exists while connected" jq -e '.pid > 0 and .routing and .nft_table == "ikevpn_demo"' "$work/ctl.state"
kill_connect
check "SIGKILL: the process is gone (status $IKEVPN_STATUS)" test "$IKEVPN_STATUS" -eq 137
check "after SIGKILL the state file is still there" test -e "$work/ctl.state"
check "after SIGKILL the kill switch stays (fails closed)" table_exists
check "after SIGKILL resolv.conf still has the VPN's server" netns_resolv_has_server 198.51.100.53
check "after SIGKILL the policy rules are still there" test "$(client_rules)" != "$rules_before"
check "the TUN device died with the process" not client_has_link ikevpn0
out=$(ikevpn_ctl disconnect 2>&1) && status=0 || status=$?
echo "INFO: disconnect after SIGKILL said:"
while IFS= read -r line; do echo "INFO:   $line"; done <<<"$out"
check "disconnect with no live connect exits 0" test "$status" -eq 0
check "it says there was no running ikevpn and what it cleaned" \
    grep -q 'no ikevpn is running for profile demo.*cleaned up what it left' <<<"$out"
check "it lists the kill switch table" grep -q 'removed nftables table inet ikevpn_demo' <<<"$out"
check "it lists DNS" grep -q 'restored DNS (/etc/resolv.conf)' <<<"$out"
check "it lists the policy routing entries" grep -q 'policy routing entries' <<<"$out"
check "kill switch table gone" not table_exists
check "resolv.conf byte-identical" netns_resolv_is_original
check "ip rules as before connecting" test "$(client_rules)" == "$rules_before"
check "state file, DNS backup and socket file gone" \
    not test -e "$work/ctl.state" -o -e "$work/ctl.state.resolv.conf" -o -e "$work/ctl.sock"
again=$(ikevpn_ctl disconnect 2>&1) && status=0 || status=$?
echo "INFO: a second disconnect said: $again"
check "a second disconnect fails: nothing is running any more (exit $status)" test "$status" -ne 0

# 2. SIGKILL, then the next connect cleans up before it starts
ikevpn_start "$work"
check_fatal "connected again" ikevpn_wait_event connected 20
kill_connect
ikevpn_start "$work"
check_fatal "a new connect after SIGKILL connects" ikevpn_wait_event connected 20
check "it warned that an earlier ikevpn did not stop cleanly" \
    grep -q 'did not stop cleanly; cleaned up what it left' "$work/stderr.log"
check "DNS applied once (backup is the true original)" cmp -s "$work/ctl.state.resolv.conf" "$NETNS_RESOLV_ORIGINAL"
check "ping through the tunnel" lab_exec_client ping -c2 -i0.2 -W2 "$LAB_HOST_IP"

# 3. double connect
second="$LAB_DIR/second"
mkdir -p "$second"
set +e
ip netns exec "$LAB_NS_CLIENT" "$IKEVPN" connect "$work/profile.json" --json-events --socket "$work/ctl.sock" \
    >"$second/events.jsonl" 2>"$second/stderr.log" </dev/null
status=$?
set -e
echo "INFO: second connect: $(tail -n 1 "$second/stderr.log")"
check "a second connect of the running profile exits non-zero (status $status)" test "$status" -ne 0
check "it says already connected" grep -q 'already connected' "$second/stderr.log"
check "its error event has code ALREADY_CONNECTED" \
    jq -e -R 'fromjson? | select(.event == "error") | .code == "ALREADY_CONNECTED"' "$second/events.jsonl"
check "the first connect is still connected" jq -e '.state == "connected"' <<<"$(ikevpn_ctl status --json)"
check "its DNS is untouched" netns_resolv_has_server 198.51.100.53
# shellcheck disable=SC2016  # $pid is a jq variable
check "its state file still names it" jq -e --argjson pid "$IKEVPN_PID" '.pid == $pid' "$work/ctl.state"

check "ikevpn disconnect exits 0" ikevpn_ctl disconnect
ikevpn_wait_exit 15 || true
check "connect exits 0 (status $IKEVPN_STATUS)" test "$IKEVPN_STATUS" -eq 0
check "everything gone: table" not table_exists
check "everything gone: resolv.conf byte-identical" netns_resolv_is_original
check "everything gone: ip rules as before" test "$(client_rules)" == "$rules_before"
check "everything gone: state file" not test -e "$work/ctl.state"
checks_summary
