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

PTDUMP=/sys/kernel/debug/kernel_page_tables

# A kernel without the series' report (mainline: issue 19) has no $LM; the
# shape then comes from ptdump: MiB of the linear map in PMD/PUD leaves
# (the size column), "blocks" when they hold over half of MemTotal (a
# page-mapped map keeps only the kernel image's alias in blocks).
ptdump_state() {
	[ -r "$PTDUMP" ] || { echo unknown; return; }
	mib=$(awk '/Linear Mapping start/ { on = 1; next } /Linear Mapping end/ { on = 0 }
		on && NF > 3 && ($3 == "PMD" || $3 == "PUD") && $0 !~ / F / {
			s = $2; u = substr(s, length(s)); n = substr(s, 1, length(s) - 1) + 0
			if (u == "K") n /= 1024; else if (u == "G") n *= 1024; else if (u != "M") n = 0
			t += n } END { printf "%d", t }' "$PTDUMP")
	total=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo)
	if [ "$mib" -gt $((total / 2)) ]; then echo "blocks ${mib}MiB"; else echo "pte ${mib}MiB"; fi
}

lm_key() {
	if [ -r "$LM" ]; then
		sed -n "s/^$1=//p" "$LM"
		return
	fi
	# mainline: only what ptdump shows (no capability or repaint flag)
	case "$1" in
	linear_map) ptdump_state | cut -d' ' -f1 ;;
	system_bbml2) [ "$(ptdump_state | cut -d' ' -f1)" = blocks ] && echo 1 || echo 0 ;;
	repainted) [ "$(ptdump_state | cut -d' ' -f1)" = blocks ] && echo 0 || echo 1 ;;
	esac
}

echo "KTAP version 1"
if [ ! -r "$LM" ] && [ ! -r "$PTDUMP" ]; then
	echo "1..0 # SKIP neither $LM (the series' report) nor $PTDUMP readable"
	exit 0
fi
[ -r "$LM" ] || echo "# no $LM (a kernel without the series' report, e.g. mainline): the linear map's shape from $PTDUMP: $(ptdump_state)"
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
