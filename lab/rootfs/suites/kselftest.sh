#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kselftest suite: the arm64/bbml2 kselftests, run from the board bundle
# unpacked at /lab/kselftest (selftests/build.sh install), exactly as a
# board runs it: through the bundle's own run-bbml2.sh, which copes with
# busybox's timeout. Prints the runner's KTAP; rc 0 when no test failed.
#
# Optional kernel command line knobs (read here, ignored by the kernel):
#   bbml2lab.expect=<arm64.bbml2 value|none>  BBML2_EXPECT_MODE: expect this
#                                             mode instead (shows the tests
#                                             fail on a wrong expectation)
#   bbml2lab.ksft=<test>[,<test>...]          only these, e.g. bbml2_split
#   bbml2lab.ksft_iters=<n>                   BBML2_STRESS_ITERS
#   bbml2lab.ksft_rounds=<n>                  BBML2_HOTPLUG_ROUNDS
kst=/lab/kselftest

if [ ! -x "$kst/run-bbml2.sh" ]; then
	echo "TAP version 13"
	echo "1..0 # SKIP no kselftest bundle at $kst"
	exit 4
fi

set --
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	bbml2lab.expect=*)
		export BBML2_EXPECT_MODE="${arg#*=}" ;;
	bbml2lab.ksft=*)
		for t in $(echo "${arg#*=}" | tr ',' ' '); do
			case "$t" in
			*:*) set -- "$@" -t "$t" ;;
			*) set -- "$@" -t "arm64/bbml2:$t" ;;
			esac
		done ;;
	bbml2lab.ksft_iters=*)
		export BBML2_STRESS_ITERS="${arg#*=}" ;;
	bbml2lab.ksft_rounds=*)
		export BBML2_HOTPLUG_ROUNDS="${arg#*=}" ;;
	esac
done

exec "$kst/run-bbml2.sh" "$@"
