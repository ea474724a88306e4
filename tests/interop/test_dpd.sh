#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# Liveness checks of ours (RFC 7296 §2.4, profile "dpd_seconds" 3): with the gateway alive and the tunnel
# idle for 3 × dpd_seconds, ikevpn sends empty INFORMATIONAL requests that the gateway answers, and stays
# connected with the same IKE SA (the gateway's too); with pings flowing (ESP back from the gateway) it sends
# none. Then the gateway's charon is killed with SIGKILL (no Delete, nothing answers any more): ikevpn
# notices within dpd_seconds + its retransmissions (1+2+4+8+16 s, the default schedule; there is no knob to
# shorten it), says so in one line, emits `gateway_dead`, `error` TIMEOUT and `disconnected`, exits 1 as on
# every gateway timeout — and leaves nothing behind: no TUN device, no route or rule of its own, the
# namespace's resolv.conf byte-identical, no kill-switch table, no state file. About 60 s.
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

lab_require_root_and_tools swanctl ping jq cmp nft "$LAB_CHARON"
ikevpn_require
netns_resolv_require_file_backend

ikevpn_test_traps

dpd=3
lab_up
lab_start_gateway
netns_resolv_setup
rules_before=$(client_rules)
work="$LAB_DIR/ikevpn"
ikevpn_write_profile "$work" ".dns = true | .kill_switch = true | .dpd_seconds = $dpd"
ikevpn_start "$work" -v
check_fatal "ikevpn connects" ikevpn_wait_event connected 20
check "ping through the tunnel" lab_exec_client ping -c 2 -W 2 "$LAB_HOST_IP"

status_json() { ikevpn_ctl status --json; }
gateway_ike_spi() { lab_gateway_sas --raw 2>/dev/null | grep -o 'initiator-spi=[0-9a-f]*' | head -n 1; }
gateway_informational_requests() { grep -cE 'parsed INFORMATIONAL request [0-9]+ \[ *\]' "$LAB_GATEWAY_DIR/charon.log" || true; }

before=$(status_json)
echo "INFO: ike_sa before: $(jq -c '.ike_sa | {spi_i, spi_r, dpd_seconds, dpd_checks, last_received_seconds_ago}' <<<"$before")"
check "status --json shows ike_sa.dpd_seconds $dpd" jq -e ".ike_sa.dpd_seconds == $dpd" <<<"$before"
check "status --json shows ike_sa.last_received_seconds_ago" jq -e '.ike_sa.last_received_seconds_ago | type == "number"' <<<"$before"
gw_spi_before=$(gateway_ike_spi)
requests_before=$(gateway_informational_requests)

# (a) ESP from the gateway is a sign of life: pings for 2 × dpd_seconds, no check.
checks_before=$(jq '.ike_sa.dpd_checks' <<<"$before")
check "pings every 0.2 s for $((2 * dpd)) s" lab_exec_client ping -q -i 0.2 -c $((10 * dpd)) -W 2 "$LAB_HOST_IP"
during=$(status_json)
check "no liveness check while ESP arrives (dpd_checks $checks_before -> $(jq '.ike_sa.dpd_checks' <<<"$during"))" \
    jq -e ".ike_sa.dpd_checks == $checks_before" <<<"$during"

# (b) Idle for 3 × dpd_seconds (+ 1) with the gateway alive: checks go out, are answered, nothing changes.
sleep $((3 * dpd + 1))  # checks come within a second of dpd_seconds of silence (sampled once a second)
after=$(status_json)
echo "INFO: ike_sa after $((3 * dpd + 1)) s idle: $(jq -c '.ike_sa | {spi_i, spi_r, dpd_checks, last_received_seconds_ago}' <<<"$after")"
requests_after=$(gateway_informational_requests)
echo "INFO: empty INFORMATIONAL requests parsed by the gateway: $requests_before -> $requests_after"
check "at least 2 liveness checks sent while idle" jq -e ".ike_sa.dpd_checks >= $checks_before + 2" <<<"$after"
check "the gateway parsed at least 2 empty INFORMATIONAL requests" test "$requests_after" -ge $((requests_before + 2))
check "the gateway answered them" grep -qE 'generating INFORMATIONAL response [0-9]+ \[ *\]' "$LAB_GATEWAY_DIR/charon.log"
check "still connected" jq -e '.state == "connected"' <<<"$after"
check "same IKE SA (SPIs) on the client" test "$(jq -c '.ike_sa | [.spi_i, .spi_r]' <<<"$after")" == "$(jq -c '.ike_sa | [.spi_i, .spi_r]' <<<"$before")"
check "same IKE SA on the gateway ($gw_spi_before)" test "$(gateway_ike_spi)" == "$gw_spi_before"
check "the gateway holds one IKE SA" test "$(lab_gateway_sa_count)" == 1
check "last answer at most $((dpd + 1)) s ago" jq -e ".ike_sa.last_received_seconds_ago <= $dpd + 1" <<<"$after"
check "no gateway_dead event" test -z "$(ikevpn_event gateway_dead)"
check "ping through the tunnel after the idle time" lab_exec_client ping -c 1 -W 2 "$LAB_HOST_IP"

# (c) The gateway vanishes: SIGKILL, no Delete. The client notices by itself.
# (disown: no "Killed" job notice from bash; the PID stays in the lab's list, stopping a dead one is a no-op)
disown "$LAB_GATEWAY_PID" 2>/dev/null || true
check "kill the gateway's charon (SIGKILL)" kill -KILL "$LAB_GATEWAY_PID"
killed=$(date +%s%N)
limit=$((dpd + 1 + 31 + 8))  # interval, a sample's granularity, 1+2+4+8+16 s of retransmissions, slack
if ikevpn_wait_exit "$limit"; then
    elapsed_ms=$((($(date +%s%N) - killed) / 1000000))
    echo "INFO: ikevpn exited ${elapsed_ms} ms after the gateway was killed (dpd_seconds $dpd + 31 s of retransmissions)"
    check "connect exits with status 1 (got $IKEVPN_STATUS)" test "$IKEVPN_STATUS" -eq 1
    check "not before dpd_seconds + the retransmissions ($((dpd + 31)) s): got ${elapsed_ms} ms" test "$elapsed_ms" -ge $(((dpd + 31 - 1) * 1000))
else
    check "connect exits within $limit s of the gateway's death" false
    ikevpn_stop
fi
dead=$(ikevpn_event gateway_dead)
error=$(ikevpn_event error)
disconnected=$(ikevpn_event disconnected)
echo "INFO: $dead"
echo "INFO: $error"
echo "INFO: $disconnected"
check "gateway_dead event with the reason and dpd_seconds" \
    jq -e ".dpd_seconds == $dpd and (.reason | test(\"stopped answering liveness checks\"))" <<<"${dead:-null}"
check "error event with code TIMEOUT" jq -e '.code == "TIMEOUT" and (.message | test("stopped answering liveness checks \\(no answer to 4 retransmissions over 3[0-2] s\\)"))' <<<"${error:-null}"
check "disconnected event with the reason" jq -e '.reason | test("stopped answering liveness checks")' <<<"${disconnected:-null}"
check "stderr has the one-line reason" grep -q 'stopped answering liveness checks' "$work/stderr.log"
check "stderr says the check started" grep -q 'checking that it is still there' "$work/stderr.log"
ikevpn_check_nothing_left "$work" "$rules_before"
check "no control socket left" not test -e "$work/ctl.sock"
checks_summary
