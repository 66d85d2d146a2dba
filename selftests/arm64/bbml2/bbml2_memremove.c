// SPDX-License-Identifier: GPL-2.0
/*
 * bbml2_memremove: memory hot-remove and the linear map's blocks (issue
 * 12, finding 2). Needs hot-added memory: a kernel with MEMORY_HOTPLUG and
 * MEMORY_HOTREMOVE on a UEFI/ACPI guest with a cold-plugged pc-dimm, e.g.
 *   qemu-system-aarch64 -M virt,acpi=on -bios QEMU_EFI.fd \
 *     -m 2G,slots=2,maxmem=6G -object memory-backend-ram,id=m1,size=2G \
 *     -device pc-dimm,memdev=m1 ...
 * and skips without it. The DIMM is the first "System RAM" range of
 * /proc/iomem whose memory sections are not boot memory; its memory
 * blocks are onlined (movable) first.
 *
 * mapped_as_the_linear_map: where the linear map is page mapped
 * (linear_map=pte: off, none on QEMU, every repaint mode), the DIMM is
 * page mapped too: memory added after a repaint must not bring blocks
 * back, which a kernel asking the boot CPU instead of the system would
 * (issue 20, item 7). Skips where the linear map has blocks.
 * partial_refused: if the linear map maps the DIMM with blocks larger
 * than a memory block, offline_and_remove_memory() of the second memory
 * block of the DIMM is refused with -EBUSY, and every page of the DIMM is
 * still readable and its blocks online. (With the DIMM page mapped, the
 * removal must work and leave the rest readable.) A kernel without the
 * check removes it and unmaps the whole leaf: the rest of it, still
 * online, becomes unreadable.
 * whole_removed: removing what is left of the DIMM, in whole leaves,
 * works. Before that, one page of an offlined memory block of the DIMM
 * is made read-only and writable again, which splits the DIMM's blocks
 * around it: the removal frees those page tables, and must free them as
 * page tables (review 2026-12b, N1): no "Bad page state" (taint B, with
 * init_on_alloc=1 or DEBUG_VM) and PageTables of /proc/meminfo back
 * below its value before the split plus what the split added. A kernel
 * that frees them with a bare free_pages() fails both (6.12's page
 * freeing does not clear the page type).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../kselftest_harness.h"
#include "bbml2_util.h"

#define MEMORY_SYSFS	"/sys/devices/system/memory"

static char result[65536];

struct dimm {
	unsigned long start, end;	/* physical, end exclusive */
	unsigned long virt;
	unsigned long block;		/* memory block size */
};

static int hotmem(int fd, unsigned long phys, int *early, int *online,
		  unsigned long *virt)
{
	int ret = sess_cmd(fd, result, sizeof(result), "hotmem 0x%lx", phys);

	if (ret)
		return ret;
	if (sscanf(result, "early=%d online=%d virt=%lx", early, online, virt) != 3)
		return -EPROTO;
	return 0;
}

/* 0 and the DIMM, 1 if there is none, -errno on failure. */
static int find_dimm(int fd, struct dimm *d, char *err, size_t len)
{
	struct iomem_res ram[64];
	char buf[64];
	int n, i, early, online;

	n = read_file(MEMORY_SYSFS "/block_size_bytes", buf, sizeof(buf));
	if (n <= 0) {
		snprintf(err, len, "no %s: kernel without MEMORY_HOTPLUG", MEMORY_SYSFS);
		return 1;
	}
	d->block = strtoul(buf, NULL, 16);
	n = iomem_find("System RAM", false, ram, 64);
	if (n < 0) {
		snprintf(err, len, "cannot read /proc/iomem");
		return -EIO;
	}
	for (i = 0; i < n && i < 64; i++) {
		if (hotmem(fd, ram[i].start, &early, &online, &d->virt) || early)
			continue;
		d->start = ram[i].start;
		d->end = ram[i].end;
		return 0;
	}
	snprintf(err, len, "no hot-added memory in /proc/iomem (boot a UEFI/ACPI guest with a cold-plugged pc-dimm)");
	return 1;
}

/* Online every offline memory block of [start, end), movable. */
static int online_blocks(const struct dimm *d, unsigned long start,
			 unsigned long end, char *err, size_t len)
{
	char path[128], state[32];
	unsigned long a;
	int n;

	for (a = start; a < end; a += d->block) {
		snprintf(path, sizeof(path), MEMORY_SYSFS "/memory%lu/state",
			 a / d->block);
		n = read_file(path, state, sizeof(state));
		if (n <= 0) {
			snprintf(err, len, "cannot read %s", path);
			return -1;
		}
		if (!strncmp(state, "online", 6))
			continue;
		n = write_file(path, "online_movable");
		if (n) {
			snprintf(err, len, "online_movable > %s: %s", path, strerror(-n));
			return -1;
		}
	}
	return 0;
}

static int blocks_online(const struct dimm *d, unsigned long start,
			 unsigned long end)
{
	char path[128], state[32];
	unsigned long a;
	int n = 0;

	for (a = start; a < end; a += d->block) {
		snprintf(path, sizeof(path), MEMORY_SYSFS "/memory%lu/state",
			 a / d->block);
		if (read_file(path, state, sizeof(state)) > 0 &&
		    !strncmp(state, "online", 6))
			n++;
	}
	return n;
}

static unsigned long unreadable(int fd, unsigned long start, unsigned long end)
{
	unsigned long bad, first;

	if (sess_cmd(fd, result, sizeof(result), "pread 0x%lx 0x%lx", start,
		     end - start) ||
	    sscanf(result, "unreadable=%lu first=%lx", &bad, &first) != 2)
		return -1UL;
	return bad;
}

FIXTURE(memremove) {
	int fd;
	struct dimm d;
	unsigned long leaf;
	char err[512];
};

FIXTURE_SETUP(memremove)
{
	unsigned long long desc;
	int valid, ret;

	self->fd = -1;
	SKIP_WITHOUT_SERIES(return);
	self->fd = sess_open();
	ASSERT_LE(0, self->fd) TH_LOG("%s: %s", MODULE_CTL, strerror(errno));
	ret = sess_cmd(self->fd, NULL, 0, "remove 0x0 0x0");
	if (ret == -EOPNOTSUPP)
		SKIP(return, "kernel without CONFIG_MEMORY_HOTREMOVE");
	ret = find_dimm(self->fd, &self->d, self->err, sizeof(self->err));
	ASSERT_LE(0, ret) TH_LOG("%s", self->err);
	if (ret)
		SKIP(return, "%s", self->err);
	ASSERT_EQ(0, online_blocks(&self->d, self->d.start, self->d.end, self->err,
				   sizeof(self->err)))
		TH_LOG("%s", self->err);
	ASSERT_EQ(0, sess_cmd(self->fd, result, sizeof(result), "leaf 0x%lx",
			      self->d.virt));
	ASSERT_EQ(3, sscanf(result, "size=%lu desc=%llx valid=%d", &self->leaf,
			    &desc, &valid));
	TH_LOG("DIMM 0x%lx-0x%lx (%lu MiB, memory blocks of %lu MiB), its first leaf %lu KiB",
	       self->d.start, self->d.end - 1, (self->d.end - self->d.start) >> 20,
	       self->d.block >> 20, self->leaf >> 10);
}

FIXTURE_TEARDOWN(memremove)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(memremove, mapped_as_the_linear_map)
{
	long page = sysconf(_SC_PAGESIZE);
	struct lm_info info;

	ASSERT_EQ(0, lm_info_read(&info, self->err, sizeof(self->err)))
		TH_LOG("%s", self->err);
	if (strcmp(info.linear_map, "pte"))
		SKIP(return, "the linear map has blocks (linear_map=%s): so may the DIMM",
		     info.linear_map);
	EXPECT_EQ((unsigned long)page, self->leaf)
		TH_LOG("linear_map=pte (repainted=%d), but the hot-added DIMM's first leaf is %lu KiB",
		       info.repainted, self->leaf >> 10);
}

TEST_F(memremove, partial_refused)
{
	unsigned long b = self->d.start + self->d.block, bad;
	int ret, nblocks = (self->d.end - self->d.start) / self->d.block;

	ASSERT_LT(self->d.start + 2 * self->d.block, self->d.end + 1)
		TH_LOG("the DIMM has fewer than two memory blocks");
	ASSERT_EQ(0UL, unreadable(self->fd, self->d.start, self->d.end));

	ret = sess_cmd(self->fd, NULL, 0, "remove 0x%lx 0x%lx", b, self->d.block);
	bad = unreadable(self->fd, self->d.start, self->d.end);
	TH_LOG("remove 0x%lx-0x%lx: %d (%s); unreadable pages of the DIMM after: %lu",
	       b, b + self->d.block - 1, ret, ret ? strerror(-ret) : "removed", bad);
	if (self->leaf > self->d.block) {
		EXPECT_EQ(-EBUSY, ret)
			TH_LOG("removal of one memory block inside a %lu KiB leaf", self->leaf >> 10);
		EXPECT_EQ(0UL, bad) TH_LOG("memory of the DIMM is no longer mapped");
		EXPECT_EQ(nblocks, blocks_online(&self->d, self->d.start, self->d.end))
			TH_LOG("not every memory block of the DIMM is online again");
	} else {
		/* Page (or block-size) mapped: nothing to split. */
		EXPECT_EQ(0, ret);
		EXPECT_EQ(0UL, unreadable(self->fd, self->d.start, b));
		EXPECT_EQ(0UL, unreadable(self->fd, b + self->d.block, self->d.end));
	}
}

/*
 * PageTables of /proc/meminfo in kB, -1 if not found. The counter is
 * folded from per-CPU deltas only once they pass a threshold or every
 * second: vm.stat_refresh folds them now, so a change of two pages shows.
 */
static long pagetables_kb(void)
{
	char buf[8192], *p;
	int n;

	write_file("/proc/sys/vm/stat_refresh", "1");
	n = read_file("/proc/meminfo", buf, sizeof(buf) - 1);

	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strstr(buf, "\nPageTables:");
	return p ? strtol(p + strlen("\nPageTables:"), NULL, 10) : -1;
}

#define TAINT_BAD_PAGE	(1UL << 5)

static unsigned long tainted(void)
{
	char buf[32];

	return read_file("/proc/sys/kernel/tainted", buf, sizeof(buf)) > 0 ?
		strtoul(buf, NULL, 10) : 0;
}

TEST_F(memremove, whole_removed)
{
	struct dimm d = self->d;
	unsigned long last = d.end - d.block, page = last + 4096;
	unsigned long taint0 = tainted();
	long pt0, pt1, pt2;
	char path[128];
	int ret, pieces = 0;

	/* Split the DIMM's blocks around one page of an offline block. */
	snprintf(path, sizeof(path), MEMORY_SYSFS "/memory%lu/state", last / d.block);
	ASSERT_EQ(0, write_file(path, "offline")) TH_LOG("offline > %s", path);
	pt0 = pagetables_kb();
	ASSERT_LE(0, pt0) TH_LOG("no PageTables in /proc/meminfo");
	ASSERT_EQ(0, sess_cmd(self->fd, NULL, 0, "hotchange ro 0x%lx", page));
	ASSERT_EQ(0, sess_cmd(self->fd, NULL, 0, "hotchange rw 0x%lx", page));
	pt1 = pagetables_kb();
	TH_LOG("page 0x%lx of offline block 0x%lx made ro and rw: PageTables %ld -> %ld kB",
	       page, last, pt0, pt1);

	/*
	 * Each hot-added range as /proc/iomem has it: the whole DIMM, or,
	 * after partial_refused removed a block of a page-mapped DIMM, the
	 * two pieces around it.
	 */
	do {
		ret = sess_cmd(self->fd, NULL, 0, "remove 0x%lx 0x%lx", d.start,
			       d.end - d.start);
		TH_LOG("remove 0x%lx-0x%lx: %d", d.start, d.end - 1, ret);
		ASSERT_EQ(0, ret) TH_LOG("removal of hot-added memory: %s", strerror(-ret));
		ASSERT_GT(4, ++pieces);
		ret = find_dimm(self->fd, &d, self->err, sizeof(self->err));
		ASSERT_LE(0, ret) TH_LOG("%s", self->err);
	} while (!ret);
	EXPECT_EQ(0, blocks_online(&self->d, self->d.start, self->d.end));
	pt2 = pagetables_kb();
	TH_LOG("PageTables after the removal: %ld kB", pt2);
	EXPECT_EQ(0UL, (tainted() & ~taint0) & TAINT_BAD_PAGE)
		TH_LOG("\"Bad page state\" while freeing the DIMM's page tables");
	if (pt1 > pt0)
		EXPECT_GT(pt0 + (pt1 - pt0), pt2)
			TH_LOG("the %ld kB of split tables were not given back as page tables",
			       pt1 - pt0);
}

int main(int argc, char **argv)
{
	bbml2_prereq(NEED_MODULE | NO_SERIES_OK);
	return test_harness_run(argc, argv);
}
