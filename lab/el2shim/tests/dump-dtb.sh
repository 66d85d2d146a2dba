#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# dump-dtb.sh EL2SHIM_BIN OUT.dtb: QEMU's virt device tree as el2shim sees it
# (4 CPUs, 2 GiB, an initrd, a CPU list on the command line), for test-host.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: dump-dtb.sh EL2SHIM_BIN OUT.dtb" >&2; exit 2; }
initrd=$(mktemp)
trap 'rm -f "$initrd"' EXIT
head -c 4096 /dev/zero > "$initrd"
qemu-system-aarch64 -M virt,virtualization=on,gic-version=3,dumpdtb="$2" \
	-cpu max -smp 4 -m 2048 -nographic -kernel "$1" -initrd "$initrd" \
	-append "a el2shim.cpus=x4r0p3,3*a720 b" >/dev/null 2>&1 ||
	{ echo "dump-dtb.sh: qemu-system-aarch64 could not dump the virt DTB" >&2; exit 1; }
