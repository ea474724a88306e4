#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# tests/bench/handover.sh — MOBIKE handover gap (issue 5), one run, both clients. Run as root.
#
# The lab with two client uplinks (lab.sh LAB_UPLINKS=2: "wifi" direct, "cellular" with a worse default
# route) and a strongSwan gateway with mobike = yes. For each client — (a) ikevpn connect with
# "mobike": true, (b) strongSwan's own client (kernel-libipsec charon, MOBIKE on by default) — a 10 ms ping
# stream runs through the tunnel while wifi alternately goes down (the active uplink is lost → cellular)
# and comes back (a better uplink appears → wifi), BENCH_SWITCHES times (default 10: 5 of each), 2.5 s
# apart, while a paced TCP stream (tests/interop/transfer.sh, ~1.3 Mbit/s) runs through the tunnel too. The
# gap of a switch is the longest interval between two consecutive echo replies from the last one before the
# switch to 2.4 s after it (the ping spacing when nothing was lost). Reported per client: the median gap per
# kind and over all switches, the largest gap, the echo replies lost, the normal reply spacing and round
# trip (medians over the run), how many switches met the issue's target — traffic flowing again within one
# round trip + 50 ms of the new path being usable: gap <= spacing + RTT + 50 ms (the new path is usable at
# the switch: cellular is up all along, and wifi's IPv4 address needs no DAD) — and whether the TCP stream
# survived every switch (sender without error, every byte arrived in order: sha256).
#
# A benchmark, not a test: it never asserts a time. Exit 0 when the table was printed, 77 when a tool is
# missing, 1 when the setup failed. Documentation address ranges inside namespaces it creates only;
# everything it starts is stopped by PID on exit.
#
# Environment: IKEVPN (binary; default build/client/ikevpn), BENCH_SWITCHES, BENCH_CASES (default "a b"),
# LAB_KEEP=1 (keep the lab directory with the ping logs).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../interop/lab.sh
source "$root/tests/interop/lab.sh"
# shellcheck source=../interop/ikevpn.sh
source "$root/tests/interop/ikevpn.sh"
# shellcheck source=../interop/transfer.sh
source "$root/tests/interop/transfer.sh"

BENCH_SWITCHES="${BENCH_SWITCHES:-10}"
BENCH_CASES="${BENCH_CASES:-a b}"
PSK="${LAB_PSK:-ikevpn-lab-secret-0123456789}"

bench_log() { printf 'bench: %s\n' "$*" >&2; }

lab_require_root_and_tools ping jq awk socat sha256sum swanctl "$LAB_CHARON"
ikevpn_require
trap 'ikevpn_stop; lab_down' EXIT
trap 'exit 1' INT TERM

LAB_UPLINKS=2
lab_up
lab_start_gateway --mobike yes --pool 203.0.113.0/25

# measure LABEL — a TCP stream and a ping through the tunnel while wifi flips; prints one result line.
measure() {
    local label=$1 log="$LAB_DIR/ping-$1.log" times="$LAB_DIR/switches-$1.txt" ping_pid i stream
    local chunks=$(((BENCH_SWITCHES * 25 + 40) / 4))  # 0.4 s each: longer than the switches
    : >"$times"
    transfer_paced_start "$chunks" $((chunks * 4 / 10 + 40))  # returns 2 s into the stream
    # ip netns exec execs ping: $! is ping itself, which SIGINT makes print its summary.
    ip netns exec "$LAB_NS_CLIENT" ping -D -n -i 0.01 -W 1 "$LAB_HOST_IP" >"$log" 2>&1 &
    ping_pid=$!
    sleep 1
    for ((i = 1; i <= BENCH_SWITCHES; i++)); do
        if ((i % 2)); then
            echo "$(date +%s.%N) down" >>"$times"
            ip -n "$LAB_NS_CLIENT" link set "$LAB_CLIENT_IF" down
        else
            echo "$(date +%s.%N) up" >>"$times"
            ip -n "$LAB_NS_CLIENT" link set "$LAB_CLIENT_IF" up
        fi
        sleep 2.5
    done
    ip -n "$LAB_NS_CLIENT" link set "$LAB_CLIENT_IF" up
    kill -INT "$ping_pid" 2>/dev/null || true  # SIGINT: ping prints its summary
    lab_wait_exit "$ping_pid" 5 || true
    lab_stop_pid "$ping_pid"
    stream_verdict  # not in $(...): the stream's processes are children of this shell
    stream=$STREAM_VERDICT
    # Replies: "[1700000000.123456] 64 bytes from ...: icmp_seq=N ttl=.. time=0.321 ms".
    awk -v label="$label" -v stream="$stream" -v summary="$LAB_DIR/summary-${label:1:1}.txt" '
        FNR == NR { t[++n] = $1; kind[n] = $2; next }
        /bytes from/ {
            gsub(/[][]/, "", $1); r[++m] = $1 + 0
            for (f = 2; f <= NF; f++) if ($f ~ /^time=/) { sub(/^time=/, "", $f); rtt[++nr] = $f + 0 }
        }
        /^[0-9]+ packets transmitted/ { sent = $1; got = $4 }
        function median(a, k,    i, j, x) {
            for (i = 2; i <= k; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
            return k ? (k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2) : -1
        }
        END {
            for (i = 2; i <= m; i++) spacing[i - 1] = (r[i] - r[i - 1]) * 1000
            normal = median(spacing, m - 1); round_trip = median(rtt, nr)
            for (s = 1; s <= n; s++) {
                gap = 0
                for (i = 2; i <= m; i++)
                    if (r[i] > t[s] && r[i - 1] < t[s] + 2.4 && r[i] - r[i - 1] > gap) gap = r[i] - r[i - 1]
                ms = gap * 1000; all[++na] = ms
                if (ms > worst) worst = ms
                if (ms <= normal + round_trip + 50) met++
                if (kind[s] == "down") down[++nd] = ms; else up[++nu] = ms
                list = list sprintf(" %.0f", ms)
            }
            printf "%-22s median gap %5.0f ms (uplink lost %5.0f, better uplink %5.0f), largest %5.0f; within RTT+50 ms: %d/%d; replies %s/%s; spacing %.1f ms, RTT %.2f ms; TCP stream: %s; gaps:%s\n",
                label, median(all, na), median(down, nd), median(up, nu), worst, met, n, got, sent, normal, round_trip, stream, list
            printf "%.1f %.1f %d\n", median(all, na), worst, sent - got > summary
        }' "$times" "$log"
}

# stream_verdict — waits for transfer_paced_start's stream to end; sets STREAM_VERDICT to "survived (N bytes,
# sha256 equal)" or why not.
stream_verdict() {
    local send_rc=0 bytes
    wait "$TRANSFER_STREAM_SEND_PID" || send_rc=$?
    lab_wait_exit "$TRANSFER_STREAM_RECV_PID" 30 || true
    lab_stop_pid "$TRANSFER_STREAM_RECV_PID"
    bytes=$(stat -c %s "$TRANSFER_STREAM_DST" 2>/dev/null || echo 0)
    if ((send_rc != 0)); then
        STREAM_VERDICT="BROKEN (sender exit $send_rc: $(tail -n 1 "$LAB_DIR/send.err" 2>/dev/null))"
    elif transfer_paced_same_bytes; then
        STREAM_VERDICT="survived ($bytes bytes, sha256 equal)"
    else
        STREAM_VERDICT="BROKEN (received $bytes of $(stat -c %s "$TRANSFER_STREAM_SRC") bytes)"
    fi
}

results=()
for c in $BENCH_CASES; do
    case $c in
    a)
        work="$LAB_DIR/ikevpn"
        ikevpn_write_profile "$work" '.mobike = true'
        ikevpn_start "$work" -v
        if ! ikevpn_wait_event connected 20; then
            results+=("(a) ikevpn: did not connect")
            continue
        fi
        results+=("$(measure "(a) ikevpn")")
        ikevpn_ctl status --json >"$LAB_DIR/ikevpn-status.json" 2>&1 || true  # drop counters, for LAB_KEEP=1
        ikevpn_ctl disconnect >/dev/null 2>&1 || true
        ikevpn_wait_exit 15 || ikevpn_stop
        ;;
    b)
        if ! lab_connect_strongswan_client "$LAB_DIR/charon-client" "$PSK" aes256gcm16; then
            results+=("(b) strongSwan client: did not connect")
            continue
        fi
        results+=("$(measure "(b) strongSwan client")")
        lab_swanctl "$LAB_DIR/charon-client" --terminate --ike base >/dev/null 2>&1 || true
        ;;
    esac
done

echo "MOBIKE handover, $BENCH_SWITCHES switches each (10 ms ping stream through the tunnel):"
printf '%s\n' "${results[@]}"
# Against the baseline of the same run: strongSwan's client.
if [[ -s $LAB_DIR/summary-a.txt && -s $LAB_DIR/summary-b.txt ]]; then
    read -r a_median a_worst a_lost <"$LAB_DIR/summary-a.txt"
    read -r b_median b_worst b_lost <"$LAB_DIR/summary-b.txt"
    awk -v am="$a_median" -v aw="$a_worst" -v al="$a_lost" -v bm="$b_median" -v bw="$b_worst" -v bl="$b_lost" 'BEGIN {
        printf "ikevpn / strongSwan client: median gap %.1f / %.1f ms = %.2fx, largest gap %.0f / %.0f ms = %.2fx; echo replies lost %d / %d\n",
            am, bm, am / bm, aw, bw, aw / bw, al, bl }'
fi
