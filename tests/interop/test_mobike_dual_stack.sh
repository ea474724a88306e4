#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# MOBIKE across address families (issue 5: "resolve all gateway addresses so a v6→v4-only move works";
# RFC 4555 §3.5 lets the initiator change the family). The gateway has 192.0.2.1 and 2001:db8:1::1; the
# profile names it gw-dual.example.com, which resolves to both through the client namespace's own
# /etc/hosts (/etc/netns/NS/hosts, bind-mounted by `ip netns exec`; the machine's /etc/hosts is untouched).
# The client's wifi link carries only IPv6 (its IPv4 address removed), the cellular link only IPv4 and
# starts without an address. So the first choice (IPv4) has no route and ikevpn connects over IPv6. The
# cellular address comes without a prefix route (noprefixroute, default route onlink): the gateway's
# cellular-side address, which it announces in ADDITIONAL_IP4_ADDRESS, is then no shorter way than the
# name's 192.0.2.1, and the move must take the resolved address. One paced TCP
# transfer runs through the tunnel the whole time and must arrive byte-exact (sha256) while
#   1. wifi (IPv6) goes down and cellular (IPv4) comes up → the SAs move to 192.0.2.1 (IPv4),
#   2. wifi comes back and cellular goes down → back to 2001:db8:1::1 (IPv6),
# with the same IKE SA at the gateway throughout and no reconnect. Exit 0 pass, 1 fail, 77 skip.
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
# shellcheck source=netns_resolv.sh
source "$here/netns_resolv.sh"

lab_require_root_and_tools swanctl jq socat sha256sum getent "$LAB_CHARON"
ikevpn_require
trap 'ikevpn_stop; netns_resolv_cleanup; lab_down' EXIT
trap 'exit 1' INT TERM

name=gw-dual.example.com
LAB_IPV6=1
LAB_UPLINKS=2
lab_up
netns_resolv_write_hosts "$name" "$LAB_GATEWAY_IP" "$LAB_GATEWAY_IP6"
both_families() {
    local out
    out=$(lab_exec_client getent ahosts "$name" | awk '{print $1}' | sort -u | tr '\n' ' ')
    echo "INFO: $name resolves to: $out"
    [[ $out == *"$LAB_GATEWAY_IP "* && $out == *"$LAB_GATEWAY_IP6 "* ]]
}
check_fatal "$name resolves to $LAB_GATEWAY_IP and $LAB_GATEWAY_IP6 in the client namespace" both_families

# wifi: IPv6 only (kept across link down/up); cellular: IPv4 only, without an address for now.
lab_exec_client sysctl -qw "net.ipv6.conf.$LAB_CLIENT_IF.keep_addr_on_down=1"
ip -n "$LAB_NS_CLIENT" addr del "$LAB_CLIENT_IP/24" dev "$LAB_CLIENT_IF"
ip -n "$LAB_NS_CLIENT" addr del "$LAB_CELL_IP/26" dev "$LAB_CELL_IF"  # its routes go with it
lab_start_gateway --mobike yes --pool 203.0.113.0/25
work="$LAB_DIR/ikevpn"
ikevpn_write_profile "$work" ".mobike = true | .gateway = \"$name\""
ikevpn_start "$work" -v
check_fatal "ikevpn connects" ikevpn_wait_event connected 20
connected=$(ikevpn_event connected)
echo "INFO: $connected"
over_v6() { jq -e --arg a "[$LAB_GATEWAY_IP6]:" '.remote | startswith($a)' <<<"$connected" >/dev/null; }
check "the IPv4 first choice has no route: connected over IPv6 to [$LAB_GATEWAY_IP6]" over_v6
first_spi=$(ikevpn_ctl status --json | jq -r '.ike_sa.spi_i')
gateway_has_spi() { lab_gateway_sas | grep -qi "$first_spi"; }
check "the gateway holds IKE SA $first_spi" gateway_has_spi

# A paced sender: 64 KiB every 0.4 s (about 1.3 Mbit/s) of a 2.5 MiB file, about 16 s of sending.
transfer_paced_start 40 90

# 1. IPv6 uplink gone, an IPv4-only uplink appears.
ip -n "$LAB_NS_CLIENT" link set "$LAB_CLIENT_IF" down
ip -n "$LAB_NS_CLIENT" addr add "$LAB_CELL_IP/26" dev "$LAB_CELL_IF" noprefixroute
ip -n "$LAB_NS_CLIENT" route add default via "$LAB_GATEWAY_CELL_IP" dev "$LAB_CELL_IF" onlink metric 200
check "IPv6 → IPv4: a path_changed event within 10 s" ikevpn_wait_path_event 1 10
e=$(ikevpn_nth_path_event 1)
echo "INFO: $e"
to_v4() {
    jq -e --arg l "$LAB_CELL_IP:" --arg r "$LAB_GATEWAY_IP:4500" '(.new_local | startswith($l)) and .remote == $r and .nat == false' \
        <<<"$e" >/dev/null
}
check "the SAs moved to $LAB_CELL_IP → $LAB_GATEWAY_IP:4500 (IPv4), NAT detection over IPv4: no NAT" to_v4
status_v4() {
    ikevpn_ctl status --json | jq -e --arg r "$LAB_GATEWAY_IP:4500" --arg l "$LAB_CELL_IP:" \
        '.remote == $r and (.local | startswith($l)) and .gateway == "'"$LAB_GATEWAY_IP"'"' >/dev/null
}
check "status shows the IPv4 addresses (local, remote, gateway)" status_v4
gateway_v4() { lab_gateway_sas | grep -q "$LAB_GATEWAY_IP\[4500\]"; }
check "the gateway's IKE SA uses $LAB_GATEWAY_IP now" gateway_v4
sleep 4

# 2. And back: wifi (IPv6) returns, cellular (IPv4) goes.
ip -n "$LAB_NS_CLIENT" link set "$LAB_CLIENT_IF" up
ip -n "$LAB_NS_CLIENT" link set "$LAB_CELL_IF" down
check "IPv4 → IPv6: a second path_changed event within 10 s" ikevpn_wait_path_event 2 10
e=$(ikevpn_nth_path_event 2)
echo "INFO: $e"
to_v6() {
    jq -e --arg l "[$LAB_CLIENT_IP6]:" --arg r "[$LAB_GATEWAY_IP6]:4500" \
        '(.new_local | startswith($l)) and .remote == $r and .nat == false' <<<"$e" >/dev/null
}
check "the SAs moved back to [$LAB_CLIENT_IP6] → [$LAB_GATEWAY_IP6]:4500 (IPv6), no NAT" to_v6

# The stream: every byte, in order, over one TCP connection.
transfer_paced_check 60

status=$(ikevpn_ctl status --json)
same_ike_sa() { jq -e --arg first "$first_spi" '.ike_sa.spi_i == $first and .state == "connected"' <<<"$status" >/dev/null; }
check "no reconnect from scratch: the same IKE SA throughout, connected" same_ike_sa
check "the gateway still holds IKE SA $first_spi" gateway_has_spi
gateway_one_ike_sa() { [[ $(lab_gateway_sa_count) == 1 ]]; }
check "the gateway holds one IKE SA" gateway_one_ike_sa
no_reconnect() { [[ -z $(ikevpn_event reconnecting) ]]; }
check "no reconnecting event" no_reconnect
echo "INFO: handover_ms: $(ikevpn_path_events | jq -r '.handover_ms' | tr '\n' ' ')"

ikevpn_disconnect_and_check
checks_summary
