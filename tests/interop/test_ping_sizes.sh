#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# Packet sizes through the tunnel (TUN MTU 1400, so the largest unfragmented ICMP payload is
# 1400 - 20 (IPv4) - 8 (ICMP) = 1372): DF pings up to that size pass; larger pings pass without DF
# (the inner packet is fragmented before encryption) and fail at once with DF ("message too long",
# never a hang); a TCP transfer both ways afterwards, with the MSS the TUN MTU implies, is byte-exact.
# Exit 0 pass, 1 fail, 77 skip.
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

TUN_MTU=1400
FITTING_SIZES=(64 500 1000 1300 $((TUN_MTU - 28)))
OVERSIZED=($((TUN_MTU - 27)) 2000 4000)
TCP_MIB=5

lab_require_root_and_tools swanctl ping jq socat ss sha256sum "$LAB_CHARON"
ikevpn_require

ikevpn_test_traps

# ping_df_refused SIZE — a DF ping larger than the TUN MTU must fail locally and quickly, naming the cause.
ping_df_refused() {
    local out rc=0
    out=$(timeout 10 ip netns exec "$LAB_NS_CLIENT" ping -M "do" -s "$1" -c1 -W2 "$LAB_HOST_IP" 2>&1) || rc=$?
    printf '%s\n' "$out"
    if ((rc == 124)); then
        echo "ping hung (killed after 10 s)"
        return 1
    fi
    ((rc != 0)) || { echo "ping succeeded (exit 0), but a ${1}-byte payload cannot pass DF at MTU $TUN_MTU"; return 1; }
    grep -qi 'message too long' <<<"$out"
}

lab_up
lab_start_gateway
work="$LAB_DIR/ikevpn"
ikevpn_write_profile "$work" ".tun.mtu = $TUN_MTU"
start=$SECONDS

ikevpn_start "$work"
check_fatal "ikevpn reports \"connected\" within 20 s" ikevpn_wait_event connected 20
vip=$(jq -r '.virtual_ip // empty' <<<"$(ikevpn_event connected)")
check_fatal "got a virtual IP (${vip:-none})" test -n "$vip"
mtu=$(lab_exec_client cat /sys/class/net/ikevpn0/mtu 2>/dev/null || echo none)
check "TUN device ikevpn0 has MTU $TUN_MTU (has $mtu)" test "$mtu" == "$TUN_MTU"

for size in "${FITTING_SIZES[@]}"; do
    check "ping -M do -s $size (DF, fits the MTU) through the tunnel" \
        lab_exec_client ping -M "do" -s "$size" -c2 -i0.2 -W2 "$LAB_HOST_IP"
done
for size in "${OVERSIZED[@]}"; do
    check "ping -M dont -s $size (no DF, inner packet fragmented) through the tunnel" \
        lab_exec_client ping -M dont -s "$size" -c2 -i0.2 -W2 "$LAB_HOST_IP"
done
for size in "${OVERSIZED[@]}"; do
    check "ping -M do -s $size (DF, too big) fails locally with \"message too long\"" ping_df_refused "$size"
done
# The other way: the gateway fragments the host's big echo requests, the client's kernel reassembles them.
check "host pings the virtual IP with -s ${FITTING_SIZES[-1]} (DF)" \
    lab_exec_host ping -M "do" -s "${FITTING_SIZES[-1]}" -c2 -i0.2 -W2 "$vip"
check "host pings the virtual IP with -s 4000 (no DF)" \
    lab_exec_host ping -M dont -s 4000 -c2 -i0.2 -W2 "$vip"

# TCP after all that: each side's SYN carries an MSS from its own MTU (the client's is 1400 - 40); the
# transfer only works byte-exact if every segment fits the tunnel or PMTU discovery fixes it.
data="$LAB_DIR/data"
mkdir -p "$data"
bytes=$((TCP_MIB * 1024 * 1024))
head -c "$bytes" /dev/urandom >"$data/original"
sum_original=$(transfer_sha256 "$data/original")
rc=0
transfer_tcp "$LAB_NS_CLIENT" "$vip" 5001 "$LAB_NS_HOST" "$data/original" "$data/at-client" 30 || rc=$?
check "TCP host → client: $TCP_MIB MiB within 30 s" test "$rc" -eq 0
[[ -z $TRANSFER_ERROR ]] || echo "      $TRANSFER_ERROR"
transfer_report "TCP host → client" "$bytes"
check "TCP host → client: sha256 matches" test "$(transfer_sha256 "$data/at-client" 2>/dev/null)" == "$sum_original"
rc=0
transfer_tcp "$LAB_NS_HOST" "$LAB_HOST_IP" 5002 "$LAB_NS_CLIENT" "$data/original" "$data/at-host" 30 || rc=$?
check "TCP client → host: $TCP_MIB MiB within 30 s" test "$rc" -eq 0
[[ -z $TRANSFER_ERROR ]] || echo "      $TRANSFER_ERROR"
transfer_report "TCP client → host" "$bytes"
check "TCP client → host: sha256 matches" test "$(transfer_sha256 "$data/at-host" 2>/dev/null)" == "$sum_original"

status_json=$(ikevpn_ctl status --json 2>/dev/null || true)
echo "INFO: child SA: $(jq -c '.child_sas[0] | {packets_in, packets_out, drops}' <<<"$status_json" 2>/dev/null || echo none)"
check "status --json: no ESP packet dropped for a bad ICV, padding or malformation" jq -e \
    '.child_sas[0].drops | (type == "object") and ((.icv // 0) + (.bad_padding // 0) + (.malformed // 0)) == 0' \
    <<<"$status_json"

check "ikevpn disconnect exits 0" ikevpn_ctl disconnect
if ikevpn_wait_exit 15; then
    check "connect process exits with status 0 after disconnect (got $IKEVPN_STATUS)" test "$IKEVPN_STATUS" -eq 0
else
    check "connect process exits within 15 s of disconnect" false
    ikevpn_stop
fi
echo "INFO: ran in $((SECONDS - start)) s after the lab came up"

if ! checks_summary; then
    checks_on_fatal
    exit 1
fi
