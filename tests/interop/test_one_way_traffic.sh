#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# One-way traffic is not punished as a dead data path for ever (issue 5, client/liveness_backoff.hpp).
# A UDP stream from the client through the tunnel to a port on the host that drops it (nftables in the
# host namespace: no answer, not even ICMP port unreachable) keeps ESP going out while none comes back —
# to the client exactly a dead data path. With "data_path_timeout": 3 each tunnel is rekeyed after 3 s of
# silence and re-established after a further wait that doubles with each re-establishment that brought no
# inbound ESP (3, 6, 12 … s): over ONE_WAY_SECONDS (30) at most 3 re-establishments (without the backoff:
# one every ~7 s, 4 or 5), spaced by growing intervals; the events and `status --json` show the backoff
# (`liveness_backoff`), and one answered ping resets it. The ESP itself is never touched.
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
ONE_WAY_SECONDS=${ONE_WAY_SECONDS:-30}
stream_pid=""
stop_stream() { [[ -z $stream_pid ]] || lab_stop_pid "$stream_pid"; stream_pid=""; }
# (On an early exit, lab_down stops whatever still runs in the lab's namespaces, the stream included.)

lab_up
lab_start_gateway
work="$LAB_DIR/ikevpn"
ikevpn_write_profile "$work" '.data_path_timeout = 3'
ikevpn_start "$work" -v
check_fatal "ikevpn connects" ikevpn_wait_event connected 20
tunnel_ping() { lab_exec_client ping -c 1 -W 2 "$LAB_HOST_IP" >/dev/null; }
check "traffic flows through the tunnel (both ways)" tunnel_ping
status=$(ikevpn_ctl status --json)
no_backoff() {
    [[ -n $status ]] && jq -e '.data_path.liveness_backoff == {"level": 0, "reestablish_after_seconds": 3}' <<<"$status" >/dev/null
}
check "status data_path.liveness_backoff: level 0, re-establish after 3 s" no_backoff

# The host drops UDP to port 9 before any socket sees it: no reply, no ICMP error, nothing comes back.
lab_exec_host nft -f - <<'NFT'
table inet oneway {
    chain input {
        type filter hook input priority 0; policy accept;
        udp dport 9 counter drop
    }
}
NFT
# Ten datagrams a second from the client, a new socket each (the TUN comes and goes with each tunnel).
# ip netns exec execs bash: $! is the loop itself, which stop_stream ends by PID.
ip netns exec "$LAB_NS_CLIENT" bash -c "while :; do echo one-way 2>/dev/null >/dev/udp/$LAB_HOST_IP/9 || true; sleep 0.1; done" &
stream_pid=$!
start=$(date +%s.%N)
reconnect_count() { jq -c -R 'fromjson? | select(.event == "reconnecting" and (.reason | startswith("dead data path")))' "$IKEVPN_DIR/events.jsonl" | wc -l; }
times=()
seen=0
deadline=$(awk -v s="$start" -v d="$ONE_WAY_SECONDS" 'BEGIN { printf "%.3f", s + d }')
while awk -v now="$(date +%s.%N)" -v d="$deadline" 'BEGIN { exit !(now < d) }'; do
    n=$(reconnect_count)
    while ((seen < n)); do
        seen=$((seen + 1))
        times+=("$(awk -v s="$start" -v now="$(date +%s.%N)" 'BEGIN { printf "%.1f", now - s }')")
    done
    lab_pid_alive "$IKEVPN_PID" || break
    sleep 0.1
done
stop_stream
echo "INFO: re-establishments in ${ONE_WAY_SECONDS} s of one-way traffic: ${#times[@]}, at ${times[*]:-none} s"
check "ikevpn is still running" lab_pid_alive "$IKEVPN_PID"
dropped_at_host() { lab_exec_host nft list chain inet oneway input | grep -Eq 'counter packets [1-9]'; }
check "the stream reached the host (and was dropped there)" dropped_at_host
check "the one-way stream was taken for a dead path at first (a re-establishment)" test "${#times[@]}" -ge 1
check "at most 3 re-establishments in ${ONE_WAY_SECONDS} s" test "${#times[@]}" -le 3
growing() {
    # The gap before each re-establishment (the first from the stream's start) exceeds the previous one by
    # about the previous wait (3, 6 … s); 2 s of it is enough to tell from a fixed period.
    local previous=0 gap last=-1 t
    ((${#times[@]} >= 2)) || { echo "only ${#times[@]} re-establishment(s)"; return 1; }
    for t in "${times[@]}"; do
        gap=$(awk -v a="$t" -v b="$previous" 'BEGIN { printf "%.1f", a - b }')
        echo "gap $gap s"
        if [[ $last != -1 ]] && ! awk -v g="$gap" -v l="$last" 'BEGIN { exit !(g >= l + 2) }'; then return 1; fi
        last=$gap previous=$t
    done
}
check "re-establishments spaced by growing intervals" growing
levels=$(jq -c -R -s '[split("\n")[] | fromjson? | select(.event == "data_path_dead" and .action == "reestablish") | .liveness_backoff]' "$IKEVPN_DIR/events.jsonl")
echo "INFO: data_path_dead (reestablish) backoff: $levels"
event_backoff() {
    jq -e '.[0] == {"level": 1, "reestablish_after_seconds": 6} and
           (length < 2 or .[1] == {"level": 2, "reestablish_after_seconds": 12})' <<<"$levels" >/dev/null
}
check "data_path_dead events carry liveness_backoff (level 1 → 6 s, level 2 → 12 s)" event_backoff
said() { grep -q "dead data path: .*(backoff level 1: a re-establishment needs 6 s of silence after a rekey)" "$IKEVPN_DIR/stderr.log"; }
check "stderr states the backoff in the warning" said

# The current tunnel: up (perhaps just coming up), with the backoff carried over from the previous ones.
check_fatal "connected again" ikevpn_wait_event connected 10
up() {
    local deadline=$((SECONDS + 10)) s
    while ((SECONDS < deadline)); do
        s=$(ikevpn_ctl status --json 2>/dev/null) && jq -e '.state == "connected"' <<<"$s" >/dev/null && return 0
        sleep 0.2
    done
    return 1
}
check_fatal "status says connected" up
status=$(ikevpn_ctl status --json)
echo "INFO: status data_path.liveness_backoff: $(jq -c '.data_path.liveness_backoff' <<<"$status")"
carried() { jq -e --argjson n "${#times[@]}" '.data_path.liveness_backoff.level == $n' <<<"$status" >/dev/null; }
check "status shows the backoff level carried across the re-establishments" carried
human() { ikevpn_ctl status | grep -q "dead-path backoff: level ${#times[@]} (a re-establishment needs"; }
check "plain status shows the backoff too" human
recovered() {
    local deadline=$((SECONDS + 10))
    while ((SECONDS < deadline)); do tunnel_ping && return 0; done
    return 1
}
check "an answered ping through the tunnel" recovered
reset_back() {
    local deadline=$((SECONDS + 5)) s
    while ((SECONDS < deadline)); do
        s=$(ikevpn_ctl status --json) &&
            jq -e '.data_path.liveness_backoff == {"level": 0, "reestablish_after_seconds": 3}' <<<"$s" >/dev/null && return 0
        sleep 0.3
    done
    return 1
}
check "inbound ESP resets the backoff (status level 0, 3 s)" reset_back
reset_said() { grep -q "ESP from the gateway again, the dead-data-path backoff is reset" "$IKEVPN_DIR/stderr.log"; }
check "stderr says the backoff was reset" reset_said

ikevpn_disconnect_and_check
checks_summary
