/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Classes of kernel splat in kernel log records, for bbml2_dmesg and its
 * host test (host/test_splat_match.py): a record matches a class when it
 * contains one of the class's patterns; one record may be in several
 * classes ("BUG: KASAN: ..." is a bug and a KASAN report).
 */
#ifndef BBML2_SPLAT_MATCH_H
#define BBML2_SPLAT_MATCH_H

#include <stdbool.h>

enum splat_class {
	SPLAT_WARNING,		/* WARN*(): "WARNING: CPU: ... at ..." */
	SPLAT_BUG,		/* "BUG: ...", "kernel BUG at" */
	SPLAT_OOPS,		/* die(): "Internal error: ...", "Unable to handle kernel" */
	SPLAT_SLEEP_ATOMIC,	/* might_sleep() in atomic context */
	SPLAT_LOCKDEP,		/* lockdep reports */
	SPLAT_KASAN,
	SPLAT_KFENCE,
	SPLAT_LOCKUP,		/* soft/hard lockups, RCU stalls, hung tasks */
	SPLAT_UBSAN,
	SPLAT_PANIC,		/* "Kernel panic - not syncing" */
	SPLAT_NR,
};

const char *splat_class_name(enum splat_class c);
/* Whether @msg (one log record's text) is a splat line of class @c. */
bool splat_match(enum splat_class c, const char *msg);
/* The first class @msg is in, or SPLAT_NR. */
enum splat_class splat_first_class(const char *msg);

#endif /* BBML2_SPLAT_MATCH_H */
