// SPDX-License-Identifier: GPL-2.0
/*
 * bbml2_oa: after a split, every entry of the split block still maps the
 * physical page it mapped before. ptdump prints no output address and
 * merges lines regardless of it, so a split that writes a wrong one
 * passes every shape check; the data checks of bbml2_split only look at
 * the pages around the split point.
 *
 * split_keeps_output_addresses: make one page in the middle of a fresh,
 * block-mapped block read-only, then read the leaf entry of every page of
 * the block (test module "leaf", the kernel's own table walk): the linear
 * map is an offset mapping, so output address minus virtual address must
 * be the same for every page, and equal to what the block gave before.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../kselftest_harness.h"
#include "bbml2_util.h"

#define NTRIES		16
/* Output address bits of a descriptor (no 52-bit PAs under test). */
#define OA_BITS		48

static char result[16384];

/* Output address of @addr minus @addr, and the leaf size, via "leaf". */
static int leaf_delta(int fd, unsigned long addr, long page, long *delta,
		      unsigned long *size)
{
	unsigned long long desc, oa;
	unsigned long oa_mask = ((1UL << OA_BITS) - 1) & ~(page - 1);
	int valid;

	if (sess_cmd(fd, result, sizeof(result), "leaf 0x%lx", addr))
		return -1;
	if (sscanf(result, "size=%lu desc=%llx valid=%d", size, &desc, &valid) != 3 ||
	    !valid)
		return -1;
	oa = (desc & oa_mask & ~(*size - 1)) + (addr & (*size - 1));
	*delta = (long)(oa - addr);
	return 0;
}

TEST(split_keeps_output_addresses)
{
	long page = sysconf(_SC_PAGESIZE), ref, delta;
	int order = pmd_block_order(page), fd, k, bad = 0;
	unsigned long addr = 0, n, i, size, pages = 0;
	struct lm_info info;
	char err[512], *p;

	SKIP_WITHOUT_SERIES(return);
	ASSERT_EQ(0, lm_info_read(&info, err, sizeof(err))) TH_LOG("%s", err);
	if (!info.requires_bbml2)
		SKIP(return, "the linear map is page mapped (linear_map=%s): nothing to split",
		     info.linear_map);
	fd = sess_open();
	ASSERT_LE(0, fd) TH_LOG("%s: %s", MODULE_CTL, strerror(errno));
	if (sess_cmd(fd, result, sizeof(result), "leaf 0x%lx", info.lm_start + 0UL) == -EINVAL)
		SKIP(goto out, "test module without the leaf command");

	for (k = 0; k < NTRIES && !addr; k++) {
		ASSERT_EQ(0, sess_cmd(fd, result, sizeof(result), "alloc %d 1", order));
		p = strstr(result, "0x");
		ASSERT_NE(NULL, p);
		addr = strtoul(p, NULL, 16);
		ASSERT_EQ(0, leaf_delta(fd, addr, page, &ref, &size));
		if (size < (unsigned long)page << order)
			addr = 0;	/* already split: try another */
	}
	if (!addr)
		SKIP(goto out, "no block of order %d still block mapped in %d tries", order, NTRIES);
	n = 1UL << order;

	ASSERT_EQ(0, sess_cmd(fd, NULL, 0, "change ro 0x%lx 1", addr + (n / 2) * page));
	for (i = 0; i < n; i++) {
		unsigned long a = addr + i * page;

		ASSERT_EQ(0, leaf_delta(fd, a, page, &delta, &size))
			TH_LOG("no valid leaf for 0x%lx", a);
		pages++;
		if (delta != ref && bad++ < 4)
			TH_LOG("page %lu (0x%lx, leaf of %lu bytes) maps PA offset %+ld, the block %+ld",
			       i, a, size, delta, ref);
	}
	TH_LOG("%lu pages of the split block checked", pages);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, sess_cmd(fd, NULL, 0, "change rw 0x%lx 1", addr + (n / 2) * page));
out:
	close(fd);
}

int main(int argc, char **argv)
{
	bbml2_prereq(NEED_MODULE | NO_SERIES_OK);
	return test_harness_run(argc, argv);
}
