// SPDX-License-Identifier: GPL-2.0
/*
 * bbml2_pgtables: the page tables that splits of the linear map allocate
 * are accounted like every other page table, in "PageTables:" of
 * /proc/meminfo, one page per table that the series' debugfs file reports
 * (split_tables_{pmd,pte}, repaint_tables_{pmd,pte}).
 *
 * split_counted: with a block-mapped linear map, make one page in the
 * middle of each of several fresh chunks (test module) read-only where
 * ptdump shows that page still mapped by a block, one at a time; across
 * the splits that allocated tables, PageTables must grow by exactly the
 * split_tables_* delta in at least half of the windows (other tasks' page
 * tables are freed after an RCU grace period and may land in one), and at
 * least one split must have allocated a table. The chunks are PMD_SIZE,
 * at most 32 MiB and the allocator's largest order.
 * repaint_counted: after a repaint, PageTables holds at least the tables
 * the repaint and the splits since boot report. On a kernel without the
 * series' report (mainline 6.18+, whose repaint allocates its tables
 * with the page-table constructor too), at least the tables ptdump shows
 * beyond the boot layout's, where the MIDRs and the kernel tree's
 * allow-list say the kernel repainted.
 * split_counted needs the test module and the report's counters, and
 * repaint_preallocated the report: they skip without them, naming them.
 *
 * The vmstat counters are folded (vm.stat_refresh) before each reading,
 * and everything a reading touches is touched once before the first one,
 * so that this process allocates no page table of its own in between.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../kselftest_harness.h"
#include "bbml2_util.h"

#define MEMINFO		"/proc/meminfo"
#define STAT_REFRESH	"/proc/sys/vm/stat_refresh"
#define NBLOCKS		16

static char meminfo[16384];
static char result[16384];

/* PageTables of /proc/meminfo in bytes, after folding the counters. */
static int page_tables(unsigned long *bytes, char *err, size_t len)
{
	const char *p;
	int n;

	n = write_file(STAT_REFRESH, "1");
	if (n) {
		snprintf(err, len, "cannot write %s: %s", STAT_REFRESH,
			 strerror(-n));
		return -1;
	}
	n = read_file(MEMINFO, meminfo, sizeof(meminfo));
	if (n <= 0) {
		snprintf(err, len, "cannot read %s", MEMINFO);
		return -1;
	}
	p = strstr(meminfo, "\nPageTables:");
	if (!p || sscanf(p, "\nPageTables: %lu kB", bytes) != 1) {
		snprintf(err, len, "no PageTables line in %s", MEMINFO);
		return -1;
	}
	*bytes <<= 10;
	return 0;
}

static unsigned long tables(const struct lm_counts *c)
{
	return c->tables_pmd + c->tables_pte;
}

TEST(split_counted)
{
	unsigned long addr[NBLOCKS], before, after, pt0, pt1, want, fails0;
	struct lm_info i0, i1;
	struct pt_map m;
	long page = sysconf(_SC_PAGESIZE);
	int order = pmd_block_order(page), fd, n = 0, got = 0, k, measured = 0, exact = 0;
	bool dump;
	char err[512], *p;

	SKIP_WITHOUT_SERIES(return);
	ASSERT_EQ(0, lm_info_read(&i0, err, sizeof(err))) TH_LOG("%s", err);
	if (!i0.requires_bbml2)
		SKIP(return, "the linear map is page mapped (linear_map=%s): nothing to split",
		     i0.linear_map);

	fd = sess_open();
	ASSERT_LE(0, fd) TH_LOG("%s: %s", MODULE_CTL, strerror(errno));
	ASSERT_EQ(0, sess_cmd(fd, result, sizeof(result), "alloc %d %d",
			      order, NBLOCKS));
	/*
	 * Keep the chunks whose middle page is still mapped by a block (PMD
	 * or larger): a change there must allocate a table. A chunk that
	 * earlier tests left page mapped measures nothing.
	 */
	dump = !access(PTDUMP_PATH, R_OK);
	if (dump) {
		ASSERT_EQ(0, ptdump_read(&m, err, sizeof(err))) TH_LOG("%s", err);
	} else {
		TH_LOG("no %s (PTDUMP_DEBUGFS=n): every chunk is taken as block mapped",
		       PTDUMP_PATH);
	}
	for (p = result; n < NBLOCKS && (p = strstr(p, "0x")); p++) {
		unsigned long a = strtoul(p, &p, 16);
		const struct pt_line *l;

		got++;
		if (!dump) {
			addr[n++] = a;
			continue;
		}
		l = pt_map_line(&m, a + ((1UL << order) / 2) * page);
		if (l && !l->hole && l->level < PT_PTE)
			addr[n++] = a;
	}
	if (dump)
		pt_map_free(&m);
	ASSERT_LT(0, got) TH_LOG("no chunk of order %d allocated", order);
	if (!n)
		SKIP(goto out, "none of the %d chunks of order %d is still block mapped",
		     got, order);

	/* Touch everything the readings use once. */
	ASSERT_EQ(0, page_tables(&pt0, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(0, lm_info_read(&i1, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(0, lm_info_read(&i0, err, sizeof(err))) TH_LOG("%s", err);
	fails0 = i0.split_failures;

	/*
	 * One split at a time, each measured on its own: page tables that
	 * other tasks free (user page tables go after an RCU grace period,
	 * so a program that ended before this one can still free some now)
	 * may land in any window, but not in every one. A split whose tables
	 * PageTables does not count differs in every window.
	 */
	for (k = 0; k < n; k++) {
		unsigned long mid = addr[k] + ((1UL << order) / 2) * page;

		ASSERT_EQ(0, lm_info_read(&i0, err, sizeof(err))) TH_LOG("%s", err);
		ASSERT_EQ(0, page_tables(&pt0, err, sizeof(err))) TH_LOG("%s", err);
		ASSERT_EQ(0, sess_cmd(fd, NULL, 0, "change ro 0x%lx 1", mid))
			TH_LOG("change ro 0x%lx", mid);
		ASSERT_EQ(0, page_tables(&pt1, err, sizeof(err))) TH_LOG("%s", err);
		ASSERT_EQ(0, lm_info_read(&i1, err, sizeof(err))) TH_LOG("%s", err);

		before = tables(&i0.split);
		after = tables(&i1.split);
		if (after == before)
			continue;
		want = (after - before) * page;
		measured++;
		exact += want == pt1 - pt0;
		TH_LOG("chunk 0x%lx: %lu split table(s) (pmd %lu, pte %lu), PageTables %+ld bytes",
		       addr[k], after - before, i1.split.tables_pmd - i0.split.tables_pmd,
		       i1.split.tables_pte - i0.split.tables_pte, (long)(pt1 - pt0));
	}
	TH_LOG("%d of %d chunks of order %d block mapped; %d split(s) allocated tables, %d measured exactly",
	       n, got, order, measured, exact);
	ASSERT_LT(0, measured) TH_LOG("no split allocated a table: nothing was measured");
	EXPECT_LE(measured, 2 * exact)
		TH_LOG("in %d of %d windows PageTables did not grow by exactly the tables the split allocated",
		       measured - exact, measured);
	EXPECT_EQ(fails0, i1.split_failures);
out:
	close(fd);
}

/*
 * Without the report: the tables of a repainted map that the boot layout
 * had not (lm_boot_model_ex() with blocks, as the boot CPU mapped it) are
 * the repaint's and the splits', all from the page allocator.
 */
static void repaint_counted_derived(struct __test_metadata *_metadata)
{
	unsigned long pt, added;
	long page = sysconf(_SC_PAGESIZE);
	struct lm_shape bs, ns;
	struct bbml2_expect e;
	struct pt_map now, boot;
	struct lm_layout lay;
	struct lm_info info;
	struct lm_geom g;
	char err[512];

	if (!access("/sys/module/kfence", F_OK) && module_missing[0])
		SKIP(return, "KFENCE is built in: %s (it locates the early pool)",
		     WHY_NO_MODULE);
	ASSERT_EQ(0, lm_info_derive(&info, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(0, bbml2_expect_get(&e, &info, err, sizeof(err))) TH_LOG("%s", err);
	if (!e.repainted)
		SKIP(return, "no repaint in this mode (map=%s from the MIDRs; %s)",
		     e.map, WHY_NO_REPORT);
	ASSERT_EQ(0, lm_geom_init(&g, page));
	ASSERT_EQ(0, ptdump_read(&now, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(0, lm_layout_get(&info, &lay, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(0, lm_boot_model_ex(&now, &g, info.alias_start, info.alias_end, 0, 0,
				      true, lay.cuts, lay.ncuts, lay.alias_same_flags,
				      &boot));
	pt_map_shape(&boot, &g, info.alias_start, info.alias_end, &bs);
	pt_map_shape(&now, &g, info.alias_start, info.alias_end, &ns);
	pt_map_free(&boot);
	pt_map_free(&now);
	ASSERT_EQ(0, page_tables(&pt, err, sizeof(err))) TH_LOG("%s", err);
	added = ns.pte_tables + ns.pmd_tables - bs.pte_tables - bs.pmd_tables;
	TH_LOG("tables beyond the boot layout: pmd %lu, pte %lu; PageTables %lu kB (%s)",
	       ns.pmd_tables - bs.pmd_tables, ns.pte_tables - bs.pte_tables,
	       pt >> 10, WHY_NO_REPORT);
	ASSERT_LT(0UL, added) TH_LOG("ptdump shows no table the boot layout had not: no repaint");
	EXPECT_LE(added * page, pt)
		TH_LOG("PageTables (%lu kB) lacks the %lu kB of tables the repaint added",
		       pt >> 10, added * page >> 10);
}

TEST(repaint_counted)
{
	unsigned long pt, want;
	struct lm_info info;
	long page = sysconf(_SC_PAGESIZE);
	char err[512];

	if (!lm_report_present()) {
		repaint_counted_derived(_metadata);
		return;
	}
	ASSERT_EQ(0, lm_info_read(&info, err, sizeof(err))) TH_LOG("%s", err);
	if (!info.repainted)
		SKIP(return, "no repaint in this mode (linear_map=%s)", info.linear_map);
	ASSERT_EQ(0, page_tables(&pt, err, sizeof(err))) TH_LOG("%s", err);
	want = (tables(&info.repaint) + tables(&info.split)) * page;
	TH_LOG("repaint tables: pmd %lu, pte %lu; PageTables %lu kB",
	       info.repaint.tables_pmd, info.repaint.tables_pte, pt >> 10);
	ASSERT_LT(0UL, tables(&info.repaint)) TH_LOG("the repaint allocated no table");
	EXPECT_LE(want, pt)
		TH_LOG("PageTables (%lu kB) lacks the %lu kB of tables the repaint and splits report",
		       pt >> 10, want >> 10);
}

/* A key of the series' debugfs file that lm_info does not know. */
static int lm_key(const char *key, unsigned long *val)
{
	char buf[4096], *p;
	size_t n = strlen(key);

	if (read_file(LM_DEBUGFS, buf, sizeof(buf)) <= 0)
		return -1;
	for (p = buf; (p = strstr(p, key)); p += n) {
		if ((p == buf || p[-1] == '\n') && p[n] == '=') {
			*val = strtoul(p + n + 1, NULL, 0);
			return 0;
		}
	}
	return -1;
}

/*
 * The repaint takes its tables from a pool allocated before
 * stop_machine() (issue 12, finding 9: no allocation with interrupts off,
 * which sleeps on PREEMPT_RT): the pool is what the repaint used plus
 * what was freed unused after it.
 */
TEST(repaint_preallocated)
{
	unsigned long prealloc, unused;
	struct lm_info info;
	char err[512];

	SKIP_WITHOUT_REPORT(return);
	ASSERT_EQ(0, lm_info_read(&info, err, sizeof(err))) TH_LOG("%s", err);
	if (!info.repainted)
		SKIP(return, "no repaint in this mode (linear_map=%s)", info.linear_map);
	ASSERT_EQ(0, lm_key("repaint_tables_prealloc", &prealloc))
		TH_LOG("%s has no repaint_tables_prealloc: the repaint allocates inside stop_machine()",
		       LM_DEBUGFS);
	ASSERT_EQ(0, lm_key("repaint_tables_unused", &unused))
		TH_LOG("%s has no repaint_tables_unused", LM_DEBUGFS);
	TH_LOG("repaint tables: preallocated %lu, used %lu (pmd %lu, pte %lu), freed unused %lu",
	       prealloc, tables(&info.repaint), info.repaint.tables_pmd,
	       info.repaint.tables_pte, unused);
	ASSERT_LT(0UL, tables(&info.repaint)) TH_LOG("the repaint used no table");
	EXPECT_EQ(prealloc, tables(&info.repaint) + unused);
}

int main(int argc, char **argv)
{
	bbml2_prereq(NEED_MODULE | NO_SERIES_OK);
	return test_harness_run(argc, argv);
}
