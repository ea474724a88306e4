#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# tests/bench/throughput.sh — data-plane throughput, one run, every comparison (issue 4). Run as root.
#
# iperf3, one TCP stream, BENCH_SECONDS (default 10) per direction ("up" = client/initiator → server,
# "down" = the same with -R), through:
#   (a) ikevpn connect  ↔ strongSwan gateway (lab.sh: client ns → host ns behind the gateway)
#   (b) strongSwan's own client (kernel-libipsec charon) ↔ the same gateway
#   (c) an ikevpn pair: two `ikevpn bench-peer` (static keys, no IKE) in two namespaces over one veth
#   (d) the plain path: the same veth, no tunnel
#   (e) a wireguard-go pair over the same veth
#   (f) the ikevpn pair of (c) with TUN offloads off ("tun": {"offload": false}): what TSO/GRO bring
# for AES-128-GCM and ChaCha20-Poly1305 in (a), (b), (c) ("n/a" where ikevpn does not support it).
# For the userspace processes it also reports CPU seconds per GB moved (utime+stime from /proc/PID/stat
# before and after each run, over the bytes iperf3 moved) and peak RSS (VmHWM). For ikevpn it also counts
# heap allocations during each transfer (tests/bench/alloc_count.cpp, LD_PRELOAD; the steady-state target
# is zero per packet) and reports them per GB moved.
#
# A benchmark, not a test: it never asserts a time. Exit 0 when the table was printed, 77 when a tool is
# missing, 1 when the setup itself failed. Only documentation/benchmark address ranges inside namespaces it
# creates; everything it starts is stopped by PID on exit.
#
# Environment: IKEVPN (binary; default: build it release-optimized in BENCH_BUILD_DIR, default
# build-throughput), BENCH_SECONDS, BENCH_CIPHERS (default "aes128gcm16 chacha20poly1305"), BENCH_CASES
# (default "a b c d e f"), BENCH_KEEP=DIR (keep iperf3 JSON and logs there), LAB_KEEP=1 (keep lab logs).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../interop/lab.sh
source "$root/tests/interop/lab.sh"

BENCH_SECONDS="${BENCH_SECONDS:-10}"
BENCH_CIPHERS="${BENCH_CIPHERS:-aes128gcm16 chacha20poly1305}"
BENCH_CASES="${BENCH_CASES:-a b c d e f}"
BENCH_PORT=5201
NS_A="${LAB_PREFIX}-pa"
NS_B="${LAB_PREFIX}-pb"
PAIR_A_IP=198.18.0.1  # RFC 2544 benchmarking range (198.18.0.0/15)
PAIR_B_IP=198.18.0.2
ESP_A_IP=198.18.1.1
ESP_B_IP=198.18.1.2
WG_A_IP=198.18.2.1
WG_B_IP=198.18.2.2
WG_A_IF="wb$$a"  # wireguard-go's UAPI socket is /var/run/wireguard/<name>.sock: names must be unique
WG_B_IF="wb$$b"
CLK_TCK=$(getconf CLK_TCK)

declare -A GBPS=() CPU=() RSS=() NOTE=() WHO=() ALLOCS=() CEILING=() CRYPTO_SGB=() GWPCT=() CLPCT=()
BENCH_PIDS=()
ALLOC_ENV=()
ALLOC_FILES=()  # the allocation counters of the processes the next measure() call looks at

bench_log() { printf 'bench: %s\n' "$*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
    echo "SKIP: needs root (network namespaces, TUN devices)"
    exit 77
fi
lab_require_root_and_tools iperf3 jq swanctl ss "$LAB_CHARON"

# ---------------------------------------------------------------- the binary
if [[ -z ${IKEVPN:-} ]]; then
    build_dir="${BENCH_BUILD_DIR:-$root/build-throughput}"
    if [[ ! -f $build_dir/build.ninja ]]; then
        meson setup "$build_dir" "$root" --buildtype=release >&2
    fi
    ninja -C "$build_dir" client/ikevpn tests/bench/ikevpn_alloc_count.so tests/bench/esp_bench >&2
    IKEVPN="$build_dir/client/ikevpn"
    BENCH_ESP_BENCH="${BENCH_ESP_BENCH:-$build_dir/tests/bench/esp_bench}"
    BENCH_ALLOC_SHIM="${BENCH_ALLOC_SHIM:-$build_dir/tests/bench/ikevpn_alloc_count.so}"
fi
BENCH_ALLOC_SHIM="${BENCH_ALLOC_SHIM:-}"  # with IKEVPN given: the shim's path, or no allocation counts
BENCH_ESP_BENCH="${BENCH_ESP_BENCH:-}"    # with IKEVPN given: esp_bench's path, or no CPU ceiling line
[[ -x $IKEVPN ]] || { echo "SKIP: no ikevpn binary at $IKEVPN"; exit 77; }
# shellcheck source=../interop/ikevpn.sh
source "$root/tests/interop/ikevpn.sh"

# ---------------------------------------------------------------- process helpers
bench_start() {  # bench_start LOG CMD... — background job, PID in BENCH_PID and BENCH_PIDS
    local log=$1
    shift
    "$@" >"$log" 2>&1 </dev/null &
    BENCH_PID=$!
    BENCH_PIDS+=("$BENCH_PID")
}

bench_stop() {  # bench_stop PID... — zombie-aware TERM/KILL (lab_stop_pid)
    local pid
    for pid in "$@"; do lab_stop_pid "$pid"; done
}

bench_cleanup() {
    local pid ns
    ikevpn_stop
    for pid in "${BENCH_PIDS[@]}"; do lab_stop_pid "$pid"; done
    BENCH_PIDS=()
    for ns in "$NS_A" "$NS_B"; do
        [[ -e /run/netns/$ns ]] || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do lab_stop_pid "$pid"; done
        ip netns del "$ns" 2>/dev/null || true
    done
    lab_down
}
trap bench_cleanup EXIT
trap 'exit 1' INT TERM

cpu_ticks() {  # cpu_ticks PID... — summed utime+stime in clock ticks
    local pid stat total=0 f
    for pid in "$@"; do
        stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
        read -r -a f <<<"${stat##*) }"  # f[0] is field 3 (state): utime is field 14, stime 15
        total=$((total + f[11] + f[12]))
    done
    echo "$total"
}

# alloc_env FILE — sets ALLOC_ENV to the environment (NAME=VALUE words) that makes an ikevpn process count
# its heap allocations into FILE (empty when there is no shim) and registers FILE for the next measure().
alloc_env() {
    ALLOC_ENV=()
    [[ -n $BENCH_ALLOC_SHIM && -f $BENCH_ALLOC_SHIM ]] || return 0
    rm -f "$1"
    ALLOC_FILES+=("$1")
    ALLOC_ENV=("LD_PRELOAD=$BENCH_ALLOC_SHIM" "IKEVPN_ALLOC_COUNTER=$1")
}

alloc_total() {  # alloc_total — the summed counters of ALLOC_FILES (8-octet native-endian integers)
    local file n total=0
    for file in "${ALLOC_FILES[@]}"; do
        n=$(od -An -tu8 "$file" 2>/dev/null | tr -d ' ') || n=0
        total=$((total + ${n:-0}))
    done
    echo "$total"
}

peak_rss_kib() {  # peak_rss_kib PID... — the largest VmHWM
    local pid kib max=0
    for pid in "$@"; do
        kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
        ((${kib:-0} > max)) && max=$kib
    done
    echo "$max"
}

wait_listening() {  # wait_listening NS PORT
    local i
    for ((i = 0; i < 50; i++)); do
        ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
        sleep 0.1
    done
    return 1
}

# measure KEY NS SERVER_IP PIDS... — iperf3 up and down; fills GBPS/CPU[KEY,up|down].
measure() {
    local key=$1 ns=$2 server=$3 dir json before after bytes reverse allocs_before allocs_after gw_before
    shift 3
    for dir in up down; do
        reverse=()
        [[ $dir == up ]] || reverse=(-R)
        json="$OUT/iperf-${key//,/-}-$dir.json"
        before=$(cpu_ticks "$@")
        [[ -z ${MEASURE_GW_PID:-} ]] || gw_before=$(cpu_ticks "$MEASURE_GW_PID")
        allocs_before=$(alloc_total)
        if ! timeout $((BENCH_SECONDS + 30)) ip netns exec "$ns" iperf3 -c "$server" -p "$BENCH_PORT" \
            -t "$BENCH_SECONDS" --connect-timeout 5000 -J "${reverse[@]}" >"$json" 2>&1; then
            GBPS[$key,$dir]=fail
            bench_log "$key $dir: iperf3 failed: $(jq -r '.error? // empty' "$json" 2>/dev/null | head -c 200)"
            continue
        fi
        after=$(cpu_ticks "$@")
        allocs_after=$(alloc_total)
        if [[ -n ${MEASURE_GW_PID:-} ]]; then
            # The gateway's charon (its userspace ESP) and the tunnel process as a share of one CPU over the
            # transfer: the side near 100 % is the one that limits (issue 7 asks to show which).
            GWPCT[$key,$dir]=$(awk -v t=$(($(cpu_ticks "$MEASURE_GW_PID") - gw_before)) -v hz="$CLK_TCK" \
                -v s="$BENCH_SECONDS" 'BEGIN { printf "%.0f", t / hz / s * 100 }')
            CLPCT[$key,$dir]=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v s="$BENCH_SECONDS" \
                'BEGIN { printf "%.0f", t / hz / s * 100 }')
        fi
        bytes=$(jq '.end.sum_received.bytes' "$json")
        if ((${#ALLOC_FILES[@]} > 0)) && ((bytes > 0)); then
            ALLOCS[$key,$dir]=$(awk -v n=$((allocs_after - allocs_before)) -v b="$bytes" \
                'BEGIN { printf "%.0f", n / (b / 1e9) }')
        fi
        GBPS[$key,$dir]=$(jq -r '.end.sum_received.bits_per_second / 1e9 | . * 1000 | round / 1000' "$json")
        if (($# > 0)) && ((bytes > 0)); then
            CPU[$key,$dir]=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v b="$bytes" \
                'BEGIN { printf "%.2f", (t / hz) / (b / 1e9) }')
        elif ((bytes > 0)); then
            # No tunnel process: the CPU that both iperf3 processes used (user + system, so the kernel's TCP
            # and veth work done in their context; softirq work elsewhere is not counted, which makes this
            # a lower bound for the plain path's cost).
            CPU[$key,$dir]=$(jq -r '.end | (.cpu_utilization_percent.host_total + .cpu_utilization_percent.remote_total)
                / 100 * .sum_received.seconds / (.sum_received.bytes / 1e9) | . * 100 | round / 100' "$json")
        fi
        bench_log "$key $dir: ${GBPS[$key,$dir]} Gbit/s, $bytes bytes, $(jq '.end.sum_sent.retransmits // 0' \
            "$json") retransmits, CPU ${CPU[$key,$dir]:-n/a} s/GB, heap allocations ${ALLOCS[$key,$dir]:-n/a}/GB"
    done
    (($# == 0)) || RSS[$key]=$(($(peak_rss_kib "$@") / 1024))
    ALLOC_FILES=()
}

# ---------------------------------------------------------------- (a) ikevpn ↔ strongSwan gateway
engine_supports() {  # engine_supports CIPHER — `bench-peer --check` with throwaway keys
    local cipher=$1 bytes=20 cfg
    [[ $cipher == aes128gcm16 ]] || bytes=36
    cfg="$OUT/check-$cipher.json"
    write_peer_config "$cfg" "$cipher" 1 "$(rand_hex "$bytes")" "$(rand_hex "$bytes")" true
    "$IKEVPN" bench-peer --check "$cfg" >"$OUT/check-$cipher.log" 2>&1
}

case_a() {
    local cipher=$1 key=a,$1 dir="$OUT/a-$1"
    WHO[$key]="ikevpn"
    if ! engine_supports "$cipher"; then NOTE[$key]="n/a:engine"; return 0; fi
    ikevpn_write_profile "$dir" ".esp = [\"$cipher\"]"
    ALLOC_FILES=()
    alloc_env "$OUT/allocs-${key//,/-}"
    IKEVPN_START_ENV=("${ALLOC_ENV[@]}")
    ikevpn_start "$dir"
    IKEVPN_START_ENV=()
    BENCH_PIDS+=("$IKEVPN_PID")
    if ! ikevpn_wait_event connected 20; then
        NOTE[$key]="n/a:connect"
        bench_log "(a) $cipher: $(grep -m1 'error' "$dir/stderr.log" || tail -n1 "$dir/stderr.log")"
        ikevpn_stop
        return 0
    fi
    MEASURE_GW_PID=$LAB_GATEWAY_PID measure "$key" "$LAB_NS_CLIENT" "$LAB_HOST_IP" "$IKEVPN_PID"
    ikevpn_ctl disconnect >/dev/null 2>&1 || true
    ikevpn_wait_exit 10 || ikevpn_stop
}

# ---------------------------------------------------------------- (b) strongSwan client ↔ gateway
case_b() {
    local cipher=$1 key=b,$1 dir="$OUT/b-$1"
    WHO[$key]="charon"
    if ! lab_connect_strongswan_client "$dir" "$PSK" "$cipher"; then
        NOTE[$key]="n/a:connect"
        [[ $LAB_CHARON_PID != 0 ]] || { NOTE[$key]="n/a:charon"; return 0; }
    else
        MEASURE_GW_PID=$LAB_GATEWAY_PID measure "$key" "$LAB_NS_CLIENT" "$LAB_HOST_IP" "$LAB_CHARON_PID"
        lab_swanctl "$dir" --terminate --ike base >/dev/null 2>&1 || true
    fi
    bench_stop "$LAB_CHARON_PID"
}

# ---------------------------------------------------------------- the pair namespaces
pair_up() {
    local ns
    for ns in "$NS_A" "$NS_B"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
    done
    ip -n "$NS_A" link add p-b type veth peer name p-a netns "$NS_B"
    ip -n "$NS_A" addr add "$PAIR_A_IP/24" dev p-b
    ip -n "$NS_B" addr add "$PAIR_B_IP/24" dev p-a
    ip -n "$NS_A" link set p-b up
    ip -n "$NS_B" link set p-a up
    bench_start "$OUT/iperf3-server-pair.log" ip netns exec "$NS_B" iperf3 -s -p "$BENCH_PORT"
    wait_listening "$NS_B" "$BENCH_PORT"
}

rand_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

# write_peer_config FILE CIPHER SIDE(1|2) KEY_IN KEY_OUT OFFLOAD(true|false)
write_peer_config() {
    local file=$1 cipher=$2 side=$3 me=$ESP_A_IP peer=$ESP_B_IP peer_outer=$PAIR_B_IP spi_in=0x1001 spi_out=0x1002
    if [[ $side == 2 ]]; then
        me=$ESP_B_IP peer=$ESP_A_IP peer_outer=$PAIR_A_IP spi_in=0x1002 spi_out=0x1001
    fi
    (umask 077 && cat >"$file" <<EOF
{ "tun": { "name": "bench0", "mtu": 1400, "offload": $6 }, "address": "$me/32", "routes": ["$peer/32"],
  "local_port": 4500, "peer": "$peer_outer:4500", "spi_in": "$spi_in", "spi_out": "$spi_out",
  "esp": "$cipher", "key_in": "$4", "key_out": "$5" }
EOF
    )
}

wait_log_line() {  # wait_log_line FILE PATTERN PID SECONDS
    local deadline=$((SECONDS + $4))
    while ((SECONDS < deadline)); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        lab_pid_alive "$3" || return 1
        sleep 0.1
    done
    return 1
}

# ---------------------------------------------------------------- (c) ikevpn pair, (f) without offloads
case_c() {
    local cipher=$1 key=${3:-c},$1 offload=${2:-true} bytes=20 k1 k2 pa pb
    WHO[$key]="2x ikevpn"
    [[ $cipher == aes128gcm16 ]] || bytes=36
    if ! engine_supports "$cipher"; then NOTE[$key]="n/a:engine"; return 0; fi
    k1=$(rand_hex "$bytes")
    k2=$(rand_hex "$bytes")
    write_peer_config "$OUT/peer-a-$cipher.json" "$cipher" 1 "$k1" "$k2" "$offload"
    write_peer_config "$OUT/peer-b-$cipher.json" "$cipher" 2 "$k2" "$k1" "$offload"
    ALLOC_FILES=()
    alloc_env "$OUT/allocs-a-${key//,/-}"
    bench_start "$OUT/peer-a-$cipher.log" ip netns exec "$NS_A" env "${ALLOC_ENV[@]}" "$IKEVPN" bench-peer \
        "$OUT/peer-a-$cipher.json"
    pa=$BENCH_PID
    alloc_env "$OUT/allocs-b-${key//,/-}"
    bench_start "$OUT/peer-b-$cipher.log" ip netns exec "$NS_B" env "${ALLOC_ENV[@]}" "$IKEVPN" bench-peer \
        "$OUT/peer-b-$cipher.json"
    pb=$BENCH_PID
    if wait_log_line "$OUT/peer-a-$cipher.log" "bench-peer up" "$pa" 10 &&
        wait_log_line "$OUT/peer-b-$cipher.log" "bench-peer up" "$pb" 10 &&
        ip netns exec "$NS_A" ping -c1 -W2 "$ESP_B_IP" >/dev/null; then
        measure "$key" "$NS_A" "$ESP_B_IP" "$pa" "$pb"
    else
        NOTE[$key]="n/a:setup"
        tail -n 3 "$OUT/peer-a-$cipher.log" "$OUT/peer-b-$cipher.log" >&2 || true
    fi
    bench_stop "$pa" "$pb"
}

# ---------------------------------------------------------------- (d) plain, (e) wireguard-go
case_d() {
    WHO[d,plain]="2x iperf3"
    measure d,plain "$NS_A" "$PAIR_B_IP"
}

case_e() {
    local key=e,wireguard ka kb wa wb
    WHO[$key]="2x wireguard-go"
    if ! command -v wireguard-go >/dev/null || ! command -v wg >/dev/null; then
        NOTE[$key]="n/a:no-wg"
        return 0
    fi
    ka=$(wg genkey)
    kb=$(wg genkey)
    (umask 077 && echo "$ka" >"$OUT/wg-a.key" && echo "$kb" >"$OUT/wg-b.key")
    # -f keeps it in the foreground, so the PID is wireguard-go's own (ip netns exec and env exec).
    bench_start "$OUT/wg-a.log" ip netns exec "$NS_A" env WG_PROCESS_FOREGROUND=1 wireguard-go -f "$WG_A_IF"
    wa=$BENCH_PID
    bench_start "$OUT/wg-b.log" ip netns exec "$NS_B" env WG_PROCESS_FOREGROUND=1 wireguard-go -f "$WG_B_IF"
    wb=$BENCH_PID
    local i
    for ((i = 0; i < 50; i++)); do
        [[ -S /var/run/wireguard/$WG_A_IF.sock && -S /var/run/wireguard/$WG_B_IF.sock ]] && break
        sleep 0.1
    done
    if ip netns exec "$NS_A" wg set "$WG_A_IF" listen-port 51820 private-key "$OUT/wg-a.key" \
            peer "$(wg pubkey <<<"$kb")" allowed-ips "$WG_B_IP/32" endpoint "$PAIR_B_IP:51820" &&
        ip netns exec "$NS_B" wg set "$WG_B_IF" listen-port 51820 private-key "$OUT/wg-b.key" \
            peer "$(wg pubkey <<<"$ka")" allowed-ips "$WG_A_IP/32" endpoint "$PAIR_A_IP:51820" &&
        ip -n "$NS_A" addr add "$WG_A_IP/24" dev "$WG_A_IF" && ip -n "$NS_A" link set "$WG_A_IF" up &&
        ip -n "$NS_B" addr add "$WG_B_IP/24" dev "$WG_B_IF" && ip -n "$NS_B" link set "$WG_B_IF" up &&
        ip netns exec "$NS_A" ping -c1 -W3 "$WG_B_IP" >/dev/null; then
        measure "$key" "$NS_A" "$WG_B_IP" "$wa" "$wb"
    else
        NOTE[$key]="n/a:setup"
        tail -n 5 "$OUT/wg-a.log" >&2 || true
    fi
    bench_stop "$wa" "$wb"
}

# ---------------------------------------------------------------- the CPU ceiling of a pair on this machine
# A pair must encrypt and decrypt every byte, and iperf3 plus the kernel's TCP must still run: on N CPUs it
# can at best move N / (crypto s/GB + plain-path s/GB) GB/s, even if TUN and UDP I/O cost nothing. The
# crypto cost is esp_bench's one-thread "both" (encrypt + decrypt) rate for the same transform.
crypto_ceiling() {  # crypto_ceiling CIPHER — fills CEILING[CIPHER,dir] and CRYPTO_SGB[CIPHER]
    local cipher=$1 both dir
    [[ -n $BENCH_ESP_BENCH && -x $BENCH_ESP_BENCH ]] || return 0
    both=$("$BENCH_ESP_BENCH" "$cipher" 2 2>/dev/null | awk -v c="$cipher" '$1 == c && $2 == "both" { print $5 }')
    [[ $both =~ ^[0-9.]+$ ]] || return 0
    CRYPTO_SGB[$cipher]=$(awk -v g="$both" 'BEGIN { printf "%.2f", 8 / g }')
    for dir in up down; do
        [[ ${CPU[d,plain,$dir]:-} =~ ^[0-9.]+$ ]] || continue
        CEILING[$cipher,$dir]=$(awk -v n="$(nproc)" -v c="${CRYPTO_SGB[$cipher]}" -v p="${CPU[d,plain,$dir]}" \
            'BEGIN { printf "%.2f", n / (c + p) * 8 }')
    done
}

# ---------------------------------------------------------------- the report
cell() { echo "${GBPS[$1,$2]:-${NOTE[$1]:-n/a}}"; }

ratio() {  # ratio KEY1 KEY2 DIR
    local x=${GBPS[$1,$3]:-} y=${GBPS[$2,$3]:-}
    if [[ $x =~ ^[0-9.]+$ && $y =~ ^[0-9.]+$ ]] && awk -v y="$y" 'BEGIN { exit !(y > 0) }'; then
        awk -v x="$x" -v y="$y" 'BEGIN { printf "%.3f", x / y }'
    else
        echo "n/a"
    fi
}

report() {
    local label key row cipher
    local -A labels=([a]="(a) ikevpn client <-> strongSwan gw" [b]="(b) strongSwan client <-> strongSwan gw"
        [c]="(c) ikevpn pair (bench-peer)" [d]="(d) plain veth, no tunnel" [e]="(e) wireguard-go pair"
        [f]="(f) ikevpn pair, TUN offloads off")
    echo
    echo "ikevpn throughput: iperf3 -t $BENCH_SECONDS, 1 TCP stream; up = client->server, down = -R"
    echo "$(uname -r), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ), ikevpn $("$IKEVPN" --version 2>/dev/null | awk '{print $2}')"
    printf '%-40s %-17s %10s %10s  %-16s %9s %9s %8s %10s %10s\n' case cipher "up Gb/s" "down Gb/s" "CPU of" \
        "s/GB up" "s/GB dn" "RSS MiB" "allocs/GB" "allocs/GB"
    for row in "${ROWS[@]}"; do
        key=$row
        label=${labels[${key%%,*}]}
        cipher=${key#*,}
        case $cipher in plain) cipher="-" ;; wireguard) cipher="chacha20poly1305" ;; esac
        printf '%-40s %-17s %10s %10s  %-16s %9s %9s %8s %10s %10s\n' "$label" "$cipher" "$(cell "$key" up)" \
            "$(cell "$key" down)" "${WHO[$key]:--}" "${CPU[$key,up]:--}" "${CPU[$key,down]:--}" "${RSS[$key]:--}" \
            "${ALLOCS[$key,up]:--}" "${ALLOCS[$key,down]:--}"
    done
    echo
    echo "ratios (up / down)"
    local c
    for c in $BENCH_CIPHERS; do
        printf '%-44s %-17s %s / %s\n' "(c)/(d) ikevpn pair vs plain" "$c" "$(ratio "c,$c" d,plain up)" \
            "$(ratio "c,$c" d,plain down)"
        printf '%-44s %-17s %s / %s\n' "(c)/(b) ikevpn pair vs strongSwan" "$c" "$(ratio "c,$c" "b,$c" up)" \
            "$(ratio "c,$c" "b,$c" down)"
        printf '%-44s %-17s %s / %s\n' "(c)/(e) ikevpn pair vs wireguard-go" "$c" "$(ratio "c,$c" e,wireguard up)" \
            "$(ratio "c,$c" e,wireguard down)"
        printf '%-44s %-17s %s / %s\n' "(c)/(f) TUN offloads on vs off" "$c" "$(ratio "c,$c" "f,$c" up)" \
            "$(ratio "c,$c" "f,$c" down)"
        printf '%-44s %-17s %s / %s\n' "(a)/(b) ikevpn client vs strongSwan client" "$c" \
            "$(ratio "a,$c" "b,$c" up)" "$(ratio "a,$c" "b,$c" down)"
    done
    if [[ -n ${!GWPCT[*]} ]]; then
        echo
        echo "who limits (a) and (b): CPU of the client's tunnel process / the gateway's charon, % of one CPU (up, down)"
        for row in "${ROWS[@]}"; do
            [[ -n ${GWPCT[$row,up]:-}${GWPCT[$row,down]:-} ]] || continue
            printf '%-44s %-17s client %s / %s %%   gateway %s / %s %%\n' "${labels[${row%%,*}]}" "${row#*,}" \
                "${CLPCT[$row,up]:--}" "${CLPCT[$row,down]:--}" "${GWPCT[$row,up]:--}" "${GWPCT[$row,down]:--}"
        done
    fi
    if [[ -n ${!CEILING[*]} ]]; then
        echo
        echo "CPU ceiling of a pair on $(nproc) CPUs with zero-cost TUN/UDP I/O: nproc / (crypto s/GB + plain-path s/GB)"
        for c in $BENCH_CIPHERS; do
            [[ -n ${CEILING[$c,up]:-} ]] || continue
            printf '%-44s %-17s %s / %s Gb/s = %s / %s x plain (crypto %s s/GB, esp_bench one thread)\n' \
                "(g) ceiling for (c) on this machine" "$c" "${CEILING[$c,up]}" "${CEILING[$c,down]:-n/a}" \
                "$(awk -v x="${CEILING[$c,up]}" -v y="${GBPS[d,plain,up]:-0}" 'BEGIN { if (y > 0) printf "%.3f", x / y; else print "n/a" }')" \
                "$(awk -v x="${CEILING[$c,down]:-0}" -v y="${GBPS[d,plain,down]:-0}" 'BEGIN { if (y > 0) printf "%.3f", x / y; else print "n/a" }')" \
                "${CRYPTO_SGB[$c]}"
        done
    fi
    echo "CPU s/GB: utime+stime of the named processes (summed for pairs) per 10^9 bytes received by iperf3;"
    echo "for (d) the two iperf3 processes' own CPU from iperf3's report (softirq work elsewhere not counted);"
    echo "allocs/GB: heap allocations (malloc & co., LD_PRELOAD counter) by the ikevpn processes during the transfer,"
    echo "per 10^9 bytes (up / down); steady state should be 0 (a full-size packet is ~1400 bytes: 714k packets/GB)."
    echo "RSS: peak VmHWM of the largest of them. n/a:engine = this build's ESP engine lacks the transform (bench-peer --check)."
}

# ---------------------------------------------------------------- main
if [[ -n ${BENCH_KEEP:-} ]]; then
    OUT=$BENCH_KEEP
    mkdir -p "$OUT"
else
    OUT=$(mktemp -d "${TMPDIR:-/tmp}/ikevpn-bench.XXXXXX")
    trap 'bench_cleanup; rm -rf -- "$OUT"' EXIT
fi
PSK="bench-$(rand_hex 12)"
LAB_PSK=$PSK
ROWS=()
bench_log "ikevpn $IKEVPN, ${BENCH_SECONDS}s per direction, cases: $BENCH_CASES, ciphers: $BENCH_CIPHERS"

if [[ $BENCH_CASES == *a* || $BENCH_CASES == *b* ]]; then
    lab_up
    lab_start_gateway --psk "$PSK" \
        --esp "aes256gcm16-aes128gcm16-chacha20poly1305, aes256gcm16-aes128gcm16-chacha20poly1305-x25519-ecp256, default"
    bench_start "$OUT/iperf3-server-host.log" ip netns exec "$LAB_NS_HOST" iperf3 -s -p "$BENCH_PORT"
    wait_listening "$LAB_NS_HOST" "$BENCH_PORT"
fi
for cipher in $BENCH_CIPHERS; do
    for letter in a b; do
        [[ $BENCH_CASES == *$letter* ]] || continue
        ROWS+=("$letter,$cipher")
        "case_$letter" "$cipher" || NOTE[$letter,$cipher]="n/a:error"
    done
done
if [[ $BENCH_CASES =~ [cdef] ]]; then
    pair_up
    for cipher in $BENCH_CIPHERS; do
        if [[ $BENCH_CASES == *c* ]]; then ROWS+=("c,$cipher"); case_c "$cipher" true c || NOTE[c,$cipher]="n/a:error"; fi
        if [[ $BENCH_CASES == *f* ]]; then ROWS+=("f,$cipher"); case_c "$cipher" false f || NOTE[f,$cipher]="n/a:error"; fi
    done
    if [[ $BENCH_CASES == *d* ]]; then ROWS+=("d,plain"); case_d || NOTE[d,plain]="n/a:error"; fi
    if [[ $BENCH_CASES == *e* ]]; then ROWS+=("e,wireguard"); case_e || NOTE[e,wireguard]="n/a:error"; fi
fi
if [[ $BENCH_CASES == *d* ]]; then
    for cipher in $BENCH_CIPHERS; do crypto_ceiling "$cipher"; done
fi
report | tee "$OUT/table.txt"
[[ -z ${BENCH_KEEP:-} ]] || bench_log "iperf3 JSON, logs and table kept in $OUT"
