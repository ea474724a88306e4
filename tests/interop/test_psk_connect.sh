#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# ikevpn connects to the strongSwan gateway with PSK, gets a virtual IP, carries traffic, reports status,
# disconnects on request and leaves nothing behind. Exit 0 pass, 1 fail, 77 skip.
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

ikevpn_test_traps

vip_in_pool() { [[ $1 =~ ^203\.0\.113\.([0-9]{1,3})$ ]] && ((BASH_REMATCH[1] <= 255)); }
remote_is_gateway() { jq -e --arg gw "$LAB_GATEWAY_IP:" '.remote | startswith($gw)' <<<"$1" >/dev/null; }
# Output is captured before grep: `grep -q` in a pipe under pipefail can fail a check through SIGPIPE.
vip_on_tun() { grep -qw "inet $1" <<<"$(lab_exec_client ip -4 -o addr show dev ikevpn0)"; }
vip_anywhere() { grep -qw "inet $1" <<<"$(lab_exec_client ip -4 -o addr show)"; }
host_saw_vip() { grep -q 'counter packets [1-9]' <<<"$(lab_exec_host nft list chain inet seen in)"; }

lab_up
lab_start_gateway
work="$LAB_DIR/ikevpn"
ikevpn_write_profile "$work"

rules_before=$(client_rules)
# Count echo requests that reach the host with the virtual IP as source (the tunnel's inner address).
lab_exec_host nft -f - <<'EOF'
table inet seen {
    chain in {
        type filter hook input priority 0; policy accept;
        ip saddr 203.0.113.0/24 icmp type echo-request counter
    }
}
EOF

ikevpn_start "$work"
check_fatal "ikevpn reports \"connected\" within 20 s" ikevpn_wait_event connected 20
connected=$(ikevpn_event connected)
echo "INFO: $connected"
vip=$(jq -r '.virtual_ip // empty' <<<"$connected")
check_fatal "virtual IP ${vip:-none} is in 203.0.113.0/24" vip_in_pool "$vip"
check "connected event names the gateway as remote" remote_is_gateway "$connected"
check "virtual IP is on TUN device ikevpn0" vip_on_tun "$vip"
check "gateway holds one IKE SA" test "$(lab_gateway_sa_count)" -eq 1

check "ping 198.51.100.2 through the tunnel (3 packets)" lab_exec_client ping -c3 -i0.2 -W2 "$LAB_HOST_IP"
check "host saw echo requests from the virtual IP" host_saw_vip
check "host can ping the virtual IP back through the tunnel" \
    lab_exec_host ping -c2 -i0.2 -W2 "$vip"

status_json=$(ikevpn_ctl status --json 2>"$work/status.err" || true)
echo "INFO: status --json: $(jq -c . <<<"$status_json" 2>/dev/null || printf '%s' "$status_json")"
check "status --json: state is \"connected\"" \
    jq -e '.state == "connected"' <<<"$status_json"
# shellcheck disable=SC2016  # $vip is a jq variable
check "status --json: virtual_ip matches the event" \
    jq -e --arg vip "$vip" '.virtual_ip == $vip' <<<"$status_json"
check "status --json: child_sas[0].packets_in > 0 and packets_out > 0" \
    jq -e '(.child_sas[0].packets_in > 0) and (.child_sas[0].packets_out > 0)' <<<"$status_json"
check "status --json: child_sas[0] has SPIs and esp algorithm" \
    jq -e '.child_sas[0] | (.spi_in | length > 0) and (.spi_out | length > 0) and (.esp | length > 0)' \
    <<<"$status_json"
check "ikevpn status (human) exits 0" ikevpn_ctl status

check "ikevpn disconnect exits 0" ikevpn_ctl disconnect
if ikevpn_wait_exit 15; then
    check "connect process exits with status 0 after disconnect (got $IKEVPN_STATUS)" \
        test "$IKEVPN_STATUS" -eq 0
else
    check "connect process exits within 15 s of disconnect" false
    ikevpn_stop
fi
check "a \"disconnected\" event was printed" test -n "$(ikevpn_event disconnected)"
for _ in $(seq 50); do
    [[ $(lab_gateway_sa_count) -eq 0 ]] && break
    sleep 0.1
done
check "gateway has no SA left (the client deleted its IKE SA)" test "$(lab_gateway_sa_count)" -eq 0
check "TUN device ikevpn0 is gone" not client_has_link ikevpn0
check "ip rule is the same as before connecting" test "$(client_rules)" == "$rules_before"
check "no route on ikevpn0 in any table" test -z "$(client_tun_routes)"
check "virtual IP no longer on any client interface" not vip_anywhere "$vip"

if ! checks_summary; then
    checks_on_fatal
    exit 1
fi
