#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# 200 MiB of random data over TCP through the tunnel, host → client and then the received copy back
# client → host: both copies must be byte-identical (sha256). Time and throughput are printed as INFO,
# never asserted; each direction is killed after TRANSFER_LIMIT seconds so a stall fails instead of
# hanging. Exit 0 pass, 1 fail, 77 skip. TRANSFER_MIB changes the size (default 200).
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

TRANSFER_MIB="${TRANSFER_MIB:-200}"
TRANSFER_LIMIT="${TRANSFER_LIMIT:-120}"
lab_require_root_and_tools swanctl ping jq socat ss sha256sum "$LAB_CHARON"
ikevpn_require

ikevpn_test_traps

lab_up
lab_start_gateway
work="$LAB_DIR/ikevpn"
ikevpn_write_profile "$work"
data="$LAB_DIR/data"
mkdir -p "$data"

bytes=$((TRANSFER_MIB * 1024 * 1024))
head -c "$bytes" /dev/urandom >"$data/original"
sum_original=$(transfer_sha256 "$data/original")

ikevpn_start "$work"
check_fatal "ikevpn reports \"connected\" within 20 s" ikevpn_wait_event connected 20
vip=$(jq -r '.virtual_ip // empty' <<<"$(ikevpn_event connected)")
check_fatal "got a virtual IP (${vip:-none})" test -n "$vip"
check_fatal "ping 198.51.100.2 through the tunnel" lab_exec_client ping -c2 -i0.2 -W2 "$LAB_HOST_IP"

# Host → client: the client listens on its virtual IP, reachable from the host only through the tunnel.
# transfer_tcp runs outside `check`, whose subshell would lose TRANSFER_MS and TRANSFER_ERROR.
rc=0
transfer_tcp "$LAB_NS_CLIENT" "$vip" 5001 "$LAB_NS_HOST" "$data/original" "$data/at-client" "$TRANSFER_LIMIT" ||
    rc=$?
check "host → client: $TRANSFER_MIB MiB sent and received within $TRANSFER_LIMIT s" test "$rc" -eq 0
[[ -z $TRANSFER_ERROR ]] || echo "      $TRANSFER_ERROR"
transfer_report "host → client" "$bytes"
check "host → client: sha256 matches" test "$(transfer_sha256 "$data/at-client" 2>/dev/null)" == "$sum_original"

# Client → host: the copy the client received goes back.
rc=0
transfer_tcp "$LAB_NS_HOST" "$LAB_HOST_IP" 5002 "$LAB_NS_CLIENT" "$data/at-client" "$data/at-host" \
    "$TRANSFER_LIMIT" || rc=$?
check "client → host: $TRANSFER_MIB MiB sent and received within $TRANSFER_LIMIT s" test "$rc" -eq 0
[[ -z $TRANSFER_ERROR ]] || echo "      $TRANSFER_ERROR"
transfer_report "client → host" "$bytes"
check "client → host: sha256 matches" test "$(transfer_sha256 "$data/at-host" 2>/dev/null)" == "$sum_original"
rm -f -- "$data/original" "$data/at-client" "$data/at-host"

status_json=$(ikevpn_ctl status --json 2>/dev/null || true)
echo "INFO: child SA after the transfers: $(jq -c '.child_sas[0]' <<<"$status_json" 2>/dev/null || echo none)"
# Both directions carried the payload plus headers: at least the file size each way.
# shellcheck disable=SC2016  # $b is a jq variable
check "status --json: bytes_in and bytes_out >= $TRANSFER_MIB MiB" \
    jq -e --argjson b "$bytes" '(.child_sas[0].bytes_in >= $b) and (.child_sas[0].bytes_out >= $b)' <<<"$status_json"
check "still connected after the transfers" jq -e '.state == "connected"' <<<"$status_json"
# TUN offloads (the default): the sender's kernel handed over TSO super-packets that were split, and
# decrypted segments went back to the kernel coalesced.
echo "INFO: data path: $(jq -c '.data_path' <<<"$status_json" 2>/dev/null || echo none)"
check "status --json: TUN offloads on, TSO reads split and coalesced writes made" jq -e \
    '.data_path.tun_offload and .data_path.super_packets_read > 0 and .data_path.coalesced_writes > 0' \
    <<<"$status_json"

check "ikevpn disconnect exits 0" ikevpn_ctl disconnect
if ikevpn_wait_exit 15; then
    check "connect process exits with status 0 after disconnect (got $IKEVPN_STATUS)" test "$IKEVPN_STATUS" -eq 0
else
    check "connect process exits within 15 s of disconnect" false
    ikevpn_stop
fi

if ! checks_summary; then
    checks_on_fatal
    exit 1
fi
