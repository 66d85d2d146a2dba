#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Pack the guest initramfs (gzip cpio, newc) from repo sources:
#
#   lab/rootfs/build.sh OUT.cpio.gz BUSYBOX BINDIR [TREE...]
#
# BUSYBOX  static aarch64 busybox (unpacked by scripts/deps.sh)
# BINDIR   static aarch64 programs, installed as /lab/bin/*
# TREE     optional DIR=DEST pairs copied in as they are (e.g. a kselftest
#          install directory as /lab/kselftest)
#
# The archive is reproducible: fixed owner and mtime, sorted entries, so
# an unchanged input gives a byte-identical output.
set -eu

out=$1 busybox=$2 bindir=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)

[ -x "$busybox" ] || { echo "rootfs: busybox '$busybox' not found; run 'make deps'" >&2; exit 1; }
file -b "$busybox" | grep -q aarch64 || { echo "rootfs: $busybox is not an aarch64 binary" >&2; exit 1; }

stage=$(mktemp -d "${out%/*}/.rootfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage/bin" "$stage/sbin" "$stage/usr/bin" "$stage/usr/sbin" \
	"$stage/proc" "$stage/sys" "$stage/dev" "$stage/tmp" "$stage/root" \
	"$stage/etc" "$stage/lab/bin" "$stage/lab/suites"
cp "$busybox" "$stage/bin/busybox"
cp "$here/init" "$stage/init"
cp "$here"/suites/*.sh "$stage/lab/suites/"
echo 'export PS1="/ # "' > "$stage/etc/profile"
for f in "$bindir"/*; do
	[ -f "$f" ] || continue
	file -b "$f" | grep -q "aarch64.*statically linked" || {
		echo "rootfs: $f is not a static aarch64 program" >&2
		exit 1
	}
	cp "$f" "$stage/lab/bin/"
done
for t in "$@"; do
	src=${t%%=*} dst=${t#*=}
	[ -d "$src" ] || { echo "rootfs: tree '$src' not found" >&2; exit 1; }
	mkdir -p "$stage/$dst"
	cp -a "$src/." "$stage/$dst/"
done

find "$stage" -exec touch -h -d @0 {} +
tmp=$out.tmp
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --owner=0:0 --quiet) |
	gzip -9n > "$tmp"
mv "$tmp" "$out"
echo "rootfs: $out ($(du -k "$out" | cut -f1) KiB)"
