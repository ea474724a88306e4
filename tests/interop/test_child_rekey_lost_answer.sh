#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# The gateway rekeys the CHILD SA (`swanctl --rekey --child`) and ikevpn's answer is lost: nftables drops the
# client's IKE messages (non-ESP marker; ESP passes) until the answer has been dropped and a second more,
# so the answer reaches strongSwan only with its retransmission of the request 4 s later. Until then the
# gateway cannot decrypt the new pair: a client that sent on it at once would lose every packet meanwhile.
# ikevpn keeps sending on the old pair until the gateway uses the new one or deletes the old one
# (core::InstallChildSa::outbound_deferred, client/data_path_deferred.cpp). LOST_ANSWER_ROUNDS (2) times
# under a continuous ping. Checks: an answer was dropped each round and strongSwan retransmitted its
# request, it rekeyed each time, not one echo request lost, the switch to each new pair was made because
# the gateway used it or deleted the old one (never by the safety limit), one pair left with the same SPIs
# at both ends, still connected, no error. Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"
# shellcheck source=checks.sh
source "$here/checks.sh"
# shellcheck source=ikevpn.sh
source "$here/ikevpn.sh"

lab_require_root_and_tools swanctl ping jq nft "$LAB_CHARON"
ikevpn_require

ikevpn_test_traps

rounds=${LOST_ANSWER_ROUNDS:-2}
lab_up
# Neither end rekeys by itself: each rekey below is the gateway's `swanctl --rekey`.
lab_start_gateway --child-rekey 0 --ike-rekey 0
work="$LAB_DIR/ikevpn"
ikevpn_write_profile "$work"
ikevpn_start "$work"
check_fatal "ikevpn connects" ikevpn_wait_event connected 20

ikevpn_ike_holdback_setup lostanswer

ping_out="$LAB_DIR/ping.out"
lab_exec_client ping -c $(((rounds * 13 + 4) * 5)) -i 0.2 -W 2 "$LAB_HOST_IP" >"$ping_out" 2>&1 &
ping_pid=$!
sleep 2
rounds_lost=0
for ((round = 1; round <= rounds; round++)); do
    ikevpn_ike_block
    timeout 20 bash -c "$(declare -f lab_swanctl); lab_swanctl '$LAB_GATEWAY_DIR' --rekey --child lab" \
        >"$LAB_DIR/rekey-$round.out" 2>&1 &
    deadline=$((SECONDS + 6))
    while (($(ikevpn_ike_dropped || echo 0) < 1 && SECONDS < deadline)); do sleep 0.05; done
    sleep 1  # traffic goes on while the gateway waits for an answer it will only get with its retransmission
    held=$(ikevpn_ike_dropped || echo 0)
    ikevpn_ike_unblock
    echo "INFO: round $round: client IKE messages dropped: $held"
    ((held >= 1)) && rounds_lost=$((rounds_lost + 1))
    sleep 10  # the gateway's retransmission (4 s after its request), our repeated answer, its Delete
done
wait "$ping_pid" || true
echo "INFO: $(grep -E 'packets transmitted' "$ping_out" || echo 'no ping summary')"

every_round_lost() { ((rounds_lost == rounds)); }
check "our answer was dropped in each of $rounds rounds ($rounds_lost)" every_round_lost
retransmits=$(grep -cE 'retransmit [0-9]+ of request' "$LAB_GATEWAY_DIR/charon.log" || true)
gateway_retransmitted() { ((retransmits >= rounds)); }
check "the gateway retransmitted its rekey request ($retransmits)" gateway_retransmitted
rekeys=$(jq -c -R 'fromjson? | select(.event == "rekeyed" and .sa == "child" and .initiator == "gateway")' \
    "$IKEVPN_DIR/events.jsonl" | wc -l)
every_round_rekeyed() { ((rekeys >= rounds)); }
check "the gateway rekeyed the CHILD SA in each round ($rekeys)" every_round_rekeyed
no_ping_lost() { grep -q ' 0% packet loss' "$ping_out"; }
check "not one echo request lost while our answers were late" no_ping_lost

status=$(ikevpn_ctl status --json)
switches=$(jq -c '.data_path.rekey_send_switches' <<<"$status")
echo "INFO: switches to the gateway's new pairs: $switches"
switched_on_proof() {
    jq -e --argjson n "$rounds" '.timeout == 0 and .waiting == false and (.first_packet + .old_pair_removed) >= $n' \
        <<<"$switches" >/dev/null
}
check "each switch came from the gateway using the new pair or deleting the old one, none by timeout" switched_on_proof
one_pair() { jq -e '(.child_sas | length) == 1' <<<"$status" >/dev/null; }
check "ikevpn has exactly one CHILD SA pair" one_pair
gateway_children() { lab_swanctl "$LAB_GATEWAY_DIR" --list-sas 2>/dev/null; }
gateway_one_child() { [[ $(gateway_children | grep -c 'INSTALLED' || true) == 1 ]]; }
check "the gateway holds exactly one CHILD SA" gateway_one_child
spi_in=$(jq -r '.child_sas[0].spi_in' <<<"$status")
spi_out=$(jq -r '.child_sas[0].spi_out' <<<"$status")
same_pair() { gateway_children | grep -q "in  *$spi_out" && gateway_children | grep -q "out *$spi_in"; }
check "it is the same pair on both ends (ours in $spi_in = its out, ours out $spi_out = its in)" same_pair
still_connected() { jq -e '.state == "connected"' <<<"$status" >/dev/null; }
check "ikevpn is still connected" still_connected
no_error() { [[ -z $(ikevpn_event error) ]]; }
check "no error event" no_error

ikevpn_disconnect_and_check
checks_summary
