// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side unit test of el2shim's CPU-list parser and DT reader.
 *
 *   test-host [DTB]
 *
 * DTB: QEMU's own virt device tree, dumped with -M virt,...,dumpdtb=FILE
 * -smp 4 -m 2048 -append "a el2shim.cpus=x4r0p3,3*a720 b" and an -initrd
 * (lab/el2shim/tests/dump-dtb.sh). Without it the DT cases are skipped.
 * Prints KTAP; exits 1 if any case failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../cpulist.h"
#include "../fdt.h"

static int n_test, n_fail;

static void result(int ok, const char *name)
{
	printf("%sok %d %s\n", ok ? "" : "not ", ++n_test, name);
	if (!ok)
		n_fail++;
}

static void parse_ok(const char *s, int n, const u32 *want, const char *name)
{
	u32 midr[16];
	const char *err = NULL, *at = NULL;
	int got = cpulist_parse(s, midr, 16, &err, &at);
	int ok = got == n && !memcmp(midr, want, n * sizeof(u32));

	if (!ok) {
		printf("# '%s': got %d (%s)", s, got, err ? err : "");
		for (int i = 0; i < got; i++)
			printf(" %#x", midr[i]);
		printf("\n");
	}
	result(ok, name);
}

static void parse_bad(const char *s, const char *want_err, int at_off,
		      const char *name)
{
	u32 midr[16];
	const char *err = NULL, *at = NULL;
	int got = cpulist_parse(s, midr, 16, &err, &at);
	int ok = got == -1 && err && strstr(err, want_err) && at == s + at_off;

	if (!ok)
		printf("# '%s': got %d err '%s' at %ld\n", s, got,
		       err ? err : "(none)", at ? (long)(at - s) : -1L);
	result(ok, name);
}

static void test_cpulist(void)
{
	static const u32 mixed[] = { 0x410fd823, 0x410fd810, 0x410fd810, 0x410fd810 };
	static const u32 v3[] = { 0x410fd842, 0x410fd841 };
	static const u32 hex[] = { 0xc00fac30, 0x410fd842 };
	static const u32 names[] = { 0x410fd830, 0x410fd840, 0xc00fac40, 0x4e0f0100 };
	static const u32 host[] = { 0, 0x410fd823, 0 };
	u32 a53[16];

	parse_ok("x4r0p3,3*a720r0p0", 4, mixed, "cpulist_mixed");
	parse_ok("x4r0p3,3*a720 root=/dev/x", 4, mixed, "cpulist_ends_at_space");
	parse_ok("v3r0p2,v3r0p1", 2, v3, "cpulist_revisions");
	parse_ok("0xc00fac30,0x410FD842", 2, hex, "cpulist_hex");
	parse_ok("v3ae,v3,ampere1a,olympus", 4, names, "cpulist_longest_name");
	parse_ok("host,x4r0p3,host", 3, host, "cpulist_host");
	for (int i = 0; i < 16; i++)
		a53[i] = 0x410fd030;
	parse_ok("16*a53", 16, a53, "cpulist_max");
	parse_bad("x4r0p3,a999", "unknown CPU model", 7, "cpulist_unknown_model");
	parse_bad("x4r0", "bad revision", 0, "cpulist_bad_revision");
	parse_bad("x4r16p0", "bad revision", 0, "cpulist_variant_range");
	parse_bad("0*x4", "bad count", 0, "cpulist_zero_count");
	parse_bad("x4,17*a720", "bad count", 3, "cpulist_count_too_big");
	parse_bad("9*x4,9*a720", "more CPUs", 5, "cpulist_too_many");
	parse_bad("0x123456789", "bad hex MIDR", 0, "cpulist_hex_too_long");
	parse_bad("x4,", "unknown CPU model", 3, "cpulist_trailing_comma");
	parse_bad("x4;a720", "unknown CPU model", 0, "cpulist_bad_separator");

	result(cpulist_model(0x410fd823) && !strcmp(cpulist_model(0x410fd823), "Cortex-X4") &&
	       cpulist_model(0x000f0510) == NULL, "cpulist_model_names");
}

static void test_fdt(const char *path)
{
	struct fdt_info info;
	const char *err = NULL;
	static u8 buf[1 << 20];
	size_t len;
	FILE *f = fopen(path, "rb");

	if (!f) {
		printf("# cannot read %s\n", path);
		result(0, "fdt_read_dtb");
		return;
	}
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);

	if (fdt_scan(buf, &info, &err)) {
		printf("# fdt_scan: %s\n", err);
		result(0, "fdt_scan");
		return;
	}
	result(info.totalsize <= len, "fdt_totalsize");
	result(info.ncpus == 4 && info.mpidr[0] == 0 && info.mpidr[3] == 3,
	       "fdt_cpus");
	result(info.nmem == 1 && info.mem_base == 0x40000000 &&
	       info.mem_size == 2048UL << 20, "fdt_memory");
	result(info.bootargs && strstr(info.bootargs, "el2shim.cpus=x4r0p3,3*a720"),
	       "fdt_bootargs");
	result(info.psci_method && !strcmp(info.psci_method, "smc"), "fdt_psci_smc");
	result(info.initrd_start == 0x48000000 && info.initrd_end > info.initrd_start,
	       "fdt_initrd");

	{
		u64 b = 1, sz = 1, b2, sz2;
		static u8 orig[1 << 20];

		memcpy(orig, buf, sizeof(orig));
		result(fdt_get_memreserve(buf, 0, &b, &sz) == -1, "fdt_no_memreserve");
		result(!fdt_add_memreserve(buf, 0x40200000, 0x200000, &err) &&
		       !fdt_get_memreserve(buf, 0, &b, &sz) && b == 0x40200000 &&
		       sz == 0x200000 && fdt_get_memreserve(buf, 1, &b2, &sz2) == -1,
		       "fdt_add_memreserve");
		result(!fdt_scan(buf, &info, &err) && info.ncpus == 4 &&
		       info.mem_base == 0x40000000 && info.bootargs &&
		       strstr(info.bootargs, "el2shim.cpus=x4r0p3,3*a720 b") &&
		       !strcmp(info.psci_method, "smc"), "fdt_rescan_after_memreserve");
		result(!fdt_add_memreserve(buf, 0x1000, 0x2000, &err) &&
		       !fdt_get_memreserve(buf, 1, &b2, &sz2) && b2 == 0x1000 &&
		       sz2 == 0x2000 && !fdt_scan(buf, &info, &err) && info.ncpus == 4,
		       "fdt_second_memreserve");
		/* no free space left: refused, DTB untouched */
		memcpy(buf, orig, sizeof(orig));
		{
			u32 end = (u32)buf[12] << 24 | buf[13] << 16 | buf[14] << 8 | buf[15];

			end += (u32)buf[32] << 24 | buf[33] << 16 | buf[34] << 8 | buf[35];
			buf[4] = end >> 24;
			buf[5] = end >> 16;
			buf[6] = end >> 8;
			buf[7] = end;
			result(fdt_add_memreserve(buf, 0x40200000, 0x200000, &err) == -1 &&
			       strstr(err, "no free space") &&
			       fdt_get_memreserve(buf, 0, &b, &sz) == -1,
			       "fdt_memreserve_no_room");
		}
		memcpy(buf, orig, sizeof(orig));
	}

	buf[0] ^= 0xff;
	result(fdt_scan(buf, &info, &err) == -1 && strstr(err, "bad magic"),
	       "fdt_bad_magic");
	buf[0] ^= 0xff;
	/* break the first token of the structure block */
	{
		u32 off = (u32)buf[8] << 24 | buf[9] << 16 | buf[10] << 8 | buf[11];

		buf[off + 3] = 7;
		result(fdt_scan(buf, &info, &err) == -1 && strstr(err, "bad token"),
		       "fdt_bad_token");
	}
}

/* el2shim.bbm3= and el2shim.hold= */
static void test_knobs(void)
{
	const char *err = NULL;
	u32 mask = 0, ms = 0;
	int cpu = -1;

	result(!cpuset_parse("all", &mask, 4, &err) && mask == 0xf, "bbm3_all");
	result(!cpuset_parse("0,2 x", &mask, 4, &err) && mask == 0x5, "bbm3_list");
	result(cpuset_parse("4", &mask, 4, &err) == -1 && strstr(err, "bad CPU index"),
	       "bbm3_index_too_big");
	result(cpuset_parse("1,", &mask, 4, &err) == -1, "bbm3_trailing_comma");
	result(!hold_parse("1:12000", &cpu, &ms, 4, &err) && cpu == 1 && ms == 12000,
	       "hold_ok");
	result(hold_parse("1:0", &cpu, &ms, 4, &err) == -1 && strstr(err, "bad time"),
	       "hold_zero_time");
	result(hold_parse("7:10", &cpu, &ms, 4, &err) == -1 && strstr(err, "bad CPU"),
	       "hold_bad_cpu");
}

int main(int argc, char **argv)
{
	printf("KTAP version 1\n1..%d\n", argc > 1 ? 37 : 24);
	test_cpulist();
	test_knobs();
	if (argc > 1)
		test_fdt(argv[1]);
	printf("# %d passed, %d failed\n", n_test - n_fail, n_fail);
	return n_fail ? 1 : 0;
}
