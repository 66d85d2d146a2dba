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

static int change_on(int fd, int cpu, const char *op, unsigned long addr,
		     int npages)
{
	if (pin(cpu))
		return -errno;
	return sess_cmd(fd, NULL, 0, "change %s 0x%lx %d", op, addr, npages);
}

/* A module session in *fd holding a fresh order-9 block: its address. */
static unsigned long held_order9(struct __test_metadata *_metadata, int *fd)
{
	char *s;

	*fd = sess_open();
	ASSERT_LE(0, *fd) TH_LOG("%s: %s", MODULE_CTL, strerror(errno));
	ASSERT_EQ(0, sess_cmd(*fd, result, sizeof(result), "alloc 9 1"));
	s = strstr(result, "0x");
	ASSERT_NE(NULL, s);
	return strtoul(s, NULL, 16);
}

TEST(seen_from_another_cpu)
{
	int cpus[MAX_CPUS], n = online_cpus(cpus, MAX_CPUS), fd;
	long page = sysconf(_SC_PAGESIZE);
	unsigned long addr;
	const char *p;

	if (n < 2)
		SKIP(return, "%d CPU(s) online: no other CPU to look from", n);
	addr = held_order9(_metadata, &fd) + 3 * page;

	/* cpus[1] caches a writable entry; cpus[0] changes the page. */
	p = probe_on(fd, cpus[1], addr);
	ASSERT_NE(NULL, p);
	ASSERT_STREQ("rw", p);
	ASSERT_EQ(0, change_on(fd, cpus[0], "ro", addr, 1));
	p = probe_on(fd, cpus[1], addr);
	ASSERT_NE(NULL, p);
	EXPECT_STREQ("r-", p)
		TH_LOG("CPU%d still writes a page CPU%d made read-only: its TLB was not invalidated",
		       cpus[1], cpus[0]);
	ASSERT_EQ(0, change_on(fd, cpus[0], "invalid", addr, 1));
	p = probe_on(fd, cpus[1], addr);
	ASSERT_NE(NULL, p);
	EXPECT_STREQ("--", p)
		TH_LOG("CPU%d still reaches a page CPU%d made invalid", cpus[1], cpus[0]);

	/* And back, seen the same way. */
	ASSERT_EQ(0, change_on(fd, cpus[0], "valid", addr, 1));
	ASSERT_EQ(0, change_on(fd, cpus[0], "rw", addr, 1));
	p = probe_on(fd, cpus[1], addr);
	ASSERT_NE(NULL, p);
	EXPECT_STREQ("rw", p);
	close(fd);
}

/*
 * range_seen_from_another_cpu: the same for one change of RANGE_PAGES
 * pages (issue 20, item 7: seen_from_another_cpu changes a single page,
 * so a flush of only part of a range passes it). One CPU caches a
 * writable entry for every page of the range, another makes them all
 * read-only, then invalid, then valid and writable again, each in one
 * change; after each, the first CPU must see every page, the last one
 * above all, as changed. A flush of only the first page (or of a length
 * in pages taken for bytes) leaves it writing through its old entries.
 *
 * Which boots can show it: under QEMU TCG a vCPU's TLB keeps one
 * large-page region (the span of the block mappings it has cached), and
 * an invalidation of a single page inside that region flushes the whole
 * TLB of that vCPU. Where the linear map has blocks (assume, a uniform
 * BBML2 system) the region covers the range and a partial flush is
 * hidden; a page-mapped linear map (off, a CPU without BBML2, the repaint
 * modes after the repaint) shows it. On hardware every boot can.
 */
#define RANGE_PAGES	16
#define RANGE_ROUNDS	4

/* "probe" of @n pages on @cpu into @out ("rw r- ..."), or -1. */
static int probe_range_on(int fd, int cpu, unsigned long addr, int n,
			  char *out, size_t len)
{
	if (pin(cpu) || sess_cmd(fd, out, len, "probe 0x%lx %d", addr, n))
		return -1;
	return 0;
}

/* Index of the first page whose access is not @want, or -1. */
static int first_other(const char *res, int n, const char *want)
{
	int i;

	for (i = 0; i < n; i++)
		if (strncmp(res + 3 * i, want, 2))
			return i;
	return -1;
}

static void range_step(struct __test_metadata *_metadata, int fd,
		       const int *cpus, const char *op, unsigned long addr,
		       const char *want)
{
	char res[3 * RANGE_PAGES + 8];
	long page = sysconf(_SC_PAGESIZE);
	int i;

	/* cpus[1] caches an entry for every page as it is now. */
	ASSERT_EQ(0, probe_range_on(fd, cpus[1], addr, RANGE_PAGES, res, sizeof(res)));
	ASSERT_EQ(0, change_on(fd, cpus[0], op, addr, RANGE_PAGES))
		TH_LOG("%s of %d pages on CPU%d", op, RANGE_PAGES, cpus[0]);
	ASSERT_EQ(0, probe_range_on(fd, cpus[1], addr, RANGE_PAGES, res, sizeof(res)));
	EXPECT_EQ(0, strncmp(res + 3 * (RANGE_PAGES - 1), want, 2))
		TH_LOG("after %s of %d pages on CPU%d, CPU%d reaches the last page (0x%lx) as %.2s, not %s: its TLB entry was not invalidated",
		       op, RANGE_PAGES, cpus[0], cpus[1],
		       addr + (RANGE_PAGES - 1) * page, res + 3 * (RANGE_PAGES - 1), want);
	i = first_other(res, RANGE_PAGES, want);
	EXPECT_EQ(-1, i)
		TH_LOG("after %s on CPU%d, CPU%d reaches page %d of %d (0x%lx) as %.2s, not %s (all: %s)",
		       op, cpus[0], cpus[1], i, RANGE_PAGES, addr + i * page,
		       res + 3 * (i < 0 ? 0 : i), want, res);
}

TEST(range_seen_from_another_cpu)
{
	int cpus[MAX_CPUS], n = online_cpus(cpus, MAX_CPUS), fd;
	long page = sysconf(_SC_PAGESIZE);
	unsigned long addr;
	int round;

	if (n < 2)
		SKIP(return, "%d CPU(s) online: no other CPU to look from", n);
	/* Not the start of the block: a range whose ends lie inside it. */
	addr = held_order9(_metadata, &fd) + 5 * page;

	/*
	 * Several rounds: under QEMU a page invalidation that reaches the
	 * other vCPU while its large-page region still covers the range
	 * flushes its whole TLB (and resets the region), which hides one
	 * round but not the next.
	 */
	for (round = 0; round < RANGE_ROUNDS && !_metadata->exit_code; round++) {
		range_step(_metadata, fd, cpus, "ro", addr, "r-");
		range_step(_metadata, fd, cpus, "invalid", addr, "--");
		range_step(_metadata, fd, cpus, "valid", addr, "r-");
		range_step(_metadata, fd, cpus, "rw", addr, "rw");
	}
	close(fd);
}

int main(int argc, char **argv)
{
	bbml2_prereq(NEED_MODULE);
	return test_harness_run(argc, argv);
}
