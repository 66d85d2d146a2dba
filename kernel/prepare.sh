#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Prepare the kernel source tree to build:
#
#   kernel/prepare.sh BUILD_DIR [N]
#
# Unpacks Debian's linux-source-6.12 once into BUILD_DIR/src (checking it
# against kernel/base.conf), then makes BUILD_DIR/linux: a copy of it with
# the first N patches of kernel/series applied (all by default). The copy is
# remade only when the base or the patches change. Prints the tree's path.
#
# With KERNEL_SRC set, that tree is used as it is (nothing is unpacked or
# patched) and its path is printed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=$1
upto=${2:-}

if [ -n "${KERNEL_SRC:-}" ]; then
	[ -f "$KERNEL_SRC/Makefile" ] && [ -d "$KERNEL_SRC/arch/arm64" ] || {
		echo "kernel: KERNEL_SRC=$KERNEL_SRC is not a Linux source tree" >&2
		exit 1
	}
	echo "kernel: using KERNEL_SRC=$KERNEL_SRC as it is (series not applied)" >&2
	(cd "$KERNEL_SRC" && pwd)
	exit 0
fi

. "$here/base.conf"
mkdir -p "$build/src"

installed=$(dpkg-query -W -f='${Version}' "$PKG" 2>/dev/null || true)
if [ -z "$installed" ] || [ ! -f "$TARBALL" ]; then
	echo "kernel: $PKG is not installed; run 'make deps'" >&2
	exit 1
fi

# Unpack once per tarball version.
src=$build/src/linux-source-6.12
stamp=$build/src/base.version
if [ ! -f "$stamp" ] || [ "$(sed -n 1p "$stamp")" != "$installed" ] || [ ! -f "$src/Makefile" ]; then
	echo "kernel: checking $TARBALL ($PKG $installed)" >&2
	sum=$(sha256sum "$TARBALL" | cut -d' ' -f1)
	if [ "$installed" = "$VERSION" ]; then
		if [ "$sum" != "$SHA256" ]; then
			echo "kernel: $TARBALL checksum mismatch for pinned $VERSION:" >&2
			echo "kernel:   expected $SHA256" >&2
			echo "kernel:   got      $sum" >&2
			exit 1
		fi
	else
		echo "kernel: WARNING: $PKG $installed is installed, the series is pinned to $VERSION;" >&2
		echo "kernel: WARNING: building on $installed (sha256 $sum) and recording it" >&2
	fi
	echo "kernel: unpacking into $src" >&2
	rm -rf "$src" "$build/src/unpack.tmp"
	mkdir -p "$build/src/unpack.tmp"
	tar -C "$build/src/unpack.tmp" -xf "$TARBALL"
	mv "$build/src/unpack.tmp/linux-source-6.12" "$src"
	rmdir "$build/src/unpack.tmp"
	printf '%s\n%s\n' "$installed" "$sum" > "$stamp"
fi

# The patched tree: pristine copy (hard links; patch(1) replaces the files
# it changes instead of writing through the links) plus the series.
series=$here/series
[ -f "$series" ] || { echo "kernel: $series missing" >&2; exit 1; }
patches=$(grep -v '^[[:space:]]*\(#\|$\)' "$series" || true)
if [ -n "$upto" ]; then
	patches=$(echo "$patches" | head -n "$upto")
	tree=$build/linux-prefix-$upto
else
	tree=$build/linux
fi

want=$( (sed -n 1p "$stamp"; for p in $patches; do
	[ -f "$here/patches/$p" ] || { echo "kernel: series lists $p but kernel/patches/$p is missing" >&2; exit 1; }
	sha256sum "$here/patches/$p"; done) | sha256sum | cut -d' ' -f1)
if [ -f "$tree/.bbml2-lab-tree" ] && [ "$(cat "$tree/.bbml2-lab-tree")" = "$want" ]; then
	(cd "$tree" && pwd)
	exit 0
fi

echo "kernel: making $tree ($(echo "$patches" | grep -c . || true) patches)" >&2
rm -rf "$tree" "$tree.tmp"
cp -al "$src" "$tree.tmp"
for p in $patches; do
	if ! patch -d "$tree.tmp" -p1 -s -N --no-backup-if-mismatch < "$here/patches/$p" >"$tree.tmp.log" 2>&1; then
		echo "kernel: patch $p does not apply to $PKG $(sed -n 1p "$stamp"):" >&2
		sed 's/^/kernel:   /' "$tree.tmp.log" >&2
		rm -rf "$tree.tmp" "$tree.tmp.log"
		exit 1
	fi
done
rm -f "$tree.tmp.log"
echo "$want" > "$tree.tmp/.bbml2-lab-tree"
mv "$tree.tmp" "$tree"
(cd "$tree" && pwd)
