#!/usr/bin/env bash
# The --json forms of `ikevpn check` and `ikevpn import` (docs/status-json.md) as a script sees them: stdout
# is one JSON object in success and failure, and the exit status agrees with "ok". Needs no root or lab.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=checks.sh
source "$here/checks.sh"
# shellcheck source=ikevpn.sh
source "$here/ikevpn.sh"
ikevpn_require

dir=$(mktemp -d "${TMPDIR:-/tmp}/ikevpn-cli-json.XXXXXX")
trap 'rm -rf "$dir"' EXIT

results="$dir/results"
mkdir "$results"
# run_json NAME ARGS... — stdout to $results/NAME.json, stderr to $results/NAME.err, exit status to $results/NAME.rc
run_json() {
    local name=$1
    shift
    "$IKEVPN" "$@" >"$results/$name.json" 2>"$results/$name.err"
    echo $? >"$results/$name.rc"
}
jq_true() { jq -e "$2" "$results/$1.json" >/dev/null; }
rc_is() { [[ $(cat "$results/$1.rc") == "$2" ]]; }

printf 'correct horse battery staple\n' >"$dir/work.psk"
chmod 600 "$dir/work.psk"
printf '{"gateway": "192.0.2.1", "local_id": "alice@example.com", "auth": {"method": "psk", "psk_file": "work.psk"}}\n' \
    >"$dir/work.json"
printf '{"gateway": "192.0.2.1", "local_id": "alice@example.com", "auth": {"method": "psk", "psk_file": "gone.psk"}}\n' \
    >"$dir/broken.json"

run_json good check --json work --dir "$dir"
check "check --json on a usable profile: exit 0" rc_is good 0
check "check --json: ok true, summary names the gateway" jq_true good '.ok == true and (.summary | test("gateway 192.0.2.1"))'
check "check --json: no errors" jq_true good '.errors == []'

run_json broken check --json "$dir/broken.json"
check "check --json on a broken profile: exit 1" rc_is broken 1
check "check --json: the error names key auth.psk_file and the missing file" \
    jq_true broken '.ok == false and .errors[0].key == "auth.psk_file" and (.errors[0].message | test("gone.psk"))'

run_json missing check --json nosuch --dir "$dir"
check "check --json on an unknown profile name: exit 1 with {ok:false, error}" \
    jq_true missing '.ok == false and (.error | test("nosuch"))'

printf '{"name": "office", "type": "ikev2-eap", "remote": {"addr": "198.51.100.1"}, "local": {"eap_id": "bob"}}\n' \
    >"$dir/office.sswan"
run_json import import --json "$dir/office.sswan" --dir "$dir/profiles"
check "import --json: exit 0" rc_is import 0
check "import --json: ok, name and the written profile file" \
    jq_true import ".ok == true and .name == \"office\" and .profile == \"$dir/profiles/office.json\" and .written[0] == .profile"
check "import --json: the written profile exists and names the gateway" \
    jq -e '.gateway == "198.51.100.1"' "$dir/profiles/office.json"

run_json again import --json "$dir/office.sswan" --dir "$dir/profiles"
check "import --json refuses to overwrite: exit 1 with {ok:false, error}" \
    jq_true again '.ok == false and (.error | test("already exists"))'
check "import --json: stdout is only the JSON object (stderr empty)" test ! -s "$results/again.err"

checks_summary
