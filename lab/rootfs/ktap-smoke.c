// SPDX-License-Identifier: GPL-2.0
/*
 * Boot smoke test for bbml2-lab guests: did the kernel come up the way the
 * job asked? Expectations come from the kernel command line the runner
 * built (bbml2lab.cpus=, bbml2lab.mem_mb=), never from this program.
 *
 * Output is KTAP version 1; the per-CPU checks are a nested subtest.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failed;

static void result(int num, int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d %s", ok ? "" : "not ", num, name);
	if (fmt) {
		printf(" # ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	printf("\n");
	if (!ok)
		failed = 1;
}

static void skip(int num, const char *name, const char *why)
{
	printf("ok %d %s # SKIP %s\n", num, name, why);
}

static int read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return (int)n;
}

/* Value of "key=" on the kernel command line, or -1 if absent. */
static long cmdline_long(const char *cmdline, const char *key)
{
	const char *p = cmdline;
	size_t klen = strlen(key);

	while ((p = strstr(p, key))) {
		if ((p == cmdline || p[-1] == ' ') && p[klen] == '=')
			return strtol(p + klen + 1, NULL, 0);
		p += klen;
	}
	return -1;
}

static long meminfo_kb(const char *field)
{
	char line[256];
	long val = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, strlen(field)) &&
		    line[strlen(field)] == ':') {
			val = strtol(line + strlen(field) + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

static void test_cpus(int num, long want)
{
	char path[96], buf[16];
	long present = sysconf(_SC_NPROCESSORS_CONF);
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	int ok = 1;
	long cpu;

	printf("  KTAP version 1\n");
	printf("  # Subtest: cpus\n");
	printf("  1..%ld\n", present > 0 ? present : 0);
	for (cpu = 0; cpu < present; cpu++) {
		int on = 1;

		snprintf(path, sizeof(path),
			 "/sys/devices/system/cpu/cpu%ld/online", cpu);
		if (read_file(path, buf, sizeof(buf)) > 0)
			on = buf[0] == '1';
		printf("  %sok %ld cpu%ld_online\n", on ? "" : "not ", cpu + 1,
		       cpu);
		ok &= on;
	}
	if (want > 0)
		result(num, ok && online == want, "cpus",
		       "online=%ld asked=%ld", online, want);
	else
		result(num, ok && online >= 1, "cpus", "online=%ld", online);
}

int main(void)
{
	static char cmdline[4096], buf[256];
	long want_mb, total_kb;
	int n = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("KTAP version 1\n");
	printf("1..6\n");

	result(++n, getpid() == 1 || getppid() >= 1, "init_started", NULL);

	if (read_file("/proc/cmdline", cmdline, sizeof(cmdline)) <= 0) {
		result(++n, 0, "cmdline_readable", "/proc/cmdline: %s",
		       strerror(errno));
		cmdline[0] = '\0';
	} else {
		cmdline[strcspn(cmdline, "\n")] = '\0';
		result(++n, 1, "cmdline_readable", NULL);
	}

	test_cpus(++n, cmdline_long(cmdline, "bbml2lab.cpus"));

	want_mb = cmdline_long(cmdline, "bbml2lab.mem_mb");
	total_kb = meminfo_kb("MemTotal");
	if (want_mb <= 0) {
		skip(++n, "memory", "bbml2lab.mem_mb= not on the command line");
	} else {
		/*
		 * The kernel keeps its image and reservations out of MemTotal;
		 * generic KASAN also reserves 1/8 of RAM for its shadow. A
		 * guest given half of what was asked still fails.
		 */
		long lo = want_mb * 1024 * 75 / 100, hi = want_mb * 1024;

		result(++n, total_kb >= lo && total_kb <= hi, "memory",
		       "MemTotal=%ldkB asked=%ldMiB", total_kb, want_mb);
	}

	if (access("/proc/config.gz", R_OK))
		result(++n, 0, "ikconfig", "/proc/config.gz: %s",
		       strerror(errno));
	else
		result(++n, 1, "ikconfig", NULL);

	if (read_file("/sys/kernel/debug/kernel_page_tables", buf,
		      sizeof(buf)) == -ENOENT)
		skip(++n, "ptdump", "CONFIG_PTDUMP_DEBUGFS not set");
	else
		result(++n, strstr(buf, "---[ ") != NULL, "ptdump", NULL);

	return failed;
}
