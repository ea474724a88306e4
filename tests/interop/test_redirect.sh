#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119,SC2016  # lab helpers take optional arguments; $vars in jq programs are jq's
# RFC 5685 redirect of an established tunnel: `swanctl --redirect --ike lab --gateway 203.0.113.193` on the
# strongSwan gateway sends an INFORMATIONAL with N(REDIRECT); ikevpn answers it, deletes its IKE SA there and
# connects to the second gateway (its own namespace and charon, same PSK and identity gw.example.com) with
# N(REDIRECTED_FROM), gets a virtual IP from the second pool and pings the host through it.
# Redirects during IKE_SA_INIT and IKE_AUTH are not tested here: strongSwan 5.9 only sends them through a
# redirect provider, which no plugin of the Debian packages implements (tests/exchange/redirect_test.cpp
# covers them). Exit 0 pass, 1 fail, 77 skip.
#
#   client c-gw2 203.0.113.194/28 ── g2-cl 203.0.113.193/28  gw2 ns  g2-host 203.0.113.209/28 ── h-gw2 203.0.113.210/28 host
#   second gateway also 198.51.100.3/32 on lo; pools: first gateway 203.0.113.0/26, second 203.0.113.64/26 (the host routes it via the second gateway)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"
# shellcheck source=checks.sh
source "$here/checks.sh"
# shellcheck source=ikevpn.sh
source "$here/ikevpn.sh"

lab_require_root_and_tools swanctl ping jq "$LAB_CHARON"
ikevpn_require

ns2="${LAB_PREFIX}-gw2"
gw2_ip=203.0.113.193
trap 'ikevpn_stop; lab_down; ip netns del "$ns2" 2>/dev/null || true' EXIT
trap 'exit 1' INT TERM

lab_up
ip netns add "$ns2"
ip -n "$ns2" link set lo up
ip -n "$LAB_NS_CLIENT" link add c-gw2 type veth peer name g2-cl netns "$ns2"
ip -n "$ns2" link add g2-host type veth peer name h-gw2 netns "$LAB_NS_HOST"
ip -n "$LAB_NS_CLIENT" addr add 203.0.113.194/28 dev c-gw2
ip -n "$ns2" addr add "$gw2_ip/28" dev g2-cl
ip -n "$ns2" addr add 203.0.113.209/28 dev g2-host
ip -n "$LAB_NS_HOST" addr add 203.0.113.210/28 dev h-gw2
ip -n "$LAB_NS_CLIENT" link set c-gw2 up
ip -n "$ns2" link set g2-cl up
ip -n "$ns2" link set g2-host up
ip -n "$LAB_NS_HOST" link set h-gw2 up
ip -n "$LAB_NS_HOST" route add 203.0.113.64/26 via 203.0.113.209
ip -n "$ns2" route add "$LAB_HOST_NET" via 203.0.113.210
# kernel-libipsec routes the tunnel with a source address inside local_ts (198.51.100.0/24): the second
# gateway needs one of its own there, as the first has 198.51.100.1 on its host link.
ip -n "$ns2" addr add 198.51.100.3/32 dev lo
ip netns exec "$ns2" sysctl -qw net.ipv4.ip_forward=1
# As at the first gateway: only decrypted tunnel traffic is forwarded.
ip netns exec "$ns2" nft -f - <<EOF
table inet lab {
    chain forward {
        type filter hook forward priority 0; policy accept;
        iifname "g2-cl" counter drop
    }
}
EOF
LAB_NS_GATEWAY="$ns2" LAB_GW_DIR_NAME=gw2 lab_start_gateway --pool 203.0.113.64/26
gw2_dir=$LAB_GATEWAY_DIR
lab_start_gateway --pool 203.0.113.0/26
gw1_dir=$LAB_GATEWAY_DIR

work="$LAB_DIR/ikevpn"
ikevpn_write_profile "$work"
ikevpn_start "$work"
check_fatal "ikevpn connects to the first gateway" ikevpn_wait_event connected 20
first_vip=$(ikevpn_event connected | jq -r '.virtual_ip')
echo "INFO: first virtual IP $first_vip"
check "ping through the first gateway" lab_exec_client ping -c 2 -W 2 "$LAB_HOST_IP"
check "the client announced REDIRECT_SUPPORTED" grep -qE 'parsed IKE_SA_INIT request 0 \[.*N\(REDIR_SUP\)' "$gw1_dir/charon.log"

check "swanctl --redirect on the first gateway" \
    lab_swanctl "$gw1_dir" --redirect --ike lab --gateway "$gw2_ip"
connected_count() { jq -c -R 'fromjson? | select(.event == "connected")' "$IKEVPN_DIR/events.jsonl" | wc -l; }
second_connected() { (($(connected_count) >= 2)); }
for _ in $(seq 200); do second_connected && break; sleep 0.1; done
redirected=$(ikevpn_event redirected)
echo "INFO: $redirected"
check "redirected event: from 192.0.2.1 to $gw2_ip on an established tunnel" \
    jq -e --arg to "$gw2_ip" '.from == "192.0.2.1" and .to == $to and .during == "INFORMATIONAL"' <<<"${redirected:-null}"
check_fatal "a second connected event within 20 s" second_connected
second_vip=$(ikevpn_event connected | jq -r '.virtual_ip')
echo "INFO: second virtual IP $second_vip"
from_second_pool() { [[ $second_vip =~ ^203\.0\.113\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])$ ]]; }
check "the second virtual IP comes from the second gateway's pool" from_second_pool
check "status: gateway is now $gw2_ip" jq -e --arg gw "$gw2_ip" '.gateway == $gw and .state == "connected"' <<<"$(ikevpn_ctl status --json)"
check "the second gateway saw REDIRECTED_FROM" grep -qE 'parsed IKE_SA_INIT request 0 \[.*N\(REDIR_FROM\)' "$gw2_dir/charon.log"
check "ping through the second gateway" lab_exec_client ping -c 3 -W 2 "$LAB_HOST_IP"
gw1_empty() { [[ $(lab_swanctl "$gw1_dir" --list-sas --raw 2>/dev/null | grep -c '^list-sa event' || true) == 0 ]]; }
check "the first gateway holds no SA (ikevpn deleted it)" gw1_empty
gw2_sas() { lab_swanctl "$gw2_dir" --list-sas --raw 2>/dev/null | grep -c '^list-sa event' || true; }
gw2_one() { [[ $(gw2_sas) == 1 ]]; }
check "the second gateway holds one IKE SA" gw2_one

check "ikevpn disconnect exits 0" ikevpn_ctl disconnect
if ikevpn_wait_exit 15; then
    check "connect exits with status 0 (got $IKEVPN_STATUS)" test "$IKEVPN_STATUS" -eq 0
else
    check "connect exits within 15 s of the disconnect" false
    ikevpn_stop
fi
gw2_none() { [[ $(gw2_sas) == 0 ]]; }
check "the second gateway holds no SA after disconnect" gw2_none
check "no TUN device ikevpn0 left" not client_has_link ikevpn0
checks_summary
