#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# "tun": {"mtu": "auto"} (the default): the TUN MTU is the uplink's path MTU minus the exact ESP-in-UDP
# overhead of the negotiated transform, so the largest packet the TUN accepts fills the uplink exactly.
# The client's uplink gets MTU 1400 here, and for each transform:
#   expected TUN MTU = largest L with 28 + 8 + IV + pad4/16(L + 2) + ICV <= 1400 (RFC 4303 §2.4, RFC 3948)
#   AES-GCM-16: IV 8, ICV 16, 4-octet alignment  -> 1338
#   AES-CBC + HMAC-SHA2-256-128: IV 16, ICV 16, 16-octet blocks -> 1326 (its ESP datagram is 1396 octets:
#   one octet more would need a whole further block, 1412)
# A DF ping that fills the TUN MTU must pass, and its ESP datagram must have exactly the length above on
# the wire (nftables counter in the gateway namespace) — proof the overhead is exact, not a safe guess; one
# more octet fails locally with "message too long". Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"
# shellcheck source=checks.sh
source "$here/checks.sh"
# shellcheck source=ikevpn.sh
source "$here/ikevpn.sh"

UPLINK_MTU=1400
declare -A EXPECTED_TUN_MTU=([aes256gcm16]=1338 [aes128-sha256]=1326)
declare -A EXPECTED_WIRE_LENGTH=([aes256gcm16]=1400 [aes128-sha256]=1396)

lab_require_root_and_tools swanctl ping jq nft "$LAB_CHARON"
ikevpn_require
ikevpn_test_traps

# probe_wire_length LENGTH — (re)creates a counter of ESP-in-UDP datagrams from the client whose IPv4 total
# length is exactly LENGTH.
probe_wire_length() {
    lab_exec_gateway nft delete table inet mtu_probe 2>/dev/null || true
    lab_exec_gateway nft -f - <<EOF
table inet mtu_probe {
    counter full { }
    chain input {
        type filter hook input priority 0; policy accept;
        ip saddr $LAB_CLIENT_IP udp dport 4500 ip length $1 counter name full
    }
}
EOF
}

count_full_sized() {
    lab_exec_gateway nft -j list counter inet mtu_probe full 2>/dev/null |
        jq -r '[.nftables[] | .counter? | select(.) | .packets] | first // 0'
}

run_variant() {
    local v=$1 want=${EXPECTED_TUN_MTU[$1]} work="$LAB_DIR/ikevpn-$1"
    # replay_window rides along: the profile's value (rounded up to a multiple of 64) must reach the SA.
    ikevpn_write_profile "$work" ".esp = [\"$v\"] | .tun.mtu = \"auto\" | .replay_window = 4000"
    ikevpn_start "$work"
    if ! ikevpn_wait_event connected 20; then
        check "[$v] ikevpn reports \"connected\" within 20 s" false
        ikevpn_stop
        return
    fi
    local mtu
    mtu=$(lab_exec_client cat /sys/class/net/ikevpn0/mtu 2>/dev/null || echo none)
    check "[$v] TUN MTU is $want (uplink $UPLINK_MTU minus the exact overhead; has $mtu)" test "$mtu" == "$want"
    check "[$v] connect names the derived MTU" grep -q "TUN MTU $want: path MTU $UPLINK_MTU" "$work/stderr.log"

    local wire=${EXPECTED_WIRE_LENGTH[$v]}
    probe_wire_length "$wire"
    check "[$v] ping -M do -s $((want - 28)) (fills the TUN MTU) through the tunnel" \
        lab_exec_client ping -M "do" -s "$((want - 28))" -c2 -i0.2 -W2 "$LAB_HOST_IP"
    local full
    full=$(count_full_sized)
    check "[$v] its ESP datagrams were exactly $wire octets on the uplink ($full seen)" test "$full" -ge 2
    local out rc=0
    out=$(timeout 10 ip netns exec "$LAB_NS_CLIENT" ping -M "do" -s "$((want - 27))" -c1 -W2 "$LAB_HOST_IP" 2>&1) || rc=$?
    check "[$v] one octet more with DF fails locally with \"message too long\"" \
        grep -qi 'message too long' <<<"$out"
    check "[$v] status --json: no ESP packet dropped for a bad ICV or padding" jq -e \
        '.child_sas[0].drops | ((.icv // 0) + (.bad_padding // 0)) == 0' <<<"$(ikevpn_ctl status --json 2>/dev/null)"

    check "[$v] status --json: the inbound SA has the profile's replay window (4000 -> 4032)" jq -e \
        '.child_sas[0].replay_window == 4032' <<<"$(ikevpn_ctl status --json 2>/dev/null)"
    check "[$v] ikevpn disconnect exits 0" ikevpn_ctl disconnect
    ikevpn_wait_exit 15 || { check "[$v] connect exits within 15 s of disconnect" false; ikevpn_stop; }
}

lab_up
lab_exec_client ip link set dev "$LAB_CLIENT_IF" mtu "$UPLINK_MTU"
lab_exec_gateway ip link set dev "$LAB_GATEWAY_CLIENT_IF" mtu "$UPLINK_MTU"
lab_start_gateway --esp "aes256gcm16, aes128-sha256, default"

for v in "${!EXPECTED_TUN_MTU[@]}"; do
    run_variant "$v"
done

if ! checks_summary; then
    lab_gateway_log_tail
    exit 1
fi
