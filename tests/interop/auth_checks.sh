# shellcheck shell=bash
# tests/interop/auth_checks.sh — the predicates and check groups the EAP interop tests (test_eap_tls.sh,
# test_eap_mschapv2.sh) share. Source after lab.sh, checks.sh and ikevpn.sh; once the lab is up, call
# auth_checks_record_rules before the first connect (nothing_left compares the ip rules with that moment).

AUTH_RULES_BEFORE=""

# auth_checks_record_rules — remember the client namespace's ip rules (IPv4 and IPv6) as they are now.
auth_checks_record_rules() { AUTH_RULES_BEFORE=$(client_rules); }

# nothing_left — no TUN device, no route via it, and the ip rules as recorded.
nothing_left() {
    ! client_has_link ikevpn0 && [[ -z $(client_tun_routes) ]] && [[ "$(client_rules)" == "$AUTH_RULES_BEFORE" ]]
}

stderr_mentions() { grep -qF -- "$1" "$IKEVPN_DIR/stderr.log"; }
gateway_log_has() { grep -qF -- "$1" "$LAB_GATEWAY_DIR/charon.log"; }
ping_host() { lab_exec_client ping -c 2 -i 0.2 -W 2 "$LAB_HOST_IP" >/dev/null; }

# error_code_is CODE — some error event carries CODE.
error_code_is() {
    jq -e -n -R --arg code "$1" \
        '[inputs | fromjson? | select(type == "object" and .event == "error" and .code == $code)] | length > 0' \
        "$IKEVPN_DIR/events.jsonl" >/dev/null
}

# disconnect_cleanly LABEL — `ikevpn disconnect`, then: exit 0, nothing left on the client, no SA at the gateway.
disconnect_cleanly() {
    local label=$1
    ikevpn_ctl disconnect >/dev/null 2>&1 || true
    ikevpn_wait_exit 20 || ikevpn_stop
    check "$label: disconnect → exit 0" test "$IKEVPN_STATUS" -eq 0
    check "$label: no TUN left, ip rule unchanged" nothing_left
    check "$label: gateway holds no SA" gateway_holds_no_sa
}
