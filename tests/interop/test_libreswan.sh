#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# ikevpn against a second IKEv2 implementation: libreswan's pluto (4.10) with the kernel's ESP, in a
# User-Mode-Linux guest (see lab_libreswan.sh). PSK: pluto is limited to one IKE and one ESP proposal
# that are ikevpn's second choices, so the status must show libreswan's pick; ping through the tunnel
# (ikevpn's userspace ESP in UDP <-> the guest kernel's ESP in UDP) both ways; pluto's IPv4 and IPv6 DNS
# servers taken; both ends agree on SPIs
# and algorithms; disconnect leaves nothing in ikevpn's namespace nor in pluto or the guest's kernel.
# Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"
# shellcheck source=checks.sh
source "$here/checks.sh"
# shellcheck source=ikevpn.sh
source "$here/ikevpn.sh"
# shellcheck source=lab_libreswan.sh
source "$here/lab_libreswan.sh"

lsw_require
ikevpn_require
trap 'ikevpn_stop; lsw_stop_gateway; lab_down' EXIT
trap 'exit 1' INT TERM
checks_on_fatal() {
    ikevpn_dump_logs
    lsw_log_tail
}

vip_in_pool() { [[ $1 =~ ^203\.0\.113\.([0-9]{1,3})$ ]] && ((BASH_REMATCH[1] >= 1 && BASH_REMATCH[1] <= 100)); }
host_saw_vip() { grep -q 'counter packets [1-9]' <<<"$(lab_exec_host nft list chain inet seen in)"; }
vip_anywhere() { grep -qw "inet $1" <<<"$(lab_exec_client ip -4 -o addr show)"; }
# pluto_has PATTERN CMD — an extended regex in the output of whack CMD (e.g. --showstates).
pluto_has() { grep -qE -- "$1" <<<"$(lsw_whack "$2")"; }
# guest_xfrm_has PATTERN — the guest kernel's SAD (ip -s xfrm state) matches.
guest_xfrm_has() { grep -qE -- "$1" <<<"$(lsw_guest ip -s xfrm state)"; }
pluto_empty() { [[ $(lsw_ike_sa_count) == 0 && $(lsw_child_sa_count) == 0 ]]; }
wait_for() {
    local i
    for i in $(seq 50); do
        "$@" && return 0
        sleep 0.1
    done
    "$@"
}

lab_up
t0=$SECONDS
# ikevpn's first choices are AES-256-GCM/SHA-384/X25519 and AES-256-GCM; pluto only takes the second.
# Not inside check: it sets LSW_DIR and LSW_UML_PID, which a subshell would lose.
booted=0
# An IPv6 DNS server too: libreswan 4.10 sends INTERNAL_IP6_DNS as 17 bytes (LAB-NOTES), which we must take.
lsw_start_gateway --ike aes_gcm128-sha2_256-dh19 --esp aes_gcm128 --dns "$LSW_DNS, 2001:db8:2::53" || booted=$?
check_fatal "libreswan gateway boots in the UML guest and loads its connection" test "$booted" -eq 0
echo "INFO: guest up with pluto in $((SECONDS - t0)) s (console: $LSW_DIR/console.log)"
check "guest kernel has ESP, XFRM netlink and GCM loaded" \
    grep -qE 'esp4.*xfrm_user|xfrm_user.*esp4' <<<"$(lsw_guest "lsmod | tr '\n' ' '")"

work="$LAB_DIR/ikevpn"
ikevpn_write_profile "$work" '.ike = ["aes256gcm16-prfsha384-x25519", "aes128gcm16-prfsha256-ecp256"]
    | .esp = ["aes256gcm16", "aes128gcm16"] | .dpd_seconds = 3'
rules_before=$(client_rules)
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
check_fatal "virtual IP ${vip:-none} is from pluto's pool 203.0.113.1-100" vip_in_pool "$vip"
# shellcheck disable=SC2016  # jq variables
check "connected event lists pluto's DNS servers $LSW_DNS and 2001:db8:2::53 (INTERNAL_IP6_DNS)" \
    jq -e --arg dns "$LSW_DNS" '.dns == [$dns, "2001:db8:2::53"]' <<<"$connected"

check "ping 198.51.100.2 through the tunnel (3 packets)" lab_exec_client ping -c3 -i0.2 -W2 "$LAB_HOST_IP"
check "host saw echo requests from the virtual IP" host_saw_vip
check "host can ping the virtual IP back through the tunnel" lab_exec_host ping -c2 -i0.2 -W2 "$vip"

status_json=$(ikevpn_ctl status --json 2>/dev/null || true)
echo "INFO: status --json ike_sa: $(jq -c '.ike_sa' <<<"$status_json" 2>/dev/null)," \
    "child_sas[0]: $(jq -c '.child_sas[0]' <<<"$status_json" 2>/dev/null)"
check "status: IKE SA is libreswan's pick (AES_GCM_16_128, PRF_HMAC_SHA2_256, ECP_256)" \
    jq -e '.ike_sa | .encryption == "AES_GCM_16_128" and .prf == "PRF_HMAC_SHA2_256" and .dh == "ECP_256"' \
    <<<"$status_json"
check "status: CHILD SA esp is libreswan's pick (AES_GCM_16_128)" \
    jq -e '.child_sas[0].esp == "AES_GCM_16_128"' <<<"$status_json"
check "status: packets counted both ways" \
    jq -e '(.child_sas[0].packets_in > 0) and (.child_sas[0].packets_out > 0)' <<<"$status_json"

states=$(lsw_whack --showstates || true)
echo "INFO: pluto states: $(grep -oE 'STATE_V2_[A-Z_]+|ESTABLISHED_[A-Z_]+' <<<"$states" | sort | uniq -c | tr -s ' \n' ' ')"
check "pluto holds one established IKE SA and one CHILD SA" \
    test "$(lsw_ike_sa_count)/$(lsw_child_sa_count)" == "1/1"
# whack --showstates names no algorithms; pluto's log does, once per SA.
check "pluto's log: IKE SA with AES_GCM_16_128, HMAC_SHA2_256, DH19" \
    grep -qE 'sent IKE_SA_INIT reply \{cipher=AES_GCM_16_128 integ=n/a prf=HMAC_SHA2_256 group=DH19\}' \
    "$LSW_DIR/pluto.log"
check "pluto leased the virtual IP $vip to us" pluto_has "lease=$vip/32" --trafficstatus
spi_in=$(jq -r '.child_sas[0].spi_in // empty' <<<"$status_json")
spi_out=$(jq -r '.child_sas[0].spi_out // empty' <<<"$status_json")
check "pluto's log: CHILD SA in UDP with our SPIs, AES_GCM_16_128" grep -qE \
    "established Child SA .*ESPinUDP=>0x0*${spi_in#0x} <0x0*${spi_out#0x} xfrm=AES_GCM_16_128-NONE" "$LSW_DIR/pluto.log"
check "guest kernel has our outbound SPI $spi_out as an SA" guest_xfrm_has "spi 0x0*${spi_out#0x}([^0-9a-f]|$)"
check "guest kernel's SAs use AES-GCM (rfc4106)" guest_xfrm_has 'aead rfc4106\(gcm\(aes\)\)'
check "guest kernel's SAs are UDP-encapsulated (espinudp, port 4500)" \
    guest_xfrm_has 'encap type espinudp sport 4500'
check "guest kernel has our inbound SPI $spi_in as an SA" guest_xfrm_has "spi 0x0*${spi_in#0x}([^0-9a-f]|$)"

# Liveness checks of ours (RFC 7296 §2.4, profile dpd_seconds 3): idle for 8 s, pluto answers them.
sleep 8
idle_status=$(ikevpn_ctl status --json 2>/dev/null || true)
echo "INFO: after 8 s idle: $(jq -c '.ike_sa | {dpd_checks, last_received_seconds_ago}' <<<"$idle_status" 2>/dev/null)"
check "liveness checks sent while idle, pluto answered (heard within 4 s), still connected" jq -e \
    '.state == "connected" and .ike_sa.dpd_checks >= 1 and .ike_sa.last_received_seconds_ago <= 4' <<<"$idle_status"

check "ikevpn disconnect exits 0" ikevpn_ctl disconnect
if ikevpn_wait_exit 15; then
    check "connect exits with status 0 (got $IKEVPN_STATUS)" test "$IKEVPN_STATUS" -eq 0
else
    check "connect exits within 15 s of the disconnect" false
    ikevpn_stop
fi
check "a \"disconnected\" event was printed" test -n "$(ikevpn_event disconnected)"
check "pluto has no IKE or CHILD SA left (the client deleted its IKE SA)" wait_for pluto_empty
check "guest kernel has no ESP SA left" wait_for test "$(lsw_kernel_sa_count)" == 0
check "TUN device ikevpn0 is gone" not client_has_link ikevpn0
check "ip rule is the same as before connecting" test "$(client_rules)" == "$rules_before"
check "no route on ikevpn0 in any table" test -z "$(client_tun_routes)"
check "virtual IP no longer on any client interface" not vip_anywhere "$vip"

if ! checks_summary; then
    checks_on_fatal
    exit 1
fi
