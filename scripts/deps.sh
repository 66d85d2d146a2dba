#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Install what bbml2-lab needs, from Debian's archive only. Idempotent: a
# second run with everything present does nothing but check.
#
#   scripts/deps.sh [BUILD_DIR]
#
# System packages are installed with apt-get (root needed; without root the
# exact command to run is printed). Two things are never installed system
# wide, only unpacked into BUILD_DIR: arm64 busybox-static (for the guest's
# initramfs) and lava-server's device-type templates (for rendering the
# device dictionary of lava-run).
set -eu

BUILD_DIR=${1:-build}
STAMP_DIR=$BUILD_DIR/deps

PKGS="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-system-arm
linux-source-6.12 ccache make bc flex bison libssl-dev libelf-dev cpio
gzip xz-utils rsync kmod perl lava-dispatcher python3-jinja2 python3-yaml
python3-pytest python3-voluptuous lavacli gpiod python3-libgpiod libgpiod-dev
python3-jsonschema"
# `make report` only (DEPS_REPORT=1): plots and the headless screenshot test;
# make check's path never installs them.
[ "${DEPS_REPORT:-}" != 1 ] || PKGS="$PKGS python3-matplotlib chromium"
# `make kernel-matrix` only (DEPS_MATRIX=1): the UEFI firmware of the hotplug
# row's guest and the LLVM row's compiler and linker.
[ "${DEPS_MATRIX:-}" != 1 ] || PKGS="$PKGS qemu-efi-aarch64 clang lld llvm"

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done

need_arch=
dpkg --print-foreign-architectures | grep -qx arm64 || need_arch=1

if [ -n "$missing" ] || [ -n "$need_arch" ]; then
	if [ "$(id -u)" != 0 ] && ! sudo -n true 2>/dev/null; then
		echo "deps: missing packages:$missing" >&2
		echo "deps: run as root:" >&2
		[ -n "$need_arch" ] && echo "  dpkg --add-architecture arm64" >&2
		echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends$missing" >&2
		exit 1
	fi
	if [ -n "$need_arch" ]; then
		echo "deps: enabling the arm64 architecture in dpkg (for apt-get download only)"
		$SUDO dpkg --add-architecture arm64
	fi
	echo "deps: installing:$missing"
	$SUDO apt-get update -q
	[ -z "$missing" ] || $SUDO env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends $missing
fi

mkdir -p "$STAMP_DIR"

# fetch_unpack PKG DEST: apt-get download PKG and dpkg-deb -x it into DEST,
# once per package version.
fetch_unpack() {
	pkg=$1 dest=$2
	ver=$(apt-cache policy "$pkg" | awk '/Candidate:/ { print $2 }')
	if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
		echo "deps: $pkg is not in the apt archive; run 'apt-get update'" >&2
		exit 1
	fi
	stamp=$STAMP_DIR/$(echo "$pkg" | tr ':' '_').version
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$ver" ] && [ -d "$dest" ]; then
		return 0
	fi
	echo "deps: fetching $pkg $ver into $dest"
	tmp=$(mktemp -d "$STAMP_DIR/dl.XXXXXX")
	(cd "$tmp" && apt-get download -q "$pkg=$ver" >/dev/null 2>&1) || {
		(cd "$tmp" && apt-get download "$pkg=$ver") || true
		echo "deps: apt-get download $pkg=$ver failed" >&2
		rm -rf "$tmp"
		exit 1
	}
	rm -rf "$dest"
	mkdir -p "$dest"
	dpkg-deb -x "$tmp"/*.deb "$dest"
	rm -rf "$tmp"
	echo "$ver" > "$stamp"
}

fetch_unpack busybox-static:arm64 "$BUILD_DIR/busybox-arm64"
fetch_unpack lava-server "$BUILD_DIR/lava-server"
# labpower's cross sysroot: arm64 libgpiod headers + static lib, and the
# shared library package (for a dynamic build); never installed system wide.
fetch_unpack libgpiod-dev:arm64 "$BUILD_DIR/libgpiod-arm64/dev"
fetch_unpack libgpiod2:arm64 "$BUILD_DIR/libgpiod-arm64/lib"

# `make bench-tlb` only (DEPS_TLB=1): Debian's arm64 memcached and the
# libraries it loads, for the guest's memcached-mix workload (bench/);
# unpacked, never installed. bench/memcached-root.sh packs what it needs.
if [ "${DEPS_TLB:-}" = 1 ]; then
	for p in memcached libevent-2.1-7 libsasl2-2 libssl3 libc6; do
		fetch_unpack "$p:arm64" "$BUILD_DIR/memcached-arm64/$p"
	done
fi

bb=$BUILD_DIR/busybox-arm64/bin/busybox
[ -x "$bb" ] || { echo "deps: $bb missing after unpack" >&2; exit 1; }
dt=$BUILD_DIR/lava-server/usr/share/lava-server/device-types/qemu.jinja2
[ -f "$dt" ] || { echo "deps: $dt missing after unpack" >&2; exit 1; }
ga=$BUILD_DIR/libgpiod-arm64/dev/usr/lib/aarch64-linux-gnu/libgpiod.a
[ -f "$ga" ] || { echo "deps: $ga missing after unpack" >&2; exit 1; }
echo "deps: ok"
