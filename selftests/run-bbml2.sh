#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run the arm64/bbml2 kselftests of this bundle, as root, on a board or in
# an initramfs:
#
#   ./run-bbml2.sh [-t arm64/bbml2:TEST]... [-o SECONDS] [-l]
#
# It runs ./run_kselftest.sh. When /usr/bin/timeout is busybox's, which
# has no --foreground (kselftest/runner.sh calls "/usr/bin/timeout
# --foreground"), it runs the same runner.sh functions itself with a
# timeout that busybox understands. Output is also written to $BBML2_LOG
# (default /tmp/bbml2-kselftest.log). Exit status: 0 if no test failed.
#
# Environment: BBML2_EXPECT_MODE=<arm64.bbml2 value|none> (expected mode
# instead of the command line), BBML2_STRESS_ITERS, BBML2_HOTPLUG_ROUNDS.

BASE_DIR=$(cd "$(dirname "$0")" && pwd)
cd "$BASE_DIR" || exit 1
log=${BBML2_LOG:-/tmp/bbml2-kselftest.log}

[ -d /sys/kernel/debug/arm64 ] ||
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
# runner.sh logs to /dev/stdout, which a bare devtmpfs (initramfs, no
# udev/mdev) does not have: ">> /dev/stdout" would create a file there.
for fd in stdin:0 stdout:1 stderr:2; do
	[ -e "/dev/${fd%:*}" ] || ln -s "/proc/self/fd/${fd#*:}" "/dev/${fd%:*}" 2>/dev/null
done
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd 2>/dev/null

# run_kselftest.sh, for a busybox userland.
run_busybox()
{
	. ./kselftest/runner.sh
	tap_timeout()
	{
		/usr/bin/timeout "$kselftest_timeout" $1
		rc=$?
		# The test was killed by busybox timeout's SIGTERM.
		[ $rc -eq 143 ] && rc=$timeout_rc
		return $rc
	}
	available=$(cat kselftest-list.txt)
	tests=
	while [ $# -gt 0 ]; do
		case "$1" in
		-t) tests="$tests $2"; shift 2 ;;
		-o) kselftest_override_timeout=$2; shift 2 ;;
		-l) echo "$available"; return 0 ;;
		*) echo "run-bbml2.sh: $1: not supported with busybox" >&2; return 1 ;;
		esac
	done
	if [ -n "$tests" ]; then
		for t in $tests; do
			echo "$available" | grep -qx "$t" ||
				{ echo "No such test '$t'" >&2; return 1; }
		done
		available=$(echo $tests | tr ' ' '\n')
	fi
	# Up to 6.x run_many printed the KTAP header and plan itself; from
	# 7.x (mainline, issue 19) run_kselftest.sh does, so print them here.
	if ! grep -q '^[[:space:]]*echo "TAP version 13"' ./kselftest/runner.sh; then
		echo "TAP version 13"
		echo "1..$(echo "$available" | wc -w)"
	fi
	for collection in $(echo "$available" | cut -d: -f1 | sort -u); do
		[ -w /dev/kmsg ] &&
			echo "kselftest: Running tests in $collection" >> /dev/kmsg
		(cd "$collection" &&
		 run_many $(echo "$available" | grep "^$collection:" | cut -d: -f2))
	done
}

run()
{
	if [ ! -x /usr/bin/timeout ] ||
	   /usr/bin/timeout --foreground 5 true 2>/dev/null; then
		./run_kselftest.sh "$@"
	else
		run_busybox "$@"
	fi
}

run "$@" 2>&1 | tee "$log"
! grep -q '^not ok' "$log"
