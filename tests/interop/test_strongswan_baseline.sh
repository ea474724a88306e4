#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# Proves the lab and its strongSwan gateway without ikevpn: strongSwan's own charon (kernel-libipsec,
# private mounts) in the client namespace connects with PSK, asks for a virtual IP, and pings the host
# through the tunnel. Also the baseline for benchmarks. Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"
# shellcheck source=checks.sh
source "$here/checks.sh"

lab_require_root_and_tools swanctl ping "$LAB_CHARON"
trap 'lab_down' EXIT
trap 'exit 1' INT TERM

psk="baseline-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
lab_up
lab_start_gateway --psk "$psk"
check "gateway charon is running with the lab connection loaded" \
    bash -c "SWANCTL_DIR='$LAB_GATEWAY_DIR/swanctl' swanctl --list-conns --uri 'unix://$LAB_GATEWAY_DIR/run/charon.vici' | grep -q '^lab:'"

check "client has no plain route to the host (ping fails before the tunnel)" \
    not lab_exec_client ping -c1 -W1 "$LAB_HOST_IP"

# The gateway's forward filter must drop plain packets from the client link, even with a route.
lab_exec_client ip route add "$LAB_HOST_IP/32" via "$LAB_GATEWAY_IP"
check "gateway drops plain (unencrypted) packets from the client link" \
    not lab_exec_client ping -c1 -W1 "$LAB_HOST_IP"
check "the drop came from the gateway's nftables forward rule" \
    bash -c "ip netns exec '$LAB_NS_GATEWAY' nft list chain inet lab forward | grep -q 'counter packets [1-9]'"
lab_exec_client ip route del "$LAB_HOST_IP/32" via "$LAB_GATEWAY_IP"

client_dir="$LAB_DIR/client"
if ! lab_connect_strongswan_client "$client_dir" "$psk" aes256gcm16; then
    cat "$client_dir/initiate.out" >&2 || true
fi
check "strongSwan client established IKE and CHILD SA" grep -q "CHILD_SA base{.*} established" "$client_dir/initiate.out"
echo "INFO: connect took $LAB_CLIENT_CONNECT_MS ms (warm daemon)"

vip=$(lab_exec_client ip -4 -o addr show | awk '$4 ~ /^203\.0\.113\./ {sub(/\/.*/, "", $4); print $4; exit}')
check "client got a virtual IP from 203.0.113.0/24 (${vip:-none})" test -n "$vip"
check "gateway lists one IKE SA" test "$(lab_gateway_sa_count)" -eq 1
check "ping to the host through the tunnel (3 packets)" lab_exec_client ping -c3 -i0.2 -W2 "$LAB_HOST_IP"
child_bytes=$(lab_gateway_sas --raw | grep -o 'bytes-in=[0-9]*' | head -n1 | cut -d= -f2 || true)
check "gateway counted ESP bytes in on the CHILD SA (${child_bytes:-0})" test "${child_bytes:-0}" -gt 0

lab_swanctl "$client_dir" --terminate --ike base >/dev/null 2>&1 || true
for _ in $(seq 50); do
    [[ $(lab_gateway_sa_count) -eq 0 ]] && break
    sleep 0.1
done
check "gateway has no SA after the client terminated" test "$(lab_gateway_sa_count)" -eq 0

if ! checks_summary; then
    lab_gateway_log_tail
    lab_charon_log_tail "$client_dir"
    exit 1
fi
