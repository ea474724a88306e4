# shellcheck shell=bash
# tests/interop/lab_libreswan.sh — libreswan's pluto as a second gateway, inside a User-Mode-Linux guest.
#
# Source after lab.sh. This machine's kernel has no ESP, and pluto has no userspace ESP, so pluto runs in
# a UML guest (Debian's `user-mode-linux`, whose kernel has esp4, xfrm_user, gcm, authenc, ... as modules)
# booted on the host's / through hostfs, read-only. Its wires are the gateway-namespace ends of lab.sh's
# two veths, taken with the vector raw transport: the guest owns the gateway's addresses, and the gateway
# namespace itself keeps none.
#
#   client ns                gateway ns (UML process)                       host ns
#   c-gw 192.0.2.2/24 <----> g-cl =raw= vec0 192.0.2.1/24   [guest]
#                            g-host =raw= vec1 198.51.100.1/24 <--------> h-gw 198.51.100.2/24 (default via .1)
#   virtual IP pool 203.0.113.1-203.0.113.100, pushed DNS server 198.51.100.53
#
#   lsw_require                  skip (77) with one line when this machine cannot run the guest at all
#   lsw_start_gateway [opts]     lab_up must have run; writes the guest's files, boots it, waits for pluto
#   lsw_guest CMD...             runs a shell command inside the guest (hostfs command channel), prints its
#                                output, returns its status
#   lsw_whack ARGS...            `whack ARGS` inside the guest, against this pluto
#   lsw_stop_gateway             pluto shut down, guest halted; the UML process group killed by PGID if not
#
# libreswan is never installed (it conflicts with strongSwan): `apt-get download libreswan` + `dpkg -x` into
# LSW_CACHE (default /var/cache/ikevpn-test, reused across runs); its libraries come from
# packaging/install-deps.sh. Everything one run writes — init script, ipsec.conf, ipsec.secrets, NSS
# database, pluto.log, console.log, command files — is in $LAB_DIR/libreswan, which the guest mounts
# read-write at the same path through hostfs. `LAB_KEEP=1` keeps it for debugging.

LSW_CACHE="${LSW_CACHE:-/var/cache/ikevpn-test}"
LSW_UML="${LSW_UML:-/usr/bin/linux.uml}"
LSW_UML_MODULES="${LSW_UML_MODULES:-/usr/lib/uml/modules}"
LSW_ROOT="${LSW_ROOT:-}"
LSW_POOL="203.0.113.1-203.0.113.100"
LSW_DNS=198.51.100.53
LSW_DIR=""
LSW_UML_PID=""
# Kernel modules pluto's ESP needs in the guest (Debian's UML kernel builds them as modules).
# cryptomgr (CONFIG_CRYPTO_MANAGER=m) instantiates templates such as rfc4106(gcm(aes)); without it adding
# an SA fails with ENOENT.
LSW_MODULES="cryptomgr drbg jitterentropy_rng xfrm_user xfrm_algo esp4 authenc authencesn gcm ghash_generic ctr seqiv echainiv cbc hmac \
sha256_generic sha512_generic chacha20poly1305"

# lsw_fetch_libreswan — LSW_ROOT: an extracted libreswan package, from the cache or downloaded into it.
lsw_fetch_libreswan() {
    [[ -z $LSW_ROOT ]] || return 0
    local cached="$LSW_CACHE/libreswan-root" tmp
    if [[ ! -x $cached/usr/libexec/ipsec/pluto ]]; then
        mkdir -p "$LSW_CACHE"
        tmp=$(mktemp -d "$LSW_CACHE/download.XXXXXX")
        # apt-get download runs as _apt where it can; the directory must be writable for it.
        chmod 755 "$tmp"
        if (cd "$tmp" && apt-get download -q libreswan >/dev/null 2>&1 && dpkg -x libreswan_*.deb root); then
            # A parallel run may have filled the cache meanwhile: keep its copy (mv -T will not replace it).
            if [[ ! -x $cached/usr/libexec/ipsec/pluto ]]; then
                rm -rf "$cached"
                mv -T "$tmp/root" "$cached" 2>/dev/null || true
            fi
        fi
        rm -rf "$tmp"
    fi
    [[ -x $cached/usr/libexec/ipsec/pluto ]] && LSW_ROOT=$cached
}

# lsw_require — root, the tools, the UML kernel and libreswan; exit 77 with the reason otherwise.
lsw_require() {
    lab_require_root_and_tools ping jq setsid modprobe certutil pk12util openssl "$LSW_UML"
    if [[ ! -c /dev/net/tun ]]; then
        echo "SKIP: no /dev/net/tun (the client needs a TUN device)"
        exit 77
    fi
    local uml_release
    uml_release=$("$LSW_UML" --version 2>/dev/null || true)
    if [[ -z $uml_release || ! -d $LSW_UML_MODULES/$uml_release ||
        -z $(find "$LSW_UML_MODULES/$uml_release" -name 'esp4.ko*' -print -quit) ]]; then
        echo "SKIP: no esp4 module for the UML kernel under $LSW_UML_MODULES (install user-mode-linux)"
        exit 77
    fi
    if ! lsw_fetch_libreswan; then
        echo "SKIP: libreswan is not in $LSW_CACHE and apt-get download libreswan failed (no network?)"
        exit 77
    fi
    local missing
    missing=$(ldd "$LSW_ROOT/usr/libexec/ipsec/pluto" | awk '/not found/ {print $1}' | tr '\n' ' ')
    if [[ -n $missing ]]; then
        echo "SKIP: pluto's libraries are missing: ${missing}(run packaging/install-deps.sh)"
        exit 77
    fi
}

lsw_usage() {
    cat >&2 <<'EOF'
lsw_start_gateway [--psk S] [--ike P] [--esp P] [--id ID] [--cert NAME --ca NAME --pki DIR]
                  [--authby A] [--dns "IP, IP"] [--conn-extra LINE]...
  --psk      pre-shared key (default: the lab's); ignored with --cert
  --ike/--esp  pluto proposal strings (default: libreswan's own defaults)
  --cert NAME  authenticate with DIR/NAME.pem + DIR/NAME.key; trust DIR/CA.pem for clients (rightca=%same)
  --authby   pluto's authby= (e.g. ecdsa, rsasig) — default secret, or rsasig,ecdsa with --cert
  --dns      pluto's modecfgdns= (default 198.51.100.53); an IPv6 server is sent as INTERNAL_IP6_DNS
EOF
}

# lsw_write_nss DIR PKIDIR CERT CA — an NSS database with the gateway's key and certificate (nickname
# CERT) and the CA (trusted for clients, nickname CA).
lsw_write_nss() {
    local nss=$1 pki=$2 cert=$3 ca=$4
    mkdir -p "$nss"
    certutil -N -d "sql:$nss" --empty-password
    certutil -A -d "sql:$nss" -n "$ca" -t "CT,," -a -i "$pki/$ca.pem"
    openssl pkcs12 -export -in "$pki/$cert.pem" -inkey "$pki/$cert.key" -name "$cert" \
        -passout pass: -out "$nss/$cert.p12"
    pk12util -i "$nss/$cert.p12" -d "sql:$nss" -W "" >/dev/null
}

# lsw_write_conf ... — ipsec.conf and ipsec.secrets for one responder connection "ikevpn".
lsw_write_conf() {
    local psk=$1 ike=$2 esp=$3 id=$4 cert=$5 ca=$6 authby=$7 dns=$8
    shift 8
    {
        echo "config setup"
        echo "    logfile=$LSW_DIR/pluto.log"
        echo "    logappend=no"
        echo "    plutodebug=none"
        echo "    dnssec-enable=no"
        echo "conn ikevpn"
        echo "    ikev2=insist"
        echo "    left=$LAB_GATEWAY_IP"
        echo "    leftid=$id"
        echo "    leftsubnet=$LAB_HOST_NET"
        echo "    right=%any"
        # With certificates, the client's ID must be one its certificate carries (%fromcert).
        echo "    rightid=$([[ -n $cert ]] && echo %fromcert || echo %any)"
        echo "    rightaddresspool=$LSW_POOL"
        echo "    modecfgdns=\"$dns\""
        echo "    narrowing=yes"
        # ikevpn always wants ESP in UDP (it already fakes NAT-D); say so on this side too.
        echo "    encapsulation=yes"
        # The guest routes the pool itself (lsw_write_init); no updown script is needed.
        echo "    leftupdown=%disabled"
        echo "    authby=$authby"
        if [[ -n $cert ]]; then
            echo "    leftcert=$cert"
            echo "    leftsendcert=always"
            echo "    rightca=%same"
        fi
        [[ -z $ike ]] || echo "    ike=$ike"
        [[ -z $esp ]] || echo "    esp=$esp"
        local line
        for line in "$@"; do
            echo "    $line"
        done
        echo "    auto=add"
    } >"$LSW_DIR/ipsec.conf"
    (umask 077 && printf '%s %%any : PSK "%s"\n' "$id" "$psk" >"$LSW_DIR/ipsec.secrets")
}

# lsw_write_init — the guest's PID 1: mounts, modules, addresses, pluto, then the command loop.
lsw_write_init() {
    cat >"$LSW_DIR/init.sh" <<EOF
#!/bin/sh
# PID 1 of the UML guest (generated by tests/interop/lab_libreswan.sh).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
D=$LSW_DIR
L=/usr/libexec/ipsec
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /run
# \$D (the run's directory on the host, usually under /tmp) read-write at the same path.
mount -t hostfs -o \$D none \$D
# Only \$D is writable from the guest; the modules and libreswan's helpers are mounted read-only (-r).
# The host has no /lib/modules to mount over: modprobe -d looks in /mnt/lib/modules/\$(uname -r).
mount -t tmpfs tmpfs /mnt
mkdir -p /mnt/lib/modules
mount -r -t hostfs -o $LSW_UML_MODULES none /mnt/lib/modules
# pluto runs its helpers (addconn) from the compiled-in /usr/libexec/ipsec: put the package's there.
if [ -d /usr/libexec ]; then
    mount -r -t hostfs -o $LSW_ROOT/usr/libexec none /usr/libexec
else
    echo "guest: no /usr/libexec on the host to mount libreswan's helpers over"
fi
echo "guest: kernel \$(uname -r)"
modprobe -a -d /mnt $LSW_MODULES || echo "guest: modprobe failed"
# Whatever else the kernel asks for (request_module) comes from the same place.
printf '#!/bin/sh\necho "\$*" >>%s/modprobe.log\nexec /usr/sbin/modprobe -d /mnt "\$@"\n' "\$D" >/run/modprobe
chmod 755 /run/modprobe
echo /run/modprobe >/proc/sys/kernel/modprobe
ip link set lo up
ip addr add $LAB_GATEWAY_IP/24 dev vec0
ip addr add $LAB_GATEWAY_INNER_IP/24 dev vec1
ip link set vec0 up
ip link set vec1 up
sysctl -qw net.ipv4.ip_forward=1
# pluto (with updown disabled) adds no route to the pool; the XFRM policy needs one to match.
ip route add $LAB_POOL_NET dev vec0
mkdir -p /run/pluto
\$L/pluto --config \$D/ipsec.conf --secretsfile \$D/ipsec.secrets --nssdir \$D/nss --ipsecdir \$D \\
    --rundir /run/pluto --nofork >\$D/pluto.stderr 2>&1 &
i=0
while [ ! -S /run/pluto/pluto.ctl ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
\$L/addconn --config \$D/ipsec.conf --ctlsocket /run/pluto/pluto.ctl --autoall >\$D/addconn.log 2>&1
echo \$? >\$D/ready
while [ ! -e \$D/stop ]; do
    for f in \$D/cmd/*.sh; do
        [ -e "\$f" ] || continue
        PATH=\$L:\$PATH sh "\$f" >"\$f.out" 2>&1
        echo \$? >"\$f.rc.tmp"
        mv "\$f.rc.tmp" "\$f.rc"
        rm -f "\$f"
    done
    sleep 0.1
done
\$L/whack --ctlsocket /run/pluto/pluto.ctl --shutdown >/dev/null 2>&1
echo "guest: halting"
halt -f
EOF
    chmod 755 "$LSW_DIR/init.sh"
}

# lsw_start_gateway [opts] — see lsw_usage. Boots the guest in the gateway namespace.
lsw_start_gateway() {
    local psk=${LAB_PSK:-ikevpn-lab-secret-0123456789} ike="" esp="" id="@gw.example.com"
    local cert="" ca="" pki="" authby="" dns=$LSW_DNS extra=()
    while (($#)); do
        case $1 in
            --psk) psk=$2 ;;
            --ike) ike=$2 ;;
            --esp) esp=$2 ;;
            --id) id=$2 ;;
            --cert) cert=$2 ;;
            --ca) ca=$2 ;;
            --pki) pki=$2 ;;
            --authby) authby=$2 ;;
            --dns) dns=$2 ;;
            --conn-extra) extra+=("$2") ;;
            *) lsw_usage; return 2 ;;
        esac
        shift 2
    done
    [[ -n $authby ]] || authby=$([[ -n $cert ]] && echo "rsasig,ecdsa" || echo secret)
    LSW_DIR="$LAB_DIR/libreswan"
    rm -rf "$LSW_DIR"
    mkdir -p "$LSW_DIR/nss" "$LSW_DIR/uml" "$LSW_DIR/cmd"
    if [[ -n $cert ]]; then
        lsw_write_nss "$LSW_DIR/nss" "$pki" "$cert" "$ca"
    else
        certutil -N -d "sql:$LSW_DIR/nss" --empty-password
    fi
    lsw_write_conf "$psk" "$ike" "$esp" "$id" "$cert" "$ca" "$authby" "$dns" "${extra[@]}"
    lsw_write_init
    # The gateway namespace's own stack keeps out of the way: the guest owns the addresses.
    ip -n "$LAB_NS_GATEWAY" addr flush dev "$LAB_GATEWAY_CLIENT_IF"
    ip -n "$LAB_NS_GATEWAY" addr flush dev "$LAB_GATEWAY_HOST_IF"

    # Fixed MAC addresses (below) keep the neighbours' ARP entries right when a test reboots the guest;
    # entries from before the first boot (the namespace's own g-cl/g-host) go now.
    lab_exec_client ip neigh flush dev "$LAB_CLIENT_IF"
    lab_exec_host ip neigh flush dev "$LAB_HOST_IF"
    # setsid (no fork: a background job of a script is no group leader) makes the UML kernel a process
    # group leader, so lsw_stop_gateway can end the kernel and all its helper processes by that PGID.
    ip netns exec "$LAB_NS_GATEWAY" setsid "$LSW_UML" mem=192M rootfstype=hostfs rootflags=/ ro \
        init="$LSW_DIR/init.sh" umid="uml" uml_dir="$LSW_DIR/uml" con=null ssl=null con0=null,fd:1 \
        vec0:transport=raw,ifname="$LAB_GATEWAY_CLIENT_IF",mac=02:00:c0:00:02:01 \
        vec1:transport=raw,ifname="$LAB_GATEWAY_HOST_IF",mac=02:00:c6:33:64:01 \
        </dev/null >"$LSW_DIR/console.log" 2>&1 &
    LSW_UML_PID=$!
    local deadline=$((SECONDS + 60))
    while [[ ! -s $LSW_DIR/ready ]]; do
        if ! lab_pid_alive "$LSW_UML_PID" || ((SECONDS >= deadline)); then
            echo "lsw: the guest did not come up (console: $LSW_DIR/console.log)" >&2
            lsw_log_tail
            return 1
        fi
        sleep 0.2
    done
    if [[ $(cat "$LSW_DIR/ready") != 0 ]]; then
        echo "lsw: addconn failed: $(cat "$LSW_DIR/addconn.log")" >&2
        return 1
    fi
}

# lsw_guest CMD... — run CMD (one shell command line) in the guest; its output on stdout; its status.
# The file name comes from mktemp, not a counter: tests call this in subshells ($(...), check).
lsw_guest() {
    local f rc deadline=$((SECONDS + 30))
    f=$(mktemp "$LSW_DIR/cmd/XXXXXX")
    printf '%s\n' "$*" >"$f"
    mv "$f" "$f.sh"
    while [[ ! -e $f.sh.rc ]]; do
        if ! lab_pid_alive "$LSW_UML_PID" || ((SECONDS >= deadline)); then
            echo "lsw: no answer from the guest to: $*" >&2
            return 124
        fi
        sleep 0.05
    done
    cat "$f.sh.out"
    rc=$(cat "$f.sh.rc")
    [[ -n ${LAB_KEEP:-} ]] || rm -f "$f.sh.out" "$f.sh.rc"
    return "$rc"
}

lsw_whack() { lsw_guest "whack --ctlsocket /run/pluto/pluto.ctl $*"; }

# lsw_ike_sa_count / lsw_child_sa_count — established IKE SAs (parents) / CHILD SAs in pluto's state list.
lsw_ike_sa_count() {
    local out
    out=$(lsw_whack --showstates) || return 1
    grep -c 'ESTABLISHED_IKE_SA' <<<"$out" || true
}
lsw_child_sa_count() {
    local out
    out=$(lsw_whack --trafficstatus) || return 1
    grep -c 'type=ESP' <<<"$out" || true
}
lsw_kernel_sa_count() {
    local out
    out=$(lsw_guest ip xfrm state) || return 1
    grep -c '^src' <<<"$out" || true
}

lsw_log_tail() {
    [[ -n $LSW_DIR ]] || return 0
    echo "---- guest console ($LSW_DIR/console.log) ----" >&2
    grep -E '^guest:|modprobe|error|Kernel panic' "$LSW_DIR/console.log" 2>/dev/null | tail -n 15 >&2 || true
    echo "---- pluto.log ($LSW_DIR/pluto.log) ----" >&2
    tail -n 40 "$LSW_DIR/pluto.log" >&2 2>/dev/null || true
    tail -n 10 "$LSW_DIR/pluto.stderr" >&2 2>/dev/null || true
}

# lsw_stop_gateway — pluto shut down and the guest halted (10 s), else the UML process group is killed.
lsw_stop_gateway() {
    [[ -n $LSW_UML_PID ]] || return 0
    [[ -z $LSW_DIR ]] || touch "$LSW_DIR/stop"
    if ! lab_wait_exit "$LSW_UML_PID" 10; then
        kill -TERM -- "-$LSW_UML_PID" 2>/dev/null || true
        if ! lab_wait_exit "$LSW_UML_PID" 5; then
            kill -KILL -- "-$LSW_UML_PID" 2>/dev/null || true
            lab_wait_exit "$LSW_UML_PID" 5 || true
        fi
    fi
    # Helper processes of the kernel that outlived it (same process group).
    kill -KILL -- "-$LSW_UML_PID" 2>/dev/null || true
    wait "$LSW_UML_PID" 2>/dev/null || true
    LSW_UML_PID=""
}
