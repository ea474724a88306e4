#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# CHILD SA rekey collisions (RFC 7296 §2.8.1) against strongSwan, forced: the client's rekey request is held
# back (nftables drops IKE messages from the client, ESP passes) until the gateway starts its own rekey of
# the same CHILD SA (`swanctl --rekey`), then released; the client's retransmission reaches the gateway
# while the gateway's request is still unanswered, so both ends see the collision. Both exchanges complete,
# the lowest nonce decides (which side wins is random), the loser's new SA and the old one are deleted.
# COLLISION_ROUNDS (2) times under a continuous ping. Checks: the gateway logged a collision each round,
# the client said which pair is redundant, afterwards exactly one CHILD SA at the gateway and one pair in
# ikevpn with matching SPIs, one IKE SA, clean disconnect; no echo request lost, neither outside nor inside
# the seconds in which the test withholds the client's IKE messages. Inside them the gateway can use its new
# pair only once our (withheld) answer arrives with its retransmission 4 s later, so ikevpn keeps sending on
# the old pair until the gateway uses the new one or deletes the old one (InstallChildSa::outbound_deferred;
# before that, 24 and 8 of 190 echo requests were lost here).
# Then the same for the IKE SA (RFC 7296 §2.8.2; `rekey.ike_seconds` 12, `swanctl --rekey --ike`): the
# gateway logged an IKE SA collision each round, so did the client, not one echo request lost, one IKE SA
# left and it is the client's, one CHILD SA. Exit 0 pass, 1 fail, 77 skip.
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

rounds=${COLLISION_ROUNDS:-2}
lab_up
# The gateway never rekeys by itself (rekey_time = 0): each of its rekeys below is a `swanctl --rekey`.
lab_start_gateway --child-rekey 0 --ike-rekey 0
work="$LAB_DIR/ikevpn"
ikevpn_write_profile "$work" '.rekey = {"child_seconds": 12, "jitter_seconds": 0}'
ikevpn_start "$work"
check_fatal "ikevpn connects" ikevpn_wait_event connected 20

ikevpn_ike_holdback_setup collide

# force_collisions KIND PING_OUT — COLLISION_ROUNDS forced collisions of the client's rekey of KIND (child
# or ike) with the gateway's, under a ping whose output goes to PING_OUT; the withheld seconds of each round
# go to $windows.
windows="$LAB_DIR/windows"
force_collisions() {
    local kind=$1 out=$2 round due held block_start deadline query
    query='[.child_sas[].rekey_seconds | numbers] | min // empty'
    [[ $kind == child ]] || query='.ike_sa.rekey_seconds // empty'
    : >"$windows"
    lab_exec_client ping -D -c $(((rounds * 14 + 10) * 5)) -i 0.2 -W 2 "$LAB_HOST_IP" >"$out" 2>&1 &
    local ping_pid=$!
    for ((round = 1; round <= rounds; round++)); do
        due=$(ikevpn_ctl status --json | jq -r "$query")
        if [[ -z $due ]]; then
            check "$kind round $round: status shows when the client rekeys" false
            break
        fi
        sleep $((due > 2 ? due - 2 : 0))
        block_start=$(date +%s.%N)
        ikevpn_ike_block
        # Wait for the client's rekey request to be dropped, then let the gateway rekey the same SA.
        deadline=$((SECONDS + 6))
        while (($(ikevpn_ike_dropped || echo 0) < 1 && SECONDS < deadline)); do sleep 0.05; done
        held=$(ikevpn_ike_dropped || echo 0)
        echo "$block_start $(date +%s.%N)" >>"$windows"
        timeout 20 bash -c "$(declare -f lab_swanctl); lab_swanctl '$LAB_GATEWAY_DIR' --rekey --$kind lab" \
            >"$LAB_DIR/rekey-$kind-$round.out" 2>&1 &
        sleep 0.3
        ikevpn_ike_unblock
        echo "INFO: $kind round $round: client IKE messages held back: $held"
        sleep 9  # the client's retransmission (1 s), the gateway's (4 s), the Deletes
    done
    wait "$ping_pid" || true
}

ping_out="$LAB_DIR/ping.out"
force_collisions child "$ping_out"
echo "INFO: $(grep -E 'packets transmitted' "$ping_out" || echo 'no ping summary')"
# Echo requests go out every 0.2 s: the send time of a lost one follows from any answered one (ping -D).
lost_where=$(awk -v windows="$windows" '
    BEGIN { while ((getline line < windows) > 0) { split(line, w, " "); from[++n] = w[1] - 0.5; to[n] = w[2] + 6 } }
    /packets transmitted/ { sent = $1 }
    /icmp_seq=/ { match($0, /icmp_seq=[0-9]+/); seq = substr($0, RSTART + 9, RLENGTH - 9) + 0
                  got[seq] = 1; if (!base) { ts = substr($1, 2, length($1) - 2); base = ts - (seq - 1) * 0.2 } }
    END { inside = 0; outside = 0
          for (s = 1; s <= sent; s++) if (!(s in got)) {
              t = base + (s - 1) * 0.2; hit = 0
              for (i = 1; i <= n; i++) if (t >= from[i] && t <= to[i]) hit = 1
              if (hit) inside++; else outside++ }
          print inside, outside }' "$ping_out")
read -r lost_inside lost_outside <<<"$lost_where"
echo "INFO: echo requests lost while the test withheld the client's IKE messages (and 6 s after): $lost_inside"

# "CHILD_SA rekey collision won/lost", or "rekey/delete collision" when our Delete of the old pair (we won)
# arrived before our answer to its rekey.
collisions=$(grep -cE 'CHILD_SA rekey(/delete)? collision' "$LAB_GATEWAY_DIR/charon.log" || true)
echo "INFO: gateway: $(grep -oE 'CHILD_SA rekey(/delete)? collision,? [a-z]*' "$LAB_GATEWAY_DIR/charon.log" | sort | uniq -c | tr '\n' ';')"
every_round_collided() { ((collisions >= rounds)); }
check "the gateway saw a rekey collision in each of $rounds rounds ($collisions)" every_round_collided
client_said=$(grep -c 'the gateway rekeyed the same CHILD SA' "$IKEVPN_DIR/stderr.log" || true)
echo "INFO: client: $(grep -o 'the gateway rekeyed the same CHILD SA: [a-z]*' "$IKEVPN_DIR/stderr.log" | sort | uniq -c | tr '\n' ';')"
client_resolved() { ((client_said >= rounds)); }
check "the client resolved each collision by the nonces ($client_said)" client_resolved
none_lost_outside() { [[ -n $lost_outside && $lost_outside == 0 ]]; }
check "no echo request lost outside the withheld seconds ($lost_outside)" none_lost_outside
none_lost_inside() { [[ -n $lost_inside && $lost_inside == 0 ]]; }
check "no echo request lost while our answer to the gateway's rekey was withheld ($lost_inside)" none_lost_inside
pings_answered() { grep -q ' [1-9][0-9]* received' "$ping_out"; }
check "the tunnel carried the ping" pings_answered

status=$(ikevpn_ctl status --json)
one_pair() { jq -e '(.child_sas | length) == 1' <<<"$status" >/dev/null; }
check "ikevpn has exactly one CHILD SA pair" one_pair
gateway_children() { lab_swanctl "$LAB_GATEWAY_DIR" --list-sas 2>/dev/null; }
gateway_one_child() { [[ $(gateway_children | grep -c 'INSTALLED' || true) == 1 ]]; }
check "the gateway holds exactly one CHILD SA" gateway_one_child
spi_in=$(jq -r '.child_sas[0].spi_in' <<<"$status")
spi_out=$(jq -r '.child_sas[0].spi_out' <<<"$status")
same_pair() { gateway_children | grep -q "in  *$spi_out" && gateway_children | grep -q "out *$spi_in"; }
check "it is the same pair on both ends (ours in $spi_in = its out, ours out $spi_out = its in)" same_pair
gateway_one_ike_sa() { [[ $(lab_gateway_sa_count) == 1 ]]; }
check "the gateway holds exactly one IKE SA" gateway_one_ike_sa
still_connected() { jq -e '.state == "connected"' <<<"$status" >/dev/null; }
check "ikevpn is still connected" still_connected
no_error() { [[ -z $(ikevpn_event error) ]]; }
check "no error event" no_error

ikevpn_disconnect_and_check

echo "== IKE SA rekey collisions (RFC 7296 §2.8.2)"
ikevpn_write_profile "$work" '.rekey = {"ike_seconds": 12, "jitter_seconds": 0}'
ikevpn_start "$work"
check_fatal "IKE: ikevpn connects" ikevpn_wait_event connected 20
gw_log_before=$(wc -l <"$LAB_GATEWAY_DIR/charon.log")
ike_ping_out="$LAB_DIR/ping-ike.out"
force_collisions ike "$ike_ping_out"
echo "INFO: IKE: $(grep -E 'packets transmitted' "$ike_ping_out" || echo 'no ping summary')"
gw_ike_log() { tail -n +"$((gw_log_before + 1))" "$LAB_GATEWAY_DIR/charon.log"; }
ike_collisions=$(gw_ike_log | grep -ciE 'IKE_SA rekey collision' || true)
echo "INFO: IKE: gateway: $(gw_ike_log | grep -oiE 'IKE_SA rekey collision,? [a-z]*' | sort | uniq -c | tr '\n' ';')"
ike_every_round() { ((ike_collisions >= rounds)); }
check "IKE: the gateway saw a rekey collision in each of $rounds rounds ($ike_collisions)" ike_every_round
ike_client_said=$(grep -c 'IKE SA rekey collision' "$IKEVPN_DIR/stderr.log" || true)
echo "INFO: IKE: client: $(grep -oE 'IKE SA rekey collision: [a-z ]*' "$IKEVPN_DIR/stderr.log" | sort | uniq -c | tr '\n' ';')"
ike_client_resolved() { ((ike_client_said >= rounds)); }
check "IKE: the client resolved each collision by the nonces ($ike_client_said)" ike_client_resolved
# An IKE SA rekey moves no ESP: not one echo request may be lost, withheld IKE messages or not.
ike_no_loss() { grep -q ' 0% packet loss' "$ike_ping_out"; }
check "IKE: no echo request lost" ike_no_loss
status=$(ikevpn_ctl status --json)
spi_i=$(jq -r '.ike_sa.spi_i' <<<"$status")
spi_r=$(jq -r '.ike_sa.spi_r' <<<"$status")
check "IKE: the gateway holds exactly one IKE SA" gateway_one_ike_sa
same_ike_sa() { lab_gateway_sas 2>/dev/null | grep -q "${spi_i}_i.* ${spi_r}_r"; }
check "IKE: it is the client's current IKE SA ($spi_i / $spi_r)" same_ike_sa
check "IKE: the gateway holds exactly one CHILD SA" gateway_one_child
check "IKE: ikevpn has exactly one CHILD SA pair" one_pair
check "IKE: ikevpn is still connected" still_connected
check "IKE: no error event" no_error
ikevpn_disconnect_and_check
checks_summary
