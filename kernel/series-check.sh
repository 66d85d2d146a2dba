#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
#   kernel/series-check.sh BUILD_DIR FRAGMENT...
#
# Review gate for kernel/series: every patch must pass
# scripts/checkpatch.pl --strict (a justified exception is stated in the
# patch's notes below its '---'), and every prefix of the series (the base
# alone, then patch 1, 1-2, ...) must configure with the fragments, build
# without warnings and boot under QEMU to the smoke suite with no kernel
# splat, once plainly and once with arm64.bbml2=assume,repaint (which
# prefixes before the option exist pass on to init, harmlessly). Prefixes are applied one by one in a single scratch tree and built
# incrementally in one O= directory, so each step only rebuilds what its
# patch touched. Writes BUILD_DIR/series-check/report.txt.
#
# RESUME=1 continues a run that was stopped (a session's end, a reboot):
# it keeps BUILD_DIR/series-check, reads its progress file (the number of
# patches applied to the scratch tree, of steps finished, and whether one
# failed) and goes on from the first step not finished, appending to the
# same report. A step cut short is run again whole, its outputs removed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=$(mkdir -p "$1" && cd "$1" && pwd)
shift
frags=$*
jobs=${JOBS:-2}
kargs="ARCH=arm64"
cross="ccache aarch64-linux-gnu-"

out=$build/series-check
report=$out/report.txt
progress=$out/progress
tree=$out/linux
kout=$out/kernel
initrd=$out/initramfs.cpio.gz

# progress holds "APPLIED FINISHED FAIL": patches applied to the scratch tree,
# steps (0 = the base) finished, and 1 once any step or checkpatch failed.
applied=0 finished=-1 fail=0
if [ "${RESUME:-0}" = 1 ]; then
	if [ ! -f "$progress" ] || [ ! -f "$initrd" ]; then
		echo "series-check: RESUME=1 but $out holds no stopped run" >&2
		exit 2
	fi
	read -r applied finished fail < "$progress"
	echo "series-check: resuming after step $finished ($applied patches applied)" | tee -a "$report"
	# What the step cut short wrote may be truncated (a killed link leaves
	# an empty vmlinux.o that make then takes as up to date): remove every
	# build output written since the progress file, the merged .config aside.
	find "$kout" -type f -newer "$progress" ! -name '.config*' -delete
else
	rm -rf "$out"
	mkdir -p "$out"
	: > "$report"

	src=$("$here/prepare.sh" "$build" 0)
	cp -al "$src" "$tree"
	rm -f "$tree/.bbml2-lab-tree"

	# A small initramfs with the smoke suite, for the boots.
	mkdir -p "$out/bin"
	aarch64-linux-gnu-gcc -static -O2 -Wall -Wextra -o "$out/bin/ktap-smoke" \
		"$here/../lab/rootfs/ktap-smoke.c"
	"$here/../lab/rootfs/build.sh" "$initrd" "$build/busybox-arm64/bin/busybox" "$out/bin" >/dev/null
fi

save() {
	echo "$applied $finished $fail" > "$progress"
}

boot() {
	name=$1 args=$2
	log=$out/$name.boot$(echo "$args" | tr -c 'a-z0-9\n' '-').log
	timeout 300 qemu-system-aarch64 -M virt -cpu max -smp 4 -m 2048 -nographic \
		-monitor none -no-reboot -kernel "$kout/arch/arm64/boot/Image" -initrd "$initrd" \
		-append "console=ttyAMA0 rdinit=/init rodata=full panic=-1 $args" \
		< /dev/null > "$log" 2>&1 || true
	if ! grep -q "bbml2-lab: suite smoke end rc=0" "$log"; then
		echo "boot $name $args: FAILED (log: $log)" | tee -a "$report"
		fail=1
	elif grep -E "WARNING:|BUG:|Oops|Kernel panic|Unable to handle|circular locking|sleeping function called|Invalid wait context" "$log"; then
		echo "boot $name $args: kernel splat (log: $log)" | tee -a "$report"
		fail=1
	else
		echo "boot $name ${args:-(no option)}: ok" | tee -a "$report"
	fi
}

step() {
	name=$1
	t0=$(date +%s)
	if make -s -C "$tree" O="$kout" $kargs CROSS_COMPILE="$cross" -j"$jobs" Image modules \
		> "$out/$name.log" 2>&1; then
		warn=$(grep -c "warning:" "$out/$name.log" || true)
		echo "build $name: ok ($(( $(date +%s) - t0 )) s, $warn warnings)" | tee -a "$report"
		[ "$warn" = 0 ] || { grep "warning:" "$out/$name.log"; fail=1; }
		boot "$name" ""
		boot "$name" "arm64.bbml2=assume,repaint"
	else
		echo "build $name: FAILED (log: $out/$name.log)" | tee -a "$report"
		tail -20 "$out/$name.log"
		fail=1
	fi
}

if [ "$finished" -lt 0 ]; then
	mkdir -p "$kout"
	make -s -C "$tree" O="$kout" $kargs allnoconfig
	# shellcheck disable=SC2086
	"$tree/scripts/kconfig/merge_config.sh" -m -O "$kout" "$kout/.config" $frags >/dev/null
	make -s -C "$tree" O="$kout" $kargs olddefconfig
	save
	step 0000-base
	finished=0
	save
fi

n=0
for p in $(grep -v '^[[:space:]]*\(#\|$\)' "$here/series"); do
	n=$((n + 1))
	[ "$n" -le "$finished" ] && continue
	cp=$("$tree/scripts/checkpatch.pl" --strict --no-tree -q "$here/patches/$p" | tail -1 || true)
	case "$cp" in
	""|*" 0 errors, 0 warnings, 0 checks"*)
		echo "checkpatch $p: clean" | tee -a "$report" ;;
	*" 0 errors, 0 warnings,"*)
		echo "checkpatch $p: $cp" | tee -a "$report" ;;
	*)
		if grep -q "^ *checkpatch:" "$here/patches/$p"; then
			echo "checkpatch $p: $cp (exception explained in the patch notes)" | tee -a "$report"
		else
			echo "checkpatch $p: $cp" | tee -a "$report"
			fail=1
		fi ;;
	esac
	if [ "$n" -gt "$applied" ]; then
		if ! patch -d "$tree" -p1 -s -N --no-backup-if-mismatch < "$here/patches/$p"; then
			echo "apply $p: FAILED" | tee -a "$report"
			exit 1
		fi
		applied=$n
		save
	fi
	# New Kconfig symbols of this patch take the fragments' values (the
	# series' debug options exist only from their patch on), else their
	# defaults.
	# shellcheck disable=SC2086
	"$tree/scripts/kconfig/merge_config.sh" -m -O "$kout" "$kout/.config" $frags >/dev/null
	make -s -C "$tree" O="$kout" $kargs olddefconfig
	step "$(printf %04d $n)-${p#????-}"
	finished=$n
	save
done

[ $fail = 0 ] && echo "series-check: all $n patches pass checkpatch, all $((n + 1)) prefixes build and boot" | tee -a "$report"
exit $fail
