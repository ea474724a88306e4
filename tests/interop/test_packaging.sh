#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Packaging: `meson install --destdir` puts the binary, man page, bash completion and systemd template
# unit in place; the man page renders; the unit verifies; packaging/build-deb.sh builds a .deb with those
# files and computed dependencies; the completion completes commands and profile names; every command
# has --help with examples. Needs no network namespace; run as root in CI like the other interop tests.
# BUILD_DIR (default build-deb/build, a release build with --prefix=/usr) is reused between runs.
# Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=checks.sh
source "$here/checks.sh"

for tool in meson ninja dpkg-deb dpkg-shlibdeps python3 bash; do
    if ! command -v "$tool" >/dev/null; then
        echo "SKIP: $tool is missing (packaging/install-deps.sh installs it)"
        exit 77
    fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/ikevpn-packaging.XXXXXX")
trap 'rm -rf "$work"' EXIT
export BUILD_DIR=${BUILD_DIR:-$repo/build-deb/build}
# Under packaging/run-tests.sh the suite's own build (configured with --prefix=/usr) is packaged as it is.
if [[ -n ${IKEVPN_BUILD_DIR:-} ]]; then
    export DEB_PREBUILT=$IKEVPN_BUILD_DIR BUILD_DIR=$IKEVPN_BUILD_DIR
fi

echo "INFO: building the package (from $BUILD_DIR; a first run without IKEVPN_BUILD_DIR compiles a release build)"
# Outside `check`: it runs its command in a subshell, which would lose $deb.
deb=$("$repo/packaging/build-deb.sh" "$work/out" 2>"$work/build-deb.err" | tail -n 1) || cat "$work/build-deb.err" >&2
check_fatal "packaging/build-deb.sh builds a .deb" test -f "$deb"
echo "INFO: $(basename "$deb"), $(stat -c %s "$deb") bytes"

# --- meson install --destdir ---
root=$work/root
check_fatal "meson install --destdir succeeds" meson install -C "$BUILD_DIR" --destdir "$root" --no-rebuild --quiet
for file in usr/bin/ikevpn usr/share/man/man8/ikevpn.8 usr/share/bash-completion/completions/ikevpn \
    usr/lib/systemd/system/ikevpn@.service; do
    check "installed: /$file" test -s "$root/$file"
done
check "installed binary is executable and reports its version" \
    grep -qE '^ikevpn [0-9]+\.[0-9]+' <<<"$("$root/usr/bin/ikevpn" --version)"

# --- man page ---
man_page=$root/usr/share/man/man8/ikevpn.8
if command -v groff >/dev/null; then
    groff_clean() {
        local out
        out=$(groff -man -z -ww "$man_page" 2>&1) || return 1
        [[ -z $out ]] || { echo "$out"; return 1; }
    }
    check "man page: groff -man -z -ww reports nothing" groff_clean
else
    echo "SKIP: groff not installed, man page syntax not checked"
fi
if command -v man >/dev/null; then
    rendered=$(MANWIDTH=100 man -l "$man_page" 2>/dev/null || true)
    for section in NAME SYNOPSIS COMMANDS LOGGING "CONTROL SOCKET" FILES SYSTEMD EXAMPLES; do
        check "man -l renders section $section" grep -q "^$section" <<<"$rendered"
    done
    documents_commands() {
        local c
        for c in connect status disconnect list check import; do grep -q "ikevpn $c" <<<"$rendered" || return 1; done
    }
    check "man page documents every command" documents_commands
else
    echo "SKIP: man not installed, man page not rendered"
fi

# --- systemd unit ---
unit=$root/usr/lib/systemd/system/ikevpn@.service
check "unit: ExecStart runs 'ikevpn connect %i'" grep -q '^ExecStart=/usr/bin/ikevpn connect %i ' "$unit"
check "unit: ExecStop disconnects through /run/ikevpn/%i.sock" \
    grep -q '^ExecStop=/usr/bin/ikevpn disconnect --socket /run/ikevpn/%i.sock$' "$unit"
restart_policy() { grep -q "^Restart=on-failure$" "$unit" && grep -q "^RestartPreventExitStatus=2$" "$unit"; }
check "unit: Restart=on-failure, no restart for a bad profile (exit 2)" restart_policy
if command -v systemd-analyze >/dev/null; then
    # verify wants the ExecStart binary to exist: point a concrete instance at the staged one.
    mkdir -p "$work/units"
    sed "s|/usr/bin/ikevpn|$root/usr/bin/ikevpn|g" "$unit" >"$work/units/ikevpn@work.service"
    verify_clean() {
        local out
        out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$work/units/ikevpn@work.service" 2>&1) ||
            { echo "$out"; return 1; }
        ! grep -i 'ikevpn@' <<<"$out"
    }
    check "systemd-analyze verify reports nothing about the unit" verify_clean
else
    echo "SKIP: systemd-analyze not installed, unit not verified"
fi

# --- the .deb ---
contents=$(dpkg-deb -c "$deb")
for file in ./usr/bin/ikevpn ./usr/share/man/man8/ikevpn.8.gz ./usr/share/bash-completion/completions/ikevpn \
    ./usr/lib/systemd/system/ikevpn@.service ./usr/share/doc/ikevpn/copyright; do
    check "dpkg-deb -c lists $file" grep -qF " $file" <<<"$contents"
done
all_root_owned() { ! grep -v " root/root " <<<"$contents"; }
check "package files are owned by root:root" all_root_owned
depends_on_libs() { local d; d=$(dpkg-deb -f "$deb" Depends); [[ $d == *libbotan-2* && $d == *libc6* ]]; }
check "Depends (from dpkg-shlibdeps) names Botan and libc" depends_on_libs
project_version=$(meson introspect --projectinfo "$BUILD_DIR" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
control_fields() {
    [[ $(dpkg-deb -f "$deb" Package) == ikevpn && $(dpkg-deb -f "$deb" Version) == "$project_version" &&
        $(dpkg-deb -f "$deb" Architecture) == "$(dpkg --print-architecture)" ]]
}
check "Package/Version ($project_version)/Architecture fields" control_fields
dpkg-deb -x "$deb" "$work/extracted"
check "the packaged binary runs (--version)" "$work/extracted/usr/bin/ikevpn" --version

# --- bash completion ---
completion=$root/usr/share/bash-completion/completions/ikevpn
mkdir -p "$work/profiles" "$work/empty"
echo '{}' >"$work/profiles/work.json"
complete_words() {  # complete_words EXPECTED WORD... — what TAB offers for the last word
    local expected=$1
    shift
    local got
    # From an empty directory, so that only profile names (not local *.json files) can match.
    got=$(cd "$work/empty" && IKEVPN_PROFILE_PATH="$work/profiles" bash --norc -c '
        source "$1"; shift
        complete -p ikevpn | grep -q -- "-F _ikevpn" || { echo "not registered"; exit 1; }
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _ikevpn; echo "${COMPREPLY[*]}"' _ "$completion" "$@")
    [[ $got == "$expected" ]] || { echo "expected '$expected', got '$got'"; return 1; }
}
check "completion: ikevpn co<TAB> → connect" complete_words connect ikevpn co
check "completion: ikevpn connect w<TAB> → work (profile name)" complete_words work ikevpn connect w
check "completion: ikevpn status --j<TAB> → --json" complete_words --json ikevpn status --j
check "completion: --log-level t<TAB> → trace" complete_words trace ikevpn connect work --log-level t

# --- --help everywhere, with examples ---
help_has_examples() { local out; out=$("$root/usr/bin/ikevpn" "$1" --help) && grep -q "^Example" <<<"$out"; }
for command in connect status disconnect list check import; do
    check "ikevpn $command --help exits 0 and shows examples" help_has_examples "$command"
done

checks_summary
