# shellcheck shell=bash
# tests/interop/netns_resolv.sh — a resolv.conf of the client namespace's own: `ip netns exec NS` bind-mounts
# /etc/netns/NS/resolv.conf over /etc/resolv.conf for the command it runs, so ikevpn (started through
# ip netns exec) rewrites that file and never the machine's. Source after lab.sh.

NETNS_RESOLV_ORIGINAL=""

# netns_resolv_setup — writes the namespace's resolv.conf (a LAN resolver, a search domain, options) and a
# reference copy in $LAB_DIR; call after lab_up. netns_resolv_cleanup (in the EXIT trap) removes it.
netns_resolv_setup() {
    mkdir -p "/etc/netns/$LAB_NS_CLIENT"
    printf '# resolv.conf of namespace %s (from the LAN)\nsearch lan.example\nnameserver 192.0.2.53\noptions edns0 timeout:2\n' \
        "$LAB_NS_CLIENT" >"/etc/netns/$LAB_NS_CLIENT/resolv.conf"
    NETNS_RESOLV_ORIGINAL="$LAB_DIR/resolv.conf.original"
    cp "/etc/netns/$LAB_NS_CLIENT/resolv.conf" "$NETNS_RESOLV_ORIGINAL"
}

netns_resolv_cleanup() {
    [[ -n ${LAB_NS_CLIENT:-} && -d /etc/netns/$LAB_NS_CLIENT ]] || return 0
    rm -rf -- "/etc/netns/$LAB_NS_CLIENT"
}

# netns_resolv_write_hosts NAME ADDRESS... — the client namespace's own /etc/hosts: localhost, and NAME at
# each ADDRESS (removed by netns_resolv_cleanup with the rest of /etc/netns/NS).
netns_resolv_write_hosts() {
    local name=$1 address
    shift
    mkdir -p "/etc/netns/$LAB_NS_CLIENT"
    {
        printf '127.0.0.1 localhost\n'
        for address in "$@"; do printf '%s %s\n' "$address" "$name"; done
    } >"/etc/netns/$LAB_NS_CLIENT/hosts"
}

# The client namespace's view of /etc/resolv.conf.
netns_resolv_show() { lab_exec_client cat /etc/resolv.conf; }
# True when it is byte-identical to the original.
netns_resolv_is_original() { lab_exec_client cmp -s /etc/resolv.conf "$NETNS_RESOLV_ORIGINAL"; }
# True when it names SERVER as a nameserver.
netns_resolv_has_server() { grep -qx "nameserver $1" <<<"$(netns_resolv_show)"; }

# netns_resolv_require_file_backend — SKIP (exit 77) where ikevpn would choose another DNS backend than the
# resolv.conf file, then set the traps that stop ikevpn and remove the namespace's file and the lab.
netns_resolv_require_file_backend() {
    if command -v resolvconf >/dev/null 2>&1 || [[ -e /run/systemd/resolve/io.systemd.Resolve ]]; then
        echo "SKIP: resolvconf or systemd-resolved is present; this test covers the resolv.conf file backend"
        exit 77
    fi
    trap 'ikevpn_stop; netns_resolv_cleanup; lab_down' EXIT
    trap 'exit 1' INT TERM
}
