# shellcheck shell=bash
# shellcheck disable=SC2034  # IKEVPN_STATUS, IKEVPN_ELAPSED_MS etc. are read by the test scripts
# tests/interop/ikevpn.sh — helpers to drive the ikevpn client in the lab's client namespace.
# Source after lab.sh. The CLI contract is in /work/shared/DESIGN.md ("The command line").

IKEVPN_REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
IKEVPN="${IKEVPN:-$IKEVPN_REPO_ROOT/build/client/ikevpn}"
IKEVPN_PID=""
IKEVPN_DIR=""

# ikevpn_require — exit 77 (skip) when the binary has not been built.
ikevpn_require() {
    if [[ ! -x $IKEVPN ]]; then
        echo "SKIP: ikevpn binary not found at $IKEVPN (build it, or set IKEVPN=/path/to/ikevpn)"
        exit 77
    fi
}

# ikevpn_write_profile DIR [JQ_FILTER] [PSK] — DIR/profile.json and DIR/demo.psk (mode 0600) for the lab
# gateway. JQ_FILTER edits the profile (e.g. '.gateway = "192.0.2.99"'); PSK defaults to the lab's.
ikevpn_write_profile() {
    local dir=$1 filter=${2:-.} psk=${3:-${LAB_PSK:-ikevpn-lab-secret-0123456789}}
    mkdir -p "$dir"
    (umask 077 && printf '%s' "$psk" >"$dir/demo.psk")
    chmod 600 "$dir/demo.psk"
    jq "$filter" >"$dir/profile.json" <<EOF
{
  "name": "demo",
  "gateway": "$LAB_GATEWAY_IP",
  "port": 500,
  "local_id": "client@example.com",
  "remote_id": "gw.example.com",
  "auth": { "method": "psk", "psk_file": "demo.psk" },
  "ike": ["aes256gcm16-prfsha384-x25519"],
  "esp": ["aes256gcm16"],
  "virtual_ip": true,
  "routes": ["$LAB_HOST_NET"],
  "dns": false,
  "mobike": false,
  "encap": "udp",
  "tun": { "name": "ikevpn0", "mtu": 1400 }
}
EOF
}

# ikevpn_start DIR — `ikevpn connect DIR/profile.json --json-events --socket DIR/ctl.sock` in the client
# namespace, in the background. Events go to DIR/events.jsonl, progress to DIR/stderr.log.
ikevpn_start() {
    IKEVPN_DIR=$1
    shift
    # ip netns exec (and env) exec the program: $! is ikevpn's own PID, and it is our child (wait gives its
    # status). IKEVPN_START_ENV (an array of NAME=VALUE) sets extra environment, e.g. the benchmark's
    # allocation counter.
    local -a launch=()
    [[ -z ${IKEVPN_START_ENV[*]:-} ]] || launch=(env "${IKEVPN_START_ENV[@]}")
    ip netns exec "$LAB_NS_CLIENT" "${launch[@]}" "$IKEVPN" connect "$IKEVPN_DIR/profile.json" --json-events \
        --socket "$IKEVPN_DIR/ctl.sock" "$@" >"$IKEVPN_DIR/events.jsonl" 2>"$IKEVPN_DIR/stderr.log" </dev/null &
    IKEVPN_PID=$!
}

# ikevpn_event NAME — the last event line with "event" == NAME (empty if none). Ignores non-JSON lines.
ikevpn_event() {
    jq -c -R --arg name "$1" 'fromjson? | select(type == "object" and .event == $name)' \
        "$IKEVPN_DIR/events.jsonl" 2>/dev/null | tail -n 1
}

# ikevpn_path_events — every path_changed event so far (MOBIKE moves), one JSON line each, oldest first.
ikevpn_path_events() { jq -c -R 'fromjson? | select(.event == "path_changed")' "$IKEVPN_DIR/events.jsonl"; }

# ikevpn_wait_path_event N SECONDS — wait until there are N path_changed events; fails early if ikevpn exits.
ikevpn_wait_path_event() {
    local n=$1 deadline=$((SECONDS + $2))
    while ((SECONDS < deadline)); do
        (($(ikevpn_path_events | wc -l) >= n)) && return 0
        lab_pid_alive "$IKEVPN_PID" || return 1
        sleep 0.05
    done
    return 1
}

# ikevpn_nth_path_event N — the Nth path_changed event (empty if there are fewer).
ikevpn_nth_path_event() { ikevpn_path_events | sed -n "${1}p"; }

# ikevpn_wait_event NAME SECONDS — wait until the event shows up; fails early if ikevpn exits.
ikevpn_wait_event() {
    local name=$1 deadline=$((SECONDS + $2))
    while ((SECONDS < deadline)); do
        [[ -z $(ikevpn_event "$name") ]] || return 0
        if ! lab_pid_alive "$IKEVPN_PID"; then
            [[ -z $(ikevpn_event "$name") ]] || return 0
            echo "ikevpn exited before the \"$name\" event" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "no \"$name\" event within $2 s" >&2
    return 1
}

# ikevpn_ctl COMMAND [ARGS...] — status/disconnect against the running client's control socket.
ikevpn_ctl() {
    local cmd=$1
    shift
    ip netns exec "$LAB_NS_CLIENT" "$IKEVPN" "$cmd" "$@" --socket "$IKEVPN_DIR/ctl.sock"
}

# ikevpn_wait_exit SECONDS — wait for the background connect; sets IKEVPN_STATUS (124 on timeout).
IKEVPN_STATUS=""
ikevpn_wait_exit() {
    IKEVPN_STATUS=124
    if lab_wait_exit "$IKEVPN_PID" "$1"; then
        IKEVPN_STATUS=0
        wait "$IKEVPN_PID" || IKEVPN_STATUS=$?
        IKEVPN_PID=""
        return 0
    fi
    return 1
}

# ikevpn_stop — stop a connect still running (trap-safe).
ikevpn_stop() {
    if [[ -n $IKEVPN_PID ]]; then
        lab_stop_pid "$IKEVPN_PID"
        IKEVPN_PID=""
    fi
}

ikevpn_dump_logs() {
    [[ -n $IKEVPN_DIR ]] || return 0
    echo "---- ikevpn stderr ($IKEVPN_DIR/stderr.log) ----" >&2
    tail -n 40 "$IKEVPN_DIR/stderr.log" >&2 2>/dev/null || true
    echo "---- ikevpn events ----" >&2
    tail -n 20 "$IKEVPN_DIR/events.jsonl" >&2 2>/dev/null || true
}

# ikevpn_run_foreground DIR SECONDS [ARGS...] — run connect to completion (bounded); sets IKEVPN_STATUS
# (124 when it had to be stopped) and IKEVPN_ELAPSED_MS; output in DIR/events.jsonl and DIR/stderr.log.
IKEVPN_ELAPSED_MS=0
ikevpn_run_foreground() {
    local dir=$1 limit=$2 start end
    shift 2
    start=$(date +%s%N)
    IKEVPN_STATUS=0
    timeout --kill-after=5 "$limit" ip netns exec "$LAB_NS_CLIENT" "$IKEVPN" connect "$dir/profile.json" \
        --json-events --socket "$dir/ctl.sock" "$@" >"$dir/events.jsonl" 2>"$dir/stderr.log" </dev/null ||
        IKEVPN_STATUS=$?
    end=$(date +%s%N)
    IKEVPN_ELAPSED_MS=$(((end - start) / 1000000))
    IKEVPN_DIR=$dir
}

# Routing state of the client namespace, to compare before and after a session.
client_rules() { lab_exec_client ip rule show; lab_exec_client ip -6 rule show; }
client_tun_routes() { lab_exec_client ip route show table all | grep -w ikevpn0 || true; }
client_has_link() { lab_exec_client ip link show dev "$1" >/dev/null 2>&1; }

# ikevpn_test_traps — the usual traps of an ikevpn interop test: stop the client and take the lab down on
# exit, whatever the exit path.
ikevpn_test_traps() {
    trap 'ikevpn_stop; lab_down' EXIT
    trap 'exit 1' INT TERM
}

# Called by check_fatal before it ends a test: the client's and the gateway's logs explain the failure.
# A test may define its own after sourcing this file.
checks_on_fatal() {
    ikevpn_dump_logs
    lab_gateway_log_tail
}

# gateway_holds_no_sa — the gateway has no SA left within 3 s (its EAP-Failure or Delete may lag ours).
gateway_holds_no_sa() {
    for _ in $(seq 30); do
        [[ $(lab_gateway_sa_count) -eq 0 ]] && return 0
        sleep 0.1
    done
    return 1
}

# ikevpn_disconnect_and_check — `ikevpn disconnect` exits 0, the connect process exits with status 0 within
# 15 s (stopped by PID otherwise), and the gateway holds no SA afterwards: one check line each.
ikevpn_gateway_empty() { [[ $(lab_gateway_sa_count) == 0 ]]; }
ikevpn_disconnect_and_check() {
    check "ikevpn disconnect exits 0" ikevpn_ctl disconnect
    if ikevpn_wait_exit 15; then
        check "connect exits with status 0 (got $IKEVPN_STATUS)" test "$IKEVPN_STATUS" -eq 0
    else
        check "connect exits within 15 s of the disconnect" false
        ikevpn_stop
    fi
    check "gateway has no SA left" ikevpn_gateway_empty
}

# ikevpn_kill_switch_table_exists — the kill switch's nft table of the lab profile (name "demo") is there.
ikevpn_kill_switch_table_exists() { lab_exec_client nft list table inet ikevpn_demo >/dev/null 2>&1; }

# ikevpn_check_nothing_left WORK RULES_BEFORE — after a connect with "dns" and "kill_switch" has ended by
# itself: no TUN, no route via it, ip rules as RULES_BEFORE, resolv.conf as before (netns_resolv.sh must be
# sourced), no kill-switch table, no state file in WORK. One check line each.
ikevpn_check_nothing_left() {
    local work=$1 rules_before=$2
    check "no TUN device ikevpn0 left" not client_has_link ikevpn0
    check "no route via ikevpn0 left" test -z "$(client_tun_routes)"
    check "ip rules as before" test "$(client_rules)" == "$rules_before"
    check "resolv.conf byte-identical to before" netns_resolv_is_original
    check "kill switch table gone" not ikevpn_kill_switch_table_exists
    check "no state file left" not test -e "$work/ctl.state"
}

# Holding back the client's IKE messages on UDP 4500 (ESP keeps flowing), e.g. to make the gateway's
# request cross ours or to lose our answer. IKE messages carry the non-ESP marker (four zero octets after
# the UDP header, RFC 3948 §2.2); ESP never does.
# ikevpn_ike_holdback_setup TABLE — an empty output chain in the client namespace; then:
# ikevpn_ike_block / ikevpn_ike_unblock / ikevpn_ike_dropped (packets dropped since the last unblock).
ikevpn_ike_holdback_setup() {
    IKEVPN_HOLDBACK_TABLE=$1
    lab_exec_client nft -f - <<NFT
table inet $IKEVPN_HOLDBACK_TABLE {
    chain out {
        type filter hook output priority 0; policy accept;
    }
}
NFT
}
ikevpn_ike_block() {
    lab_exec_client nft add rule inet "$IKEVPN_HOLDBACK_TABLE" out udp dport 4500 @th,64,32 0 counter drop
}
ikevpn_ike_unblock() { lab_exec_client nft flush chain inet "$IKEVPN_HOLDBACK_TABLE" out; }
ikevpn_ike_dropped() {
    lab_exec_client nft list chain inet "$IKEVPN_HOLDBACK_TABLE" out | grep -o 'packets [0-9]*' | awk '{print $2}'
}
