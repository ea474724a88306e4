#!/usr/bin/env bash
# Installs the Debian 12 packages that building, testing and the demo need — only the missing ones.
# Idempotent: when everything is present it changes nothing and needs no network.
# Usage: sudo packaging/install-deps.sh [--build-only]
set -euo pipefail

build_pkgs=(meson ninja-build pkg-config g++ libbotan-2-dev libasio-dev libcli11-dev nlohmann-json3-dev
    doctest-dev)
# Lab, interop tests and demo: namespaces and firewall (iproute2, nftables), unshare/mount (util-linux),
# a real strongSwan gateway with userspace ESP (kernel-libipsec is in libcharon-extra-plugins, curve25519
# in libstrongswan-extra-plugins, gcm/openssl in -standard-, eap-mschapv2 in libcharon-extauth-plugins).
run_pkgs=(iproute2 iputils-ping nftables jq procps util-linux coreutils strongswan-charon strongswan-swanctl
    strongswan-pki libcharon-extra-plugins libcharon-extauth-plugins libstrongswan-extra-plugins
    libstrongswan-standard-plugins iperf3 tcpdump wireguard-go wireguard-tools socat)
# test_dns_resolved.sh: a private system bus for systemd-resolved (dbus-daemon; nothing starts it on install).
# systemd-resolved itself is NOT installed (it would take over the machine's /etc/resolv.conf): the test
# extracts its Debian package privately (apt-get download + dpkg -x).
run_pkgs+=(dbus)
# test_libreswan*.sh: libreswan's pluto as a second gateway inside a User-Mode-Linux guest (this kernel has no
# ESP; Debian's UML kernel has it as modules, loaded with kmod's modprobe in the guest). libreswan itself is
# NOT installed (it conflicts with strongSwan): the test extracts it (apt-get download + dpkg -x) into
# /var/cache/ikevpn-test; these are its runtime libraries and NSS tools (certutil, pk12util), plus openssl
# to turn PEM keys into PKCS#12 for pk12util.
run_pkgs+=(user-mode-linux kmod libnss3-tools libnss3 libnspr4 libldns3 libunbound8 libevent-core-2.1-7
    libevent-pthreads-2.1-7 libcurl3-nss libcap-ng0 libaudit1 libldap-2.5-0 openssl)
# Packaging (packaging/build-deb.sh: dpkg-shlibdeps) and its test (man page rendering with man-db/groff).
run_pkgs+=(dpkg-dev man-db groff-base)

wanted=("${build_pkgs[@]}")
if [[ ${1:-} != --build-only ]]; then
    wanted+=("${run_pkgs[@]}")
fi

installed() {
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

missing=()
for pkg in "${wanted[@]}"; do
    installed "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#wanted[@]} packages already installed"
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: run as root (sudo $0) to install them" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
