#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# Split DNS (RFC 8598): the gateway's pool sends INTERNAL_DNS_DOMAIN "corp.example" (attribute 25, a numbered
# attribute in swanctl's pool syntax) beside its DNS server; the client asks for it, shows it in status --json, and with
# "dns": true applies it — here through the resolv.conf backend of a namespace-private /etc/resolv.conf,
# as a search line next to the gateway's server — and restores the file byte for byte on disconnect.
# Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"
# shellcheck source=checks.sh
source "$here/checks.sh"
# shellcheck source=ikevpn.sh
source "$here/ikevpn.sh"
# shellcheck source=netns_resolv.sh
source "$here/netns_resolv.sh"

lab_require_root_and_tools swanctl jq cmp "$LAB_CHARON"
ikevpn_require
netns_resolv_require_file_backend

DOMAIN=corp.example
lab_up
# A numbered attribute in a swanctl pool is sent as the literal text of its value.
LAB_GW_POOL_EXTRA="25 = $DOMAIN" lab_start_gateway
netns_resolv_setup
work="$LAB_DIR/ikevpn"
ikevpn_write_profile "$work" '.dns = true'

ikevpn_start "$work"
check_fatal "ikevpn reports \"connected\" within 20 s" ikevpn_wait_event connected 20
status=$(ikevpn_ctl status --json 2>/dev/null)
check "status --json: dns_domains is [\"$DOMAIN\"]" jq -e --arg d "$DOMAIN" '.dns_domains == [$d]' <<<"$status"
echo "INFO: resolv.conf while connected:"
netns_resolv_show | sed 's/^/INFO:   /'
check "resolv.conf names the gateway's DNS server 198.51.100.53" netns_resolv_has_server 198.51.100.53
check "resolv.conf searches $DOMAIN" grep -Eq "^search( .*)? $DOMAIN( |$)" <<<"$(netns_resolv_show)"
check "progress names the domain" grep -q "DNS 198.51.100.53 for $DOMAIN applied" "$work/stderr.log"
check "ikevpn disconnect exits 0" ikevpn_ctl disconnect
ikevpn_wait_exit 15 || true
check "resolv.conf byte-identical after disconnect" netns_resolv_is_original

if ! checks_summary; then
    lab_gateway_log_tail
    exit 1
fi
