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

int main(int argc, char **argv)
{
	bbml2_prereq(NEED_PTDUMP | NEED_MODULE);
	return test_harness_run(argc, argv);
}
