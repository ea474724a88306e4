# shellcheck shell=bash
# tests/interop/transfer.sh — move a file over TCP between two lab namespaces with socat, bounded in time.
# Source after lab.sh. socat (Debian package socat, in packaging/install-deps.sh) is the whole tool:
# `socat -u` copies one way and exits at EOF, so a byte-exact copy plus sha256sum proves the data path.
#
#   transfer_tcp "$LAB_NS_CLIENT" 203.0.113.1 5001 "$LAB_NS_HOST" SRC DST 120
#   echo "$TRANSFER_MS ms"

TRANSFER_MS=0
TRANSFER_ERROR=""

# transfer_wait_listen NS PORT SECONDS — true once something in namespace NS listens on TCP PORT.
transfer_wait_listen() {
    local ns=$1 port=$2 deadline=$((SECONDS + $3))
    while ((SECONDS < deadline)); do
        [[ -z $(ip netns exec "$ns" ss -Hltn "sport = :$port" 2>/dev/null) ]] || return 0
        sleep 0.05
    done
    return 1
}

# transfer_tcp RECV_NS RECV_IP PORT SEND_NS SRC DST SECONDS — receive into DST in namespace RECV_NS
# (listening on RECV_IP:PORT), send SRC from namespace SEND_NS. Both ends are killed after SECONDS, so
# a stalled tunnel fails instead of hanging. Sets TRANSFER_MS (sender start → receiver done) and, on
# failure, TRANSFER_ERROR. The caller compares checksums: an exit status of 0 does not prove the bytes.
transfer_tcp() {
    local recv_ns=$1 ip=$2 port=$3 send_ns=$4 src=$5 dst=$6 limit=$7
    local recv_pid start end send_rc=0 recv_rc=0
    TRANSFER_MS=0
    TRANSFER_ERROR=""
    rm -f -- "$dst"
    # ip netns exec and timeout exec/fork directly: $! is the receiver's timeout, which lab_stop_pid can end.
    ip netns exec "$recv_ns" timeout --kill-after=5 "$limit" \
        socat -u "TCP-LISTEN:$port,bind=$ip,reuseaddr" "CREATE:$dst" 2>"$dst.recv.err" </dev/null &
    recv_pid=$!
    if ! transfer_wait_listen "$recv_ns" "$port" 5; then
        TRANSFER_ERROR="receiver did not listen on $ip:$port within 5 s: $(tail -n 3 "$dst.recv.err")"
        lab_stop_pid "$recv_pid"
        return 1
    fi
    start=$(date +%s%N)
    ip netns exec "$send_ns" timeout --kill-after=5 "$limit" \
        socat -u "OPEN:$src,rdonly" "TCP:$ip:$port,connect-timeout=10" 2>"$dst.send.err" </dev/null ||
        send_rc=$?
    # The receiver ends at the sender's FIN; give it a few seconds more than the sender had left.
    if ! lab_wait_exit "$recv_pid" 10; then
        lab_stop_pid "$recv_pid"
        recv_rc=124
    else
        wait "$recv_pid" || recv_rc=$?
    fi
    end=$(date +%s%N)
    TRANSFER_MS=$(((end - start) / 1000000))
    if ((send_rc != 0 || recv_rc != 0)); then
        TRANSFER_ERROR="sender exit $send_rc, receiver exit $recv_rc (124: killed after ${limit} s)"
        TRANSFER_ERROR+=" $(tail -q -n 2 "$dst.send.err" "$dst.recv.err" 2>/dev/null | tr '\n' ' ')"
        return 1
    fi
    return 0
}

# transfer_report LABEL BYTES — an INFO line with the time and throughput of the last transfer_tcp.
transfer_report() {
    local label=$1 bytes=$2 ms=$TRANSFER_MS
    ((ms > 0)) || ms=1
    if [[ -n $TRANSFER_ERROR ]]; then
        echo "INFO: $label: failed after $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s"
        return 0
    fi
    # Mbit/s = bytes * 8 / (ms * 1000), printed with one decimal.
    local tenths=$((bytes * 8 / ms / 100))
    echo "INFO: $label: $bytes bytes in $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s = $((tenths / 10)).$((tenths % 10)) Mbit/s"
}

# transfer_sha256 FILE — the hex digest only.
transfer_sha256() { sha256sum -- "$1" | cut -d' ' -f1; }
