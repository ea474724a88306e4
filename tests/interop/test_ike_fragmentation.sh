#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# IKE fragmentation (RFC 7383) against strongSwan (its default `fragmentation = yes`, fragment_size 1280):
# a throwaway RSA-4096 PKI from strongSwan's `pki` — root CA, two intermediate CAs, client certificate —
# makes our IKE_AUTH request (client certificate + 2 intermediates + 512-byte signature) and the gateway's
# response (RSA-4096 certificate + signature) far larger than 1280 bytes. Proves: connect, ping, clean
# disconnect; fragments both ways (our `status --json` ike_fragmentation counters, the gateway's log
# "received fragment" / "splitting IKE message"); and no IP fragment and no UDP 500/4500 datagram above
# 1280 bytes on the wire in either direction (nftables counters before defragmentation in both
# namespaces). Then `"fragment_size": 576`: more, smaller fragments. Then `"fragmentation": false` with a
# small chain (ECDSA client certificate straight from the root): connects, nothing fragmented at the IKE
# layer, and the gateway's large response arrives as IP fragments (the control for the counters).
# Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"
# shellcheck source=checks.sh
source "$here/checks.sh"
# shellcheck source=ikevpn.sh
source "$here/ikevpn.sh"

lab_require_root_and_tools swanctl ping jq pki "$LAB_CHARON"
ikevpn_require
ikevpn_test_traps

# --- the PKI: root → intermediate 1 → intermediate 2 → client, all RSA-4096 -----------------------------
pki_q() { pki "$@" 2>/dev/null; }
rsa4096() { pki_q --gen --type rsa --size 4096 --outform pem >"$1"; }
# ca_cert NAME ISSUER — NAME.key/NAME.pem, a CA certificate signed by ISSUER (self-signed when ISSUER=NAME).
ca_cert() {
    local name=$1 issuer=$2
    rsa4096 "$pkidir/$name.key"
    if [[ $name == "$issuer" ]]; then
        pki_q --self --ca --lifetime 30 --in "$pkidir/$name.key" --type priv --dn "C=CH, O=Example, CN=$name" \
            --outform pem >"$pkidir/$name.pem"
    else
        pki_q --pub --in "$pkidir/$name.key" --type priv |
            pki_q --issue --ca --lifetime 30 --cacert "$pkidir/$issuer.pem" --cakey "$pkidir/$issuer.key" \
                --dn "C=CH, O=Example, CN=$name" --outform pem >"$pkidir/$name.pem"
    fi
}
# leaf NAME ISSUER KEYTYPE SAN FLAG — NAME.key/NAME.pem, an end-entity certificate.
leaf() {
    local name=$1 issuer=$2 type=$3 san=$4 flag=$5
    if [[ $type == rsa ]]; then rsa4096 "$pkidir/$name.key"; else pki_q --gen --type ecdsa --size 256 --outform pem >"$pkidir/$name.key"; fi
    pki_q --pub --in "$pkidir/$name.key" --type priv |
        pki_q --issue --lifetime 30 --cacert "$pkidir/$issuer.pem" --cakey "$pkidir/$issuer.key" \
            --dn "C=CH, O=Example, CN=$san" --san "$san" --flag "$flag" --outform pem >"$pkidir/$name.pem"
}

lab_up
pkidir="$LAB_DIR/pki"
mkdir -p "$pkidir"
ca_cert root root
ca_cert inter1 root
ca_cert inter2 inter1
leaf gateway root rsa vpn.example.com serverAuth
leaf client inter2 rsa client@example.com clientAuth
leaf client-small root ecdsa client@example.com clientAuth
echo "INFO: PKI made with strongSwan pki: RSA-4096 root, 2 intermediates, client; DER sizes $(for c in client inter2 inter1 gateway; do printf '%s=%s ' "$c" "$(openssl x509 -in "$pkidir/$c.pem" -outform der 2>/dev/null | wc -c)"; done)"

lab_start_gateway --cert "$pkidir/gateway.pem" --key "$pkidir/gateway.key" --ca "$pkidir/root.pem" \
    --remote-auth pubkey --id vpn.example.com

# --- counters on the wire --------------------------------------------------------------------------------
# Prerouting at priority -500 runs before IP defragmentation (-400): IP fragments are still visible there.
# In each namespace, from the other end: UDP 500/4500 datagrams (IKE, and ESP in UDP: the pings are small;
# the gateway's port is the destination at the gateway and the source at the client), IP fragments of any
# kind, and UDP 500/4500 datagrams longer than 1280 bytes.
wire_counters_up() {
    local ns_exec=$1 peer=$2 port=$3
    "$ns_exec" nft -f - <<EOF
table ip fragtest {
    counter ipfrags { }
    counter ike { }
    counter ike_large { }
    chain pre {
        type filter hook prerouting priority -500; policy accept;
        ip saddr $peer ip frag-off & 0x3fff != 0 counter name ipfrags
        ip saddr $peer udp $port { 500, 4500 } counter name ike
        ip saddr $peer udp $port { 500, 4500 } ip length > 1280 counter name ike_large
    }
}
EOF
}
wire_counters_reset() {
    lab_exec_gateway nft delete table ip fragtest
    lab_exec_client nft delete table ip fragtest
    wire_counters_up lab_exec_gateway "$LAB_CLIENT_IP" dport
    wire_counters_up lab_exec_client "$LAB_GATEWAY_IP" sport
}
# counter NS_EXEC NAME — packets counted so far.
counter() { "$1" nft -j list counter ip fragtest "$2" | jq '.nftables[] | select(.counter) | .counter.packets'; }
wire_counters_up lab_exec_gateway "$LAB_CLIENT_IP" dport
wire_counters_up lab_exec_client "$LAB_GATEWAY_IP" sport

# --- helpers -----------------------------------------------------------------------------------------------
profile() {
    local name=$1 client=$2 filter=${3:-.}
    dir="$LAB_DIR/$name"
    mkdir -p "$dir"
    cp "$pkidir/$client.pem" "$dir/client.pem"
    (umask 077 && cp "$pkidir/$client.key" "$dir/client.key")
    cp "$pkidir/root.pem" "$dir/ca.pem"
    cp "$pkidir/inter1.pem" "$pkidir/inter2.pem" "$dir/"
    ikevpn_write_profile "$dir" ".remote_id = \"vpn.example.com\" | .ca = [\"ca.pem\"] |
        .auth = {\"method\": \"pubkey\", \"cert\": \"client.pem\", \"key\": \"client.key\"} | $filter"
}
ping_host() { lab_exec_client ping -c 2 -i 0.2 -W 2 "$LAB_HOST_IP" >/dev/null; }
status_json() { ikevpn_ctl status --json >"$dir/status.json" 2>/dev/null; }
frag() { jq -r ".ike_fragmentation.$1" "$dir/status.json"; }
gw_log_count() { grep -c -- "$1" "$LAB_GATEWAY_DIR/charon.log" || true; }
at_least() { [[ $1 -ge $2 ]]; }
gateway_empty() { for _ in $(seq 30); do [[ $(lab_gateway_sa_count) -eq 0 ]] && return 0; sleep 0.1; done; return 1; }

# session LABEL — connect, ping, status, disconnect; leaves status.json and the counters for checks.
session() {
    local label=$1
    wire_counters_reset
    ikevpn_start "$dir"
    check_fatal "$label: connected event" ikevpn_wait_event connected 30
    check "$label: ping through the tunnel" ping_host
    check_fatal "$label: status --json" status_json
    echo "INFO: $label: ike_fragmentation $(jq -c .ike_fragmentation "$dir/status.json")"
    ikevpn_ctl disconnect >/dev/null 2>&1 || true
    ikevpn_wait_exit 20 || ikevpn_stop
    check "$label: disconnect → exit 0" test "$IKEVPN_STATUS" -eq 0
    check "$label: gateway holds no SA" gateway_empty
}
no_ip_fragments() {
    local label=$1
    local to_gw from_gw big_to big_from
    to_gw=$(counter lab_exec_gateway ipfrags) from_gw=$(counter lab_exec_client ipfrags)
    big_to=$(counter lab_exec_gateway ike_large) big_from=$(counter lab_exec_client ike_large)
    echo "INFO: $label: UDP 500/4500 datagrams (IKE and ESP) client→gateway $(counter lab_exec_gateway ike), gateway→client $(counter lab_exec_client ike); IP fragments $to_gw / $from_gw; UDP 500/4500 datagrams > 1280 bytes $big_to / $big_from"
    # The counters saw the exchange at all: IKE_SA_INIT + our fragments (+ the Delete) one way, IKE_SA_INIT +
    # the gateway's fragments the other.
    check "$label: the gateway's counter saw IKE_SA_INIT and our $(frag fragments_sent) fragments" \
        at_least "$(counter lab_exec_gateway ike)" $(($(frag fragments_sent) + 1))
    check "$label: our counter saw IKE_SA_INIT and the gateway's $(frag fragments_received) fragments" \
        at_least "$(counter lab_exec_client ike)" $(($(frag fragments_received) + 1))
    check "$label: no IP fragment client → gateway" test "$to_gw" -eq 0
    check "$label: no IP fragment gateway → client" test "$from_gw" -eq 0
    check "$label: no UDP 500/4500 datagram above 1280 bytes client → gateway" test "$big_to" -eq 0
    check "$label: no UDP 500/4500 datagram above 1280 bytes gateway → client" test "$big_from" -eq 0
}

# --- (a) large chain, default fragment_size 1280 -----------------------------------------------------------
echo "== RSA-4096 client with 2 intermediates, default fragment_size"
profile big client '.auth.intermediates = ["inter2.pem", "inter1.pem"]'
received_before=$(gw_log_count "received fragment #")
split_before=$(gw_log_count "splitting IKE message")
session "large chain"
check "large chain: fragmentation negotiated" test "$(frag negotiated)" == true
check "large chain: we sent IKE_AUTH as fragments ($(frag fragments_sent) fragments)" at_least "$(frag messages_fragmented)" 1
check "large chain: at least 2 fragments sent" at_least "$(frag fragments_sent)" 2
check "large chain: we reassembled the gateway's fragments ($(frag fragments_received) fragments)" at_least "$(frag messages_reassembled)" 1
check "large chain: at least 2 fragments received" at_least "$(frag fragments_received)" 2
check "large chain: no fragment of ours dropped" test "$(frag fragments_dropped)" -eq 0
check "large chain: the gateway received our fragments (its log)" at_least "$(gw_log_count "received fragment #")" $((received_before + 2))
check "large chain: the gateway split its response (its log)" at_least "$(gw_log_count "splitting IKE message")" $((split_before + 1))
grep -m1 "splitting IKE message" "$LAB_GATEWAY_DIR/charon.log" | sed 's/^/INFO: gateway log: /' || true
grep -m1 "IKE message reassembled\|received fragment #" "$LAB_GATEWAY_DIR/charon.log" | sed 's/^/INFO: gateway log: /' || true
check "large chain: stderr reports the fragmented request" grep -q "IKE fragments of at most 1248 bytes" "$dir/stderr.log"
no_ip_fragments "large chain"

# --- (b) the same with fragment_size 576 ---------------------------------------------------------------------
echo "== fragment_size 576"
profile small-frags client '.auth.intermediates = ["inter2.pem", "inter1.pem"] | .fragment_size = 576'
session "fragment_size 576"
check "fragment_size 576: at least 8 fragments sent ($(frag fragments_sent))" at_least "$(frag fragments_sent)" 8
check "fragment_size 576: stderr reports fragments of at most 544 bytes" grep -q "IKE fragments of at most 544 bytes" "$dir/stderr.log"
no_ip_fragments "fragment_size 576"

# --- (c) fragmentation off, small chain --------------------------------------------------------------------------
echo "== \"fragmentation\": false, ECDSA client certificate straight from the root"
profile off client-small '.fragmentation = false'
session "fragmentation off"
check "fragmentation off: not negotiated" test "$(frag negotiated)" == false
check "fragmentation off: nothing sent as fragments" test "$(frag fragments_sent)" -eq 0
check "fragmentation off: nothing received as fragments" test "$(frag fragments_received)" -eq 0
# The control for the wire counters: without IKE fragmentation the gateway's IKE_AUTH response (RSA-4096
# certificate and signature, ~2 KB) no longer fits the 1500-byte link and arrives as IP fragments.
echo "INFO: fragmentation off: IP fragments client→gateway $(counter lab_exec_gateway ipfrags), gateway→client $(counter lab_exec_client ipfrags)"
check "fragmentation off: the gateway's large IKE_AUTH response arrived as IP fragments (the counter works)" \
    at_least "$(counter lab_exec_client ipfrags)" 2

checks_summary
