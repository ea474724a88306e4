#!/usr/bin/env bash
# Builds the Debian package in one command:
#   packaging/build-deb.sh [OUTPUT_DIR]      → OUTPUT_DIR/ikevpn_<version>_<arch>.deb (default: build-deb/)
# It configures a release build with --prefix=/usr in BUILD_DIR (default build-deb/build, reused and
# rebuilt incrementally), installs it into a staging tree with `meson install --destdir`, and packs that
# tree with `dpkg-deb --build --root-owner-group` (no root and no fakeroot needed). Depends: is computed by
# dpkg-shlibdeps (package dpkg-dev, installed by packaging/install-deps.sh).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$(realpath -m "${1:-$repo/build-deb}")
build=$(realpath -m "${BUILD_DIR:-$repo/build-deb/build}")
# DEB_PREBUILT=DIR: package an existing build directory configured with --prefix=/usr as it is (no
# reconfiguration, whatever its build type) — the test suite uses this to check the packaging without a
# second full build. Releases use the default release build.
prebuilt=${DEB_PREBUILT:-}

for tool in meson ninja dpkg-deb dpkg-shlibdeps python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "build-deb: $tool is missing (run packaging/install-deps.sh)" >&2
        exit 1
    fi
done

mkdir -p "$build"
log=$build/build-deb.log
# run LABEL COMMAND... — quiet on success; on failure the end of the output explains it.
run() {
    local label=$1
    shift
    if ! "$@" >"$log" 2>&1; then
        echo "build-deb: $label failed:" >&2
        tail -n 30 "$log" >&2
        exit 1
    fi
}
if [[ -n $prebuilt ]]; then
    build=$(realpath -m "$prebuilt")
    prefix=$(meson introspect --buildoptions "$build" |
        python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
    if [[ $prefix != /usr ]]; then
        echo "build-deb: DEB_PREBUILT=$build has prefix $prefix; a package needs --prefix=/usr" >&2
        exit 1
    fi
elif [[ -f $build/meson-private/coredata.dat ]]; then
    run "meson setup" meson setup --reconfigure --prefix=/usr --buildtype=release "$build" "$repo"
else
    run "meson setup" meson setup --prefix=/usr --buildtype=release "$build" "$repo"
fi
run "build" ninja -C "$build" client/ikevpn

stage=$(mktemp -d "${TMPDIR:-/tmp}/ikevpn-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/root
run "meson install" meson install -C "$build" --destdir "$root" --no-rebuild --quiet

version=$(meson introspect --projectinfo "$build" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
arch=$(dpkg --print-architecture)

# Debian policy: stripped binaries, man pages compressed with gzip -9n, a copyright file.
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/ikevpn"
gzip -9n "$root/usr/share/man/man8/ikevpn.8"
install -d "$root/usr/share/doc/ikevpn"
cat >"$root/usr/share/doc/ikevpn/copyright" <<'COPYRIGHT'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: ikevpn

Files: *
License: GPL-2.0-or-later
 On Debian systems the full text of the GNU General Public License version 2 is in
 /usr/share/common-licenses/GPL-2.
COPYRIGHT

# dpkg-shlibdeps wants a debian/control to exist; a minimal one in a scratch directory is enough.
mkdir -p "$stage/src/debian"
printf 'Source: ikevpn\n\nPackage: ikevpn\nArchitecture: any\n' >"$stage/src/debian/control"
depends=$(cd "$stage/src" && dpkg-shlibdeps -O -e"$root/usr/bin/ikevpn" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
if [[ -z $depends ]]; then
    echo "build-deb: dpkg-shlibdeps found no dependencies for usr/bin/ikevpn" >&2
    exit 1
fi

install -d "$root/DEBIAN"
cat >"$root/DEBIAN/control" <<CONTROL
Package: ikevpn
Version: $version
Architecture: $arch
Maintainer: ikevpn developers <ikevpn@example.org>
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: $depends
Section: net
Priority: optional
Description: IKEv2/IPsec VPN client with a userspace ESP data plane
 ikevpn connects to IKEv2 gateways (strongSwan, libreswan and others that
 follow RFC 7296) and carries traffic as ESP in UDP through a TUN device.
 Includes the ikevpn(8) manual, bash completion and the ikevpn@.service
 systemd template unit (one connection per profile in /etc/ikevpn).
CONTROL

mkdir -p "$out"
deb="$out/ikevpn_${version}_${arch}.deb"
dpkg-deb --build --root-owner-group "$root" "$deb" >/dev/null
echo "$deb"
