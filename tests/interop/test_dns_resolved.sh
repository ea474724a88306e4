#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119  # lab helpers take optional arguments
# "dns": true with systemd-resolved. The client namespace gets a private mount namespace ("holder") with its
# own /run/dbus (a private system bus) and /run/systemd, in which systemd-resolved runs; ikevpn runs in the
# same namespaces and must pick the resolved backend. Checks: per-link DNS on ikevpn0 (resolvectl status),
# a query sent to the gateway's DNS server 198.51.100.53 reaches it through the tunnel (the host namespace
# carries that address and counts UDP 53 from the virtual IP), status says "systemd-resolved", resolved's
# configuration is as before after disconnect and after SIGKILL + `ikevpn disconnect`.
#
# systemd-resolved is not installed on the lab machines (installing it would take over the machine's own
# /etc/resolv.conf). The test uses, in order: an installed /lib/systemd/systemd-resolved and resolvectl; a
# package extracted with `apt-get download systemd-resolved && dpkg -x systemd-resolved_*.deb DIR` and
# named by RESOLVED_ROOT=DIR; else it extracts one itself into the lab directory (apt-get download, a Debian
# package). The user systemd-resolve that resolved drops privileges to is added to a private copy of
# /etc/passwd and /etc/group bind-mounted in the holder only. Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"
# shellcheck source=checks.sh
source "$here/checks.sh"
# shellcheck source=ikevpn.sh
source "$here/ikevpn.sh"

lab_require_root_and_tools swanctl jq nsenter dbus-daemon "$LAB_CHARON"
ikevpn_require
ikevpn_test_traps

lab_up
if [[ -z ${RESOLVED_ROOT:-} && -x /lib/systemd/systemd-resolved ]] && command -v resolvectl >/dev/null; then
    RESOLVED_ROOT=/
elif [[ -z ${RESOLVED_ROOT:-} ]]; then
    RESOLVED_ROOT="$LAB_DIR/resolved-pkg"
    mkdir -p "$RESOLVED_ROOT"
    if ! (cd "$LAB_DIR" && apt-get download -q systemd-resolved >/dev/null 2>&1 &&
        dpkg -x "$LAB_DIR"/systemd-resolved_*.deb "$RESOLVED_ROOT"); then
        echo "SKIP: systemd-resolved is neither installed nor downloadable (set RESOLVED_ROOT, see the header)"
        exit 77
    fi
fi
resolved_bin="$RESOLVED_ROOT/lib/systemd/systemd-resolved"
resolvectl_dir="$RESOLVED_ROOT/usr/bin"
[[ -x $resolved_bin && -x $resolvectl_dir/resolvectl ]] || { echo "SKIP: no systemd-resolved in $RESOLVED_ROOT"; exit 77; }

holder_dir="$LAB_DIR/holder"
mkdir -p "$holder_dir"
cp /etc/passwd "$holder_dir/passwd"
cp /etc/group "$holder_dir/group"
getent passwd systemd-resolve >/dev/null || echo 'systemd-resolve:x:64990:64990:resolved (test):/:/usr/sbin/nologin' >>"$holder_dir/passwd"
getent group systemd-resolve >/dev/null || echo 'systemd-resolve:x:64990:' >>"$holder_dir/group"
cat >"$holder_dir/bus.conf" <<'XML'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=/run/dbus/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
XML
# The holder: private mounts, a system bus and resolved, then it sleeps; everything else enters it.
ip netns exec "$LAB_NS_CLIENT" unshare --mount --propagation private sh -c "
    mount --bind '$holder_dir/passwd' /etc/passwd && mount --bind '$holder_dir/group' /etc/group &&
    mkdir -p /run/systemd /run/dbus && mount -t tmpfs tmpfs /run/systemd && mount -t tmpfs tmpfs /run/dbus &&
    dbus-daemon --config-file='$holder_dir/bus.conf' --fork --nopidfile &&
    { '$resolved_bin' >'$holder_dir/resolved.log' 2>&1 & } && exec sleep 600" &
HOLDER_PID=$!
in_holder() { nsenter --mount="/proc/$HOLDER_PID/ns/mnt" --net="/proc/$HOLDER_PID/ns/net" env PATH="$resolvectl_dir:$PATH" "$@"; }
resolved_up() { in_holder test -S /run/systemd/resolve/io.systemd.Resolve && in_holder resolvectl status >/dev/null 2>&1; }
for _ in $(seq 50); do resolved_up && break; sleep 0.1; done
check_fatal "systemd-resolved runs in the client namespace's holder" resolved_up

lab_start_gateway
# The gateway's DNS server 198.51.100.53 lives on the host; count queries that arrive from the virtual IP.
lab_exec_host ip addr add 198.51.100.53/24 dev "$LAB_HOST_IF"
lab_exec_host nft -f - <<'NFT'
table inet dnsseen {
    chain in {
        type filter hook input priority 0; policy accept;
        ip saddr 203.0.113.0/24 ip daddr 198.51.100.53 udp dport 53 counter
    }
}
NFT
host_saw_query() { grep -q 'counter packets [1-9]' <<<"$(lab_exec_host nft list chain inet dnsseen in)"; }
resolved_global() { in_holder resolvectl dns; in_holder resolvectl domain; }
link_status() { in_holder resolvectl status ikevpn0 2>&1; }

work="$LAB_DIR/ikevpn"
ikevpn_write_profile "$work" '.dns = true'
start_in_holder() {
    IKEVPN_DIR=$1
    nsenter --mount="/proc/$HOLDER_PID/ns/mnt" --net="/proc/$HOLDER_PID/ns/net" env PATH="$resolvectl_dir:$PATH" \
        "$IKEVPN" connect "$IKEVPN_DIR/profile.json" --json-events --socket "$IKEVPN_DIR/ctl.sock" \
        >"$IKEVPN_DIR/events.jsonl" 2>"$IKEVPN_DIR/stderr.log" </dev/null &
    IKEVPN_PID=$!
}
global_before=$(resolved_global)

start_in_holder "$work"
check_fatal "ikevpn reports \"connected\" within 20 s" ikevpn_wait_event connected 20
echo "INFO: resolvectl status ikevpn0:"
link_status | sed 's/^/INFO:   /'
check "progress says DNS was applied through systemd-resolved" \
    grep -q 'DNS 198.51.100.53 applied through systemd-resolved' "$work/stderr.log"
check "status --json: dns_applied is \"systemd-resolved\"" \
    jq -e '.dns_applied == "systemd-resolved"' <<<"$(ikevpn_ctl status --json)"
check "resolved has 198.51.100.53 as ikevpn0's DNS server" grep -q 'DNS Servers: 198.51.100.53' <<<"$(link_status)"
check "ikevpn0 is a default route for DNS (split tunnel without domains)" grep -q '+DefaultRoute' <<<"$(link_status)"
in_holder resolvectl query --cache=no -i ikevpn0 www.example >/dev/null 2>&1 || true  # nobody answers: only the packet counts
check "a query on ikevpn0 reached 198.51.100.53 through the tunnel (from the virtual IP)" host_saw_query
check "ikevpn disconnect exits 0" ikevpn_ctl disconnect
ikevpn_wait_exit 15 || true
check "connect exits 0 (status $IKEVPN_STATUS)" test "$IKEVPN_STATUS" -eq 0
check "resolved no longer knows ikevpn0" not grep -q '198.51.100.53' <<<"$(link_status)"
check "resolved's global DNS and domains as before" test "$(resolved_global)" == "$global_before"

start_in_holder "$work"
check_fatal "connected again" ikevpn_wait_event connected 20
kill -KILL "$IKEVPN_PID"
ikevpn_wait_exit 10 || true
out=$(ikevpn_ctl disconnect 2>&1) && status=0 || status=$?
echo "INFO: disconnect after SIGKILL: $(tr '\n' ' ' <<<"$out")"
check "disconnect after SIGKILL exits 0 and restores DNS (systemd-resolved)" \
    grep -q 'restored DNS (systemd-resolved)' <<<"$out"
check "  (exit status $status)" test "$status" -eq 0
check "after SIGKILL + disconnect resolved's DNS is as before" test "$(resolved_global)" == "$global_before"
check "no state file left" not test -e "$work/ctl.state"
checks_summary
