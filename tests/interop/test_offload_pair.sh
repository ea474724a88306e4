#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# The offloaded data path end to end, where both ends are ikevpn: two `ikevpn bench-peer` (static keys,
# see docs/benchmark.md) in the lab's client and gateway namespaces, with TUN offloads, UDP GSO and UDP
# GRO on. 64 MiB each way over TCP through the tunnel must arrive byte-exact (sha256), and each peer's
# counters must show every offload at work: TSO super-packets split, GSO trains sent, GRO trains
# received and decrypted in place, coalesced TUN writes — then the same with offloads off, as the
# control. No charon runs here. Exit 0 pass, 1 fail, 77 skip.
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

MIB=64
INNER_CLIENT=203.0.113.1
INNER_GATEWAY=203.0.113.2
PEER_PIDS=()

lab_require_root_and_tools socat sha256sum jq
ikevpn_require
stop_peers() {
    local pid
    for pid in "${PEER_PIDS[@]}"; do lab_stop_pid "$pid"; done
    PEER_PIDS=()
}
trap 'stop_peers; lab_down' EXIT
trap 'exit 1' INT TERM

hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

# write_peer FILE ME PEER_INNER PEER_OUTER SPI_IN SPI_OUT KEY_IN KEY_OUT OFFLOAD
write_peer() {
    (umask 077 && cat >"$1" <<JSON
{ "tun": { "name": "bench0", "mtu": 1400, "offload": $9 }, "address": "$2/32", "routes": ["$3/32"],
  "local_port": 4500, "peer": "$4:4500", "spi_in": "$5", "spi_out": "$6",
  "esp": "aes128gcm16", "key_in": "$7", "key_out": "$8" }
JSON
    )
}

wait_up() {  # wait_up LOG PID
    local deadline=$((SECONDS + 10))
    while ((SECONDS < deadline)); do
        grep -q "bench-peer up" "$1" 2>/dev/null && return 0
        lab_pid_alive "$2" || return 1
        sleep 0.1
    done
    return 1
}

# One round with offloads on or off: set up the pair, move the file both ways, stop the pair, and leave
# each side's final counters in $dir/{client,gateway}.log.
run_round() {
    local offload=$1 dir="$LAB_DIR/offload-$1" k1 k2 rc
    mkdir -p "$dir"
    k1=$(hex 20)
    k2=$(hex 20)
    write_peer "$dir/client.json" "$INNER_CLIENT" "$INNER_GATEWAY" "$LAB_GATEWAY_IP" 0x2001 0x2002 "$k1" "$k2" "$offload"
    write_peer "$dir/gateway.json" "$INNER_GATEWAY" "$INNER_CLIENT" "$LAB_CLIENT_IP" 0x2002 0x2001 "$k2" "$k1" "$offload"
    ip netns exec "$LAB_NS_CLIENT" "$IKEVPN" bench-peer "$dir/client.json" >"$dir/client.log" 2>&1 </dev/null &
    PEER_PIDS+=("$!")
    ip netns exec "$LAB_NS_GATEWAY" "$IKEVPN" bench-peer "$dir/gateway.json" >"$dir/gateway.log" 2>&1 </dev/null &
    PEER_PIDS+=("$!")
    check_fatal "[offload $offload] both bench-peers up" \
        eval 'wait_up "$dir/client.log" "${PEER_PIDS[0]}" && wait_up "$dir/gateway.log" "${PEER_PIDS[1]}"'
    check "[offload $offload] ping through the pair's tunnel" \
        lab_exec_client ping -c2 -i0.2 -W2 "$INNER_GATEWAY"

    rc=0
    transfer_tcp "$LAB_NS_GATEWAY" "$INNER_GATEWAY" 5001 "$LAB_NS_CLIENT" "$data/original" "$dir/at-gateway" 60 || rc=$?
    check "[offload $offload] $MIB MiB client -> gateway within 60 s" test "$rc" -eq 0
    transfer_report "[offload $offload] client -> gateway" "$bytes"
    check "[offload $offload] client -> gateway: sha256 matches" \
        test "$(transfer_sha256 "$dir/at-gateway" 2>/dev/null)" == "$sum"
    rc=0
    transfer_tcp "$LAB_NS_CLIENT" "$INNER_CLIENT" 5002 "$LAB_NS_GATEWAY" "$data/original" "$dir/at-client" 60 || rc=$?
    check "[offload $offload] $MIB MiB gateway -> client within 60 s" test "$rc" -eq 0
    transfer_report "[offload $offload] gateway -> client" "$bytes"
    check "[offload $offload] gateway -> client: sha256 matches" \
        test "$(transfer_sha256 "$dir/at-client" 2>/dev/null)" == "$sum"
    stop_peers
}

# counters FILE — the data-path JSON of a stopped bench-peer.
counters() { sed -n 's/.*bench-peer stopped: .*; data path //p' "$1" | tail -n 1; }

lab_up
data="$LAB_DIR/data"
mkdir -p "$data"
bytes=$((MIB * 1024 * 1024))
head -c "$bytes" /dev/urandom >"$data/original"
sum=$(transfer_sha256 "$data/original")

run_round true
for side in client gateway; do
    c=$(counters "$LAB_DIR/offload-true/$side.log")
    echo "INFO: $side with offloads: ${c:-none}"
    check "[offload true] $side: TSO super-packets split, GSO and GRO trains, coalesced TUN writes" jq -e \
        '.tun_offload and .udp_gso and .udp_gro and .super_packets_read > 0 and .udp_gso_trains > 0
         and .udp_gro_trains > 0 and .coalesced_writes > 0' <<<"${c:-null}"
done
run_round false
for side in client gateway; do
    c=$(counters "$LAB_DIR/offload-false/$side.log")
    echo "INFO: $side without offloads: ${c:-none}"
    check "[offload false] $side: offloads really off" jq -e '.tun_offload == false' <<<"${c:-null}"
done

if ! checks_summary; then
    tail -n 5 "$LAB_DIR"/offload-*/*.log >&2 || true
    exit 1
fi
