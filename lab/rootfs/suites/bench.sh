#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# bench suite: the bbml2-lab micro-benchmarks (bench/), one after the other,
# each pinned to one CPU. Prints KTAP, one result per benchmark: ok when it
# ran and its JSON is complete, SKIP with the reason when it could not run,
# not ok otherwise. Each benchmark's JSON is printed before its result line,
# between "bbml2-bench: json begin <name>" and "... end <name>" markers;
# bench/report.py collects it from the console log.
#
# Optional kernel command line knobs (read here, ignored by the kernel):
#   bbml2lab.bench=<name>[,<name>...]   only these (default: all, in order)
#   bbml2lab.bench_samples=<S>          samples per metric (default 10)
#   bbml2lab.bench_tcg=0|1              force hardware / emulator sizes
#                                       (default: emulator when MIDR
#                                       implementer is 0, QEMU -cpu max)
#   bbml2lab.bench_cpu=<n>              CPU to pin to
#   bbml2lab.bench_timeout=<s>          per-benchmark limit (default 600)
#   bbml2lab.bench_sizes=<list>         working sets to sweep (64K,2M,...)
#   bbml2lab.bench_tlbmodel=1           write leaf layouts and window labels
#                                       on the console for the QEMU TLB
#                                       model (bench/tlbmodel)
bin=/lab/bin
# linmap-cost first: its meminfo snapshot should see the boot, not our files.
benches="linmap-cost pcache-rand-pread dentry-scatter-stat unix-scatter linmap-chase memcached-mix"
args=""
limit=600

# shellcheck disable=SC2013  # words of the command line, not lines
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	bbml2lab.bench=*) benches=$(echo "${arg#*=}" | tr ',' ' ') ;;
	bbml2lab.bench_samples=*) args="$args --samples ${arg#*=}" ;;
	bbml2lab.bench_tcg=1) args="$args --tcg" ;;
	bbml2lab.bench_tcg=0) args="$args --no-tcg" ;;
	bbml2lab.bench_cpu=*) args="$args --cpu ${arg#*=}" ;;
	bbml2lab.bench_timeout=*) limit=${arg#*=} ;;
	bbml2lab.bench_sizes=*) args="$args --sizes ${arg#*=}" ;;
	bbml2lab.bench_tlbmodel=1) args="$args --tlbmodel" ;;
	esac
done

# The perf hard-lockup detector would hold a PMU counter.
[ -w /proc/sys/kernel/nmi_watchdog ] && echo 0 > /proc/sys/kernel/nmi_watchdog
# Kernel-only counters need perf_event_paranoid <= 1 or root; we are root.
[ -w /proc/sys/kernel/perf_event_paranoid ] && echo 1 > /proc/sys/kernel/perf_event_paranoid

run=""
if timeout 1 true 2>/dev/null; then
	run="timeout $limit"
fi

n=0
for b in $benches; do n=$((n + 1)); done

echo "KTAP version 1"
echo "1..$n"
echo "# bench: $(uname -r) cpus=$(cat /sys/devices/system/cpu/online) args='$args'"

i=0
failed=0
out=/tmp/bench-output.txt
for b in $benches; do
	i=$((i + 1))
	if [ ! -x "$bin/$b" ]; then
		echo "ok $i $b # SKIP $bin/$b is not in this initramfs"
		continue
	fi
	start=$(cut -d' ' -f1 /proc/uptime)
	# shellcheck disable=SC2086  # $run and $args are word lists
	$run "$bin/$b" $args > "$out" 2>&1
	rc=$?
	end=$(cut -d' ' -f1 /proc/uptime)
	cat "$out"
	echo "# $b: rc=$rc, ${start}s -> ${end}s uptime"
	complete=0
	grep -q "^bbml2-bench: json end $b\$" "$out" && complete=1
	if [ "$rc" = 0 ] && [ "$complete" = 1 ] && grep -q '"status":"ok"' "$out"; then
		echo "ok $i $b"
	elif [ "$rc" = 4 ]; then
		why=$(sed -n 's/^bbml2-bench: skip //p' "$out" | head -n 1)
		echo "ok $i $b # SKIP ${why:-no reason given}"
	else
		why=$(sed -n 's/^bbml2-bench: fail //p' "$out" | head -n 1)
		[ "$rc" = 124 ] && why="timed out after ${limit}s"
		[ -z "$why" ] && [ "$complete" = 0 ] && why="no complete JSON output"
		echo "not ok $i $b # rc=$rc ${why}"
		failed=1
	fi
	rm -f "$out"
done
exit $failed
