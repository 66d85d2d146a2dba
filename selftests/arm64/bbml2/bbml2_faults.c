// SPDX-License-Identifier: GPL-2.0
/*
 * bbml2_faults: the refusals and failures of the split path, through the
 * kernel's test hooks (CONFIG_ARM64_LINEAR_MAP_TEST, debugfs
 * arm64/linear_map_test*).
 *
 * split_failure_propagates: the page-table allocation of a split fails
 * (linear_map_test_fail_splits=1): making one page in the middle of a fresh
 * block read-only must fail with exactly -ENOMEM, count one split failure,
 * consume the injected failure, and leave the page writable and every
 * page of the block as it was; the same change then succeeds. Catches a
 * swallowed split error (the walker then WARNs on a partly covered block
 * and fails with -EINVAL, or changes a whole block) and a change made
 * before its split.
 * prefinal_split_refused: with arm64.linear_map_test=prefinal the kernel
 * tried a split while the first secondary CPU came online, before the
 * capabilities were final: with a block-mapped linear map it must have
 * been refused with -EBUSY. Catches splits allowed while CPUs that may
 * lack BBML2_NOABORT already run.
 * window_split_refused: with the same option the kernel also tried a split
 * while that CPU already ran but was not marked online yet (it waits there
 * for the boot CPU's try): refused with -EBUSY. Catches a refusal that
 * counts online CPUs (upstream's num_online_cpus() > 1), blind to a CPU
 * started and not yet online.
 * irqs_off_map_splits_nothing: a page of a whole invalidated block mapped
 * back with interrupts off, as hibernation's snapshot does, is refused with
 * -EBUSY and nothing is split; a page invalidated on its own (split then)
 * maps back with interrupts off. Catches a split that takes the mutex or
 * allocates with interrupts off (and, on the debug kernel, the
 * "sleeping function called from invalid context" it causes).
 * hibernation_copy_revalidates: a whole block invalidated in the linear
 * map is valid, as one block, in the copy of the page tables hibernation's
 * resume writes memory back through (trans_pgd_create_copy(), through the
 * test hook: hibernation itself needs a swap device our guests lack).
 * Catches the copy keeping the block invalid (upstream 15bfba1ad77f's
 * trans_pgd half, review N3): the restore would fault on it.
 * repaint_change_rebuilt: with arm64.linear_map_test=repaint-change on a
 * boot that repaints, the kernel changed one block (a software bit) after
 * the repaint filled its new page table and before stop_machine()
 * installed it: every one of the page entries that replaced the block
 * must carry the change, the repaint must count exactly one rebuilt
 * block, and ptdump must show the block's range page mapped. Catches a
 * window that installs the table prepared before the change (a stale
 * mapping: on a real change, wrong permissions) or that skips the block.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../kselftest_harness.h"
#include "bbml2_util.h"

#define HOOKS		DEBUGFS_DIR "/arm64/linear_map_test"
#define FAIL_SPLITS	DEBUGFS_DIR "/arm64/linear_map_test_fail_splits"
#define NTRIES		16

static char result[16384];
static char text[4096];

static bool hooks_present(void)
{
	return access(HOOKS, R_OK) == 0 && access(FAIL_SPLITS, W_OK) == 0;
}

/* A "key=value" of the hooks' debugfs file into @val; -1 if absent. */
static int hook_key(const char *key, char *val, size_t len)
{
	size_t n = strlen(key);
	const char *p = text;

	if (read_file(HOOKS, text, sizeof(text)) <= 0)
		return -1;
	while (p && *p) {
		if (!strncmp(p, key, n) && p[n] == '=') {
			snprintf(val, len, "%.*s", (int)strcspn(p + n + 1, "\n"), p + n + 1);
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

TEST(split_failure_propagates)
{
	unsigned long addr = 0, mid, n;
	struct lm_info i0, i1;
	struct pt_map m;
	const struct pt_line *l;
	long page = sysconf(_SC_PAGESIZE);
	int order = pmd_block_order(page), fd, k, ret;
	char err[512], val[32], *p;

	if (!hooks_present())
		SKIP(return, "no %s: a kernel without the series' test hooks (CONFIG_ARM64_LINEAR_MAP_TEST; mainline has none)",
		     FAIL_SPLITS);
	SKIP_WITHOUT_MODULE(return);
	ASSERT_EQ(0, lm_info_read(&i0, err, sizeof(err))) TH_LOG("%s", err);
	if (!i0.requires_bbml2)
		SKIP(return, "the linear map is page mapped (linear_map=%s): no split to fail",
		     i0.linear_map);

	fd = sess_open();
	ASSERT_LE(0, fd) TH_LOG("%s: %s", MODULE_CTL, strerror(errno));
	/* A fresh block still mapped by a block: its split needs a table. */
	for (k = 0; k < NTRIES && !addr; k++) {
		ASSERT_EQ(0, sess_cmd(fd, result, sizeof(result), "alloc %d 1", order));
		p = strstr(result, "0x");
		ASSERT_NE(NULL, p);
		ASSERT_EQ(0, ptdump_read(&m, err, sizeof(err))) TH_LOG("%s", err);
		l = pt_map_line(&m, strtoul(p, NULL, 16));
		if (l && !l->hole && l->level < PT_PTE)
			addr = strtoul(p, NULL, 16);
		pt_map_free(&m);
	}
	if (!addr)
		SKIP(goto out, "no block of order %d still PMD/PUD-mapped in %d tries",
		     order, NTRIES);
	n = 1UL << order;
	mid = addr + (n / 2) * page;

	ASSERT_EQ(0, lm_info_read(&i0, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(0, write_file(FAIL_SPLITS, "1"));
	ret = sess_cmd(fd, NULL, 0, "change ro 0x%lx 1", mid);
	ASSERT_EQ(0, lm_info_read(&i1, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_LT(0, read_file(FAIL_SPLITS, val, sizeof(val)));
	write_file(FAIL_SPLITS, "0");

	EXPECT_EQ(-ENOMEM, ret) TH_LOG("set_memory_ro with a failing split returned %d", ret);
	EXPECT_EQ(i0.split_failures + 1, i1.split_failures);
	EXPECT_EQ(0, atoi(val)) TH_LOG("the injected failure was not consumed: %s", val);
	/* Nothing changed: every page of the block is still writable. */
	ASSERT_EQ(0, sess_cmd(fd, result, sizeof(result), "probe 0x%lx %lu", addr, n));
	EXPECT_EQ(NULL, strstr(result, "r-")) TH_LOG("a page became read-only: %.80s", result);
	EXPECT_EQ(NULL, strstr(result, "--")) TH_LOG("a page became unmapped: %.80s", result);

	/* Without the fault the same change goes through, and is undone. */
	EXPECT_EQ(0, sess_cmd(fd, NULL, 0, "change ro 0x%lx 1", mid));
	ASSERT_EQ(0, sess_cmd(fd, result, sizeof(result), "probe 0x%lx 1", mid));
	EXPECT_EQ(0, strncmp(result, "r-", 2)) TH_LOG("probe after ro: %.8s", result);
	EXPECT_EQ(0, sess_cmd(fd, NULL, 0, "change rw 0x%lx 1", mid));
out:
	close(fd);
}

/*
 * The split the kernel tried at boot under arm64.linear_map_test=prefinal,
 * recorded under @key, was refused with -EBUSY; @when says when it ran.
 */
static void hook_split_refused(struct __test_metadata *_metadata,
			       const char *key, const char *when)
{
	struct lm_info info;
	char err[512], val[32];

	if (access(HOOKS, R_OK))
		SKIP(return, "no %s: a kernel without the series' test hooks (CONFIG_ARM64_LINEAR_MAP_TEST; mainline has none)",
		     HOOKS);
	ASSERT_EQ(0, hook_key(key, val, sizeof(val)))
		TH_LOG("%s has no %s key", HOOKS, key);
	if (!strcmp(val, "untried"))
		SKIP(return, "not tried: boot with arm64.linear_map_test=prefinal");
	ASSERT_EQ(0, lm_info_read(&info, err, sizeof(err))) TH_LOG("%s", err);
	if (!info.blocks_at_boot)
		SKIP(return, "page mapped from boot (linear_map=%s): nothing to refuse",
		     info.linear_map);
	EXPECT_EQ(-EBUSY, atoi(val))
		TH_LOG("a split %s returned %s", when, val);
}

TEST(prefinal_split_refused)
{
	hook_split_refused(_metadata, "prefinal_split",
			   "before the capabilities were final, with secondaries online");
}

TEST(window_split_refused)
{
	hook_split_refused(_metadata, "window_split",
			   "while a started CPU was not online yet");
}

/* The size of the leaf that maps @addr (module "leaf"), 0 if none. */
static unsigned long leaf_size(int fd, unsigned long addr, int *valid)
{
	char out[256], *p;

	if (sess_cmd(fd, out, sizeof(out), "leaf 0x%lx", addr))
		return 0;
	p = strstr(out, "valid=");
	*valid = p ? atoi(p + 6) : -1;
	p = strstr(out, "size=");
	return p ? strtoul(p + 5, NULL, 10) : 0;
}

/*
 * A fresh allocation of @order still mapped by one block of at least @pmd
 * bytes, held by a module session returned in *fd. 0 with *fd = -1 when
 * the kernel lacks the hooks or the module, the linear map has no blocks,
 * or no allocation landed on a block in NTRIES tries; @why says which.
 */
static unsigned long held_block(struct __test_metadata *_metadata, int order,
				unsigned long pmd, int *fd, char *why, size_t len)
{
	unsigned long a;
	struct lm_info info;
	char err[512], *p;
	int k, valid;

	*fd = -1;
	if (access(HOOKS, R_OK) || access(MODULE_CTL, W_OK)) {
		snprintf(why, len, "no %s or %s: a kernel without the series' test hooks and module",
			 HOOKS, MODULE_CTL);
		return 0;
	}
	ASSERT_EQ(0, lm_info_read(&info, err, sizeof(err))) TH_LOG("%s", err);
	if (!info.requires_bbml2) {
		snprintf(why, len, "the linear map is page mapped (linear_map=%s): no block to test",
			 info.linear_map);
		return 0;
	}
	*fd = sess_open();
	ASSERT_LE(0, *fd) TH_LOG("%s: %s", MODULE_CTL, strerror(errno));
	for (k = 0; k < NTRIES; k++) {
		ASSERT_EQ(0, sess_cmd(*fd, result, sizeof(result), "alloc %d 1", order));
		p = strstr(result, "0x");
		ASSERT_NE(NULL, p);
		a = strtoul(p, NULL, 16);
		if (leaf_size(*fd, a, &valid) >= pmd)
			return a;
	}
	close(*fd);
	*fd = -1;
	snprintf(why, len, "no block of order %d still block mapped in %d tries",
		 order, NTRIES);
	return 0;
}

TEST(irqs_off_map_splits_nothing)
{
	long page = sysconf(_SC_PAGESIZE);
	int order = pmd_block_order(page), fd, ret, valid = -1;
	unsigned long addr, mid, n, size, pmd = (unsigned long)page << order;
	char why[256];

	addr = held_block(_metadata, order, pmd, &fd, why, sizeof(why));
	if (!addr)
		SKIP(return, "%s", why);
	n = 1UL << order;
	mid = addr + (n / 2) * page;

	/* The whole block invalid: one leaf, nothing split. */
	ASSERT_EQ(0, sess_cmd(fd, NULL, 0, "change invalid 0x%lx %lu", addr, n));
	size = leaf_size(fd, mid, &valid);
	ASSERT_LE(pmd, size);
	ASSERT_EQ(0, valid);
	ret = sess_cmd(fd, NULL, 0, "change dmap_irqsoff 0x%lx 1", mid);
	EXPECT_EQ(-EBUSY, ret)
		TH_LOG("mapping back a page of an invalid block with interrupts off returned %d", ret);
	EXPECT_EQ(size, leaf_size(fd, mid, &valid)) TH_LOG("the block was split");
	EXPECT_EQ(0, valid);
	ASSERT_EQ(0, sess_cmd(fd, NULL, 0, "change valid 0x%lx %lu", addr, n));

	/* A page invalidated on its own is split then, in process context. */
	ASSERT_EQ(0, sess_cmd(fd, NULL, 0, "change dmap_invalid 0x%lx 1", mid));
	EXPECT_EQ((unsigned long)page, leaf_size(fd, mid, &valid));
	EXPECT_EQ(0, sess_cmd(fd, NULL, 0, "change dmap_irqsoff 0x%lx 1", mid));
	EXPECT_EQ((unsigned long)page, leaf_size(fd, mid, &valid));
	EXPECT_EQ(1, valid);
	ASSERT_EQ(0, sess_cmd(fd, result, sizeof(result), "probe 0x%lx 1", mid));
	EXPECT_EQ(0, strncmp(result, "rw", 2)) TH_LOG("probe after the map back: %.8s", result);
	close(fd);
}

TEST(hibernation_copy_revalidates)
{
	long page = sysconf(_SC_PAGESIZE);
	int order = pmd_block_order(page), fd, ret, valid = -1;
	unsigned long addr, n, pmd = (unsigned long)page << order;
	char why[256], *p;

	addr = held_block(_metadata, order, pmd, &fd, why, sizeof(why));
	if (!addr)
		SKIP(return, "%s", why);
	n = 1UL << order;

	ret = sess_cmd(fd, result, sizeof(result), "tcopy 0x%lx 0x%lx", addr, pmd);
	if (ret == -EOPNOTSUPP)
		SKIP(goto out, "kernel without CONFIG_TRANS_TABLE (no hibernation, no kexec)");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, sess_cmd(fd, NULL, 0, "change invalid 0x%lx %lu", addr, n));
	ASSERT_LE(pmd, leaf_size(fd, addr, &valid));
	ASSERT_EQ(0, valid);
	ret = sess_cmd(fd, result, sizeof(result), "tcopy 0x%lx 0x%lx", addr, pmd);
	EXPECT_EQ(0, ret);
	p = strstr(result, "size=");
	ASSERT_NE(NULL, p) TH_LOG("copy: %.80s", result);
	EXPECT_LE(pmd, strtoul(p + 5, NULL, 10)) TH_LOG("copy: %.80s", result);
	EXPECT_NE(NULL, strstr(result, "valid=1"))
		TH_LOG("the copy keeps the invalidated block invalid: %.80s", result);
	ASSERT_EQ(0, sess_cmd(fd, NULL, 0, "change valid 0x%lx %lu", addr, n));
out:
	close(fd);
}

TEST(repaint_change_rebuilt)
{
	char err[512], val[32];
	unsigned long addr, entries, marked;
	const struct pt_line *l;
	struct lm_info info;
	struct pt_map m;

	if (access(HOOKS, R_OK))
		SKIP(return, "no %s: a kernel without the series' test hooks (CONFIG_ARM64_LINEAR_MAP_TEST; mainline has none)",
		     HOOKS);
	ASSERT_EQ(0, hook_key("repaint_change", val, sizeof(val)))
		TH_LOG("%s has no repaint_change key", HOOKS);
	ASSERT_EQ(0, lm_info_read(&info, err, sizeof(err))) TH_LOG("%s", err);
	if (!strcmp(val, "untried")) {
		if (!info.repainted)
			SKIP(return, "no repaint on this boot (linear_map=%s)",
			     info.linear_map);
		EXPECT_EQ(0UL, info.repaint_rebuilt);
		SKIP(return, "not tried: boot with arm64.linear_map_test=repaint-change");
	}
	addr = strtoul(val, NULL, 16);
	ASSERT_EQ(0, hook_key("repaint_change_entries", val, sizeof(val)));
	entries = strtoul(val, NULL, 0);
	ASSERT_EQ(0, hook_key("repaint_change_marked", val, sizeof(val)));
	marked = strtoul(val, NULL, 0);

	EXPECT_EQ(1, info.repainted);
	EXPECT_LT(0UL, entries);
	EXPECT_EQ(entries, marked)
		TH_LOG("block at 0x%lx: %lu of its %lu page entries carry the change made after the preparation",
		       addr, marked, entries);
	EXPECT_EQ(1UL, info.repaint_rebuilt);

	ASSERT_EQ(0, ptdump_read(&m, err, sizeof(err))) TH_LOG("%s", err);
	l = pt_map_line(&m, addr);
	ASSERT_NE(NULL, l) TH_LOG("0x%lx is not in ptdump", addr);
	EXPECT_EQ(PT_PTE, l->level)
		TH_LOG("0x%lx is mapped at level %d after the repaint", addr, l->level);
	EXPECT_FALSE(l->hole);
	pt_map_free(&m);
}

int main(int argc, char **argv)
{
	bbml2_prereq(NEED_PTDUMP | NEED_MODULE | NO_SERIES_OK);
	return test_harness_run(argc, argv);
}
