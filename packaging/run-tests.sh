#!/usr/bin/env bash
# README command 2: builds with warnings as errors, runs the unit tests and (as root) the interop tests
# against a real strongSwan gateway in network namespaces, then prints one summary line:
#   N passed, N failed[, N skipped]
# Usage (from anywhere): sudo packaging/run-tests.sh
# Environment: BUILD_DIR (default build-tests), INTEROP_TIMEOUT seconds per script (default 300),
#              INTEROP_FILTER (substring of the script names to run).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
build_dir=${BUILD_DIR:-build-tests}
interop_timeout=${INTEROP_TIMEOUT:-300}

passed=0
failed=0
skipped=0
failures=()

heading() { printf '\n==== %s ====\n' "$*"; }

summary_and_exit() {
    heading "summary"
    if ((${#failures[@]} > 0)); then
        printf 'failed: %s\n' "${failures[@]}"
    fi
    local line="$passed passed, $failed failed"
    ((skipped == 0)) || line+=", $skipped skipped"
    echo "$line"
    if ((failed > 0)); then
        exit 1
    fi
    exit 0
}

heading "dependencies"
if [[ $(id -u) -eq 0 ]]; then
    bash packaging/install-deps.sh
else
    bash packaging/install-deps.sh --build-only
fi

heading "build ($build_dir, -Dwerror=true)"
if [[ -f $build_dir/meson-private/coredata.dat ]]; then
    setup=(meson setup --reconfigure -Dwerror=true --prefix=/usr "$build_dir")
else
    setup=(meson setup -Dwerror=true --prefix=/usr "$build_dir")
fi
if ! "${setup[@]}" || ! ninja -C "$build_dir"; then
    failed=$((failed + 1))
    failures+=("build")
    summary_and_exit
fi

heading "unit tests"
unit_log="$build_dir/meson-logs/testlog.json"
rm -f "$unit_log"
unit_status=0
meson test -C "$build_dir" --suite unit --print-errorlogs || unit_status=$?
if [[ -s $unit_log ]]; then
    # One JSON object per test program; meson's results: OK, SKIP, FAIL, TIMEOUT, ERROR, EXPECTEDFAIL,
    # UNEXPECTEDPASS.
    counts=$(jq -s -r '[
        (map(select(.result == "OK" or .result == "EXPECTEDFAIL")) | length),
        (map(select(.result == "SKIP")) | length),
        (map(select(.result | IN("OK", "EXPECTEDFAIL", "SKIP") | not)) | length)] | @tsv' "$unit_log")
    read -r unit_ok unit_skip unit_fail <<<"$counts"
    passed=$((passed + unit_ok))
    skipped=$((skipped + unit_skip))
    failed=$((failed + unit_fail))
    while IFS= read -r name; do
        failures+=("$name")
    done < <(jq -r 'select(.result | IN("OK", "EXPECTEDFAIL", "SKIP") | not) | .name' "$unit_log")
    if ((unit_status != 0 && unit_fail == 0)); then
        failed=$((failed + 1))
        failures+=("meson test (exit status $unit_status)")
    fi
else
    echo "no unit test results in $unit_log (meson test exit status $unit_status)"
    failed=$((failed + 1))
    failures+=("unit tests (no results)")
fi

heading "interop tests"
mapfile -t scripts < <(find tests/interop -maxdepth 1 -name 'test_*.sh' -type f | sort)
if [[ -n ${INTEROP_FILTER:-} ]]; then
    mapfile -t scripts < <(printf '%s\n' "${scripts[@]}" | grep -F -- "$INTEROP_FILTER" || true)
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "interop tests skipped: they need root (network namespaces); run: sudo $0"
    skipped=$((skipped + ${#scripts[@]}))
    summary_and_exit
fi
export IKEVPN="$repo/$build_dir/client/ikevpn"
export IKEVPN_BUILD_DIR="$repo/$build_dir"  # test_packaging.sh packages this build instead of making another
log_dir="$build_dir/interop-logs"
mkdir -p "$log_dir"
for script in "${scripts[@]}"; do
    name=$(basename "$script" .sh)
    echo "---- $name (timeout ${interop_timeout}s, log $log_dir/$name.log)"
    status=0
    timeout --kill-after=15 "$interop_timeout" bash "$script" 2>&1 | tee "$log_dir/$name.log" ||
        status=${PIPESTATUS[0]}
    case $status in
        0) passed=$((passed + 1)); echo "---- $name: passed" ;;
        77) skipped=$((skipped + 1)); echo "---- $name: skipped" ;;
        124 | 137) failed=$((failed + 1)); failures+=("$name (timed out)"); echo "---- $name: TIMED OUT" ;;
        *) failed=$((failed + 1)); failures+=("$name"); echo "---- $name: FAILED (exit $status)" ;;
    esac
done
summary_and_exit
