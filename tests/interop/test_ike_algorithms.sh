#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# IKE SA algorithms against strongSwan (issue 3). One session per IKE family — the profile offers exactly
# that proposal, so the gateway's choice is forced: connect, the gateway's IKE SA uses exactly these
# algorithms, `status --json` names them, ping through the tunnel, clean disconnect. Then:
#  - a gateway that accepts only MODP-3072 while the client's first KE is X25519: INVALID_KE_PAYLOAD, the
#    retry (named in the client's progress), and success with MODP_3072;
#  - cookies: charon's cookie_threshold = 1 with one half-open IKE SA held at the gateway (a first connect
#    whose IKE_AUTH is dropped) makes it demand a COOKIE from the next IKE_SA_INIT; the test fails unless
#    the client's progress names the COOKIE round and the session then connects;
#  - a weak proposal (aes128-sha1-modp1024): refused without "allow_weak_algorithms" (one clear line,
#    exit != 0, nothing sent), connects and pings with it (ESP aes128-sha1: HMAC-SHA1-96 in the data plane).
#  - IKE SA rekeys with AES-CBC + HMAC-SHA2-384 / ECP-384, started by the gateway and by the client.
# IKE_VARIANTS="a b" runs a subset of the families. Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

ALL_IKE_VARIANTS=(
    aes128-sha256-modp2048
    aes256-sha384-ecp384
    aes256-sha512-ecp521
    aes192-sha256-modp4096
    chacha20poly1305-prfsha256-x25519
    aes256gcm16-prfsha384-modp3072
)
# The gateway's vici fields of the IKE SA for each family: encr-alg/encr-keysize integ-alg prf-alg dh-group.
declare -A GW_IKE=(
    [aes128-sha256-modp2048]="AES_CBC/128 HMAC_SHA2_256_128 PRF_HMAC_SHA2_256 MODP_2048"
    [aes256-sha384-ecp384]="AES_CBC/256 HMAC_SHA2_384_192 PRF_HMAC_SHA2_384 ECP_384"
    [aes256-sha512-ecp521]="AES_CBC/256 HMAC_SHA2_512_256 PRF_HMAC_SHA2_512 ECP_521"
    [aes192-sha256-modp4096]="AES_CBC/192 HMAC_SHA2_256_128 PRF_HMAC_SHA2_256 MODP_4096"
    [chacha20poly1305-prfsha256-x25519]="CHACHA20_POLY1305/ - PRF_HMAC_SHA2_256 CURVE_25519"
    [aes256gcm16-prfsha384-modp3072]="AES_GCM_16/256 - PRF_HMAC_SHA2_384 MODP_3072"
)
# What `status --json` .ike_sa must say (encryption, prf, dh).
declare -A CLIENT_IKE=(
    [aes128-sha256-modp2048]="AES_CBC_128/HMAC_SHA2_256_128 PRF_HMAC_SHA2_256 MODP_2048"
    [aes256-sha384-ecp384]="AES_CBC_256/HMAC_SHA2_384_192 PRF_HMAC_SHA2_384 ECP_384"
    [aes256-sha512-ecp521]="AES_CBC_256/HMAC_SHA2_512_256 PRF_HMAC_SHA2_512 ECP_521"
    [aes192-sha256-modp4096]="AES_CBC_192/HMAC_SHA2_256_128 PRF_HMAC_SHA2_256 MODP_4096"
    [chacha20poly1305-prfsha256-x25519]="CHACHA20_POLY1305 PRF_HMAC_SHA2_256 CURVE_25519"
    [aes256gcm16-prfsha384-modp3072]="AES_GCM_16_256 PRF_HMAC_SHA2_384 MODP_3072"
)
# One family also carries an ESP transform test_esp_transforms.sh does not cover (AES-CBC-192).
declare -A ESP_OF=([aes192-sha256-modp4096]=aes192-sha256)

# shellcheck source=lab.sh
source "$here/lab.sh"
# shellcheck source=checks.sh
source "$here/checks.sh"
# shellcheck source=ikevpn.sh
source "$here/ikevpn.sh"

lab_require_root_and_tools swanctl ping jq nft "$LAB_CHARON"
ikevpn_require

read -r -a variants <<<"${IKE_VARIANTS:-${ALL_IKE_VARIANTS[*]}}"
for v in "${variants[@]}"; do
    [[ -n ${GW_IKE[$v]:-} ]] || { echo "FAIL: IKE_VARIANTS names '$v', not one of: ${ALL_IKE_VARIANTS[*]}"; exit 1; }
done

ikevpn_test_traps

# The gateway's IKE SA, `key=value` tokens up to its CHILD SAs, from `swanctl --list-sas --raw`.
gw_ike_raw() { lab_gateway_sas --raw 2>/dev/null | grep '^list-sa event' | head -n 1 | sed 's/child-sas {.*//'; }
gw_field() { grep -o "\\b$1=[^ }]*" <<<"$2" | head -n 1 | cut -d= -f2-; }

gw_chose() {
    local raw=$2 encr integ prf dh want_encr want_integ want_prf want_dh
    read -r want_encr want_integ want_prf want_dh <<<"$1"
    encr="$(gw_field encr-alg "$raw")/$(gw_field encr-keysize "$raw")"
    integ=$(gw_field integ-alg "$raw")
    prf=$(gw_field prf-alg "$raw")
    dh=$(gw_field dh-group "$raw")
    [[ $want_integ != - ]] || want_integ=""
    # ChaCha20-Poly1305 has one key size; accept whatever the gateway prints for it.
    [[ $encr == "$want_encr"* ]] || { echo "gateway encr $encr, wanted $want_encr"; return 1; }
    [[ $integ == "$want_integ" ]] || { echo "gateway integ '$integ', wanted '$want_integ'"; return 1; }
    [[ $prf == "$want_prf" ]] || { echo "gateway prf $prf, wanted $want_prf"; return 1; }
    [[ $dh == "$want_dh" ]] || { echo "gateway dh-group $dh, wanted $want_dh"; return 1; }
}

client_names() {
    local want_encr want_prf want_dh got
    read -r want_encr want_prf want_dh <<<"$1"
    got=$(jq -r '.ike_sa | "\(.encryption) \(.prf) \(.dh)"' <<<"$2")
    [[ $got == "$want_encr $want_prf $want_dh" ]] || { echo "status says '$got', wanted '$1'"; return 1; }
}

wait_gateway_empty() {
    local i
    for ((i = 0; i < 50; i++)); do
        [[ $(lab_gateway_sa_count) -ne 0 ]] || return 0
        sleep 0.1
    done
    return 1
}

# The COOKIE part deliberately leaves a half-open IKE SA at the gateway (until its half_open_timeout):
# there only established SAs must be gone.
wait_gateway_no_established() {
    local i
    for ((i = 0; i < 50; i++)); do
        lab_gateway_sas --raw 2>/dev/null | grep -q 'state=ESTABLISHED' || return 0
        sleep 0.1
    done
    return 1
}
GATEWAY_CLEAN=wait_gateway_empty

# connect_ping_disconnect LABEL WORKDIR — the common part of every session; returns 1 when it did not
# connect (the checks say why).
connect_ping_disconnect() {
    local label=$1 work=$2 after_connect=${3:-true}
    ikevpn_start "$work"
    ikevpn_wait_event connected 25 2>/dev/null || true
    check "[$label] ikevpn reports \"connected\" within 25 s" test -n "$(ikevpn_event connected)"
    if [[ -z $(ikevpn_event connected) ]]; then
        echo "      error event: $(ikevpn_event error)"
        tail -n 3 "$work/stderr.log" | sed 's/^/      stderr: /'
        ikevpn_stop
        wait_gateway_empty || true
        return 1
    fi
    "$after_connect" "$label"
    check "[$label] ping 198.51.100.2 through the tunnel (3 packets)" \
        lab_exec_client ping -c3 -i0.2 -W2 "$LAB_HOST_IP"
    check "[$label] ikevpn disconnect exits 0" ikevpn_ctl disconnect
    if ikevpn_wait_exit 15; then
        check "[$label] connect exits 0 after disconnect (got $IKEVPN_STATUS)" test "$IKEVPN_STATUS" -eq 0
    else
        check "[$label] connect exits within 15 s of disconnect" false
        ikevpn_stop
    fi
    if [[ $GATEWAY_CLEAN == wait_gateway_empty ]]; then
        check "[$label] gateway has no SA left" wait_gateway_empty
    else
        check "[$label] gateway has no established SA left (the half-open one stays)" "$GATEWAY_CLEAN"
    fi
}

CURRENT=""
check_algorithms() {
    local v=$CURRENT status
    check "[$v] the gateway's IKE SA uses exactly these algorithms" gw_chose "${GW_IKE[$v]}" "$(gw_ike_raw)"
    status=$(ikevpn_ctl status --json 2>/dev/null || true)
    check "[$v] status --json ike_sa names them" client_names "${CLIENT_IKE[$v]}" "$status"
    if [[ -n ${ESP_OF[$v]:-} ]]; then
        check "[$v] ESP ${ESP_OF[$v]}: status --json child_sas[0].esp is AES_CBC_192" \
            grep -q AES_CBC_192 <<<"$(jq -r '.child_sas[0].esp' <<<"$status")"
    fi
}

run_family() {
    local v=$1 work="$LAB_DIR/ikevpn-$1" failed_before=$CHECKS_FAILED
    local esp=${ESP_OF[$v]:-aes256gcm16}
    ikevpn_write_profile "$work" ".ike = [\"$v\"] | .esp = [\"$esp\"]"
    CURRENT=$v
    local t0=$SECONDS
    connect_ping_disconnect "$v" "$work" check_algorithms || true
    echo "INFO: [$v] session in $((SECONDS - t0)) s"
    ((CHECKS_FAILED == failed_before)) || ikevpn_dump_logs
}

lab_up
start=$SECONDS

# --- every IKE family against one gateway that accepts them all ---------------------------------------
gw_ike="aes128-aes192-aes256-sha256-sha384-sha512-modp2048-modp3072-modp4096-ecp384-ecp521-x25519, \
chacha20poly1305-aes256gcm16-prfsha256-prfsha384-x25519-modp3072, default"
lab_start_gateway --ike "$gw_ike" --esp "aes256gcm16-aes128gcm16, aes192-sha256, default"
for v in "${variants[@]}"; do
    run_family "$v"
done
lab_stop_gateway

# --- INVALID_KE_PAYLOAD: the gateway only takes MODP-3072, our first KE is X25519 --------------------------
lab_start_gateway --ike "aes256gcm16-prfsha256-modp3072"
work="$LAB_DIR/ikevpn-invalid-ke"
ikevpn_write_profile "$work" '.ike = ["aes256gcm16-prfsha256-x25519-modp3072"]'
invalid_ke_checks() {
    check "[invalid-ke] the client's progress names the INVALID_KE_PAYLOAD retry" \
        grep -q "INVALID_KE_PAYLOAD: the gateway wants DH group MODP_3072, retrying" "$work/stderr.log"
    check "[invalid-ke] the gateway's IKE SA uses MODP_3072" \
        test "$(gw_field dh-group "$(gw_ike_raw)")" = MODP_3072
}
connect_ping_disconnect invalid-ke "$work" invalid_ke_checks || ikevpn_dump_logs
lab_stop_gateway

# --- COOKIE (RFC 7296 §2.6): forced by cookie_threshold = 1 and one half-open IKE SA ----------------------
LAB_CHARON_OPTIONS="cookie_threshold = 1
    half_open_timeout = 60" lab_start_gateway
# The half-open SA: a first connect whose IKE_AUTH (UDP 4500) never leaves the client namespace.
work="$LAB_DIR/ikevpn-half-open"
ikevpn_write_profile "$work"
lab_exec_client nft -f - <<'EOF'
table inet ikealgo {
    chain out {
        type filter hook output priority 0;
        udp dport 4500 drop
    }
}
EOF
ikevpn_start "$work"
half_open=0
for ((i = 0; i < 50; i++)); do
    if grep -q "authenticating" "$work/stderr.log" 2>/dev/null; then
        half_open=1
        break
    fi
    sleep 0.1
done
ikevpn_stop
lab_exec_client nft delete table inet ikealgo
check "[cookie] a first IKE_SA_INIT got an answer, its IKE_AUTH was dropped (a half-open SA at the gateway)" \
    test "$half_open" = 1
work="$LAB_DIR/ikevpn-cookie"
ikevpn_write_profile "$work"
cookie_checks() {
    check "[cookie] the client's progress names the COOKIE round" \
        grep -q "the gateway asked for a COOKIE" "$work/stderr.log"
}
GATEWAY_CLEAN=wait_gateway_no_established
connect_ping_disconnect cookie "$work" cookie_checks || ikevpn_dump_logs
GATEWAY_CLEAN=wait_gateway_empty
lab_stop_gateway

# --- IKE SA rekeys with AES-CBC + HMAC-SHA2-384 / ECP-384, by the gateway and by the client ---------------
# The rekeyed IKE SA derives SK_ai/SK_ar too (RFC 7296 §2.18). The proof that both ends derived the same
# keys: the gateway removes every SA after our disconnect, i.e. it decrypted our Delete, sent on the rekeyed
# IKE SA (with wrong keys it would drop it and keep the SA).
ike_rekeys_by() {
    jq -c -R --arg who "$1" 'fromjson? | select(.event == "rekeyed" and .sa == "ike" and .initiator == $who)' \
        "$IKEVPN_DIR/events.jsonl" | wc -l
}
at_least() { (($1 >= $2)); }
rekey_session() {
    local who=$1 seconds=$2 work="$LAB_DIR/ikevpn-rekey-$1"
    local filter='.ike = ["aes256-sha384-ecp384"]'
    [[ $who != client ]] || filter+=' | .rekey = {"ike_seconds": 10, "child_seconds": 0, "jitter_seconds": 1}'
    ikevpn_write_profile "$work" "$filter"
    ikevpn_start "$work"
    if ! ikevpn_wait_event connected 25 2>/dev/null; then
        check "[rekey-$who] ikevpn reports \"connected\" within 25 s" false
        ikevpn_dump_logs
        ikevpn_stop
        return 0
    fi
    check "[rekey-$who] ping through the tunnel for ${seconds} s across the IKE rekey(s)" \
        lab_exec_client ping -c "$((seconds * 2))" -i0.5 -W2 "$LAB_HOST_IP"
    local n
    n=$(ike_rekeys_by "$who")
    echo "INFO: [rekey-$who] $n IKE SA rekey(s) initiated by the $who"
    check "[rekey-$who] the $who rekeyed the IKE SA at least once ($n)" at_least "$n" 1
    check "[rekey-$who] the gateway's IKE SA is still AES_CBC/256 HMAC_SHA2_384_192 ECP_384" gw_chose \
        "AES_CBC/256 HMAC_SHA2_384_192 PRF_HMAC_SHA2_384 ECP_384" "$(gw_ike_raw)"
    check "[rekey-$who] status --json state is still connected" \
        test "$(ikevpn_ctl status --json 2>/dev/null | jq -r .state)" = connected
    check "[rekey-$who] ikevpn disconnect exits 0" ikevpn_ctl disconnect
    ikevpn_wait_exit 15 || ikevpn_stop
    check "[rekey-$who] gateway has no SA left (it decrypted our Delete on the rekeyed IKE SA)" wait_gateway_empty
}
lab_start_gateway --ike "aes256-sha384-ecp384" --ike-rekey 4
rekey_session gateway 7
lab_stop_gateway
lab_start_gateway --ike "aes256-sha384-ecp384" --ike-rekey 0 --child-rekey 0
rekey_session client 13
lab_stop_gateway

# --- weak algorithms: refused without the opt-in, working with it ------------------------------------------
lab_start_gateway --ike "aes128-sha1-modp1024, default" --esp "aes128-sha1, default"
work="$LAB_DIR/ikevpn-weak-refused"
ikevpn_write_profile "$work" '.ike = ["aes128-sha1-modp1024"]'
ikevpn_run_foreground "$work" 10
check "[weak] without allow_weak_algorithms: connect exits non-zero (got $IKEVPN_STATUS)" \
    test "$IKEVPN_STATUS" -ne 0 -a "$IKEVPN_STATUS" -ne 124
check "[weak] the error names the algorithm and the profile key" \
    grep -q "'sha1' is a weak algorithm, refused unless the profile lists \"sha1\" in allow_weak_algorithms" \
    "$work/stderr.log"
check "[weak] nothing reached the gateway" test "$(lab_gateway_sa_count)" -eq 0
echo "INFO: [weak] error line: $(grep -m1 allow_weak "$work/stderr.log" || true)"
work="$LAB_DIR/ikevpn-weak-allowed"
ikevpn_write_profile "$work" \
    '.ike = ["aes128-sha1-modp1024"] | .esp = ["aes128-sha1"] | .allow_weak_algorithms = ["sha1", "modp1024"]'
weak_checks() {
    check "[weak] the gateway's IKE SA uses HMAC_SHA1_96 / MODP_1024" gw_chose \
        "AES_CBC/128 HMAC_SHA1_96 PRF_HMAC_SHA1 MODP_1024" "$(gw_ike_raw)"
    check "[weak] ESP aes128-sha1: the gateway's CHILD SA uses HMAC_SHA1_96" \
        grep -q "integ-alg=HMAC_SHA1_96" <<<"$(lab_gateway_sas --raw 2>/dev/null | sed -n 's/.*child-sas {//p')"
    check "[weak] ESP aes128-sha1: status --json child_sas[0].esp names HMAC_SHA1_96" \
        grep -q "HMAC_SHA1_96" <<<"$(ikevpn_ctl status --json 2>/dev/null | jq -r '.child_sas[0].esp')"
}
connect_ping_disconnect weak "$work" weak_checks || ikevpn_dump_logs

echo "INFO: whole test in $((SECONDS - start)) s"
if ! checks_summary; then
    lab_gateway_log_tail
    exit 1
fi
