#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A CPU without BBML2 that comes online after the system capability was
# finalised with it (boot with maxcpus=1 on an el2shim board) must be
# refused: it stays offline, the linear map keeps its blocks and is not
# repainted, and CPUs that have BBML2 come online as usual.
#
# The runner passes which CPUs lack BBML2 (from the board's MIDRs and the
# series' allow-list, lab/bbml2lab/cpus.py) as bbml2lab.nobbml2=<n,n,...>;
# the suite never decides that itself.
LM=/sys/kernel/debug/arm64/linear_map
nobbml2=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	bbml2lab.nobbml2=*) nobbml2=$(echo "${arg#bbml2lab.nobbml2=}" | tr ',' ' ') ;;
	esac
done

lm_key() {
	sed -n "s/^$1=//p" "$LM"
}

echo "KTAP version 1"
if [ ! -r "$LM" ]; then
	echo "1..0 # SKIP $LM not readable (kernel without the series' debugfs file)"
	exit 0
fi
offline=$(cat /sys/devices/system/cpu/offline)
cpus=
for c in /sys/devices/system/cpu/cpu[0-9]*; do
	n=${c##*cpu}
	[ "$n" = 0 ] || cpus="$cpus $n"
done
count=0
for n in $cpus; do count=$((count + 1)); done
echo "1..$((count + 3))"
t=1

if [ "$(lm_key system_bbml2)" = 1 ] && [ "$(lm_key linear_map)" = blocks ]; then
	echo "ok $t system_has_bbml2_with_blocks"
else
	echo "not ok $t system_has_bbml2_with_blocks # system_bbml2=$(lm_key system_bbml2) linear_map=$(lm_key linear_map)"
fi
t=$((t + 1))

for n in $cpus; do
	want=online
	for r in $nobbml2; do
		[ "$r" = "$n" ] && want=refused
	done
	echo 1 > /sys/devices/system/cpu/cpu$n/online 2>/dev/null
	got=refused
	[ "$(cat /sys/devices/system/cpu/cpu$n/online)" = 1 ] && got=online
	if [ "$got" = "$want" ]; then
		echo "ok $t cpu${n}_$want"
	else
		echo "not ok $t cpu${n}_$want # cpu$n is $got (offline at start: $offline)"
	fi
	t=$((t + 1))
done

if [ "$(lm_key linear_map)" = blocks ] && [ "$(lm_key repainted)" = 0 ]; then
	echo "ok $t blocks_kept_after_onlining"
else
	echo "not ok $t blocks_kept_after_onlining # linear_map=$(lm_key linear_map) repainted=$(lm_key repainted)"
fi
t=$((t + 1))
if dmesg | grep -q "will not boot"; then
	echo "ok $t refusal_logged"
elif [ -z "$nobbml2" ]; then
	echo "ok $t refusal_logged # SKIP no CPU without BBML2 on this board"
else
	echo "not ok $t refusal_logged # no 'will not boot' line in the kernel log"
fi
