#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119,SC2016  # lab helpers take optional arguments; jq variables
# IPv6 with ikevpn against the strongSwan gateway (lab with LAB_IPV6=1):
#  (a) IPv4 outer, routes to 198.51.100.0/24 and 2001:db8:2::/64: both virtual IPs (INTERNAL_IP4/IP6_ADDRESS),
#      ping and ping -6 through the tunnel, status shows both; disconnect leaves no IPv6 address/route/rule.
#  (b) IPv6 outer (gateway 2001:db8:1::1), IPv4 routes: connects and pings through the tunnel.
# Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export LAB_IPV6=1
# shellcheck source=lab.sh
source "$here/lab.sh"
# shellcheck source=checks.sh
source "$here/checks.sh"
# shellcheck source=ikevpn.sh
source "$here/ikevpn.sh"

lab_require_root_and_tools swanctl ping jq "$LAB_CHARON"
ikevpn_require

ikevpn_test_traps

vip_in_pool() { [[ $1 =~ ^203\.0\.113\.([0-9]{1,3})$ ]] && ((BASH_REMATCH[1] <= 255)); }
vip6_in_pool() { [[ $1 =~ ^2001:db8:3::[0-9a-f]{1,4}$ ]]; }
# grep without -q: under pipefail an early exit of grep -q can kill `ip` with SIGPIPE and fail the pipe.
vip6_on_tun() { lab_exec_client ip -6 -o addr show dev ikevpn0 | grep -w "inet6 $1/128" >/dev/null; }
vip6_anywhere() { lab_exec_client ip -6 -o addr show | grep -w "inet6 $1" >/dev/null; }
v6_tun_routes() { lab_exec_client ip -6 route show table all | grep -w ikevpn0 || true; }
route6_via_tun() { lab_exec_client ip -6 route get "$LAB_HOST_IP6" | grep -w ikevpn0 >/dev/null; }
host_saw_vip6() { lab_exec_host nft list chain inet seen6 in | grep 'counter packets [1-9]' >/dev/null; }
remote_is() { jq -e --arg gw "$1" '.remote | startswith($gw)' <<<"$2" >/dev/null; }

# disconnect_and_wait — disconnect and wait for a clean exit and no SA at the gateway.
disconnect_and_wait() {
    check "ikevpn disconnect exits 0" ikevpn_ctl disconnect
    if ikevpn_wait_exit 15; then
        check "connect process exits with status 0 after disconnect (got $IKEVPN_STATUS)" \
            test "$IKEVPN_STATUS" -eq 0
    else
        check "connect process exits within 15 s of disconnect" false
        ikevpn_stop
    fi
    for _ in $(seq 50); do
        [[ $(lab_gateway_sa_count) -eq 0 ]] && break
        sleep 0.1
    done
    check "gateway has no SA left" test "$(lab_gateway_sa_count)" -eq 0
}

lab_up
lab_start_gateway
check_fatal "the lab's plain IPv6 path client -> host is closed" \
    not lab_exec_client ping -6 -c1 -W1 "$LAB_HOST_IP6"
lab_exec_host nft -f - <<'EOF2'
table inet seen6 {
    chain in {
        type filter hook input priority 0; policy accept;
        ip6 saddr 2001:db8:3::/112 icmpv6 type echo-request counter
    }
}
EOF2

# ---- (a) IPv4 outer, both families inside ----
echo "INFO: (a) IPv4 outer, routes $LAB_HOST_NET and $LAB_HOST_NET6"
work="$LAB_DIR/ikevpn-a"
ikevpn_write_profile "$work" ".routes = [\"$LAB_HOST_NET\", \"$LAB_HOST_NET6\"]"
rules_before=$(client_rules)
ikevpn_start "$work"
check_fatal "ikevpn reports \"connected\" within 20 s" ikevpn_wait_event connected 20
connected=$(ikevpn_event connected)
echo "INFO: $connected"
vip=$(jq -r '.virtual_ip // empty' <<<"$connected")
vip6=$(jq -r '.virtual_ip6 // empty' <<<"$connected")
check "virtual IP ${vip:-none} is in 203.0.113.0/24" vip_in_pool "$vip"
check_fatal "virtual IPv6 ${vip6:-none} is in $LAB_POOL_NET6" vip6_in_pool "$vip6"
check "connected event lists both routes" \
    jq -e '.routes | (index("198.51.100.0/24") != null) and (index("2001:db8:2::/64") != null)' <<<"$connected"
check "virtual IPv6 is on ikevpn0 as /128" vip6_on_tun "$vip6"
check "route to $LAB_HOST_IP6 goes through ikevpn0" route6_via_tun
check "ping 198.51.100.2 through the tunnel" lab_exec_client ping -c3 -i0.2 -W2 "$LAB_HOST_IP"
check "ping -6 $LAB_HOST_IP6 through the tunnel" lab_exec_client ping -6 -c3 -i0.2 -W2 "$LAB_HOST_IP6"
check "host saw IPv6 echo requests from the virtual IPv6" host_saw_vip6
check "host can ping the virtual IPv6 back through the tunnel" lab_exec_host ping -6 -c2 -i0.2 -W2 "$vip6"
status_json=$(ikevpn_ctl status --json 2>"$work/status.err" || true)
echo "INFO: status --json: $(jq -c . <<<"$status_json" 2>/dev/null || printf '%s' "$status_json")"
check "status --json: virtual_ip and virtual_ip6 match the event" \
    jq -e --arg v4 "$vip" --arg v6 "$vip6" '.virtual_ip == $v4 and .virtual_ip6 == $v6' <<<"$status_json"
check "status --json: dns holds the IPv6 server $LAB_DNS6" \
    jq -e --arg d "$LAB_DNS6" '.dns | index($d) != null' <<<"$status_json"
disconnect_and_wait
check "TUN device ikevpn0 is gone" not client_has_link ikevpn0
check "ip rule / ip -6 rule are the same as before connecting" test "$(client_rules)" == "$rules_before"
check "no IPv6 route on ikevpn0 in any table" test -z "$(v6_tun_routes)"
check "virtual IPv6 no longer on any client interface" not vip6_anywhere "$vip6"

# ---- (b) IPv6 outer ----
echo "INFO: (b) IPv6 outer: gateway $LAB_GATEWAY_IP6, routes $LAB_HOST_NET"
work="$LAB_DIR/ikevpn-b"
ikevpn_write_profile "$work" ".gateway = \"$LAB_GATEWAY_IP6\""
rules_before=$(client_rules)
ikevpn_start "$work"
if check "ikevpn over IPv6 reports \"connected\" within 20 s" ikevpn_wait_event connected 20; then
    connected=$(ikevpn_event connected)
    echo "INFO: $connected"
    check "connected event: remote is [$LAB_GATEWAY_IP6]:4500" remote_is "[$LAB_GATEWAY_IP6]:4500" "$connected"
    check "virtual IP is in 203.0.113.0/24" vip_in_pool "$(jq -r '.virtual_ip // empty' <<<"$connected")"
    check "no virtual IPv6 requested (IPv4 routes only)" jq -e '.virtual_ip6 == null' <<<"$connected"
    check "ping 198.51.100.2 through the tunnel over IPv6" lab_exec_client ping -c3 -i0.2 -W2 "$LAB_HOST_IP"
    status_json=$(ikevpn_ctl status --json 2>"$work/status.err" || true)
    check "status --json: gateway is $LAB_GATEWAY_IP6" \
        jq -e --arg gw "$LAB_GATEWAY_IP6" '.gateway == $gw' <<<"$status_json"
    disconnect_and_wait
    check "ip rule / ip -6 rule are the same as before connecting" test "$(client_rules)" == "$rules_before"
    check "no route on ikevpn0 in any table" test -z "$(client_tun_routes)"
else
    ikevpn_dump_logs || true
    ikevpn_stop
fi

if ! checks_summary; then
    checks_on_fatal
    exit 1
fi
