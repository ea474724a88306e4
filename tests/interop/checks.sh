# shellcheck shell=bash
# tests/interop/checks.sh — one PASS/FAIL line per check, and a verdict at the end.
CHECKS_PASSED=0
CHECKS_FAILED=0

# check DESCRIPTION COMMAND [ARGS...] — run COMMAND (output hidden unless it fails) and record the result.
check() {
    local what=$1 out
    shift
    if out=$("$@" 2>&1); then
        echo "PASS: $what"
        CHECKS_PASSED=$((CHECKS_PASSED + 1))
        return 0
    fi
    echo "FAIL: $what"
    [[ -z $out ]] || printf '%s\n' "$out" | tail -n 15 | sed 's/^/      /'
    CHECKS_FAILED=$((CHECKS_FAILED + 1))
    return 0
}

# check_fatal DESCRIPTION COMMAND... — like check, but a failure ends the test (later checks would only
# repeat it). Calls checks_on_fatal first when the test defines it (to print logs).
check_fatal() {
    local before=$CHECKS_FAILED
    check "$@"
    if ((CHECKS_FAILED > before)); then
        checks_summary || true
        if declare -F checks_on_fatal >/dev/null; then
            checks_on_fatal
        fi
        exit 1
    fi
}

# not COMMAND... — succeeds when COMMAND fails.
not() { ! "$@"; }

checks_summary() {
    echo "checks: $CHECKS_PASSED passed, $CHECKS_FAILED failed"
    ((CHECKS_FAILED == 0))
}
