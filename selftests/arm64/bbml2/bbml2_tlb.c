// SPDX-License-Identifier: GPL-2.0
/*
 * bbml2_tlb: a change of the linear map is seen by every CPU, not only by
 * the one that made it.
 *
 * seen_from_another_cpu: a CPU reads and writes a page of a fresh block
 * (its TLB now holds a writable entry for it), another CPU makes the page
 * read-only, then invalid; each time the first CPU must see the change at
 * once: a write that still succeeds there means the TLB invalidation did
 * not reach it (a local instead of a broadcast flush, or none). Under QEMU
 * each vCPU has a TLB of its own, so this shows there as on hardware.
 * The change splits a block first where the linear map has blocks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../kselftest_harness.h"
#include "bbml2_util.h"

#define MAX_CPUS	256

static char result[4096];

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* "probe" of one page on @cpu: "rw", "r-" or "--", or NULL on error. */
static const char *probe_on(int fd, int cpu, unsigned long addr)
{
	if (pin(cpu) || sess_cmd(fd, result, sizeof(result), "probe 0x%lx 1", addr))
		return NULL;
	result[2] = '\0';
	return result;
}

static int change_on(int fd, int cpu, const char *op, unsigned long addr)
{
	if (pin(cpu))
		return -errno;
	return sess_cmd(fd, NULL, 0, "change %s 0x%lx 1", op, addr);
}

TEST(seen_from_another_cpu)
{
	int cpus[MAX_CPUS], n = online_cpus(cpus, MAX_CPUS), fd;
	long page = sysconf(_SC_PAGESIZE);
	unsigned long addr;
	const char *p;
	char *s;

	if (n < 2)
		SKIP(return, "%d CPU(s) online: no other CPU to look from", n);
	fd = sess_open();
	ASSERT_LE(0, fd) TH_LOG("%s: %s", MODULE_CTL, strerror(errno));
	ASSERT_EQ(0, sess_cmd(fd, result, sizeof(result), "alloc 9 1"));
	s = strstr(result, "0x");
	ASSERT_NE(NULL, s);
	addr = strtoul(s, NULL, 16) + 3 * page;

	/* cpus[1] caches a writable entry; cpus[0] changes the page. */
	p = probe_on(fd, cpus[1], addr);
	ASSERT_NE(NULL, p);
	ASSERT_STREQ("rw", p);
	ASSERT_EQ(0, change_on(fd, cpus[0], "ro", addr));
	p = probe_on(fd, cpus[1], addr);
	ASSERT_NE(NULL, p);
	EXPECT_STREQ("r-", p)
		TH_LOG("CPU%d still writes a page CPU%d made read-only: its TLB was not invalidated",
		       cpus[1], cpus[0]);
	ASSERT_EQ(0, change_on(fd, cpus[0], "invalid", addr));
	p = probe_on(fd, cpus[1], addr);
	ASSERT_NE(NULL, p);
	EXPECT_STREQ("--", p)
		TH_LOG("CPU%d still reaches a page CPU%d made invalid", cpus[1], cpus[0]);

	/* And back, seen the same way. */
	ASSERT_EQ(0, change_on(fd, cpus[0], "valid", addr));
	ASSERT_EQ(0, change_on(fd, cpus[0], "rw", addr));
	p = probe_on(fd, cpus[1], addr);
	ASSERT_NE(NULL, p);
	EXPECT_STREQ("rw", p);
	close(fd);
}

int main(int argc, char **argv)
{
	bbml2_prereq(NEED_MODULE);
	return test_harness_run(argc, argv);
}
