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

# transfer_paced_start CHUNKS SECONDS — a TCP stream from the client to the host (port 5001) slow enough to
# span MOBIKE moves: CHUNKS random 64 KiB chunks, one every 0.4 s (about 1.3 Mbit/s); both ends are killed
# after SECONDS. Returns 2 s into the stream. Sets TRANSFER_STREAM_SRC/_DST (files) and
# TRANSFER_STREAM_RECV_PID/_SEND_PID (background jobs of the calling shell; transfer_paced_check waits).
transfer_paced_start() {
    local chunks=$1 seconds=$2
    TRANSFER_STREAM_SRC="$LAB_DIR/stream.src"
    TRANSFER_STREAM_DST="$LAB_DIR/stream.dst"
    head -c $((chunks * 64 * 1024)) /dev/urandom >"$TRANSFER_STREAM_SRC"
    lab_exec_host timeout --kill-after=5 "$seconds" socat -u "TCP-LISTEN:5001,bind=$LAB_HOST_IP,reuseaddr" \
        "CREATE:$TRANSFER_STREAM_DST" 2>"$LAB_DIR/recv.err" </dev/null &
    TRANSFER_STREAM_RECV_PID=$!
    sleep 0.5
    # shellcheck disable=SC2016  # the loop is for the inner bash, which gets the count and file as $1 $2
    lab_exec_client timeout --kill-after=5 "$seconds" bash -c \
        'for ((i = 0; i < $1; i++)); do dd if="$2" bs=64k skip=$i count=1 status=none; sleep 0.4; done' \
        _ "$chunks" "$TRANSFER_STREAM_SRC" |
        lab_exec_client socat -u STDIN "TCP:$LAB_HOST_IP:5001,connect-timeout=10" 2>"$LAB_DIR/send.err" &
    TRANSFER_STREAM_SEND_PID=$!
    sleep 2
}

# transfer_paced_check RECV_SECONDS — the checks (checks.sh) at the end of transfer_paced_start's stream:
# every byte, in order, over one TCP connection; the receiver may take RECV_SECONDS to see the end.
transfer_paced_check() {
    local recv_seconds=$1 send_rc=0
    wait "$TRANSFER_STREAM_SEND_PID" || send_rc=$?
    check "the sender finished without a reset (exit $send_rc)" test "$send_rc" -eq 0
    check "the receiver got the end of the stream" lab_wait_exit "$TRANSFER_STREAM_RECV_PID" "$recv_seconds"
    check "the stream arrived byte-exact (sha256, $(stat -c %s "$TRANSFER_STREAM_DST" 2>/dev/null || echo 0) bytes)" \
        transfer_paced_same_bytes
}
transfer_paced_same_bytes() {
    [[ -f $TRANSFER_STREAM_DST ]] &&
        [[ $(transfer_sha256 "$TRANSFER_STREAM_SRC") == $(transfer_sha256 "$TRANSFER_STREAM_DST") ]]
}
