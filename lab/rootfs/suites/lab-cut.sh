#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runner self-test: a KTAP stream cut in the middle by a kernel crash, as
# when a test takes the kernel down. Two of three results never arrive;
# the runner must report them as failures, and the crash as a splat.
echo "KTAP version 1"
echo "1..3"
echo "ok 1 before_the_cut"
echo c > /proc/sysrq-trigger
echo "ok 2 never_printed"
echo "ok 3 never_printed_either"
