/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the arm64/bbml2 tests: the series' debugfs file, the
 * expected linear map mode derived from the kernel command line, the
 * kernel log, the test module and whole-program prerequisites.
 */
#ifndef BBML2_UTIL_H
#define BBML2_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "../../kselftest.h"
#include "ptdump_parse.h"

#define DEBUGFS_DIR	"/sys/kernel/debug"
#define LM_DEBUGFS	DEBUGFS_DIR "/arm64/linear_map"
#define MODULE_NAME	"bbml2_test"
#define MODULE_CTL	DEBUGFS_DIR "/" MODULE_NAME "/ctl"
#define MODULE_KO	"test_modules/" MODULE_NAME ".ko"
/* Set to an arm64.bbml2= value ("none" for no option) to override it. */
#define EXPECT_ENV	"BBML2_EXPECT_MODE"

/* /sys/kernel/debug/arm64/linear_map */
struct lm_info {
	char options[64];
	char linear_map[16];
	int rodata_full, debug_pagealloc;
	int boot_cpu_bbml2, system_bbml2;
	int blocks_at_boot, requires_bbml2, repainted;
	unsigned long long repaint_ns, repaint_stop_machine_ns;
	unsigned long long repaint_prep_ns;
	unsigned long repaint_rebuilt;
	struct lm_counts repaint, split;
	unsigned long split_failures;
	unsigned long lm_start, lm_end, alias_start, alias_end;
	int nkeys;
	/*
	 * Not read from the series' report but derived (lm_info_derive()):
	 * only linear_map (what ptdump shows), the address ranges, rodata_full
	 * and debug_pagealloc are known; every other field is 0.
	 */
	bool derived;
};

int lm_info_read(struct lm_info *info, char *err, size_t len);
/* Whether the kernel has the series' report (LM_DEBUGFS). */
bool lm_report_present(void);
/*
 * What a kernel without the report shows of it: the linear map's range
 * (ptdump's markers), the kernel image's alias ("Kernel code" of
 * /proc/iomem, at its linear address), linear_map "blocks" if ptdump
 * shows a leaf larger than a page outside the alias, else "pte", and
 * rodata_full/debug_pagealloc from the command line.
 */
int lm_info_derive(struct lm_info *info, char *err, size_t len);
/* The report where there is one, else lm_info_derive(). */
int lm_info_get(struct lm_info *info, char *err, size_t len);

/*
 * How the running kernel's map_mem() and repaint lay the linear map out,
 * for lm_boot_model_ex() and lm_model_repaint_keep(). The series (6.12):
 * the alias [_text, __init_begin) with blocks but no contiguous entries,
 * the rest around it; the repaint keeps the alias. 7.3 (read from its
 * arch/arm64/mm/mmu.c, used for releases 7.3 and later without the
 * report): the alias and then [__init_end, __bss_stop) mapped first with
 * the flags of the rest (contiguous entries allowed, pages where the rest
 * is page mapped), so no leaf crosses those four edges; the repaint keeps
 * [_stext, __init_begin) and so splits the alias's first block, which
 * holds [_text, _stext). Releases between are taken as 6.12 (not
 * checked). The symbols come from /proc/kallsyms; _text, __init_end and
 * __bss_stop are there only with CONFIG_KALLSYMS_ALL: without them
 * _stext is taken as _text + 64 KiB (SEGMENT_ALIGN) and the model lacks
 * the two data edges (the map is then finer than the model around them,
 * which the refinement checks allow).
 */
struct lm_layout {
	char name[128];
	unsigned long cuts[2];
	int ncuts;
	bool alias_same_flags;
	unsigned long keep_start, keep_end;
};

int lm_layout_get(const struct lm_info *info, struct lm_layout *lay,
		  char *err, size_t len);

/*
 * What a kernel without the series lacks, as the tests that need it name
 * it in their skips (mainline 6.18+ has the feature but none of these).
 */
#define WHY_NO_REPORT	"no " LM_DEBUGFS ": a kernel without the series' report (mainline has none)"
#define WHY_NO_MODULE	"no test module: " MODULE_NAME ".ko needs the series' test-only exports (CONFIG_ARM64_LINEAR_MAP_TEST), which this kernel lacks (mainline has none)"
#define WHY_NO_SWITCH	"no arm64.bbml2= switch: a kernel without the series' report has no switch either (mainline has none)"
/* In a TEST: skip it where the kernel lacks the report / the module. */
#define SKIP_WITHOUT_REPORT(statement) do { \
	if (!lm_report_present()) \
		SKIP(statement, "%s", WHY_NO_REPORT); \
} while (0)
/* Tests that need both name both where both are missing. */
#define SKIP_WITHOUT_SERIES(statement) do { \
	if (!lm_report_present() && module_missing[0]) \
		SKIP(statement, "%s; %s", WHY_NO_REPORT, WHY_NO_MODULE); \
	SKIP_WITHOUT_REPORT(statement); \
	SKIP_WITHOUT_MODULE(statement); \
} while (0)
#define SKIP_WITHOUT_MODULE(statement) do { \
	if (module_missing[0]) \
		SKIP(statement, "%s", module_missing); \
} while (0)
/* Runtime split counters now minus @before. */
void lm_counts_sub(struct lm_counts *d, const struct lm_counts *now,
		   const struct lm_counts *before);
bool lm_counts_equal(const struct lm_counts *a, const struct lm_counts *b);
void lm_counts_str(const struct lm_counts *c, char *buf, size_t len);

/* arm64.bbml2= options, as the kernel parses them. */
#define BBML2_OFF	1u
#define BBML2_ASSUME	2u
#define BBML2_REPAINT	4u

#define MAX_WARN	32

struct bbml2_expect {
	const char *source;	/* "the command line" or EXPECT_ENV */
	char value[256];	/* the arm64.bbml2 occurrences, as given */
	int occurrences;
	unsigned int opts;
	char options[32];	/* "none" or the list the kernel prints */
	/* Warnings the kernel logs while parsing, in order. */
	char warn[MAX_WARN][192];
	int nwarn;
	int banners;		/* "assume" banners */
	/* The linear map decision. */
	int rodata_full, debug_pagealloc, kfence_late;
	int boot_cpu, system, blocks_at_boot, requires, repainted;
	const char *map;
	int early_cpus;
	char why[512];
};


/* Read /proc/cmdline (or EXPECT_ENV) and derive what the kernel must do. */
int bbml2_expect_get(struct bbml2_expect *e, const struct lm_info *info,
		     char *err, size_t len);
/*
 * 0 if the kernel runs the expected mode (linear_map, requires_bbml2,
 * repainted); else -1 and a description in @err.
 */
int bbml2_mode_check(const struct lm_info *info, char *err, size_t len);
/*
 * Whether this kernel refuses arm64.bbml2=assume (CONFIG_ARM64_BBML2_ASSUME
 * "is not set" in /proc/config.gz).
 */
bool assume_refused(void);
/* Value of the last "@name=" on the command line, NULL if absent. */
const char *cmdline_param(const char *name, char *buf, size_t len);

/* Kernel log records from /dev/kmsg. */
struct kmsg_rec {
	unsigned long long seq;
	int level;
	char *msg;
};

struct kmsg {
	struct kmsg_rec *r;
	size_t nr, cap;
	unsigned long long first_seq;
	bool lost;
};

/* Every record still in the buffer with seq >= @from. */
int kmsg_read(struct kmsg *k, unsigned long long from);
void kmsg_free(struct kmsg *k);
/* The sequence number the next record will get. */
unsigned long long kmsg_mark(void);
/* Records since @from that look like a kernel splat, up to @max in @buf. */
int kmsg_splats(unsigned long long from, char *buf, size_t len);

/* The test module. */
int module_load(char *err, size_t len);
/*
 * module_load(), and whether the error is a missing prerequisite (@absent:
 * no .ko next to the program, or unknown symbols, i.e. a kernel without
 * CONFIG_ARM64_LINEAR_MAP_TEST) rather than a failure.
 */
int module_try_load(char *err, size_t len, bool *absent);
int module_unload(void);
/* Wait until the init memory of the module is freed (a work item). */
int module_sync(void);
int sess_open(void);
/* Run a command; 0 and the result in @out, or -errno. */
__printf(4, 5)
int sess_cmd(int fd, char *out, size_t outlen, const char *fmt, ...);
struct module_info {
	unsigned long kfence_start, kfence_end;
	long page_size;
};
int module_info_get(int fd, struct module_info *mi);

/*
 * Whole-program prerequisites; ksft_exit_skip() when absent, and
 * ksft_exit_fail_msg() when present but broken (a module that fails to
 * load for any reason but a missing .ko or unknown symbols).
 */
#define NEED_PTDUMP	1u
#define NEED_MODULE	2u
/*
 * Runs on kernels without the series' debugfs file too (mainline 6.18+,
 * or the series without its instrumentation): only what ptdump, /proc and
 * sysfs show. Without it, such a kernel skips the whole program.
 */
#define NO_SERIES_OK	4u
void bbml2_prereq(unsigned int need);
/* Whether bbml2_prereq() loaded the module (it unloads it at exit). */
extern bool module_loaded_here;
/*
 * With NEED_MODULE | NO_SERIES_OK, a module that is missing (no .ko, or a
 * kernel without the test exports) does not skip the program: this says
 * why (WHY_NO_MODULE and the loader's error), and the tests that need the
 * module skip with it (SKIP_WITHOUT_MODULE). "" when it is loaded.
 */
extern char module_missing[1024];

/*
 * Whether @midr is on the kernel's BBML2 allow-list: the kernel tree's
 * list where the suite was built with one ("allowlist" next to the
 * program, written at build time from cpufeature.c and cputype.h by
 * lab/bbml2lab/allowlist.py), else the series' list built in.
 */
bool midr_allowed(unsigned long long midr);
/* Whether midr_allowed() uses the kernel tree's list. */
bool allowlist_from_tree(void);

/*
 * Physical to linear-map addresses from ptdump and /proc/iomem: the
 * linear map maps RAM linearly, so its first mapped byte is the first
 * byte of System RAM.
 */
struct phys_map {
	unsigned long ram0, ram1, lo, hi;
};

int phys_map_init(struct phys_map *pm, const struct pt_map *m, char *why,
		  size_t len);
unsigned long lm_addr(const struct phys_map *pm, unsigned long phys);
/*
 * Physical address of the user page at @p: 0, or -errno (-ENOENT when
 * pagemap shows no PFN: not present, or not root).
 */
int user_phys(const void *p, unsigned long *phys);
/* From the first to the end of the last /proc/iomem entry named @name. */
int iomem_span(const char *name, bool nested, unsigned long *start,
	       unsigned long *end);

int read_file(const char *path, char *buf, size_t len);
int write_file(const char *path, const char *s);
int online_cpus(int *cpus, int max);
int present_cpus(int *cpus, int max);
unsigned long align_down(unsigned long x, unsigned long a);
/*
 * Order of a PMD_SIZE block (a page of page/8 entries: 9 with 4K pages,
 * 11 with 16K), at most 32 MiB (64K pages: a 32 MiB chunk inside a
 * 512 MiB block) and the allocator's MAX_PAGE_ORDER. Buddy chunks are
 * naturally aligned: one never straddles two blocks.
 */
/* A /proc/iomem entry, [start, end). */
struct iomem_res {
	unsigned long start, end;
};

/*
 * The /proc/iomem entries named exactly @name: top-level ones ("System
 * RAM"), or nested ones ("Kernel code") with @nested. Up to @max into @r;
 * returns how many there are, or -errno.
 */
int iomem_find(const char *name, bool nested, struct iomem_res *r, int max);
/*
 * Bytes of System RAM hot-added since boot (outside the boot log's early
 * memory node ranges); 0 if none or if the boot log is gone.
 */
unsigned long ram_added_since_boot(void);
int pmd_block_order(long page);
/*
 * Size of the pool chunks of the split and stress tests: a PMD block, at
 * least 4 MiB and at most 32 MiB (inside a block with 64K pages).
 */
unsigned long lm_test_chunk(const struct lm_geom *g);

#endif /* BBML2_UTIL_H */
