// SPDX-License-Identifier: GPL-2.0
/*
 * bbml2_dmesg: no kernel splat in the kernel log since boot.
 *
 * Reads /dev/kmsg without blocking from its first record, so that a board
 * running the bundle catches what the lab's console scan would: one test
 * per class of splat (splat_match.c: WARNING, BUG, Oops, sleeping in
 * atomic context, lockdep, KASAN, KFENCE, lockups and stalls, UBSAN,
 * panic), each listing every record of its class with its first line.
 * Only kernel records count (facility 0: userspace writing "WARNING:" to
 * /dev/kmsg is not a splat). log_from_boot SKIPs when the ring buffer has
 * already dropped the first records, so "since boot" is not claimed when
 * it is not true. Run it last: it sees what the other tests caused.
 *
 * BBML2_DMESG_CONTROL=1 (or bbml2lab.dmesg_control=1 on the kernel command
 * line, for a lab boot): negative control. The program first writes one
 * sample first line per class into /dev/kmsg (userspace records, tagged
 * "bbml2_dmesg control:") and counts those tagged records too: every
 * class test must then FAIL, listing its sample.
 * BBML2_DMESG_IGNORE="text|text...": records containing one of the texts
 * are expected (a test that WARNs on purpose) and only logged.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../kselftest_harness.h"
#include "bbml2_util.h"
#include "splat_match.h"

#define CONTROL_ENV	"BBML2_DMESG_CONTROL"
#define CONTROL_ARG	"bbml2lab.dmesg_control"
#define IGNORE_ENV	"BBML2_DMESG_IGNORE"
#define CONTROL_TAG	"bbml2_dmesg control: "
#define MAX_LISTED	20

struct rec {
	unsigned long long seq, usec;
	int facility;
	char *msg;		/* the record's text, first line only */
};

static struct rec *recs;
static size_t nrecs;
static unsigned long long first_seq;
static bool lost, control;

/* A sample first line per class, for the negative control. */
static const char * const samples[SPLAT_NR] = {
	[SPLAT_WARNING] = "WARNING: CPU: 1 PID: 42 at arch/arm64/mm/pageattr.c:120 split_kernel_leaf_mapping+0x1c/0x80",
	[SPLAT_BUG] = "kernel BUG at mm/slub.c:441!",
	[SPLAT_OOPS] = "Internal error: Oops: 0000000096000045 [#1] PREEMPT SMP",
	[SPLAT_SLEEP_ATOMIC] = "BUG: sleeping function called from invalid context at kernel/locking/mutex.c:580",
	[SPLAT_LOCKDEP] = "WARNING: possible circular locking dependency detected",
	[SPLAT_KASAN] = "BUG: KASAN: slab-out-of-bounds in bbml2_test_write+0x24/0x40",
	[SPLAT_KFENCE] = "BUG: KFENCE: out-of-bounds read in __kmalloc+0x20/0x60",
	[SPLAT_LOCKUP] = "watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [swapper/1:0]",
	[SPLAT_UBSAN] = "UBSAN: shift-out-of-bounds in arch/arm64/mm/mmu.c:300:10",
	[SPLAT_PANIC] = "Kernel panic - not syncing: Oops: Fatal exception",
};

static int write_controls(void)
{
	char line[512];
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC), c;

	if (fd < 0)
		return -errno;
	for (c = 0; c < SPLAT_NR; c++) {
		int n = snprintf(line, sizeof(line), "<4>" CONTROL_TAG "%s\n",
				 samples[c]);

		if (write(fd, line, n) != n) {
			close(fd);
			return -errno;
		}
	}
	close(fd);
	return 0;
}

/* Every record still in the buffer, from the first; -errno on failure. */
static int read_log(void)
{
	static char buf[8192];
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	size_t cap = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		unsigned long long seq, usec;
		unsigned int prio;
		char *semi, *nl;

		if (n < 0) {
			if (errno == EPIPE) {	/* overwritten while reading */
				lost = true;
				continue;
			}
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			close(fd);
			return -errno;
		}
		buf[n] = '\0';
		if (sscanf(buf, "%u,%llu,%llu,", &prio, &seq, &usec) != 3)
			continue;
		semi = strchr(buf, ';');
		if (!semi)
			continue;
		nl = strchr(semi + 1, '\n');
		if (nl)
			*nl = '\0';
		if (!nrecs)
			first_seq = seq;
		if (nrecs == cap) {
			struct rec *r;

			cap = cap ? cap * 2 : 4096;
			r = realloc(recs, cap * sizeof(*r));
			if (!r) {
				close(fd);
				return -ENOMEM;
			}
			recs = r;
		}
		recs[nrecs].seq = seq;
		recs[nrecs].usec = usec;
		recs[nrecs].facility = prio >> 3;
		recs[nrecs].msg = strdup(semi + 1);
		if (!recs[nrecs].msg) {
			close(fd);
			return -ENOMEM;
		}
		nrecs++;
	}
	close(fd);
	return 0;
}

static bool ignored(const char *msg)
{
	const char *env = getenv(IGNORE_ENV), *p, *bar;
	char part[256];

	for (p = env; p && *p; p = bar ? bar + 1 : NULL) {
		size_t len;

		bar = strchr(p, '|');
		len = bar ? (size_t)(bar - p) : strlen(p);
		if (!len || len >= sizeof(part))
			continue;
		memcpy(part, p, len);
		part[len] = '\0';
		if (strstr(msg, part))
			return true;
	}
	return false;
}

/* The text to match: kernel records, and the control's own records. */
static const char *splat_text(const struct rec *r)
{
	if (!r->facility)
		return r->msg;
	if (control && !strncmp(r->msg, CONTROL_TAG, strlen(CONTROL_TAG)))
		return r->msg + strlen(CONTROL_TAG);
	return NULL;
}

static void check_class(struct __test_metadata *_metadata, enum splat_class c)
{
	size_t i;
	int n = 0, skipped = 0;

	for (i = 0; i < nrecs; i++) {
		const struct rec *r = &recs[i];
		const char *text = splat_text(r);

		if (!text || !splat_match(c, text))
			continue;
		if (ignored(text)) {
			skipped++;
			TH_LOG("ignored (%s): [%5llu.%06llu] %s", IGNORE_ENV,
			       r->usec / 1000000, r->usec % 1000000, r->msg);
			continue;
		}
		if (n++ < MAX_LISTED)
			TH_LOG("%s splat: [%5llu.%06llu] seq %llu: %s",
			       splat_class_name(c), r->usec / 1000000,
			       r->usec % 1000000, r->seq, r->msg);
	}
	if (n > MAX_LISTED)
		TH_LOG("... and %d more", n - MAX_LISTED);
	TH_LOG("%zu records scanned from seq %llu, %d %s record(s), %d ignored",
	       nrecs, first_seq, n, splat_class_name(c), skipped);
	EXPECT_EQ(0, n) TH_LOG("kernel log has %s splats", splat_class_name(c));
}

/* The scan covers the log since boot only if nothing was overwritten. */
TEST(log_from_boot)
{
	ASSERT_LT(0UL, nrecs) TH_LOG("no record in /dev/kmsg");
	if (first_seq || lost)
		SKIP(return,
		     "the log buffer dropped records before seq %llu%s: the class tests scan only what is left (larger log_buf_len= for the whole boot)",
		     first_seq, lost ? " and during the read" : "");
}

#define CLASS_TEST(name, cls)				\
	TEST(name)					\
	{						\
		check_class(_metadata, cls);		\
	}

CLASS_TEST(no_warning, SPLAT_WARNING)
CLASS_TEST(no_bug, SPLAT_BUG)
CLASS_TEST(no_oops, SPLAT_OOPS)
CLASS_TEST(no_sleep_in_atomic, SPLAT_SLEEP_ATOMIC)
CLASS_TEST(no_lockdep, SPLAT_LOCKDEP)
CLASS_TEST(no_kasan, SPLAT_KASAN)
CLASS_TEST(no_kfence, SPLAT_KFENCE)
CLASS_TEST(no_lockup, SPLAT_LOCKUP)
CLASS_TEST(no_ubsan, SPLAT_UBSAN)
CLASS_TEST(no_panic, SPLAT_PANIC)

int main(int argc, char **argv)
{
	const char *env = getenv(CONTROL_ENV), *arg;
	char buf[16];
	int ret;

	arg = cmdline_param(CONTROL_ARG, buf, sizeof(buf));
	control = (env && strcmp(env, "0")) || (arg && strcmp(arg, "0"));
	if (geteuid()) {
		ksft_print_header();
		ksft_exit_skip("needs root (/dev/kmsg with dmesg_restrict)\n");
	}
	if (control) {
		ret = write_controls();
		if (ret) {
			ksft_print_header();
			ksft_exit_fail_msg("%s: write /dev/kmsg: %s\n",
					   CONTROL_ENV, strerror(-ret));
		}
	}
	ret = read_log();
	if (ret == -ENOENT || ret == -EPERM || ret == -EACCES) {
		ksft_print_header();
		ksft_exit_skip("cannot read /dev/kmsg: %s\n", strerror(-ret));
	}
	if (ret) {
		ksft_print_header();
		ksft_exit_fail_msg("read /dev/kmsg: %s\n", strerror(-ret));
	}
	return test_harness_run(argc, argv);
}
