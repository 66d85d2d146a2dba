// SPDX-License-Identifier: GPL-2.0
/*
 * bbml2_invalid: a linear map block made invalid as a whole stays a leaf
 * that the kernel's page table walkers see (issue 12, finding 3).
 *
 * block_visible: with a block-mapped linear map, allocate a block of
 * PMD_SIZE (test module), make it invalid as a whole (set_memory_valid(,
 * 0) of every page), then:
 *  (a) ptdump shows exactly that range as one invalid PMD-level block
 *      ("F"), not merged into a valid range around it;
 *  (b) kernel_page_present() is false for every page of it;
 * then make it valid again:
 *  (c) ptdump shows it valid, still one PMD block, with the attributes it
 *      had before (less "CON": a contiguous range around it is split),
 *      and the module's leaf walk agrees (one PMD_SIZE leaf, valid);
 * and nothing splats. A kernel that invalidates blocks by clearing
 * PTE_VALID alone leaves an entry that is neither a table nor present:
 * ptdump skips it and (a) fails.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../kselftest_harness.h"
#include "bbml2_util.h"

/* Freed blocks come back first, split by earlier tests: ask for many. */
#define NBLOCKS		128

static char result[65536];

/* Order of a block of PMD_SIZE, -1 beyond what the page allocator gives. */
static int pmd_order(long page)
{
	int order = 0;

	while ((1L << order) < page / 8)
		order++;
	return order > 10 ? -1 : order;
}

static int ptdump_line_at(struct pt_map *m, unsigned long a, struct pt_line *l,
			  char *err, size_t len)
{
	const struct pt_line *p;

	pt_map_free(m);
	if (ptdump_read(m, err, len))
		return -1;
	p = pt_map_line(m, a);
	if (!p) {
		snprintf(err, len, "ptdump has no line for 0x%lx", a);
		return -1;
	}
	*l = *p;
	return 0;
}

TEST(block_visible)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned long pmd = page * (page / 8), addr[NBLOCKS], a = 0, size;
	int order = pmd_order(page), fd, n = 0, k;
	struct pt_map m = { 0 };
	struct pt_line pre, l;
	unsigned long long mark, desc;
	struct lm_info info;
	char err[512], buf[256], *p;
	int valid;

	ASSERT_EQ(0, lm_info_read(&info, err, sizeof(err))) TH_LOG("%s", err);
	if (!info.requires_bbml2)
		SKIP(return, "the linear map is page mapped (linear_map=%s): no block to invalidate",
		     info.linear_map);
	if (order < 0)
		SKIP(return, "a PMD block (%lu bytes) is larger than the page allocator gives", pmd);

	fd = sess_open();
	ASSERT_LE(0, fd) TH_LOG("%s: %s", MODULE_CTL, strerror(errno));
	ASSERT_EQ(0, sess_cmd(fd, result, sizeof(result), "alloc %d %d",
			      order, NBLOCKS));
	for (p = result; n < NBLOCKS && (p = strstr(p, "0x")); p++)
		addr[n++] = strtoul(p, &p, 16);
	ASSERT_LT(0, n) TH_LOG("no block of order %d allocated", order);

	/* A block that is mapped by a PMD or larger leaf. */
	ASSERT_EQ(0, ptdump_line_at(&m, addr[0], &pre, err, sizeof(err))) TH_LOG("%s", err);
	for (k = 0; k < n && !a; k++) {
		const struct pt_line *q = pt_map_line(&m, addr[k]);

		if (q && (q->level == PT_PMD || q->level == PT_PUD) &&
		    (q->attrs & PTA_BLK) && !(q->attrs & PTA_F)) {
			a = addr[k];
			pre = *q;
		}
	}
	if (!a) {
		close(fd);
		SKIP(return, "none of %d blocks of order %d is block mapped", n, order);
	}
	pt_line_str(&pre, buf, sizeof(buf));
	TH_LOG("block 0x%lx, mapped by: %s", a, buf);
	mark = kmsg_mark();

	ASSERT_EQ(0, sess_cmd(fd, NULL, 0, "change invalid 0x%lx %lu", a, pmd / page));

	/* (a) */
	ASSERT_EQ(0, ptdump_line_at(&m, a, &l, err, sizeof(err))) TH_LOG("%s", err);
	pt_line_str(&l, buf, sizeof(buf));
	TH_LOG("invalid: %s", buf);
	EXPECT_TRUE(!!(l.attrs & PTA_F))
		TH_LOG("ptdump shows the invalidated block as valid: %s", buf);
	EXPECT_EQ(PT_PMD, l.level) TH_LOG("not a PMD-level line: %s", buf);
	EXPECT_EQ(a, l.start) TH_LOG("merged with what is before it: %s", buf);
	EXPECT_EQ(a + pmd, l.end) TH_LOG("merged with what is after it: %s", buf);

	/* (b) */
	ASSERT_EQ(0, sess_cmd(fd, result, sizeof(result), "present 0x%lx %lu",
			      a, pmd / page));
	EXPECT_EQ(NULL, strchr(result, '1'))
		TH_LOG("kernel_page_present() true for part of the invalid block");
	ASSERT_EQ(0, sess_cmd(fd, result, sizeof(result), "probe 0x%lx 1", a));
	EXPECT_EQ(0, strncmp(result, "--", 2)) TH_LOG("invalid page reads as %s", result);

	/* (c) */
	ASSERT_EQ(0, sess_cmd(fd, NULL, 0, "change valid 0x%lx %lu", a, pmd / page));
	ASSERT_EQ(0, ptdump_line_at(&m, a, &l, err, sizeof(err))) TH_LOG("%s", err);
	pt_line_str(&l, buf, sizeof(buf));
	TH_LOG("valid again: %s", buf);
	EXPECT_FALSE(!!(l.attrs & PTA_F)) TH_LOG("still invalid: %s", buf);
	EXPECT_EQ(PT_PMD, l.level) TH_LOG("no longer one PMD block: %s", buf);
	EXPECT_TRUE(!!(l.attrs & PTA_BLK)) TH_LOG("not a block: %s", buf);
	EXPECT_EQ(pre.attrs & ~PTA_CON, l.attrs & ~PTA_CON)
		TH_LOG("attributes changed: before %#x, after %#x", pre.attrs, l.attrs);
	ASSERT_EQ(0, sess_cmd(fd, result, sizeof(result), "leaf 0x%lx", a));
	ASSERT_EQ(3, sscanf(result, "size=%lu desc=%llx valid=%d", &size, &desc, &valid))
		TH_LOG("leaf: %s", result);
	EXPECT_EQ(pmd, size) TH_LOG("leaf: %s", result);
	EXPECT_EQ(1, valid) TH_LOG("leaf: %s", result);
	ASSERT_EQ(0, sess_cmd(fd, result, sizeof(result), "present 0x%lx %lu",
			      a, pmd / page));
	EXPECT_EQ(NULL, strchr(result, '0')) TH_LOG("a page is not present again");
	ASSERT_EQ(0, sess_cmd(fd, result, sizeof(result), "probe 0x%lx 1", a));
	EXPECT_EQ(0, strncmp(result, "rw", 2)) TH_LOG("valid page reads as %s", result);

	EXPECT_EQ(0, kmsg_splats(mark, result, sizeof(result))) TH_LOG("%s", result);
	pt_map_free(&m);
	close(fd);
}

/*
 * whole_<kind>: the same for a leaf of each kind, found deliberately in
 * the dump (issue 20, item 7: block_visible takes whatever block its
 * allocation gives, after earlier programs a plain PMD): a PUD, a
 * contiguous range of PMDs, a plain PMD, a contiguous range of PTEs.
 * The test allocates exactly the leaf's memory, makes all of it invalid
 * and valid again. A change of a whole leaf splits nothing: the split
 * counters must not move, the leaf must be one invalid line of its level
 * (a contiguous range keeps its contiguous bit) and come back exactly as
 * it was, the same size for the module's leaf walk. A kernel that splits
 * a contiguous range whose boundaries the change already respects, or
 * that leaves an invalid leaf of some kind invalid, fails here.
 */
#define WHOLE_TRIES	8

struct whole {
	int fd;
	struct lm_geom g;
	struct lm_info info;
	enum lm_kind kind;
	unsigned long b;	/* bytes of the leaf */
	unsigned int order;	/* of the blocks that make it up */
	unsigned long budget;	/* blocks alloc_at may try */
};

static bool regular_line(const struct pt_line *l)
{
	return !l->hole && !(l->attrs & (PTA_F | PTA_RO)) && (l->attrs & PTA_NX) &&
	       (l->memtype == PT_MT_NORMAL || l->memtype == PT_MT_NORMAL_TAGGED);
}

static unsigned long mem_blocks(unsigned long blk)
{
	char buf[4096], *p;
	unsigned long kb = 0;

	if (read_file("/proc/meminfo", buf, sizeof(buf)) > 0) {
		p = strstr(buf, "MemFree:");
		if (p)
			sscanf(p, "MemFree: %lu", &kb);
	}
	/*
	 * Every free block: with 3/4 of them, as bbml2_split's pool, a
	 * whole contiguous PMD range was out of reach at 2 GiB.
	 */
	return (kb << 10) / blk + 16;
}

/* Own [a, a + b) through alloc_at of each of its blocks; false if not. */
static bool own_leaf(struct whole *w, unsigned long a)
{
	unsigned long blk = w->g.page << w->order, x;

	for (x = a; x < a + w->b; x += blk)
		if (sess_cmd(w->fd, NULL, 0, "alloc_at 0x%lx %u %lu", x, w->order,
			     w->budget))
			break;
	if (x >= a + w->b)
		return true;
	while (x > a) {
		x -= blk;
		sess_cmd(w->fd, NULL, 0, "free 0x%lx", x);
	}
	return false;
}

/*
 * An intact leaf of w->kind, outside the kernel alias, whose memory the
 * test could allocate: its address, or 0. Each kind is looked for in the
 * dump as it is now, from the top of memory down.
 */
static unsigned long find_whole(struct whole *w, const struct pt_map *m)
{
	int i, tries = 0;

	for (i = (int)m->nr - 1; i >= 0 && tries < WHOLE_TRIES; i--) {
		const struct pt_line *l = &m->l[i];
		unsigned long ls;

		if (pt_line_kind(l) != w->kind || !regular_line(l) ||
		    (l->start < w->info.alias_end && l->end > w->info.alias_start))
			continue;
		for (ls = align_down(l->end, w->b) - w->b;
		     ls >= l->start && ls < l->end && tries < WHOLE_TRIES;
		     ls -= w->b) {
			tries++;
			if (own_leaf(w, ls))
				return ls;
		}
	}
	return 0;
}

/*
 * No free leaf of the kind: make one. A page changed (nx, which changes
 * nothing) at the start of a block the test allocates splits the PMD
 * that holds it into contiguous PTE ranges (and a contiguous PMD range
 * around it into PMDs): the next contiguous PTE range, or the next PMD
 * of a block of two, is an intact leaf the test owns. Its address, or 0.
 */
static unsigned long make_leaf(struct __test_metadata *_metadata,
			       struct whole *w)
{
	char buf[256], *p;
	unsigned long a;
	int order = pmd_block_order(w->g.page);

	if ((w->kind != LMK_PMD && w->kind != LMK_CONT_PTE) || order < 0)
		return 0;
	if (sess_cmd(w->fd, buf, sizeof(buf), "alloc %d 1",
		     order + (w->kind == LMK_PMD)))
		return 0;
	p = strstr(buf, "0x");
	if (!p)
		return 0;
	a = strtoul(p, NULL, 16);
	TH_LOG("no free %s leaf: splitting the leaf at 0x%lx (nx on one page)",
	       lm_kind_name(w->kind), a);
	if (sess_cmd(w->fd, NULL, 0, "change nx 0x%lx 1", a))
		return 0;
	return a + w->b;
}

static void whole_case(struct __test_metadata *_metadata, enum lm_kind kind)
{
	struct whole w = { .kind = kind };
	struct pt_map m = { 0 };
	struct pt_line pre, l;
	struct lm_info before, after;
	struct lm_counts moved, none = { 0 };
	unsigned long a, size, n;
	unsigned long long mark, desc;
	char err[512], buf[256], cnt[256];
	int valid, level = kind == LMK_CONT_PTE ? PT_PTE :
			   kind == LMK_PUD ? PT_PUD : PT_PMD;
	bool cont = kind == LMK_CONT_PMD || kind == LMK_CONT_PTE;

	ASSERT_EQ(0, lm_info_read(&w.info, err, sizeof(err))) TH_LOG("%s", err);
	if (!w.info.requires_bbml2)
		SKIP(return, "the linear map is page mapped (linear_map=%s): no %s to invalidate",
		     w.info.linear_map, lm_kind_name(kind));
	ASSERT_EQ(0, lm_geom_init(&w.g, sysconf(_SC_PAGESIZE)));
	w.b = lm_kind_size(&w.g, kind);
	if (!w.b)
		SKIP(return, "no %s leaves with %lu-byte pages", lm_kind_name(kind), w.g.page);
	for (w.order = 0; (w.g.page << (w.order + 1)) <= w.b &&
	     (w.g.page << (w.order + 1)) <= lm_test_chunk(&w.g); w.order++)
		;
	/* Blocks alloc_at may take before its own comes. */
	w.budget = mem_blocks(w.g.page << w.order);
	w.fd = sess_open();
	ASSERT_LE(0, w.fd) TH_LOG("%s: %s", MODULE_CTL, strerror(errno));

	ASSERT_EQ(0, ptdump_read(&m, err, sizeof(err))) TH_LOG("%s", err);
	a = find_whole(&w, &m);
	if (!a) {
		a = make_leaf(_metadata, &w);
		pt_map_free(&m);
		ASSERT_EQ(0, ptdump_read(&m, err, sizeof(err))) TH_LOG("%s", err);
		if (a) {
			const struct pt_line *q = pt_map_line(&m, a);

			if (!q || pt_line_kind(q) != kind || !regular_line(q) ||
			    q->start > a || q->end < a + w.b)
				a = 0;
		}
	}
	if (!a) {
		pt_map_free(&m);
		sess_cmd(w.fd, NULL, 0, "free_all");
		close(w.fd);
		SKIP(return, "no intact %s leaf whose memory this test could allocate (%lu bytes; linear_map=%s)",
		     lm_kind_name(kind), w.b, w.info.linear_map);
	}
	pre = *pt_map_line(&m, a);
	pt_line_str(&pre, buf, sizeof(buf));
	TH_LOG("%s leaf 0x%lx-0x%lx, in the line: %s", lm_kind_name(kind), a,
	       a + w.b, buf);
	n = w.b / w.g.page;
	mark = kmsg_mark();
	ASSERT_EQ(0, lm_info_read(&before, err, sizeof(err))) TH_LOG("%s", err);

	ASSERT_EQ(0, sess_cmd(w.fd, NULL, 0, "change invalid 0x%lx %lu", a, n));
	ASSERT_EQ(0, ptdump_line_at(&m, a, &l, err, sizeof(err))) TH_LOG("%s", err);
	pt_line_str(&l, buf, sizeof(buf));
	TH_LOG("invalid: %s", buf);
	EXPECT_TRUE(!!(l.attrs & PTA_F)) TH_LOG("not invalid: %s", buf);
	EXPECT_EQ(level, l.level) TH_LOG("not one leaf of its level: %s", buf);
	EXPECT_EQ(a, l.start) TH_LOG("not exactly the leaf: %s", buf);
	EXPECT_EQ(a + w.b, l.end) TH_LOG("not exactly the leaf: %s", buf);
	EXPECT_EQ(cont, !!(l.attrs & PTA_CON))
		TH_LOG("contiguous bit %s: %s", cont ? "lost" : "set", buf);
	ASSERT_EQ(0, sess_cmd(w.fd, result, sizeof(result), "present 0x%lx %lu", a, n));
	EXPECT_EQ(NULL, strchr(result, '1'))
		TH_LOG("kernel_page_present() true for part of the invalid leaf");
	ASSERT_EQ(0, sess_cmd(w.fd, result, sizeof(result), "probe 0x%lx 1", a + w.b - w.g.page));
	EXPECT_EQ(0, strncmp(result, "--", 2)) TH_LOG("its last page reads as %s", result);

	ASSERT_EQ(0, sess_cmd(w.fd, NULL, 0, "change valid 0x%lx %lu", a, n));
	ASSERT_EQ(0, ptdump_line_at(&m, a, &l, err, sizeof(err))) TH_LOG("%s", err);
	pt_line_str(&l, buf, sizeof(buf));
	TH_LOG("valid again: %s", buf);
	EXPECT_EQ(pre.attrs, l.attrs)
		TH_LOG("attributes changed: before %#x, after %#x", pre.attrs, l.attrs);
	EXPECT_EQ(pre.level, l.level) TH_LOG("level changed: %s", buf);
	EXPECT_TRUE(l.start <= a && l.end >= a + w.b) TH_LOG("not one line again: %s", buf);
	ASSERT_EQ(0, sess_cmd(w.fd, result, sizeof(result), "leaf 0x%lx", a + w.b - w.g.page));
	ASSERT_EQ(3, sscanf(result, "size=%lu desc=%llx valid=%d", &size, &desc, &valid))
		TH_LOG("leaf: %s", result);
	EXPECT_EQ(w.b, size) TH_LOG("leaf: %s", result);
	EXPECT_EQ(1, valid) TH_LOG("leaf: %s", result);
	ASSERT_EQ(0, sess_cmd(w.fd, result, sizeof(result), "present 0x%lx %lu", a, n));
	EXPECT_EQ(NULL, strchr(result, '0')) TH_LOG("a page is not present again");
	ASSERT_EQ(0, sess_cmd(w.fd, result, sizeof(result), "probe 0x%lx 1", a + w.b - w.g.page));
	EXPECT_EQ(0, strncmp(result, "rw", 2)) TH_LOG("its last page reads as %s", result);

	ASSERT_EQ(0, lm_info_read(&after, err, sizeof(err))) TH_LOG("%s", err);
	lm_counts_sub(&moved, &after.split, &before.split);
	lm_counts_str(&moved, cnt, sizeof(cnt));
	EXPECT_TRUE(lm_counts_equal(&none, &moved))
		TH_LOG("a change of a whole leaf split something: %s", cnt);
	EXPECT_EQ(0, kmsg_splats(mark, result, sizeof(result))) TH_LOG("%s", result);
	pt_map_free(&m);
	sess_cmd(w.fd, NULL, 0, "free_all");
	close(w.fd);
}

TEST(whole_pud)
{
	whole_case(_metadata, LMK_PUD);
}

TEST(whole_cont_pmd)
{
	whole_case(_metadata, LMK_CONT_PMD);
}

TEST(whole_pmd)
{
	whole_case(_metadata, LMK_PMD);
}

TEST(whole_cont_pte)
{
	whole_case(_metadata, LMK_CONT_PTE);
}

int main(int argc, char **argv)
{
	bbml2_prereq(NEED_PTDUMP | NEED_MODULE);
	return test_harness_run(argc, argv);
}
