// SPDX-License-Identifier: GPL-2.0
/*
 * bbml2_plain: what a kernel without the series' switch and
 * instrumentation still shows (mainline 6.18+ has the block-mapped linear
 * map but neither arm64.bbml2= nor the debugfs file), from ptdump, /proc
 * and sysfs only. It runs on the series' kernels too.
 *
 * blocks_match_cpus: the linear map has leaves above PTE level (blocks,
 * contiguous ranges) exactly when the kernel may keep them: rodata=full
 * with every online CPU on the BBML2_NOABORT allow-list (MIDR_EL1 from
 * sysfs), no debug_pagealloc, or what arm64.bbml2= asks where the kernel
 * has the series' switch (its debugfs file is there; "assume" only where
 * CONFIG_ARM64_BBML2_ASSUME allows it). The kernel image's linear alias
 * is left out: map_mem() maps it with blocks in every mode. Catches a system without BBML2 left block mapped (no repaint)
 * and a capable one left page mapped.
 *
 * secret_page_alone: memfd_secret() takes one page out of the linear map:
 * that page, found through /proc/self/pagemap and /proc/iomem, turns
 * invalid at PTE level while the pages around it stay valid, and is valid
 * again once the memfd is gone. Catches a split that invalidates a whole
 * block, or one that is not made valid again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../../kselftest_harness.h"
#include "bbml2_util.h"

#ifndef __NR_memfd_secret
#define __NR_memfd_secret 447
#endif

#define MAX_CPUS	512

/*
 * Whether the kernel should keep blocks in the linear map; 0 or 1, or -1
 * with @why saying what cannot be told.
 */
static int blocks_expected(char *why, size_t len)
{
	static int cpus[MAX_CPUS], present[MAX_CPUS];
	int ncpu, npresent, i, capable = 0;
	char buf[256], path[128];
	const char *v;

	v = cmdline_param("rodata", buf, sizeof(buf));
	if (v && strcmp(v, "full")) {
		snprintf(why, len, "rodata=%s: the linear map is not forced to pages", v);
		return -1;
	}
	v = cmdline_param("debug_pagealloc", buf, sizeof(buf));
	if (v && (!strcmp(v, "on") || !strcmp(v, "1"))) {
		snprintf(why, len, "debug_pagealloc=%s: page mapped whatever the CPUs", v);
		return 0;
	}
	/*
	 * The switch, where the kernel has the series' (its debugfs file
	 * says so; mainline has neither and ignores the option).
	 */
	v = access(LM_DEBUGFS, F_OK) ? NULL : cmdline_param("arm64.bbml2", buf, sizeof(buf));
	if (v && !(!strcmp(v, "assume") && assume_refused())) {
		snprintf(why, len, "arm64.bbml2=%s", v);
		if (strstr(v, "repaint") || strstr(v, "off"))
			return 0;
		if (!strcmp(v, "assume"))
			return 1;
		snprintf(why, len, "arm64.bbml2=%s: bbml2_mode checks this value", v);
		return -1;
	}

	ncpu = online_cpus(cpus, MAX_CPUS);
	npresent = present_cpus(present, MAX_CPUS);
	if (ncpu <= 0) {
		snprintf(why, len, "cannot read the online CPUs");
		return -1;
	}
	if (npresent > ncpu) {
		snprintf(why, len, "%d of %d present CPUs offline: cannot tell the boot's decision",
			 npresent - ncpu, npresent);
		return -1;
	}
	for (i = 0; i < ncpu; i++) {
		snprintf(path, sizeof(path),
			 "/sys/devices/system/cpu/cpu%d/regs/identification/midr_el1", cpus[i]);
		if (read_file(path, buf, sizeof(buf)) <= 0) {
			snprintf(why, len, "cannot read %s", path);
			return -1;
		}
		capable += midr_allowed(strtoull(buf, NULL, 16));
	}
	snprintf(why, len, "%d of %d online CPUs on the allow-list (%s)", capable, ncpu,
		 allowlist_from_tree() ? "the kernel tree's, from the allowlist file" :
					 "built in, the series'");
	return capable == ncpu;
}

TEST(blocks_match_cpus)
{
	struct lm_geom g;
	struct lm_shape s;
	struct phys_map pm;
	struct pt_map m;
	unsigned long big, k0, k1;
	char why[256], err[512];
	int want;

	want = blocks_expected(why, sizeof(why));
	if (want < 0)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, lm_geom_init(&g, getpagesize()));
	ASSERT_EQ(0, ptdump_read(&m, err, sizeof(err))) TH_LOG("%s", err);
	/*
	 * map_mem() maps the kernel image's linear alias ("Kernel code") with
	 * blocks in every mode: only the rest says what the kernel chose.
	 */
	if (phys_map_init(&pm, &m, err, sizeof(err))) {
		pt_map_free(&m);
		SKIP(return, "%s", err);
	}
	ASSERT_EQ(0, iomem_span("Kernel code", true, &k0, &k1))
		TH_LOG("no Kernel code in /proc/iomem");
	pt_map_shape(&m, &g, lm_addr(&pm, k0), lm_addr(&pm, k1), &s);
	pt_map_free(&m);
	big = s.bytes[LMK_PUD] + s.bytes[LMK_CONT_PMD] + s.bytes[LMK_PMD] +
	      s.bytes[LMK_CONT_PTE];
	TH_LOG("%s: outside the image alias, %lu MiB in blocks or contiguous ranges, %lu MiB in pages",
	       why, big >> 20, s.bytes[LMK_PTE] >> 20);
	ASSERT_NE(0UL, s.mapped) TH_LOG("ptdump shows no linear map");
	if (want) {
		EXPECT_NE(0UL, big)
			TH_LOG("block mapping allowed (%s), but every leaf is a page", why);
	} else {
		EXPECT_EQ(0UL, big)
			TH_LOG("pages required (%s), but %lu bytes are in larger leaves", why, big);
	}
}

static bool valid_at(const struct pt_map *m, unsigned long a)
{
	const struct pt_line *l = pt_map_line(m, a);

	return l && !l->hole && !(l->attrs & PTA_F);
}

TEST(secret_page_alone)
{
	unsigned long phys = 0, lo, hi, va;
	struct phys_map pm;
	long page = getpagesize();
	const struct pt_line *l;
	struct pt_map m;
	char err[512], buf[64];
	const char *v;
	void *p;
	int fd;

	v = cmdline_param("debug_pagealloc", buf, sizeof(buf));
	if (v && strcmp(v, "off"))
		SKIP(return, "debug_pagealloc unmaps free pages next to the secret one");
	fd = syscall(__NR_memfd_secret, 0);
	if (fd < 0 && (errno == ENOSYS || errno == EINVAL))
		SKIP(return, "memfd_secret: %s (CONFIG_SECRETMEM, secretmem.enable)",
		     strerror(errno));
	ASSERT_LE(0, fd) TH_LOG("memfd_secret: %s", strerror(errno));
	ASSERT_EQ(0, ftruncate(fd, page));
	p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	memset(p, 0x5a, page);

	ASSERT_EQ(0, user_phys(p, &phys)) TH_LOG("no PFN for the secret page in pagemap");
	ASSERT_EQ(0, ptdump_read(&m, err, sizeof(err))) TH_LOG("%s", err);
	if (phys_map_init(&pm, &m, err, sizeof(err))) {
		pt_map_free(&m);
		SKIP(goto out, "%s", err);
	}
	lo = pm.lo;
	hi = pm.hi;
	va = lm_addr(&pm, phys);
	l = pt_map_line(&m, va);
	ASSERT_NE(NULL, l) TH_LOG("0x%lx (phys 0x%lx) not in the linear map", va, phys);
	TH_LOG("secret page phys 0x%lx at 0x%lx: level %d, attrs 0x%x", phys, va,
	       l->level, l->attrs);
	EXPECT_EQ(PT_PTE, (int)l->level) TH_LOG("the secret page is not a page-level entry");
	EXPECT_TRUE(!!(l->attrs & PTA_F)) TH_LOG("the secret page is still valid in the linear map");
	if (va - page >= lo)
		EXPECT_TRUE(valid_at(&m, va - page)) TH_LOG("the page before it is invalid too");
	if (va + page < hi)
		EXPECT_TRUE(valid_at(&m, va + page)) TH_LOG("the page after it is invalid too");
	pt_map_free(&m);

	munmap(p, page);
	close(fd);
	fd = -1;
	/* The page is freed with its file: valid again. */
	ASSERT_EQ(0, ptdump_read(&m, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_TRUE(valid_at(&m, va)) TH_LOG("0x%lx still invalid after the memfd is gone", va);
	pt_map_free(&m);
out:
	if (fd >= 0) {
		munmap(p, page);
		close(fd);
	}
}

int main(int argc, char **argv)
{
	bbml2_prereq(NEED_PTDUMP | NO_SERIES_OK);
	return test_harness_run(argc, argv);
}
