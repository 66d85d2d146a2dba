#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Bring-up boot of the kernel under el2shim, straight with qemu-system-aarch64
# (no LAVA). The console goes to stdout.
#
#   lab/el2shim/boot.sh [-c CPULIST] [-s SMP] [-m MEM_MB] [-a "KERNEL ARGS"]
#                       [-k IMAGE] [-i INITRD] [-e EL2SHIM_BIN] [-t SECONDS]
#
#   -c  el2shim's CPU list, e.g. "x4r0p3,3*a720" (none: QEMU's own MIDR)
#   -a  extra kernel arguments, after the defaults below
#   -t  timeout for the whole boot (default 300 s)
#
# Defaults: build/kernel-qemu Image, build/rootfs-qemu.cpio.gz initramfs,
# build/el2shim/el2shim.bin, 4 CPUs, 2048 MiB, the smoke suite.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$top/build}
image=$build/kernel-qemu/arch/arm64/boot/Image
initrd=$build/rootfs-qemu.cpio.gz
shim=$build/el2shim/el2shim.bin
cpulist= smp=4 mem=2048 extra= timeout=300

usage() {
	sed -n '6,16p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while getopts c:s:m:a:k:i:e:t:h opt; do
	case $opt in
	c) cpulist=$OPTARG ;;
	s) smp=$OPTARG ;;
	m) mem=$OPTARG ;;
	a) extra=$OPTARG ;;
	k) image=$OPTARG ;;
	i) initrd=$OPTARG ;;
	e) shim=$OPTARG ;;
	t) timeout=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || { echo "boot.sh: unexpected argument '$1'" >&2; exit 2; }

for f in "$image" "$initrd" "$shim"; do
	[ -r "$f" ] || { echo "boot.sh: cannot read $f (make kernel-qemu rootfs-qemu el2shim)" >&2; exit 2; }
done
case $smp$mem$timeout in
*[!0-9]*) echo "boot.sh: -s, -m and -t take numbers" >&2; exit 2 ;;
esac

args="console=ttyAMA0 rdinit=/init rodata=full bbml2lab.cpus=$smp bbml2lab.mem_mb=$mem"
[ -z "$cpulist" ] || args="$args el2shim.cpus=$cpulist"
[ -z "$extra" ] || args="$args $extra"

# Kernel Image at 0x40400000 (lab/el2shim/shim.h has the memory layout).
exec timeout --foreground -k 5 "$timeout" qemu-system-aarch64 \
	-M virt,virtualization=on,gic-version=3 -cpu max -smp "$smp" -m "$mem" \
	-nographic -no-reboot -monitor none -serial stdio \
	-kernel "$shim" \
	-device loader,file="$image",addr=0x40400000,force-raw=on \
	-initrd "$initrd" \
	-append "$args"
