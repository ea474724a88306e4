# shellcheck shell=bash
# tests/interop/lab.sh — a network-namespace lab with a real strongSwan gateway.
#
# Source this file (it is `set -euo pipefail` friendly), then:
#   trap lab_down EXIT INT TERM
#   lab_up                      # namespaces, veths, addresses, routes, nftables
#   lab_start_gateway [opts]    # charon (kernel-libipsec) in the gateway namespace
#   lab_exec_client ping -c1 198.51.100.2 ...
#   lab_down                    # removes everything this run made (idempotent)
#
# Topology (documentation ranges only, nothing leaves the machine):
#
#   client ns                gateway ns                        host ns
#   c-gw 192.0.2.2/24 <----> g-cl 192.0.2.1/24
#                            g-host 198.51.100.1/24 <--------> h-gw 198.51.100.2/24 (default via .1)
#   virtual IP pool 203.0.113.0/24, pushed DNS server 198.51.100.53
#
# With LAB_IPV6=1 (set before lab_up) the same links also carry IPv6, and the gateway gets an IPv6 pool:
#   c-gw 2001:db8:1::2/64 <--> g-cl 2001:db8:1::1/64
#                              g-host 2001:db8:2::1/64 <--> h-gw 2001:db8:2::2/64 (default via 2001:db8:2::1)
#   virtual IPv6 pool 2001:db8:3::/112, pushed DNS server 2001:db8:2::53, child local_ts + 2001:db8:2::/64
#
# With LAB_UPLINKS=2 (set before lab_up; MOBIKE tests) the client gets a second uplink, "cellular", in
# another subnet, with a worse default route through the gateway's side of it — the Wi-Fi link above stays
# preferred while it is up. Pass --pool 203.0.113.0/25 to lab_start_gateway: the upper half is cellular's.
#   c-cell 203.0.113.130/26 <--> g-cell 203.0.113.129/26      client: default via 203.0.113.129 metric 200
# With LAB_CELL_NAT=1 as well, the gateway sees the cellular client as 203.0.113.140 (an nftables SNAT in
# the gateway namespace's input hook stands in for a carrier-grade NAT).
#
# The client has no route to 198.51.100.0/24, and the gateway drops every plain packet that it would
# forward from the client link: a ping from the client to the host therefore proves the tunnel.
#
# Why the gateway looks the way it does (see /work/shared/LAB-NOTES.md): this kernel has no ESP, so
# charon uses kernel-libipsec (userspace ESP over its own TUN, always UDP-encapsulated) next to
# kernel-netlink (addresses, routes). Each charon gets private /run, /etc/strongswan.conf,
# /etc/strongswan.d and /etc/swanctl through bind mounts in its own mount namespace, so several
# charons (gateway, baseline client, parallel runs) never share a pid file or a vici socket.

LAB_PREFIX="${LAB_PREFIX:-ikv$$}"
LAB_NS_CLIENT="${LAB_PREFIX}-cli"
LAB_NS_GATEWAY="${LAB_PREFIX}-gw"
LAB_NS_HOST="${LAB_PREFIX}-host"

LAB_CLIENT_IP=192.0.2.2
LAB_GATEWAY_IP=192.0.2.1
LAB_GATEWAY_INNER_IP=198.51.100.1
LAB_HOST_IP=198.51.100.2
LAB_HOST_NET=198.51.100.0/24
LAB_POOL_NET=203.0.113.0/24
# IPv6 (only with LAB_IPV6=1)
LAB_IPV6="${LAB_IPV6:-}"
LAB_CLIENT_IP6=2001:db8:1::2
LAB_GATEWAY_IP6=2001:db8:1::1
LAB_GATEWAY_INNER_IP6=2001:db8:2::1
LAB_HOST_IP6=2001:db8:2::2
LAB_HOST_NET6=2001:db8:2::/64
LAB_POOL_NET6=2001:db8:3::/112
LAB_DNS6=2001:db8:2::53
LAB_CLIENT_IF=c-gw
# Second uplink (only with LAB_UPLINKS=2)
LAB_UPLINKS="${LAB_UPLINKS:-1}"
LAB_CELL_NAT="${LAB_CELL_NAT:-}"
LAB_CELL_IF=c-cell
LAB_GATEWAY_CELL_IF=g-cell
LAB_CELL_IP=203.0.113.130
LAB_GATEWAY_CELL_IP=203.0.113.129
LAB_CELL_NAT_IP=203.0.113.140
LAB_GATEWAY_CLIENT_IF=g-cl
LAB_GATEWAY_HOST_IF=g-host
LAB_HOST_IF=h-gw

LAB_CHARON="${LAB_CHARON:-/usr/lib/ipsec/charon}"
# Every plugin charon may need in these tests; load_modular = no makes this list the whole truth.
# Extra lines for the charon { } section of the next charon started, e.g. "signature_authentication = no".
LAB_CHARON_OPTIONS="${LAB_CHARON_OPTIONS:-}"
LAB_CHARON_PLUGINS="${LAB_CHARON_PLUGINS:-random nonce openssl aes sha1 sha2 md5 hmac gcm chapoly \
curve25519 gmp x509 revocation constraints pubkey pkcs1 pkcs7 pkcs8 pkcs12 pem kdf drbg \
kernel-libipsec kernel-netlink socket-default vici updown counters \
eap-identity eap-mschapv2 eap-tls}"

LAB_DIR="${LAB_DIR:-}"
LAB_GATEWAY_PID="${LAB_GATEWAY_PID:-}"
LAB_GATEWAY_DIR=""
LAB_CHARON_PIDS=()

lab_log() { printf 'lab: %s\n' "$*" >&2; }

lab_exec_client() { ip netns exec "$LAB_NS_CLIENT" "$@"; }
lab_exec_gateway() { ip netns exec "$LAB_NS_GATEWAY" "$@"; }
lab_exec_host() { ip netns exec "$LAB_NS_HOST" "$@"; }

# lab_require_root_and_tools TOOL... — exit 77 (skip) when not root or a tool is missing.
lab_require_root_and_tools() {
    if [[ $(id -u) -ne 0 ]]; then
        echo "SKIP: needs root (network namespaces)"
        exit 77
    fi
    local tool
    for tool in ip nft unshare timeout "$@"; do
        if ! command -v "$tool" >/dev/null 2>&1 && [[ ! -x $tool ]]; then
            echo "SKIP: missing tool: $tool"
            exit 77
        fi
    done
}

lab_up() {
    if [[ -z $LAB_DIR ]]; then
        LAB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/${LAB_PREFIX}.XXXXXX")
    fi
    local ns
    for ns in "$LAB_NS_CLIENT" "$LAB_NS_GATEWAY" "$LAB_NS_HOST"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
    done
    # Created directly inside the namespaces: the fixed names never collide between parallel runs.
    ip -n "$LAB_NS_CLIENT" link add "$LAB_CLIENT_IF" type veth \
        peer name "$LAB_GATEWAY_CLIENT_IF" netns "$LAB_NS_GATEWAY"
    ip -n "$LAB_NS_GATEWAY" link add "$LAB_GATEWAY_HOST_IF" type veth \
        peer name "$LAB_HOST_IF" netns "$LAB_NS_HOST"

    ip -n "$LAB_NS_CLIENT" addr add "$LAB_CLIENT_IP/24" dev "$LAB_CLIENT_IF"
    ip -n "$LAB_NS_GATEWAY" addr add "$LAB_GATEWAY_IP/24" dev "$LAB_GATEWAY_CLIENT_IF"
    ip -n "$LAB_NS_GATEWAY" addr add "$LAB_GATEWAY_INNER_IP/24" dev "$LAB_GATEWAY_HOST_IF"
    ip -n "$LAB_NS_HOST" addr add "$LAB_HOST_IP/24" dev "$LAB_HOST_IF"
    ip -n "$LAB_NS_CLIENT" link set "$LAB_CLIENT_IF" up
    ip -n "$LAB_NS_GATEWAY" link set "$LAB_GATEWAY_CLIENT_IF" up
    ip -n "$LAB_NS_GATEWAY" link set "$LAB_GATEWAY_HOST_IF" up
    ip -n "$LAB_NS_HOST" link set "$LAB_HOST_IF" up
    ip -n "$LAB_NS_HOST" route add default via "$LAB_GATEWAY_INNER_IP"

    lab_exec_gateway sysctl -qw net.ipv4.ip_forward=1
    [[ -z $LAB_IPV6 ]] || lab_up_ipv6
    # Only decrypted tunnel traffic (arriving on charon's ipsec TUN) may be forwarded; plain packets
    # from the client link are dropped. Chain "input" is empty: a hook for loss rules of other tests
    # (e.g. `lab_exec_gateway nft add rule inet lab input udp dport 4500 numgen random mod 100 < 20 drop`).
    lab_exec_gateway nft -f - <<EOF
table inet lab {
    chain input {
        type filter hook input priority 0; policy accept;
    }
    chain forward {
        type filter hook forward priority 0; policy accept;
        iifname "$LAB_GATEWAY_CLIENT_IF" counter drop
    }
}
EOF
    [[ $LAB_UPLINKS != 2 ]] || lab_up_cellular
    lab_log "up: namespaces $LAB_NS_CLIENT $LAB_NS_GATEWAY $LAB_NS_HOST, dir $LAB_DIR"
}

# lab_up_cellular — the second client uplink of LAB_UPLINKS=2 (see the topology above), and its NAT with
# LAB_CELL_NAT=1. Plain packets from it are dropped at the gateway like those from the Wi-Fi link.
lab_up_cellular() {
    ip -n "$LAB_NS_CLIENT" link add "$LAB_CELL_IF" type veth peer name "$LAB_GATEWAY_CELL_IF" netns "$LAB_NS_GATEWAY"
    ip -n "$LAB_NS_CLIENT" addr add "$LAB_CELL_IP/26" dev "$LAB_CELL_IF"
    ip -n "$LAB_NS_GATEWAY" addr add "$LAB_GATEWAY_CELL_IP/26" dev "$LAB_GATEWAY_CELL_IF"
    ip -n "$LAB_NS_CLIENT" link set "$LAB_CELL_IF" up
    ip -n "$LAB_NS_GATEWAY" link set "$LAB_GATEWAY_CELL_IF" up
    ip -n "$LAB_NS_CLIENT" route add default via "$LAB_GATEWAY_CELL_IP" dev "$LAB_CELL_IF" metric 200
    lab_exec_gateway nft add rule inet lab forward iifname "$LAB_GATEWAY_CELL_IF" counter drop
    [[ -z $LAB_CELL_NAT ]] || lab_exec_gateway nft -f - <<EOF
table ip labnat {
    chain input {
        type nat hook input priority 100; policy accept;
        iifname "$LAB_GATEWAY_CELL_IF" ip saddr $LAB_CELL_IP snat to $LAB_CELL_NAT_IP
    }
}
EOF
}

# lab_up_ipv6 — the IPv6 half of lab_up (LAB_IPV6=1). nodad: the addresses are usable at once. The
# forward chain's drop rule is in an `inet` table, so it closes the plain IPv6 path as well.
lab_up_ipv6() {
    ip -n "$LAB_NS_CLIENT" addr add "$LAB_CLIENT_IP6/64" dev "$LAB_CLIENT_IF" nodad
    ip -n "$LAB_NS_GATEWAY" addr add "$LAB_GATEWAY_IP6/64" dev "$LAB_GATEWAY_CLIENT_IF" nodad
    ip -n "$LAB_NS_GATEWAY" addr add "$LAB_GATEWAY_INNER_IP6/64" dev "$LAB_GATEWAY_HOST_IF" nodad
    ip -n "$LAB_NS_HOST" addr add "$LAB_HOST_IP6/64" dev "$LAB_HOST_IF" nodad
    ip -n "$LAB_NS_HOST" -6 route add default via "$LAB_GATEWAY_INNER_IP6"
    lab_exec_gateway sysctl -qw net.ipv6.conf.all.forwarding=1
}

# lab_pid_alive PID — true while PID exists and is not a zombie (PID 1 reaps orphans only slowly).
lab_pid_alive() {
    local pid=$1 stat
    [[ -n $pid ]] || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    # Field 3 follows the ")" that closes the command name (which may itself contain spaces).
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

# lab_wait_exit PID SECONDS — true once PID has exited (or is a zombie) within SECONDS.
lab_wait_exit() {
    local pid=$1 deadline=$((SECONDS + $2))
    while lab_pid_alive "$pid"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
    return 0
}

# lab_stop_pid PID — TERM, wait up to 10 s, then KILL; reaps the PID when it is our child.
lab_stop_pid() {
    local pid=$1
    [[ -n $pid ]] || return 0
    if lab_pid_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        if ! lab_wait_exit "$pid" 10; then
            kill -KILL "$pid" 2>/dev/null || true
            lab_wait_exit "$pid" 5 || true
        fi
    fi
    wait "$pid" 2>/dev/null || true
}

# lab_write_charon_dir DIR — private strongswan.conf, strongswan.d, swanctl and run directories.
lab_write_charon_dir() {
    local dir=$1 sub
    mkdir -p "$dir/run" "$dir/strongswan.d"
    for sub in conf.d x509 x509ca x509aa x509ocsp x509crl x509ac pubkey private rsa ecdsa bliss pkcs8 pkcs12; do
        mkdir -p "$dir/swanctl/$sub"
    done
    chmod 700 "$dir/swanctl/private" "$dir/swanctl/rsa" "$dir/swanctl/ecdsa" "$dir/swanctl/pkcs8" \
        "$dir/swanctl/pkcs12"
    cat >"$dir/strongswan.conf" <<EOF
# Generated by tests/interop/lab.sh for one test charon.
charon {
    load_modular = no
    load = $LAB_CHARON_PLUGINS
    install_routes = yes
    install_virtual_ip = yes
    $LAB_CHARON_OPTIONS
    filelog {
        lab {
            path = $dir/charon.log
            time_format = %H:%M:%S
            ike_name = yes
            append = no
            flush_line = yes
            default = 1
            ike = 2
            cfg = 1
            net = 1
            esp = 1
        }
    }
    syslog {
        # no syslog daemon here; the file log above is the record
    }
    plugins {
        vici {
            socket = unix:///run/charon.vici
        }
        openssl {
            # EAP-MSCHAPv2 needs MD4, which OpenSSL 3 only has in its legacy provider.
            load_legacy = yes
        }
    }
}
swanctl {
    load = pem pkcs1 pkcs8 x509 revocation constraints pubkey openssl random
}
EOF
    : >"$dir/swanctl/swanctl.conf"
}

# lab_start_charon NS DIR — start a private charon in NS (DIR from lab_write_charon_dir) and wait for its
# vici socket. Sets LAB_CHARON_PID (not printed: a $(...) subshell would lose the job and the PID list).
LAB_CHARON_PID=""
lab_start_charon() {
    local ns=$1 dir=$2 pid i
    # A charon restarted in the same DIR must not be taken as up because of its predecessor's socket.
    rm -f "$dir/run/charon.vici" "$dir/run/charon.pid"
    # ip netns exec, unshare (without --fork) and sh all exec: the PID of this background job is charon's.
    # shellcheck disable=SC2016  # expanded by the inner sh
    ip netns exec "$ns" unshare --mount --propagation private sh -c '
        d=$1; charon=$2
        mount --bind "$d/run" /run &&
        mount --bind "$d/strongswan.conf" /etc/strongswan.conf &&
        mount --bind "$d/strongswan.d" /etc/strongswan.d &&
        mount --bind "$d/swanctl" /etc/swanctl &&
        exec "$charon"' sh "$dir" "$LAB_CHARON" >"$dir/charon.stdout" 2>&1 </dev/null &
    pid=$!
    LAB_CHARON_PIDS+=("$pid")
    for ((i = 0; i < 100; i++)); do
        if [[ -S $dir/run/charon.vici ]]; then
            LAB_CHARON_PID=$pid
            return 0
        fi
        if ! lab_pid_alive "$pid"; then
            break
        fi
        sleep 0.1
    done
    lab_log "charon in $ns did not come up (no vici socket)"
    lab_charon_log_tail "$dir"
    return 1
}

# lab_swanctl DIR ARGS... — swanctl against the charon of DIR, with DIR's swanctl.conf and credentials.
lab_swanctl() {
    local dir=$1
    shift
    SWANCTL_DIR="$dir/swanctl" swanctl "$@" --uri "unix://$dir/run/charon.vici"
}

lab_charon_log_tail() {
    local dir=$1 lines=${2:-40}
    echo "---- last $lines lines of $dir/charon.log ----" >&2
    tail -n "$lines" "$dir/charon.log" >&2 2>/dev/null || true
    if [[ -s $dir/charon.stdout ]]; then
        echo "---- $dir/charon.stdout ----" >&2
        tail -n "$lines" "$dir/charon.stdout" >&2 || true
    fi
    echo "----" >&2
}

lab_gateway_usage() {
    cat >&2 <<'EOF'
lab_start_gateway [--psk SECRET] [--ike PROPOSALS] [--esp PROPOSALS] [--pool CIDR] [--dns IP]
                  [--id ID] [--mobike yes|no] [--child-rekey SECONDS] [--ike-rekey SECONDS] [--reauth SECONDS]
                  [--cert PEM --key PEM] [--ca PEM] [--remote-auth psk|pubkey]
(or set LAB_PSK LAB_GW_IKE LAB_GW_ESP LAB_POOL LAB_DNS LAB_GW_ID LAB_GW_MOBIKE LAB_GW_CHILD_REKEY LAB_GW_IKE_REKEY LAB_GW_REAUTH before calling)
Certificates (opt-in; default is PSK both ways): --cert/--key make the gateway authenticate with that
certificate and key; --ca is the CA that client certificates must chain to; --remote-auth pubkey makes the
gateway require a client certificate instead of the PSK.
EOF
}

# lab_start_gateway [options] — charon in the gateway namespace, configured through its vici socket.
lab_start_gateway() {
    local psk="${LAB_PSK:-ikevpn-lab-secret-0123456789}"
    local ike="${LAB_GW_IKE:-aes256gcm16-aes128gcm16-prfsha256-prfsha384-prfsha512-x25519-ecp256, default}"
    local esp="${LAB_GW_ESP:-aes256gcm16-aes128gcm16, aes256gcm16-aes128gcm16-x25519-ecp256-modp2048, default}"
    local pool="${LAB_POOL:-$LAB_POOL_NET}"
    local dns="${LAB_DNS:-198.51.100.53}"
    local id="${LAB_GW_ID:-gw.example.com}"
    local mobike="${LAB_GW_MOBIKE:-yes}"
    local child_rekey="${LAB_GW_CHILD_REKEY:-}"
    local ike_rekey="${LAB_GW_IKE_REKEY:-}"
    local reauth="${LAB_GW_REAUTH:-}"
    local gw_cert="" gw_key="" gw_ca="" remote_auth=psk
    while (($# > 0)); do
        case $1 in
            --psk) psk=$2 ;;
            --ike) ike=$2 ;;
            --esp) esp=$2 ;;
            --pool) pool=$2 ;;
            --dns) dns=$2 ;;
            --id) id=$2 ;;
            --mobike) mobike=$2 ;;
            --child-rekey) child_rekey=$2 ;;
            --ike-rekey) ike_rekey=$2 ;;
            --reauth) reauth=$2 ;;
            --cert) gw_cert=$2 ;;
            --key) gw_key=$2 ;;
            --ca) gw_ca=$2 ;;
            --remote-auth) remote_auth=$2 ;;
            *) lab_gateway_usage; return 2 ;;
        esac
        shift 2
    done
    [[ -n $LAB_DIR ]] || { lab_log "lab_up first"; return 1; }
    # LAB_GW_DIR_NAME (opt-in, with LAB_NS_GATEWAY): a second gateway in its own directory and namespace.
    LAB_GATEWAY_DIR="$LAB_DIR/${LAB_GW_DIR_NAME:-gw}"
    lab_write_charon_dir "$LAB_GATEWAY_DIR"
    local dns_line=""
    [[ -z $dns ]] || dns_line="dns = $dns"
    local rekey_line=""
    # The gateway rekeys the CHILD SA every N s, so tests see several rekeys quickly. life_time and rand_time
    # are explicit: by default the hard lifetime is only 10% later and the rekey time is randomised within
    # that gap, which with a few seconds lets the SA expire before it is rekeyed.
    [[ -z $child_rekey ]] || rekey_line="rekey_time = ${child_rekey}s
                life_time = $((child_rekey * 3))s
                rand_time = 0s"
    # IPv6: a second pool (charon hands out an address of each family the client asks for) and the host's
    # IPv6 network as a second local selector.
    local pools=lab-pool local_ts=$LAB_HOST_NET pool6_section=""
    if [[ -n $LAB_IPV6 ]]; then
        pools="lab-pool, lab-pool6"
        local_ts="$LAB_HOST_NET, $LAB_HOST_NET6"
        pool6_section="lab-pool6 {
        addrs = $LAB_POOL_NET6
        dns = $LAB_DNS6
    }"
    fi
    # LAB_GW_LOCAL_TS (opt-in): the gateway's own traffic selector instead, e.g. 0.0.0.0/0 for a full tunnel.
    # LAB_GW_POOL_EXTRA (opt-in): more lines for the IPv4 pool, e.g. '25 = 0x...' (a raw CP attribute).
    # LAB_GW_REMOTE_EXTRA / LAB_GW_SECRETS_EXTRA (opt-in): more lines for the remote section (e.g.
    # 'eap_id = %any') and the secrets section (e.g. 'eap-alice { id = alice  secret = x }').
    local_ts=${LAB_GW_LOCAL_TS:-$local_ts}
    local ike_rekey_line=""
    # Likewise for the IKE SA (rekeyed, not reauthenticated; hard limit rekey_time + over_time).
    [[ -z $ike_rekey ]] || ike_rekey_line="rekey_time = ${ike_rekey}s
        over_time = $((ike_rekey * 2))s
        rand_time = 0s"
    # Reauthentication: as responder charon sends AUTH_LIFETIME (RFC 4478) with the time left and, with a
    # virtual IP, waits for the client to reauthenticate; over_time later it deletes the IKE SA.
    [[ -z $reauth ]] || ike_rekey_line="reauth_time = ${reauth}s
        over_time = ${reauth}s
        rand_time = 0s"
    # Certificate authentication: swanctl loads x509/ (own certificates), private/ (keys of any type) and
    # x509ca/ (trust anchors) from the private swanctl directory.
    local local_auth="auth = psk"
    if [[ -n $gw_cert ]]; then
        cp "$gw_cert" "$LAB_GATEWAY_DIR/swanctl/x509/gateway.pem"
        cp "$gw_key" "$LAB_GATEWAY_DIR/swanctl/private/gateway.key"
        local_auth="auth = pubkey
            certs = gateway.pem"
    fi
    [[ -z $gw_ca ]] || cp "$gw_ca" "$LAB_GATEWAY_DIR/swanctl/x509ca/ca.pem"
    # encap = yes: ESP in UDP 4500 even without NAT (kernel-libipsec needs it anyway, and so does ikevpn).
    # No local_addrs: the gateway answers on every address, as MOBIKE tests need.
    cat >"$LAB_GATEWAY_DIR/swanctl/swanctl.conf" <<EOF
connections {
    lab {
        version = 2
        proposals = $ike
        encap = yes
        mobike = $mobike
        $ike_rekey_line
        pools = $pools
        local {
            $local_auth
            id = $id
        }
        remote {
            auth = $remote_auth
            id = %any
            ${LAB_GW_REMOTE_EXTRA:-}
        }
        children {
            lab {
                local_ts = $local_ts
                esp_proposals = $esp
                $rekey_line
            }
        }
    }
}
pools {
    lab-pool {
        addrs = $pool
        $dns_line
        ${LAB_GW_POOL_EXTRA:-}
    }
    $pool6_section
}
secrets {
    ike-lab {
        secret = "$psk"
    }
    ${LAB_GW_SECRETS_EXTRA:-}
}
EOF
    chmod 600 "$LAB_GATEWAY_DIR/swanctl/swanctl.conf"
    lab_start_charon "$LAB_NS_GATEWAY" "$LAB_GATEWAY_DIR" || return 1
    LAB_GATEWAY_PID=$LAB_CHARON_PID
    if ! lab_swanctl "$LAB_GATEWAY_DIR" --load-all --noprompt >"$LAB_GATEWAY_DIR/load.out" 2>&1; then
        lab_log "swanctl --load-all failed:"
        cat "$LAB_GATEWAY_DIR/load.out" >&2
        lab_charon_log_tail "$LAB_GATEWAY_DIR"
        return 1
    fi
    lab_log "gateway charon PID $LAB_GATEWAY_PID, log $LAB_GATEWAY_DIR/charon.log"
}

# lab_gateway_sas [swanctl --list-sas options] — the gateway's view of its SAs.
lab_gateway_sas() {
    lab_swanctl "$LAB_GATEWAY_DIR" --list-sas "$@"
}

# lab_gateway_sa_count — number of IKE SAs the gateway holds (0 when none).
lab_gateway_sa_count() {
    lab_gateway_sas --raw 2>/dev/null | grep -c '^list-sa event' || true
}

# lab_gateway_log_tail — the end of the gateway's charon log (LAB_LOG_LINES lines, default 40) on stderr.
lab_gateway_log_tail() {
    [[ -n $LAB_GATEWAY_DIR ]] || return 0
    lab_charon_log_tail "$LAB_GATEWAY_DIR" "${LAB_LOG_LINES:-40}"
}

lab_stop_gateway() {
    lab_stop_pid "$LAB_GATEWAY_PID"
    LAB_GATEWAY_PID=""
}

# lab_down — stop what the lab started and delete namespaces and files. Idempotent; safe in traps.
lab_down() {
    local pid ns
    for pid in "${LAB_CHARON_PIDS[@]}"; do
        lab_stop_pid "$pid"
    done
    LAB_CHARON_PIDS=()
    LAB_GATEWAY_PID=""
    for ns in "$LAB_NS_CLIENT" "$LAB_NS_GATEWAY" "$LAB_NS_HOST"; do
        [[ -e /run/netns/$ns ]] || continue
        # Whatever still runs inside our own uniquely named namespaces was started by this run.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            lab_stop_pid "$pid"
        done
        ip netns del "$ns" 2>/dev/null || true
    done
    if [[ -n $LAB_DIR && -d $LAB_DIR && -z ${LAB_KEEP:-} ]]; then
        rm -rf -- "$LAB_DIR"
    fi
    LAB_DIR=""
    LAB_GATEWAY_DIR=""
}

# lab_connect_strongswan_client DIR PSK ESP_PROPOSALS — strongSwan's own client (a second charon with
# kernel-libipsec, private mounts under DIR) in the client namespace: PSK, a virtual IP request, the host
# network as remote_ts. Returns 0 once the CHILD SA is established (within 20 s); LAB_CHARON_PID is the
# client charon's PID either way (0 if it did not start), and DIR/initiate.out holds swanctl's output.
# Connect time in ms (warm daemon) is left in LAB_CLIENT_CONNECT_MS.
LAB_CLIENT_CONNECT_MS=0
lab_connect_strongswan_client() {
    local dir=$1 psk=$2 esp=$3 start end
    lab_write_charon_dir "$dir"
    cat >"$dir/swanctl/swanctl.conf" <<EOF2
connections {
    base {
        version = 2
        remote_addrs = $LAB_GATEWAY_IP
        vips = 0.0.0.0
        encap = yes
        proposals = aes256gcm16-prfsha384-x25519
        local {
            auth = psk
            id = client@example.com
        }
        remote {
            auth = psk
            id = gw.example.com
        }
        children {
            base {
                remote_ts = $LAB_HOST_NET
                esp_proposals = $esp
            }
        }
    }
}
secrets {
    ike-base {
        secret = "$psk"
    }
}
EOF2
    chmod 600 "$dir/swanctl/swanctl.conf"
    LAB_CHARON_PID=0
    lab_start_charon "$LAB_NS_CLIENT" "$dir" || return 1
    lab_swanctl "$dir" --load-all --noprompt >/dev/null || return 1
    start=$(date +%s%N)
    timeout 20 bash -c "SWANCTL_DIR='$dir/swanctl' swanctl --initiate --child base \
        --uri 'unix://$dir/run/charon.vici' >'$dir/initiate.out' 2>&1" || true
    end=$(date +%s%N)
    LAB_CLIENT_CONNECT_MS=$(((end - start) / 1000000))
    grep -q "CHILD_SA base{.*} established" "$dir/initiate.out"
}
