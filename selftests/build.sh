#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Build the arm64/bbml2 kselftests with the kernel's own kselftest machinery.
#
#   selftests/build.sh install KSRC KBUILD OUTDIR
#   selftests/build.sh bundle  KSRC KBUILD OUT.tar.gz
#
# KSRC    kernel source tree with the bbml2 series (tools/testing/selftests)
# KBUILD  kernel build (O=) directory with .config and Module.symvers, built
#         with CONFIG_ARM64_LINEAR_MAP_TEST=y (the test module links to it)
# OUTDIR  install directory, emptied first: run_kselftest.sh, kselftest/,
#         kselftest-list.txt, arm64/bbml2/ (binaries, config, settings,
#         test_modules/bbml2_test.ko), plus run-bbml2.sh and README. This is
#         exactly the content of the bundle.
#
# bundle: the same, packed as OUT.tar.gz with one top directory,
# bbml2-kselftest/, for boards running the series: unpack, then run
# ./bbml2-kselftest/run-bbml2.sh as root.
#
# selftests/arm64/bbml2 is copied (rsync, the copy is refreshed on every
# run) to KSRC/tools/testing/selftests/arm64/bbml2: a symlink does not work,
# its Makefile includes ../../lib.mk relative to the physical directory.
# That copy, and bbml2 added to ARM64_SUBTARGETS in
# KSRC/tools/testing/selftests/arm64/Makefile (so that the kernel's own
# `make -C tools/testing/selftests TARGETS=arm64` builds and installs it
# too, as arm64/bbml2 with its own settings), are the only changes to KSRC;
# objects go to KBUILD/kselftest (the kselftest O= convention) and the
# module to the copy's test_modules/, rebuilt on every run since KBUILDs
# of one KSRC share it (runs on one KSRC take turns on
# tools/testing/selftests/.bbml2-build.lock). host/ (the host-side unit
# tests) is not copied.
#
# Environment: CROSS_COMPILE (default aarch64-linux-gnu-; "ccache " may
# prefix it), JOBS (default: number of CPUs).
set -eu

usage() {
	sed -n '4,6p' "$0" | sed 's/^# //' >&2
	exit 2
}

[ $# -eq 4 ] || usage
mode=$1 ksrc=$2 kbuild=$3 out=$4
case "$mode" in install | bundle) ;; *) usage ;; esac

here=$(cd "$(dirname "$0")" && pwd)
src=$here/arm64/bbml2
cross=${CROSS_COMPILE:-aarch64-linux-gnu-}
jobs=${JOBS:-$(nproc)}

ksrc=$(cd "$ksrc" && pwd)
kbuild=$(cd "$kbuild" && pwd)
kst=$ksrc/tools/testing/selftests
[ -f "$kst/lib.mk" ] || { echo "build.sh: $ksrc has no tools/testing/selftests" >&2; exit 1; }
[ -f "$kbuild/.config" ] || { echo "build.sh: $kbuild has no .config" >&2; exit 1; }
[ -f "$kbuild/Module.symvers" ] || {
	echo "build.sh: $kbuild has no Module.symvers: build the kernel (make modules) first" >&2
	exit 1
}
# Without the series' test exports there is no module to build: the
# programs that need it skip, saying so (a kernel without the series'
# instrumentation: mainline, or the series without it).
kdir=$kbuild
mod=test_modules/bbml2_test.ko
if ! grep -q '^CONFIG_ARM64_LINEAR_MAP_TEST=y' "$kbuild/.config"; then
	echo "build.sh: $kbuild/.config lacks CONFIG_ARM64_LINEAR_MAP_TEST=y: no test module (merge $src/config for it)" >&2
	kdir=$kbuild/no-linear-map-test
	mod=
fi

# Builds for several kernel configurations share this KSRC and the
# module's objects in the copy's test_modules/: one at a time.
exec 9>"$kst/.bbml2-build.lock"
flock 9

# The collection, as a copy inside the kernel tree.
dst=$kst/arm64/bbml2
if [ -L "$dst" ]; then
	rm "$dst"
fi
mkdir -p "$dst"
rsync -a --delete --exclude='*.ko' --exclude='*.o' --exclude='*.mod' \
	--exclude='*.mod.c' --exclude='.*.cmd' --exclude='Module.symvers' \
	--exclude='modules.order' --exclude='.module-common.o' \
	--exclude='/bbml2_mode' --exclude='/bbml2_shape' --exclude='/bbml2_split' \
	--exclude='/bbml2_stress' --exclude='/bbml2_hotplug' --exclude='/bbml2_pgtables' \
	--exclude='/bbml2_invalid' --exclude='/bbml2_vmalloc' --exclude='/bbml2_memremove' \
	--exclude='/bbml2_faults' --exclude='/bbml2_tlb' --exclude='/bbml2_kfence' --exclude='/bbml2_oa' --exclude='/bbml2_plain' \
	--exclude='/bbml2_dmesg' --exclude='/host/' \
	"$src/" "$dst/"

# Registered in the arm64 subtargets (idempotent): TARGETS=arm64 builds it.
arm64mk=$kst/arm64/Makefile
if ! grep -q '^ARM64_SUBTARGETS ?=.* bbml2\( \|$\)' "$arm64mk"; then
	sed -i 's/^\(ARM64_SUBTARGETS ?= .*\)$/\1 bbml2/' "$arm64mk"
	grep -q '^ARM64_SUBTARGETS ?=.* bbml2$' "$arm64mk" || {
		echo "build.sh: cannot add bbml2 to ARM64_SUBTARGETS in $arm64mk" >&2
		exit 1
	}
fi

if [ "$mode" = bundle ]; then
	stage=$(mktemp -d "${TMPDIR:-/tmp}/bbml2-bundle.XXXXXX")
	trap 'rm -rf "$stage"' EXIT
	inst=$stage/bbml2-kselftest
else
	inst=$out
fi
rm -rf "$inst"
mkdir -p "$inst"
inst=$(cd "$inst" && pwd)

# The module is built in the copy, not under KBUILD: whatever an earlier
# build against another KBUILD of this KSRC left there goes first. Kbuild
# cannot see that change (an O= build's command lines are the same for
# every configuration, and an older .config looks up to date), and a
# module built for other page sizes or struct layouts loads all the same.
if [ -n "$mod" ]; then
	make -s -C "$dst/test_modules" KDIR="$kbuild" ARCH=arm64 CROSS_COMPILE="$cross" clean
fi
rm -f "$dst"/test_modules/*.ko

# The kernel's kselftest build: TARGETS=arm64/bbml2, objects in
# KBUILD/kselftest, module against KBUILD.
make -C "$kst" -j"$jobs" TARGETS=arm64/bbml2 ARCH=arm64 \
	CROSS_COMPILE="$cross" O="$kbuild" KDIR="$kdir" \
	KSFT_INSTALL_PATH="$inst" install

for f in bbml2_mode bbml2_shape bbml2_split bbml2_stress bbml2_hotplug bbml2_pgtables bbml2_faults bbml2_tlb bbml2_kfence bbml2_oa \
	 bbml2_invalid bbml2_vmalloc bbml2_memremove \
	 bbml2_plain bbml2_dmesg $mod; do
	[ -f "$inst/arm64/bbml2/$f" ] || {
		echo "build.sh: $inst/arm64/bbml2/$f was not built" >&2
		exit 1
	}
done
grep -q '^arm64/bbml2:bbml2_mode$' "$inst/kselftest-list.txt" || {
	echo "build.sh: arm64/bbml2 missing from kselftest-list.txt" >&2
	exit 1
}

# The allow-list of the kernel under test, for bbml2_plain (issue 19: the
# mode check's list comes from the tree, lab/bbml2lab/allowlist.py).
if ! PYTHONPATH="$here/../lab" /usr/bin/python3 -m bbml2lab.allowlist "$ksrc" \
		"$inst/arm64/bbml2/allowlist"; then
	echo "build.sh: no allow-list read from $ksrc: bbml2_plain uses its built-in (the series') list" >&2
	rm -f "$inst/arm64/bbml2/allowlist"
fi

install -m 755 "$here/run-bbml2.sh" "$inst/run-bbml2.sh"
release=$(cat "$kbuild/include/config/kernel.release" 2>/dev/null || echo unknown)
sed -e "s|@RELEASE@|$release|" "$here/README.bundle" > "$inst/README"

if [ "$mode" = bundle ]; then
	mkdir -p "$(dirname "$out")"
	tar -C "$stage" --owner=0 --group=0 --sort=name --mtime=@0 -czf "$out.tmp" bbml2-kselftest
	mv "$out.tmp" "$out"
	echo "build.sh: $out"
else
	echo "build.sh: installed in $inst"
fi
