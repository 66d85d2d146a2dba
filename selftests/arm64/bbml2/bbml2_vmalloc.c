// SPDX-License-Identifier: GPL-2.0
/*
 * bbml2_vmalloc: permission changes of vmalloc areas and their linear
 * alias (issue 12, finding 5), through the test module's vmalloc area.
 *
 * alias_subrange: with rodata=full, set_memory_ro() of one page of a four
 * page area makes the linear alias of that page read-only, and of no
 * other page; set_memory_rw() of it makes it writable again. A kernel
 * whose alias loop walks the whole area makes all four read-only.
 *
 * huge_refused: an area from vmalloc_huge(4M) that the kernel mapped with
 * PMD blocks (only where arch_vmap_pmd_supported(), i.e. PTDUMP_DEBUGFS
 * off): set_memory_ro() of one page fails with -EINVAL and changes
 * nothing: every linear alias page is still writable, the area's blocks
 * are unchanged, and nothing splats. A kernel without the check WARNs in
 * the walker and fails only after making the whole alias read-only.
 * Where vmalloc_huge() is page mapped the same refusal is checked (the
 * area may use blocks), and the test then SKIPs with the reason: the
 * block case itself was not exercised.
 *
 * guard_refused: set_memory_ro() of two pages of a one page vmalloc()
 * area, a range that ends on the area's guard page (review 2026-12b,
 * N5), fails with -EINVAL and changes nothing: the alias page is still
 * writable and nothing splats (KASAN on the kasan rows). A kernel that
 * bounds the range by area->size, which counts the guard page, reads
 * area->pages[1] past the array and changes the attributes of whatever
 * address it finds there.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../kselftest_harness.h"
#include "bbml2_util.h"

static char result[65536];

static int count(const char *s, const char *word)
{
	int n = 0;

	while ((s = strstr(s, word))) {
		n++;
		s += strlen(word);
	}
	return n;
}

TEST(alias_subrange)
{
	struct lm_info info;
	char err[512];
	int fd;

	SKIP_WITHOUT_MODULE(return);
	ASSERT_EQ(0, lm_info_get(&info, err, sizeof(err))) TH_LOG("%s", err);
	if (!info.rodata_full)
		SKIP(return, "rodata_full is off: set_memory_ro() does not change the linear alias");

	fd = sess_open();
	ASSERT_LE(0, fd) TH_LOG("%s: %s", MODULE_CTL, strerror(errno));
	ASSERT_EQ(0, sess_cmd(fd, NULL, 0, "vmalloc 4"));
	ASSERT_EQ(0, sess_cmd(fd, result, sizeof(result), "vprobe"));
	ASSERT_STREQ("rw rw rw rw\n", result);

	ASSERT_EQ(0, sess_cmd(fd, NULL, 0, "vset ro 1 1"));
	ASSERT_EQ(0, sess_cmd(fd, result, sizeof(result), "vprobe"));
	EXPECT_STREQ("rw r- rw rw\n", result)
		TH_LOG("linear alias after set_memory_ro() of page 1 of 4");

	ASSERT_EQ(0, sess_cmd(fd, NULL, 0, "vset rw 1 1"));
	ASSERT_EQ(0, sess_cmd(fd, result, sizeof(result), "vprobe"));
	EXPECT_STREQ("rw rw rw rw\n", result)
		TH_LOG("linear alias after set_memory_rw() of page 1 of 4");

	ASSERT_EQ(0, sess_cmd(fd, NULL, 0, "vset ro 2 2"));
	ASSERT_EQ(0, sess_cmd(fd, result, sizeof(result), "vprobe"));
	EXPECT_STREQ("rw rw r- r-\n", result)
		TH_LOG("linear alias after set_memory_ro() of pages 2-3 of 4");
	ASSERT_EQ(0, sess_cmd(fd, NULL, 0, "vfree"));
	close(fd);
}

#define HUGE_PAGES(page)	((4UL << 20) / (page))

TEST(huge_refused)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned long n = HUGE_PAGES(page), pmd = page * (page / 8), size, i;
	unsigned long long mark, desc[8], d;
	unsigned long vaddr;
	struct lm_info info;
	char err[512];
	int fd, ret, valid, nblk = 0;
	bool huge;

	SKIP_WITHOUT_MODULE(return);
	ASSERT_EQ(0, lm_info_get(&info, err, sizeof(err))) TH_LOG("%s", err);
	if (!info.rodata_full)
		SKIP(return, "rodata_full is off: no linear alias change to check");
	fd = sess_open();
	ASSERT_LE(0, fd) TH_LOG("%s: %s", MODULE_CTL, strerror(errno));
	ASSERT_EQ(0, sess_cmd(fd, result, sizeof(result), "vmalloc_huge %lu", n));
	vaddr = strtoul(result, NULL, 16);
	ASSERT_EQ(0, sess_cmd(fd, result, sizeof(result), "leaf 0x%lx", vaddr));
	ASSERT_EQ(3, sscanf(result, "size=%lu desc=%llx valid=%d", &size, &d, &valid))
		TH_LOG("leaf: %s", result);
	huge = size >= pmd;
	if (huge) {
		nblk = (n * page) / pmd;
		ASSERT_GE(8, nblk);
	}
	for (i = 0; i < (unsigned long)nblk; i++) {
		ASSERT_EQ(0, sess_cmd(fd, result, sizeof(result), "leaf 0x%lx",
				      vaddr + i * pmd));
		ASSERT_EQ(3, sscanf(result, "size=%lu desc=%llx valid=%d", &size,
				    &desc[i], &valid));
		ASSERT_EQ(pmd, size) TH_LOG("block %lu of the area: %s", i, result);
	}
	mark = kmsg_mark();

	/*
	 * Refused whether or not the kernel mapped this area with blocks:
	 * the area may use them (VM_ALLOW_HUGE_VMAP).
	 */
	ret = sess_cmd(fd, NULL, 0, "vset ro 1 1");
	EXPECT_EQ(-EINVAL, ret) TH_LOG("set_memory_ro() of page 1 of a vmalloc_huge() area: %d", ret);

	ASSERT_EQ(0, sess_cmd(fd, result, sizeof(result), "vprobe"));
	EXPECT_EQ(0, count(result, "r-"))
		TH_LOG("%d of %lu linear alias pages were made read-only", count(result, "r-"), n);
	EXPECT_EQ((int)n, count(result, "rw"));
	for (i = 0; i < (unsigned long)nblk; i++) {
		ASSERT_EQ(0, sess_cmd(fd, result, sizeof(result), "leaf 0x%lx",
				      vaddr + i * pmd));
		ASSERT_EQ(3, sscanf(result, "size=%lu desc=%llx valid=%d", &size, &d, &valid));
		EXPECT_EQ(pmd, size);
		EXPECT_EQ(desc[i], d) TH_LOG("block %lu of the area changed", i);
	}
	EXPECT_EQ(0, kmsg_splats(mark, result, sizeof(result))) TH_LOG("%s", result);
	ASSERT_EQ(0, sess_cmd(fd, NULL, 0, "vfree"));
	close(fd);
	if (!huge && !access(PTDUMP_PATH, F_OK))
		SKIP(return, "vmalloc_huge() is page mapped: CONFIG_PTDUMP_DEBUGFS=y turns huge vmalloc off (arch_vmap_pmd_supported()); only the refusal of a page-mapped VM_ALLOW_HUGE_VMAP area was checked");
	if (!huge)
		SKIP(return, "vmalloc_huge() is page mapped here (leaf size %lu); only the refusal of a page-mapped VM_ALLOW_HUGE_VMAP area was checked",
		     size);
}

TEST(guard_refused)
{
	struct lm_info info;
	unsigned long long mark;
	char err[512];
	int fd, ret;

	SKIP_WITHOUT_MODULE(return);
	ASSERT_EQ(0, lm_info_get(&info, err, sizeof(err))) TH_LOG("%s", err);
	if (!info.rodata_full)
		SKIP(return, "rodata_full is off: set_memory_ro() does not walk the linear alias");
	fd = sess_open();
	ASSERT_LE(0, fd) TH_LOG("%s: %s", MODULE_CTL, strerror(errno));
	ASSERT_EQ(0, sess_cmd(fd, NULL, 0, "vmalloc 1"));
	mark = kmsg_mark();
	ret = sess_cmd(fd, NULL, 0, "vover ro 2");
	EXPECT_EQ(-EINVAL, ret)
		TH_LOG("set_memory_ro() of 2 pages of a 1 page area (the second is its guard page): %d", ret);
	ASSERT_EQ(0, sess_cmd(fd, result, sizeof(result), "vprobe"));
	EXPECT_STREQ("rw\n", result) TH_LOG("the linear alias changed");
	EXPECT_EQ(0, kmsg_splats(mark, result, sizeof(result))) TH_LOG("%s", result);
	ASSERT_EQ(0, sess_cmd(fd, NULL, 0, "vfree"));
	close(fd);
}

int main(int argc, char **argv)
{
	bbml2_prereq(NEED_MODULE | NO_SERIES_OK);
	return test_harness_run(argc, argv);
}
