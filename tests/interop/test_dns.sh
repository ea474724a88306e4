#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# "dns": true applies the gateway's DNS server (the lab pushes 198.51.100.53) to a resolv.conf of the client
# namespace's own — the path without systemd-resolved or resolvconf (neither runs on the lab machine; they
# have their own tests: test_dns_resolved.sh and test_dns_resolvconf.sh). The file
# is byte-identical again after disconnect, after a failed connect and after SIGTERM; a file changed by
# someone else while connected is left alone with a warning. Exit 0 pass, 1 fail, 77 skip.
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

host_resolv_before=$(sha256sum /etc/resolv.conf 2>/dev/null || echo none)
lab_up
lab_start_gateway
netns_resolv_setup
work="$LAB_DIR/ikevpn"
ikevpn_write_profile "$work" '.dns = true'

# 1. connect, DNS applied, disconnect, restored
ikevpn_start "$work"
check_fatal "ikevpn reports \"connected\" within 20 s" ikevpn_wait_event connected 20
echo "INFO: resolv.conf while connected:"
netns_resolv_show | sed 's/^/INFO:   /'
check "resolv.conf names the gateway's DNS server 198.51.100.53" netns_resolv_has_server 198.51.100.53
check "the LAN's nameserver 192.0.2.53 is gone while connected" not netns_resolv_has_server 192.0.2.53
check "resolv.conf starts with ikevpn's marker" grep -q '^# Written by ikevpn (profile demo)' <<<"$(netns_resolv_show)"
check "options line kept" grep -qx 'options edns0 timeout:2' <<<"$(netns_resolv_show)"
check "progress says DNS was applied through /etc/resolv.conf" \
    grep -q 'DNS 198.51.100.53 applied through /etc/resolv.conf' "$work/stderr.log"
check "status --json: dns_applied is \"/etc/resolv.conf\", kill_switch false" \
    jq -e '.dns_applied == "/etc/resolv.conf" and .kill_switch == false' <<<"$(ikevpn_ctl status --json)"
check "state file records the DNS backup" jq -e '.dns.backend == "/etc/resolv.conf"' "$work/ctl.state"
check "backup of the original exists" cmp -s "$work/ctl.state.resolv.conf" "$NETNS_RESOLV_ORIGINAL"
check "ikevpn disconnect exits 0" ikevpn_ctl disconnect
ikevpn_wait_exit 15 || true
check "connect exits 0 within 15 s (status $IKEVPN_STATUS)" test "$IKEVPN_STATUS" -eq 0
check "resolv.conf byte-identical after disconnect" netns_resolv_is_original
check "no backup or state file left" not test -e "$work/ctl.state.resolv.conf" -o -e "$work/ctl.state"

# 2. a failed connect (wrong PSK) leaves resolv.conf alone
ikevpn_write_profile "$work/bad" '.dns = true' "not-the-right-psk-0123456789"
ikevpn_run_foreground "$work/bad" 30
check "wrong PSK: connect fails (status $IKEVPN_STATUS)" test "$IKEVPN_STATUS" -ne 0 -a "$IKEVPN_STATUS" -ne 124
check "resolv.conf byte-identical after the failed connect" netns_resolv_is_original
check "no state file left after the failed connect" not test -e "$work/bad/ctl.state"

# 3. SIGTERM: Delete sent, DNS restored
ikevpn_start "$work"
check_fatal "connected again" ikevpn_wait_event connected 20
check "DNS applied again" netns_resolv_has_server 198.51.100.53
kill -TERM "$IKEVPN_PID"
ikevpn_wait_exit 15 || true
check "SIGTERM: connect exits 0 within 15 s (status $IKEVPN_STATUS)" test "$IKEVPN_STATUS" -eq 0
check "SIGTERM: resolv.conf byte-identical" netns_resolv_is_original
check "SIGTERM: gateway has no IKE SA left (Delete was sent)" test "$(lab_gateway_sa_count)" -eq 0
check "SIGTERM: no state file left" not test -e "$work/ctl.state"

# 3b. SIGHUP (the terminal closed) is a disconnect as well
ikevpn_start "$work"
check_fatal "connected for SIGHUP" ikevpn_wait_event connected 20
kill -HUP "$IKEVPN_PID"
ikevpn_wait_exit 15 || true
check "SIGHUP: connect exits 0 within 15 s (status $IKEVPN_STATUS)" test "$IKEVPN_STATUS" -eq 0
check "SIGHUP: resolv.conf byte-identical" netns_resolv_is_original
check "SIGHUP: no state file left" not test -e "$work/ctl.state"

# 4. someone else rewrites resolv.conf while connected: left as they wrote it, backup kept, warning
ikevpn_start "$work"
check_fatal "connected a third time" ikevpn_wait_event connected 20
lab_exec_client sh -c 'printf "nameserver 192.0.2.77\n" >/etc/resolv.conf'
check "ikevpn disconnect exits 0" ikevpn_ctl disconnect
ikevpn_wait_exit 15 || true
check "foreign change kept (nameserver 192.0.2.77)" test "$(netns_resolv_show)" == "nameserver 192.0.2.77"
check "warning names the change and the backup" \
    grep -q 'was changed by someone else while connected.*ctl.state.resolv.conf' "$work/stderr.log"
check "backup kept for the user" cmp -s "$work/ctl.state.resolv.conf" "$NETNS_RESOLV_ORIGINAL"

check "the machine's own /etc/resolv.conf was never touched" \
    test "$(sha256sum /etc/resolv.conf 2>/dev/null || echo none)" == "$host_resolv_before"
checks_summary
