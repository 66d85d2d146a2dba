// SPDX-License-Identifier: GPL-2.0
/*
 * bbml2_kfence: a KFENCE pool set up late, out of a block-mapped linear
 * map, is split to pages before KFENCE protects its first page.
 *
 * late_pool_page_mapped: on a kernel booted with kfence.sample_interval=0
 * (no early pool), enable KFENCE at run time. KFENCE then allocates its
 * pool from the page allocator and changes the validity of single pool
 * pages from atomic context, where nothing can be split, so the arch must
 * split the whole pool when it is set up (arch_kfence_init_pool()). Every
 * line of ptdump inside the pool must then be page-level, and the kernel
 * log since the start of the test must hold no splat (a protected page in
 * a block WARNs in pageattr and stays accessible).
 *
 * That only proves something when the pool came out of memory that was
 * still block mapped: earlier splits (other tests, module loading) may
 * have left it page mapped, and a kernel that forgot the split would then
 * pass. ptdump is read before KFENCE is enabled too, and the test skips
 * if no line that held the pool was a block or contiguous range. Run it
 * first in its boot (bbml2lab.ksft=bbml2_kfence).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../kselftest_harness.h"
#include "bbml2_util.h"

#define SAMPLE_INTERVAL	"/sys/module/kfence/parameters/sample_interval"

/* Lines of @m inside the pool that are blocks or contiguous, each logged. */
static int pool_blocks(struct __test_metadata *_metadata, const struct pt_map *m,
		       const struct module_info *mi, const char *what)
{
	char buf[512];
	size_t i;
	int n = 0;

	for (i = 0; i < m->nr; i++) {
		const struct pt_line *l = &m->l[i];

		if (l->end <= mi->kfence_start || l->start >= mi->kfence_end || l->hole)
			continue;
		if (l->level != PT_PTE || (l->attrs & PTA_CON)) {
			pt_line_str(l, buf, sizeof(buf));
			TH_LOG("%s: %s", what, buf);
			n++;
		}
	}
	return n;
}

TEST(late_pool_page_mapped)
{
	struct module_info mi;
	struct lm_info info;
	struct pt_map m, before;
	unsigned long long mark;
	char err[512], buf[32], splat[1024];
	int fd, bad, blocks_before;

	SKIP_WITHOUT_SERIES(return);
	if (read_file(SAMPLE_INTERVAL, buf, sizeof(buf)) <= 0)
		SKIP(return, "no %s: kernel without KFENCE", SAMPLE_INTERVAL);
	fd = sess_open();
	ASSERT_LE(0, fd) TH_LOG("%s: %s", MODULE_CTL, strerror(errno));
	ASSERT_EQ(0, module_info_get(fd, &mi));
	if (mi.kfence_start)
		SKIP(goto out, "KFENCE was set up at boot: boot with kfence.sample_interval=0 to test a late pool");
	ASSERT_EQ(0, lm_info_read(&info, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(0, ptdump_read(&before, err, sizeof(err))) TH_LOG("%s", err);

	mark = kmsg_mark();
	ASSERT_EQ(0, write_file(SAMPLE_INTERVAL, "100"))
		TH_LOG("enabling KFENCE at run time failed");
	ASSERT_EQ(0, module_info_get(fd, &mi));
	ASSERT_NE(0UL, mi.kfence_start) TH_LOG("KFENCE enabled but no pool");
	TH_LOG("late pool [0x%lx, 0x%lx), linear map %s", mi.kfence_start, mi.kfence_end,
	       info.linear_map);

	blocks_before = pool_blocks(_metadata, &before, &mi, "before");
	pt_map_free(&before);
	if (!blocks_before)
		SKIP(goto out, "the late pool came out of memory already page mapped: nothing to split (run bbml2_kfence first in its boot)");

	ASSERT_EQ(0, ptdump_read(&m, err, sizeof(err))) TH_LOG("%s", err);
	bad = pool_blocks(_metadata, &m, &mi, "pool not page mapped");
	pt_map_free(&m);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, kmsg_splats(mark, splat, sizeof(splat))) TH_LOG("%s", splat);
out:
	close(fd);
}

int main(int argc, char **argv)
{
	bbml2_prereq(NEED_PTDUMP | NEED_MODULE | NO_SERIES_OK);
	return test_harness_run(argc, argv);
}
