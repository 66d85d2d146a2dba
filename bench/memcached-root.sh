#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The guest tree of the memcached-mix workload: Debian's arm64 memcached,
# its loader and the five libraries it needs, from the packages that
# `DEPS_TLB=1 scripts/deps.sh` unpacked (nothing else of them):
#
#   bench/memcached-root.sh BUILD_DIR OUT_DIR
#
# OUT_DIR is a tree for the root of the bench initramfs: lab/memcached/
# (the program) and etc/passwd, etc/group (memcached run as root wants -u,
# and -u a user it can look up).
set -eu
src=$1/memcached-arm64
out=$2
bin=$src/memcached/usr/bin/memcached
[ -x "$bin" ] || { echo "memcached-root: $bin missing; run 'DEPS_TLB=1 scripts/deps.sh $1'" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out/etc"
echo "root:x:0:0:root:/root:/bin/sh" > "$out/etc/passwd"
echo "root:x:0:" > "$out/etc/group"
out=$out/lab/memcached
mkdir -p "$out/usr/bin" "$out/lib/aarch64-linux-gnu" "$out/usr/lib/aarch64-linux-gnu"
cp "$bin" "$out/usr/bin/"
cp -L "$src/libc6/lib/ld-linux-aarch64.so.1" "$out/lib/"
cp -L "$src/libc6/lib/aarch64-linux-gnu/libc.so.6" "$out/lib/aarch64-linux-gnu/"
for l in libevent-2.1-7/usr/lib/aarch64-linux-gnu/libevent-2.1.so.7 \
	 libsasl2-2/usr/lib/aarch64-linux-gnu/libsasl2.so.2 \
	 libssl3/usr/lib/aarch64-linux-gnu/libssl.so.3 \
	 libssl3/usr/lib/aarch64-linux-gnu/libcrypto.so.3; do
	cp -L "$src/$l" "$out/usr/lib/aarch64-linux-gnu/"
done
# Every NEEDED library is here (a new Debian version could add one).
for f in "$out/usr/bin/memcached" "$out"/usr/lib/aarch64-linux-gnu/*; do
	for n in $(${CROSS_COMPILE:-aarch64-linux-gnu-}readelf -d "$f" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p'); do
		[ -e "$out/lib/$n" ] || [ -e "$out/lib/aarch64-linux-gnu/$n" ] ||
			[ -e "$out/usr/lib/aarch64-linux-gnu/$n" ] || {
			echo "memcached-root: $f needs $n, which is not packed" >&2
			exit 1
		}
	done
done
