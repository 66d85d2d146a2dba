// SPDX-License-Identifier: GPL-2.0
/*
 * Splat classes of kernel log records (bbml2_dmesg). The patterns are the
 * first lines the kernel prints for each report (kernel/panic.c __warn(),
 * lib/bug.c, arch/arm64/kernel/traps.c die(), arch/arm64/mm/fault.c,
 * kernel/sched/core.c __might_resched(), kernel/locking/lockdep.c,
 * mm/kasan/report.c, mm/kfence/report.c, kernel/watchdog.c,
 * kernel/rcu/tree_stall.h, kernel/hung_task.c, lib/ubsan.c): matched case
 * sensitively, so the boot banners "kasan: KernelAddressSanitizer
 * initialized" and "kfence: initialized" are not reports.
 */
#include <stddef.h>
#include <string.h>

#include "splat_match.h"

static const char * const names[SPLAT_NR] = {
	[SPLAT_WARNING] = "warning",
	[SPLAT_BUG] = "bug",
	[SPLAT_OOPS] = "oops",
	[SPLAT_SLEEP_ATOMIC] = "sleep_in_atomic",
	[SPLAT_LOCKDEP] = "lockdep",
	[SPLAT_KASAN] = "kasan",
	[SPLAT_KFENCE] = "kfence",
	[SPLAT_LOCKUP] = "lockup",
	[SPLAT_UBSAN] = "ubsan",
	[SPLAT_PANIC] = "panic",
};

/* NULL-terminated pattern lists, one per class. */
/*
 * "^": only at the start of the record. WARN() and lockdep print their
 * "WARNING:" first; a pr_warn() that says "WARNING:" after its prefix
 * ("Speculative Return Stack Overflow: WARNING: See ...", x86 hosts) is
 * advice, not a splat.
 */
static const char * const warning[] = { "^WARNING:", NULL };
static const char * const bug[] = { "BUG:", "kernel BUG at", NULL };
static const char * const oops[] = {
	"Internal error: ", "Unable to handle kernel", "SError Interrupt", NULL,
};
static const char * const sleep_atomic[] = {
	"sleeping function called from invalid context",
	"scheduling while atomic", "Invalid wait context", NULL,
};
static const char * const lockdep[] = {
	"possible circular locking dependency", "inconsistent lock state",
	"possible recursive locking detected", "suspicious RCU usage",
	"possible irq lock inversion dependency",
	"lock held when returning to user space", "bad unlock balance detected",
	NULL,
};
static const char * const kasan[] = { "BUG: KASAN:", "^KASAN: ", NULL };
static const char * const kfence[] = { "BUG: KFENCE:", NULL };
static const char * const lockup[] = {
	"soft lockup - CPU#", "Watchdog detected hard LOCKUP",
	"rcu: INFO: rcu_", "self-detected stall on CPU",
	"blocked for more than", NULL,
};
static const char * const ubsan[] = { "UBSAN:", NULL };
static const char * const panic_[] = { "Kernel panic - not syncing", NULL };

static const char * const * const patterns[SPLAT_NR] = {
	[SPLAT_WARNING] = warning,
	[SPLAT_BUG] = bug,
	[SPLAT_OOPS] = oops,
	[SPLAT_SLEEP_ATOMIC] = sleep_atomic,
	[SPLAT_LOCKDEP] = lockdep,
	[SPLAT_KASAN] = kasan,
	[SPLAT_KFENCE] = kfence,
	[SPLAT_LOCKUP] = lockup,
	[SPLAT_UBSAN] = ubsan,
	[SPLAT_PANIC] = panic_,
};

const char *splat_class_name(enum splat_class c)
{
	return c < SPLAT_NR ? names[c] : "?";
}

bool splat_match(enum splat_class c, const char *msg)
{
	const char * const *p;

	if (c >= SPLAT_NR)
		return false;
	for (p = patterns[c]; *p; p++) {
		if (**p == '^' ? !strncmp(msg, *p + 1, strlen(*p + 1)) :
		    !!strstr(msg, *p))
			return true;
	}
	return false;
}

enum splat_class splat_first_class(const char *msg)
{
	int c;

	for (c = 0; c < SPLAT_NR; c++)
		if (splat_match(c, msg))
			return c;
	return SPLAT_NR;
}
