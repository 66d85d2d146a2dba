// SPDX-License-Identifier: GPL-2.0
/*
 * bbml2_mode: the linear map mode the kernel reports agrees with the
 * arm64.bbml2= option on the command line (or BBML2_EXPECT_MODE), with
 * the boot log and with the page tables; the option parser logs exactly
 * the documented warnings.
 *
 * On a kernel without the series' report, switch and log line (mainline
 * 6.18+), what the kernel must do follows from the MIDRs and the kernel
 * tree's allow-list alone: ptdump_agrees, taint, cmdline_warnings (none
 * may be logged) and boot_log_line (the capability's "detected" line
 * exactly when every early CPU is listed) run there; the tests of the
 * report skip, naming it. derived_from_ptdump checks, on the series, the
 * derivation from ptdump and /proc/iomem that those kernels rely on
 * against the report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kselftest_harness.h"
#include "bbml2_util.h"

#define LOG_LINE	"linear map: bbml2 options="
#define CLEARED		"no BBM Level 2 without TLB conflict abort: capability cleared"
#define DETECTED	"detected: BBM Level 2 without TLB conflict abort"
/* 7.x calls the capability BBML3 (ARM64_HAS_BBML3, "BBM Level 3"). */
#define DETECTED_MAINLINE	"detected: BBM Level 3"
#define BANNER		"arm64.bbml2=assume: every CPU is treated as having"
#define TAINT_CPU_OUT_OF_SPEC	2

struct state {
	struct lm_info info;
	struct bbml2_expect e;
};

static void get_state(struct __test_metadata *_metadata, struct state *st)
{
	char err[512];

	ASSERT_EQ(0, lm_info_get(&st->info, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(0, bbml2_expect_get(&st->e, &st->info, err, sizeof(err)))
		TH_LOG("%s", err);
	TH_LOG("expected: %s", st->e.why);
}

/* The boot log; false (and a skip) if its start is no longer there. */
static bool get_boot_log(struct __test_metadata *_metadata, struct kmsg *k)
{
	unsigned long long first;

	ASSERT_EQ(0, kmsg_read(k, 0)) TH_LOG("cannot read /dev/kmsg");
	if (k->first_seq != 0) {
		first = k->first_seq;
		kmsg_free(k);
		SKIP(return false,
		     "the boot log is no longer in the kernel log buffer (first record %llu)",
		     first);
	}
	return true;
}

/* The message without the "CPU features: " prefix of cpufeature.c. */
static const char *strip_prefix(const char *msg)
{
	static const char prefix[] = "CPU features: ";

	return strncmp(msg, prefix, sizeof(prefix) - 1) ? msg :
							 msg + sizeof(prefix) - 1;
}

/* Only for TEST_F_TIMEOUT: walking a page-mapped 8 GiB map takes time. */
FIXTURE(mode) {
	int unused;
};

FIXTURE_SETUP(mode)
{
}

FIXTURE_TEARDOWN(mode)
{
}

TEST(debugfs_matches_cmdline)
{
	struct state st;
	char buf[64];
	const char *rodata;

	SKIP_WITHOUT_REPORT(return);
	get_state(_metadata, &st);
	EXPECT_STREQ(st.e.options, st.info.options);
	EXPECT_EQ(st.e.boot_cpu, st.info.boot_cpu_bbml2);
	EXPECT_EQ(st.e.system, st.info.system_bbml2);
	EXPECT_EQ(st.e.blocks_at_boot, st.info.blocks_at_boot);
	EXPECT_EQ(st.e.requires, st.info.requires_bbml2);
	EXPECT_EQ(st.e.repainted, st.info.repainted);
	EXPECT_STREQ(st.e.map, st.info.linear_map);

	/* rodata= is not under test, but the report must agree with it. */
	rodata = cmdline_param("rodata", buf, sizeof(buf));
	if (rodata && !strcmp(rodata, "full")) {
		EXPECT_EQ(1, st.info.rodata_full);
	} else if (rodata && (!strcmp(rodata, "on") || !strcmp(rodata, "off"))) {
		EXPECT_EQ(0, st.info.rodata_full);
	}

	/*
	 * The repaint report is consistent with whether it ran. Its tables
	 * are filled before stop_machine(), and refilled inside only for a
	 * block changed in between: the test hook's one, or none.
	 */
	if (st.info.repainted) {
		const char *hook = cmdline_param("arm64.linear_map_test", buf,
						 sizeof(buf));

		EXPECT_LT(0ULL, st.info.repaint_ns);
		EXPECT_LE(st.info.repaint_ns, st.info.repaint_stop_machine_ns);
		EXPECT_LT(0ULL, st.info.repaint_prep_ns);
		EXPECT_EQ(hook && strstr(hook, "repaint-change") ? 1UL : 0UL,
			  st.info.repaint_rebuilt);
		EXPECT_LT(0UL, st.info.repaint.tables_pte);
		EXPECT_EQ(0, st.info.requires_bbml2);
	} else {
		struct lm_counts zero = { 0 };

		EXPECT_EQ(0ULL, st.info.repaint_ns);
		EXPECT_EQ(0ULL, st.info.repaint_stop_machine_ns);
		EXPECT_EQ(0ULL, st.info.repaint_prep_ns);
		EXPECT_EQ(0UL, st.info.repaint_rebuilt);
		EXPECT_TRUE(lm_counts_equal(&zero, &st.info.repaint));
	}
	/* Nothing may split on demand unless blocks are in use. */
	if (!st.info.requires_bbml2) {
		struct lm_counts zero = { 0 };

		EXPECT_TRUE(lm_counts_equal(&zero, &st.info.split));
	}
	EXPECT_EQ(0UL, st.info.split_failures);

	/* Address ranges: the alias is page aligned, inside the linear map. */
	EXPECT_LT(st.info.lm_start, st.info.lm_end);
	EXPECT_LE(st.info.lm_start, st.info.alias_start);
	EXPECT_LT(st.info.alias_start, st.info.alias_end);
	EXPECT_LE(st.info.alias_end, st.info.lm_end);
	EXPECT_EQ(0UL, st.info.alias_start % getpagesize());
	EXPECT_EQ(0UL, st.info.alias_end % getpagesize());
}

/*
 * Kernels without the report are checked with what lm_info_derive() makes
 * of ptdump and /proc/iomem: on the series it must agree with the report.
 * Catches a derivation that puts the kernel alias or the linear map
 * elsewhere, or reads the mode wrong, which would make those kernels'
 * shape checks compare the wrong ranges.
 */
TEST(derived_from_ptdump)
{
	struct lm_info rep, der;
	char err[512];

	if (!lm_report_present())
		SKIP(return, "%s: nothing to compare the derivation with", WHY_NO_REPORT);
	if (access(PTDUMP_PATH, R_OK))
		SKIP(return, "no %s (CONFIG_PTDUMP_DEBUGFS)", PTDUMP_PATH);
	ASSERT_EQ(0, lm_info_read(&rep, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(0, lm_info_derive(&der, err, sizeof(err))) TH_LOG("%s", err);
	TH_LOG("report: linear map 0x%lx-0x%lx, alias 0x%lx-0x%lx, %s, rodata_full=%d",
	       rep.lm_start, rep.lm_end, rep.alias_start, rep.alias_end,
	       rep.linear_map, rep.rodata_full);
	TH_LOG("derived: linear map 0x%lx-0x%lx, alias 0x%lx-0x%lx, %s, rodata_full=%d",
	       der.lm_start, der.lm_end, der.alias_start, der.alias_end,
	       der.linear_map, der.rodata_full);
	EXPECT_EQ(rep.lm_start, der.lm_start);
	EXPECT_EQ(rep.lm_end, der.lm_end);
	EXPECT_EQ(rep.alias_start, der.alias_start);
	EXPECT_EQ(rep.alias_end, der.alias_end);
	EXPECT_STREQ(rep.linear_map, der.linear_map);
	EXPECT_EQ(rep.rodata_full, der.rodata_full);
	EXPECT_EQ(rep.debug_pagealloc, der.debug_pagealloc);
}

/*
 * Without the series: 7.x logs "CPU features: detected: BBM Level 3" once
 * the capability is final, i.e. exactly when every early CPU has it
 * (listed, or ID_AA64MMFR2_EL1.BBM >= 3, which QEMU's CPUs do not
 * report); a mixed system repaints without a line. Catches a kernel that
 * claims the capability on a mixed system, or drops it on a uniform one.
 */
static void boot_log_mainline(struct __test_metadata *_metadata,
			      const struct state *st, struct kmsg *k)
{
	int detected = 0, series = 0;
	size_t i;

	for (i = 0; i < k->nr; i++) {
		const char *m = strip_prefix(k->r[i].msg);

		detected += !strcmp(m, DETECTED_MAINLINE) || !strcmp(m, DETECTED);
		series += !!strstr(k->r[i].msg, LOG_LINE);
	}
	TH_LOG("'%s' lines: %d (expected %d: %s)", DETECTED_MAINLINE, detected,
	       st->e.system, st->e.why);
	EXPECT_EQ(st->e.system, detected);
	EXPECT_EQ(0, series) TH_LOG("the series' '%s' line without its report", LOG_LINE);
}

TEST(boot_log_line)
{
	unsigned long pmd_tables, pte_tables;
	unsigned long long ns, prep_ns;
	int boot_cpu, system, repainted, found = 0, cleared = 0, detected = 0;
	int want_cleared;
	char opts[64], map[16], cpu1[128];
	struct state st;
	struct kmsg k;
	size_t i;
	int cpus[1024];

	get_state(_metadata, &st);
	if (!get_boot_log(_metadata, &k))
		return;
	if (st.info.derived) {
		boot_log_mainline(_metadata, &st, &k);
		kmsg_free(&k);
		return;
	}
	present_cpus(cpus, 1024);
	snprintf(cpu1, sizeof(cpu1), "CPU%d: " CLEARED, cpus[1]);
	for (i = 0; i < k.nr; i++) {
		const char *m = strstr(k.r[i].msg, LOG_LINE);

		if (strstr(k.r[i].msg, CLEARED)) {
			cleared++;
			if ((st.e.opts & BBML2_REPAINT) && st.e.boot_cpu)
				EXPECT_TRUE(strstr(k.r[i].msg, cpu1) != NULL)
					TH_LOG("'%s': the first secondary should clear it",
					       k.r[i].msg);
		}
		if (!strcmp(strip_prefix(k.r[i].msg), DETECTED))
			detected++;
		if (!m)
			continue;
		found++;
		TH_LOG("boot log: %s", m);
		ASSERT_EQ(9, sscanf(m, LOG_LINE "%63s boot_cpu=%d system=%d map=%15s repainted=%d repaint_ns=%llu repaint_pmd_tables=%lu repaint_pte_tables=%lu repaint_prep_ns=%llu",
				    opts, &boot_cpu, &system, map, &repainted,
				    &ns, &pmd_tables, &pte_tables, &prep_ns))
			TH_LOG("unexpected format: %s", m);
		/* The log, the debugfs file and the command line agree. */
		EXPECT_STREQ(st.info.options, opts);
		EXPECT_STREQ(st.e.options, opts);
		EXPECT_EQ(st.info.boot_cpu_bbml2, boot_cpu);
		EXPECT_EQ(st.e.boot_cpu, boot_cpu);
		EXPECT_EQ(st.info.system_bbml2, system);
		EXPECT_EQ(st.e.system, system);
		EXPECT_STREQ(st.info.linear_map, map);
		EXPECT_STREQ(st.e.map, map);
		EXPECT_EQ(st.info.repainted, repainted);
		EXPECT_EQ(st.e.repainted, repainted);
		EXPECT_EQ(st.info.repaint_ns, ns);
		EXPECT_EQ(st.info.repaint_prep_ns, prep_ns);
		EXPECT_EQ(st.info.repaint.tables_pmd, pmd_tables);
		EXPECT_EQ(st.info.repaint.tables_pte, pte_tables);
	}
	kmsg_free(&k);
	EXPECT_EQ(1, found) TH_LOG("'%s...' lines in the boot log", LOG_LINE);

	/*
	 * The capability is detected on the boot CPU when it has it, and
	 * cleared once, by the first early secondary CPU without it.
	 */
	EXPECT_EQ(st.e.boot_cpu, detected);
	want_cleared = st.e.boot_cpu && !st.e.system;
	EXPECT_EQ(want_cleared, cleared);
}

TEST_F_TIMEOUT(mode, ptdump_agrees, 300)
{
	struct lm_shape s;
	struct pt_map m;
	struct lm_geom g;
	struct state st;
	unsigned long blocks;
	char err[512];

	if (access(PTDUMP_PATH, R_OK))
		SKIP(return, "no %s (CONFIG_PTDUMP_DEBUGFS)", PTDUMP_PATH);
	get_state(_metadata, &st);
	ASSERT_EQ(0, lm_geom_init(&g, getpagesize()));
	ASSERT_EQ(0, ptdump_read(&m, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(st.info.lm_start, m.start);
	EXPECT_EQ(st.info.lm_end, m.end);
	pt_map_shape(&m, &g, st.info.alias_start, st.info.alias_end, &s);
	blocks = s.bytes[LMK_PUD] + s.bytes[LMK_CONT_PMD] + s.bytes[LMK_PMD] +
		 s.bytes[LMK_CONT_PTE];
	TH_LOG("outside the kernel alias: PUD %luM CONT_PMD %luM PMD %luM CONT_PTE %luK PTE %luK",
	       s.bytes[LMK_PUD] >> 20, s.bytes[LMK_CONT_PMD] >> 20,
	       s.bytes[LMK_PMD] >> 20, s.bytes[LMK_CONT_PTE] >> 10,
	       s.bytes[LMK_PTE] >> 10);
	if (!strcmp(st.e.map, "pte")) {
		EXPECT_EQ(0UL, blocks)
			TH_LOG("page-mapped linear map has block or contiguous mappings");
	} else {
		EXPECT_LT(0UL, s.bytes[LMK_PUD] + s.bytes[LMK_CONT_PMD] +
			  s.bytes[LMK_PMD])
			TH_LOG("block-mapped linear map has no blocks");
	}
	pt_map_free(&m);
}

TEST(taint)
{
	char buf[64];
	unsigned long tainted;
	struct state st;

	get_state(_metadata, &st);
	ASSERT_LT(0, read_file("/proc/sys/kernel/tainted", buf, sizeof(buf)));
	tainted = strtoul(buf, NULL, 10);
	if (st.e.banners) {
		EXPECT_TRUE(!!(tainted & (1UL << TAINT_CPU_OUT_OF_SPEC)))
			TH_LOG("arm64.bbml2=assume must taint with TAINT_CPU_OUT_OF_SPEC");
	} else if (tainted & (1UL << TAINT_CPU_OUT_OF_SPEC)) {
		struct kmsg k;
		size_t i;
		bool other = false;

		/* The same taint also comes from mismatched CPU features. */
		if (!kmsg_read(&k, 0)) {
			for (i = 0; i < k.nr; i++)
				other |= !!strstr(k.r[i].msg, "Unsupported CPU feature variation");
			kmsg_free(&k);
		}
		EXPECT_TRUE(other) TH_LOG("tainted CPU_OUT_OF_SPEC without arm64.bbml2=assume");
	}
}

/* Test 7: exactly the documented warnings for the given option string. */
TEST(cmdline_warnings)
{
	char got[MAX_WARN][192], buf[256];
	int ngot = 0, banners = 0, i;
	struct state st;
	struct kmsg k;
	size_t r;

	get_state(_metadata, &st);
	if (st.info.derived && cmdline_param("arm64.bbml2", buf, sizeof(buf)))
		SKIP(return, "%s: the option's warnings are not logged", WHY_NO_SWITCH);
	if (!get_boot_log(_metadata, &k))
		return;
	for (r = 0; r < k.nr; r++) {
		const char *m = strip_prefix(k.r[r].msg);

		if (!strncmp(m, "arm64.bbml2: ", 13) && ngot < MAX_WARN)
			snprintf(got[ngot++], sizeof(got[0]), "%s", m);
		if (strstr(m, BANNER))
			banners++;
	}
	kmsg_free(&k);
	TH_LOG("%s: %d warning(s) and %d banner(s) expected, %d and %d logged",
	       st.e.value, st.e.nwarn, st.e.banners, ngot, banners);
	for (i = 0; i < st.e.nwarn || i < ngot; i++) {
		const char *want = i < st.e.nwarn ? st.e.warn[i] : "(none)";
		const char *have = i < ngot ? got[i] : "(none)";

		EXPECT_STREQ(want, have);
	}
	EXPECT_EQ(st.e.banners, banners);
}

int main(int argc, char **argv)
{
	bbml2_prereq(NO_SERIES_OK);
	return test_harness_run(argc, argv);
}
