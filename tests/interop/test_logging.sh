#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# Logging and the control socket's group access against the strongSwan gateway: `connect NAME --dir DIR
# --log-level trace --control-group nogroup` traces every IKE message with a timestamp, level and SA
# context on each line, and the PSK never appears in any output (raw or hex); members of the control
# group may ask for status without root, others may not; `list` shows the connection. Exit 0/1/77.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"
# shellcheck source=checks.sh
source "$here/checks.sh"
# shellcheck source=ikevpn.sh
source "$here/ikevpn.sh"

lab_require_root_and_tools swanctl ping jq setpriv od "$LAB_CHARON"
ikevpn_require

ikevpn_test_traps

# A PSK no other test uses, so that finding it can only mean this run printed it.
psk="log-test-psk-$$-$RANDOM-k9Qz"
psk_hex=$(printf '%s' "$psk" | od -An -tx1 -v | tr -d ' \n')
psk_hex_upper=${psk_hex^^}
group=nogroup  # exists on Debian; nobody (65534) has it as primary group
name="logtest-${LAB_PREFIX}"
socket="/run/ikevpn/$name.sock"

lab_up
lab_start_gateway --psk "$psk"
work="$LAB_DIR/ikevpn"
ikevpn_write_profile "$work" ".name = \"$name\"" "$psk"
mv "$work/profile.json" "$work/$name.json"

IKEVPN_DIR=$work
ip netns exec "$LAB_NS_CLIENT" "$IKEVPN" connect "$name" --dir "$work" --json-events --log-level trace \
    --control-group "$group" >"$work/events.jsonl" 2>"$work/stderr.log" </dev/null &
IKEVPN_PID=$!
check_fatal "connect by name (--dir) reports \"connected\" within 20 s" ikevpn_wait_event connected 20

log=$work/stderr.log
stamp='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z (error|warn |info |debug|trace) '
every_line_stamped() { ! grep -vEq "$stamp" "$log"; }
has() { grep -qE -- "$1" "$log"; }
sa_context="\\[$name [0-9a-f]{16}/[0-9a-f]{16}\\]"
check "every stderr line has a UTC timestamp and a level ($(wc -l <"$log") lines)" every_line_stamped
check "trace: IKE_SA_INIT request sent, with message ID and payloads" has "trace .*sent IKE_SA_INIT request #0 .*: SA KE"
check "trace: IKE_AUTH response received" has "trace .*received IKE_AUTH response #1"
check "trace: CHILD SA installed, keys not shown" has "install CHILD SA: spi_in [0-9a-f]{8} .*\\(keys not shown\\)"
# The numbered info lines of one connect, in order: 1, 2, 3, ... ending with "N. connected in".
steps_numbered() {
    local numbers expected
    numbers=$(grep -E ' info  \[[^]]*\] [0-9]+\. ' "$log" | sed -E 's/.* info  \[[^]]*\] ([0-9]+)\. .*/\1/' | tr '\n' ' ')
    expected=$(seq 1 "$(wc -w <<<"$numbers")" | tr '\n' ' ')
    [[ -n $numbers && $numbers == "$expected" ]] || { echo "steps: $numbers"; return 1; }
    grep -qE ' info  \[[^]]*\] [0-9]+\. connected in ' "$log"
}
check "lines after IKE_SA_INIT carry the profile and both IKE SPIs" has "$sa_context [0-9]+\\. connected in [0-9]+ ms"
check "lines before it carry the profile name" has "\\[$name\\] 1\\. connecting to $LAB_GATEWAY_IP"
check "the connect steps are numbered 1, 2, 3, ... up to \"connected\"" steps_numbered

ask_status() { setpriv --reuid=65534 --regid="$1" --clear-groups "$IKEVPN" status --json --socket "$socket"; }
status_as_member() { ask_status 65534 | jq -e '.state == "connected"' >/dev/null; }
denied_as_stranger() {
    local out
    if out=$(ask_status 54321 2>&1); then echo "a non-member got: $out"; return 1; fi
    grep -q "permission denied" <<<"$out"
}
check "control socket is mode 660, group $group" test "$(stat -c '%a %G' "$socket")" = "660 $group"
check "a member of $group (uid nobody) gets status without root" status_as_member
check "a user outside $group is refused (permission denied)" denied_as_stranger
listed_connected() {
    ip netns exec "$LAB_NS_CLIENT" "$IKEVPN" list --dir "$work" --json |
        jq -e --arg n "$name" '.[] | select(.name == $n) | .state == "connected"' >/dev/null
}
check "list --dir shows the profile as connected" listed_connected

ikevpn_ctl status --json >"$work/status.json" 2>&1 || true
ip netns exec "$LAB_NS_CLIENT" "$IKEVPN" disconnect --socket "$socket" 2>>"$work/ctl.log" || true
ikevpn_wait_exit 10 || true  # outside `check`: it sets IKEVPN_STATUS, which a subshell would lose
check_fatal "connect exits within 10 s of disconnect" test "$IKEVPN_STATUS" -ne 124
check "exit status 0 after a requested disconnect" test "$IKEVPN_STATUS" -eq 0
check "socket removed after exit" test ! -e "$socket"

no_psk_in() {
    local file
    for file in "$@"; do
        if grep -qF -- "$psk" "$file" || grep -qiF -- "$psk_hex" "$file" || grep -qF -- "$psk_hex_upper" "$file"; then
            echo "PSK found in $file"
            return 1
        fi
    done
}
check "the PSK (raw or hex) is in none of stderr, events, status ($(wc -c <"$log") bytes of trace)" \
    no_psk_in "$log" "$work/events.jsonl" "$work/status.json"
check "the trace is not empty-handed: it has IKE messages in both directions" \
    test "$(grep -c -E 'trace .*(sent|received) (IKE_SA_INIT|IKE_AUTH|INFORMATIONAL)' "$log")" -ge 5

checks_summary
