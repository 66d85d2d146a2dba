// SPDX-License-Identifier: GPL-2.0
/*
 * bbml2-lab micro-benchmarks: shared harness (options, platform and mode
 * proof, CPU pinning, fixed-seed permutations, kernel-only PMU counters,
 * sampling, JSON output). See common.h.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include "common.h"
#include "tlblayout.h"

#define LINEAR_MAP_FILE	"/sys/kernel/debug/arm64/linear_map"
#define MIDR_FMT	"/sys/devices/system/cpu/cpu%d/regs/identification/midr_el1"
#define PMU_DEVICES	"/sys/bus/event_source/devices"

/* ---- small file helpers ------------------------------------------------- */

long read_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	buf[0] = '\0';
	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	if (ferror(f)) {
		int err = errno ? errno : EIO;

		fclose(f);
		return -err;
	}
	fclose(f);
	return (long)n;
}

static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
}

long meminfo_kb(const char *field)
{
	char line[256];
	size_t flen = strlen(field);
	long val = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, flen) && line[flen] == ':') {
			val = strtol(line + flen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

/* Is @cpu in the cpulist @list ("0-3,6")? */
static bool cpulist_has(const char *list, int cpu)
{
	const char *p = list;

	while (*p) {
		char *end;
		long a = strtol(p, &end, 10), b;

		if (end == p)
			break;
		b = a;
		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		if (cpu >= a && cpu <= b)
			return true;
		p = end;
		if (*p == ',')
			p++;
		else
			break;
	}
	return false;
}

/* Highest CPU in the cpulist @list, -1 if empty. */
static int cpulist_last(const char *list)
{
	int cpu, last = -1;

	for (cpu = 0; cpu < 4096; cpu++)
		if (cpulist_has(list, cpu))
			last = cpu;
	return last;
}

/* ---- options ------------------------------------------------------------ */

static void usage(const struct bench_desc *d, FILE *f)
{
	fprintf(f,
		"usage: %s [options]\n"
		"%s: %s\n\n"
		"  -s, --samples N  samples per metric (default 10)\n"
		"  -k, --ops K      operations per sample (default: per benchmark)\n"
		"  -n, --size N     %s\n"
		"  -c, --cpu C      pin to CPU C (default: highest online CPU of the PMU)\n"
		"      --seed S     permutation seed (default 0x5eed)\n"
		"      --tcg        emulator sizes (default: when MIDR implementer is 0)\n"
		"      --no-tcg     hardware sizes\n"
		"      --no-pmu     do not open PMU counters\n"
		"  -d, --dir DIR    scratch directory on tmpfs (default /tmp)\n"
		"      --sizes LIST working sets to sweep, e.g. 64K,2M,3M (benchmarks that sweep)\n"
		"      --tlbmodel   write leaf layouts and window labels on the console for\n"
		"                   the QEMU TLB model (bench/tlbmodel); the window markers\n"
		"                   (NOP hints) run either way\n"
		"  -h, --help       this text\n",
		d->name, d->id, d->summary,
		d->size_help ? d->size_help : "(unused)");
}

/* "64K,1M,1536K": KiB, ascending, into o->sizes_kib. */
static int parse_sizes(const char *arg, struct bench_opts *o)
{
	const char *p = arg;
	char *end;

	o->nsizes = 0;
	while (*p) {
		long v = strtol(p, &end, 10);

		if (end == p || v <= 0 || o->nsizes == BENCH_MAX_SIZES)
			return -1;
		if (*end == 'K' || *end == 'k')
			end++;
		else if (*end == 'M' || *end == 'm')
			v <<= 10, end++;
		else if (*end == 'G' || *end == 'g')
			v <<= 20, end++;
		else
			return -1;
		if (o->nsizes && v <= o->sizes_kib[o->nsizes - 1])
			return -1;
		o->sizes_kib[o->nsizes++] = v;
		if (*end == ',')
			end++;
		else if (*end)
			return -1;
		p = end;
	}
	return o->nsizes ? 0 : -1;
}

void bench_parse_opts(const struct bench_desc *d, int argc, char **argv,
		      struct bench_opts *o)
{
	static const struct option lopts[] = {
		{ "samples", required_argument, NULL, 's' },
		{ "ops", required_argument, NULL, 'k' },
		{ "size", required_argument, NULL, 'n' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "seed", required_argument, NULL, 'S' },
		{ "tcg", no_argument, NULL, 'T' },
		{ "no-tcg", no_argument, NULL, 'H' },
		{ "no-pmu", no_argument, NULL, 'P' },
		{ "dir", required_argument, NULL, 'd' },
		{ "sizes", required_argument, NULL, 'z' },
		{ "tlbmodel", no_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->samples = 10;
	o->cpu = -1;
	o->tcg = -1;
	o->seed = 0x5eed;
	o->dir = "/tmp";

	while ((c = getopt_long(argc, argv, "s:k:n:c:d:h", lopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->samples = atoi(optarg);
			break;
		case 'k':
			o->ops = strtol(optarg, NULL, 0);
			break;
		case 'n':
			o->size = strtol(optarg, NULL, 0);
			break;
		case 'c':
			o->cpu = atoi(optarg);
			break;
		case 'S':
			o->seed = strtoull(optarg, NULL, 0);
			break;
		case 'T':
			o->tcg = 1;
			break;
		case 'H':
			o->tcg = 0;
			break;
		case 'P':
			o->no_pmu = true;
			break;
		case 'd':
			o->dir = optarg;
			break;
		case 'z':
			if (parse_sizes(optarg, o)) {
				fprintf(stderr, "%s: bad --sizes '%s': want ascending sizes like 64K,2M,3M (at most %d)\n",
					d->name, optarg, BENCH_MAX_SIZES);
				exit(2);
			}
			break;
		case 'M':
			o->tlbmodel = true;
			break;
		case 'h':
			usage(d, stdout);
			exit(0);
		default:
			usage(d, stderr);
			exit(2);
		}
	}
	if (optind < argc || o->samples < 1 || o->samples > BENCH_MAX_SAMPLES ||
	    o->ops < 0 || o->size < 0) {
		usage(d, stderr);
		exit(2);
	}
	if (!o->seed)
		o->seed = 0x5eed;	/* xorshift needs a non-zero state */
}

/* ---- platform ----------------------------------------------------------- */

static void read_linear_map(struct bench_platform *p)
{
	long n = read_text(LINEAR_MAP_FILE, p->linear_map,
			   sizeof(p->linear_map));

	if (n == -ENOENT) {
		/* An initramfs may not have mounted debugfs yet. */
		mkdir("/sys/kernel/debug", 0700);
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
		n = read_text(LINEAR_MAP_FILE, p->linear_map,
			      sizeof(p->linear_map));
	}
	if (n < 0) {
		snprintf(p->linear_map_err, sizeof(p->linear_map_err),
			 "%s: %s%s", LINEAR_MAP_FILE, strerror((int)-n),
			 n == -ENOENT ? " (no debugfs, or kernel without the series)" : "");
		p->linear_map[0] = '\0';
	}
}

static bool file_has(const char *path, const char *what, size_t len)
{
	char buf[4096];
	long n = read_text(path, buf, sizeof(buf));
	long i;

	/* Device-tree strings are NUL-separated: search every one. */
	for (i = 0; n > 0 && i + (long)len <= n; i++)
		if (!memcmp(buf + i, what, len))
			return true;
	return false;
}

static bool dmesg_has(const char *what)
{
	int size = klogctl(10, NULL, 0);	/* SYSLOG_ACTION_SIZE_BUFFER */
	bool found = false;
	char *buf;
	int n;

	if (size <= 0)
		return false;
	buf = malloc(size + 1);
	if (!buf)
		return false;
	n = klogctl(3, buf, size);		/* SYSLOG_ACTION_READ_ALL */
	if (n > 0) {
		buf[n] = '\0';
		found = strstr(buf, what) != NULL;
	}
	free(buf);
	return found;
}

/*
 * Emulated (QEMU TCG), virtual machine (KVM, Xen) or bare metal, from more
 * than the MIDR: QEMU's -cpu max has implementer 0, but TCG with a named CPU
 * model and every KVM guest carry real MIDRs. A QEMU "virt" board
 * (linux,dummy-virt) or QEMU DMI without hypervisor services is TCG.
 */
static void classify(struct bench_platform *p)
{
	bool kvm = dmesg_has("KVM: hypervisor services detected");
	bool xen = !access("/proc/device-tree/hypervisor", F_OK) ||
		   file_has("/sys/hypervisor/type", "xen", 3);
	bool dtvirt = file_has("/proc/device-tree/compatible", "linux,dummy-virt", 16);
	bool dmiqemu = file_has("/sys/class/dmi/id/sys_vendor", "QEMU", 4);

	if (p->have_midr && p->implementer == 0) {
		p->platform_class = "emulated";
		snprintf(p->class_why, sizeof(p->class_why),
			 "MIDR implementer 0 (QEMU TCG -cpu max)");
	} else if (kvm || xen) {
		p->platform_class = "virtual machine";
		snprintf(p->class_why, sizeof(p->class_why), "%s%s",
			 kvm ? "SMCCC: KVM hypervisor services detected" : "",
			 xen ? (kvm ? "; Xen hypervisor node" : "Xen hypervisor node") : "");
	} else if (dtvirt || dmiqemu) {
		p->platform_class = "emulated";
		snprintf(p->class_why, sizeof(p->class_why),
			 "%s without hypervisor services: QEMU TCG with a real MIDR",
			 dtvirt ? "QEMU virt machine (DT linux,dummy-virt)" : "QEMU DMI vendor");
	} else {
		p->platform_class = "bare metal";
		snprintf(p->class_why, sizeof(p->class_why),
			 "no emulator or hypervisor sign (MIDR, DT, DMI, SMCCC, Xen)");
	}
}

void bench_platform_cpu(struct bench_platform *p, int cpu)
{
	char path[96], buf[128];

	snprintf(path, sizeof(path), MIDR_FMT, cpu);
	if (read_text(path, buf, sizeof(buf)) > 0) {
		p->have_midr = true;
		p->midr = strtoull(buf, NULL, 0);
		p->implementer = (p->midr >> 24) & 0xff;
		p->midr_cpu = cpu;
	}
}

void bench_platform_read(struct bench_platform *p, int tcg_opt)
{
	struct utsname u;

	memset(p, 0, sizeof(*p));
	p->midr_cpu = -1;
	bench_platform_cpu(p, 0);
	classify(p);
	if (tcg_opt == 1) {
		p->emulated = true;
		p->emulated_why = "--tcg option";
	} else if (tcg_opt == 0) {
		p->emulated_why = "--no-tcg option";
	} else if (!strcmp(p->platform_class, "emulated")) {
		p->emulated = true;
		p->emulated_why = p->class_why;
	} else {
		p->emulated_why = "not emulated (see class_why)";
	}
	p->cpus_online = sysconf(_SC_NPROCESSORS_ONLN);
	p->cpus_conf = sysconf(_SC_NPROCESSORS_CONF);
	p->mem_total_kb = meminfo_kb("MemTotal");
	p->page_size = sysconf(_SC_PAGESIZE);
	read_text("/proc/cmdline", p->cmdline, sizeof(p->cmdline));
	chomp(p->cmdline);
	read_linear_map(p);
	if (read_text("/sys/kernel/mm/transparent_hugepage/shmem_enabled",
		      p->thp_shmem, sizeof(p->thp_shmem)) < 0)
		p->thp_shmem[0] = '\0';
	chomp(p->thp_shmem);
	if (!uname(&u)) {
		snprintf(p->release, sizeof(p->release), "%.*s", (int)sizeof(p->release) - 1, u.release);
		snprintf(p->version, sizeof(p->version), "%.*s", (int)sizeof(p->version) - 1, u.version);
		snprintf(p->machine, sizeof(p->machine), "%.*s", (int)sizeof(p->machine) - 1, u.machine);
	}
}

/* ---- random order ------------------------------------------------------- */

uint64_t xorshift64s(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

void make_permutation(uint32_t *perm, uint32_t n, uint64_t seed)
{
	uint64_t st = seed ? seed : 0x5eed;
	uint32_t i;

	for (i = 0; i < n; i++)
		perm[i] = i;
	for (i = n; i > 1; i--) {
		uint32_t j = (uint32_t)(xorshift64s(&st) % i);
		uint32_t t = perm[i - 1];

		perm[i - 1] = perm[j];
		perm[j] = t;
	}
}

/* ---- PMU ---------------------------------------------------------------- */

static const struct {
	const char *name;
	unsigned int code;
} pmu_events[EV_NR] = {
	[EV_DTLB_WALK]		= { "dtlb_walk",	0x34 },
	[EV_L1D_TLB_REFILL]	= { "l1d_tlb_refill",	0x05 },
	[EV_L2D_TLB_REFILL]	= { "l2d_tlb_refill",	0x2d },
	[EV_ITLB_WALK]		= { "itlb_walk",	0x35 },
	[EV_INST_RETIRED]	= { "inst_retired",	0x08 },
	[EV_CPU_CYCLES]		= { "cpu_cycles",	0x11 },
};

static bool is_arm_pmu(const char *name)
{
	return !strncmp(name, "armv8_", 6) || !strncmp(name, "armv9_", 6);
}

/*
 * The arm PMU covering @cpu (or, with @cpu < 0, the first one found):
 * DT-probed PMUs are named after the driver (armv8_pmuv3, armv8_cortex_a76),
 * ACPI ones get a suffix (armv8_pmuv3_0). Fills @name; returns false if none.
 */
static bool pmu_find(char *name, size_t len, int cpu, char *cpus, size_t clen)
{
	DIR *d = opendir(PMU_DEVICES);
	struct dirent *e;
	bool found = false;

	name[0] = cpus[0] = '\0';
	if (!d)
		return false;
	while ((e = readdir(d))) {
		char path[512], list[256];

		if (!is_arm_pmu(e->d_name))
			continue;
		snprintf(path, sizeof(path), PMU_DEVICES "/%s/cpus", e->d_name);
		if (read_text(path, list, sizeof(list)) < 0)
			list[0] = '\0';
		chomp(list);
		if (!found || (cpu >= 0 && list[0] && cpulist_has(list, cpu) &&
			       !cpulist_has(cpus, cpu))) {
			snprintf(name, len, "%.*s", (int)len - 1, e->d_name);
			snprintf(cpus, clen, "%s", list);
			found = true;
		}
	}
	closedir(d);
	return found;
}

static long perf_event_open(struct perf_event_attr *attr, pid_t pid, int cpu,
			    int group, unsigned long flags)
{
	return syscall(__NR_perf_event_open, attr, pid, cpu, group, flags);
}

static const char *errno_name(int err)
{
	switch (err) {
	case ENOENT: return "ENOENT";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOSYS: return "ENOSYS";
	case EBUSY: return "EBUSY";
	default: return "errno";
	}
}

void pmu_open(struct bench_pmu *p, int cpu, bool disabled)
{
	char cpus[256], path[512], buf[64];
	bool have;
	int i;

	memset(p, 0, sizeof(*p));
	p->type = -1;
	if (read_text("/proc/sys/kernel/perf_event_paranoid", buf, sizeof(buf)) > 0)
		p->paranoid = atoi(buf);
	else
		p->paranoid = -99;
	have = pmu_find(p->name, sizeof(p->name), cpu, cpus, sizeof(cpus));
	if (have) {
		snprintf(path, sizeof(path), PMU_DEVICES "/%s/type", p->name);
		if (read_text(path, buf, sizeof(buf)) > 0)
			p->type = atoi(buf);
	}

	for (i = 0; i < EV_NR; i++) {
		struct pmu_counter *c = &p->ev[i];
		struct perf_event_attr attr;
		long fd;

		c->name = pmu_events[i].name;
		c->code = pmu_events[i].code;
		c->fd = -1;
		if (!have || p->type < 0) {
			snprintf(c->reason, sizeof(c->reason),
				 "no armv8_*/armv9_* PMU in " PMU_DEVICES);
			continue;
		}
		/*
		 * A raw event opens even when the CPU does not implement it,
		 * and then reads 0: only trust events the PMU advertises
		 * (PMCEID bits, shown as <pmu>/events/<name>).
		 */
		snprintf(path, sizeof(path), PMU_DEVICES "/%s/events/%s",
			 p->name, c->name);
		if (read_text(path, buf, sizeof(buf)) < 0) {
			snprintf(c->reason, sizeof(c->reason),
				 "not listed in %s/events (PMCEID bit clear)",
				 p->name);
			continue;
		}
		if (!strstr(buf, "event=") ||
		    strtoul(strstr(buf, "event=") + 6, NULL, 0) != c->code) {
			chomp(buf);
			snprintf(c->reason, sizeof(c->reason),
				 "sysfs %s/events/%s is '%s', expected event=0x%02x",
				 p->name, c->name, buf, c->code);
			continue;
		}
		c->listed = true;
		if (disabled) {
			snprintf(c->reason, sizeof(c->reason), "--no-pmu");
			continue;
		}
		memset(&attr, 0, sizeof(attr));
		attr.size = sizeof(attr);
		attr.type = p->type;
		attr.config = c->code;
		attr.disabled = 1;
		attr.exclude_user = 1;	/* kernel only (EL1, EL2 with VHE) */
		attr.exclude_hv = 1;
		attr.exclude_idle = 0;	/* arm PMUs reject exclude_idle */
		attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED |
				   PERF_FORMAT_TOTAL_TIME_RUNNING;
		fd = perf_event_open(&attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			int err = errno;

			snprintf(c->reason, sizeof(c->reason),
				 "perf_event_open: %s (%s)", strerror(err),
				 errno_name(err));
			continue;
		}
		c->fd = (int)fd;
		c->available = true;
	}
}

struct pmu_raw {
	uint64_t value, enabled, running;
};

static struct pmu_raw pmu_before[EV_NR];

static bool pmu_read_one(int fd, struct pmu_raw *v)
{
	return read(fd, v, sizeof(*v)) == sizeof(*v);
}

void pmu_start(struct bench_pmu *p)
{
	bool any = false;
	int i;

	for (i = 0; i < EV_NR; i++) {
		if (!p->ev[i].available)
			continue;
		if (!pmu_read_one(p->ev[i].fd, &pmu_before[i]))
			memset(&pmu_before[i], 0, sizeof(pmu_before[i]));
		any = true;
	}
	/* One syscall enables every counter this task owns. */
	if (any)
		prctl(PR_TASK_PERF_EVENTS_ENABLE, 0, 0, 0, 0);
}

void pmu_stop(struct bench_pmu *p, struct pmu_reading *r)
{
	bool any = false;
	int i;

	for (i = 0; i < EV_NR; i++)
		any |= p->ev[i].available;
	if (any)
		prctl(PR_TASK_PERF_EVENTS_DISABLE, 0, 0, 0, 0);
	memset(r, 0, sizeof(*r));
	for (i = 0; i < EV_NR; i++) {
		struct pmu_raw a;
		double val, en, run;

		if (!p->ev[i].available || !pmu_read_one(p->ev[i].fd, &a))
			continue;
		val = (double)(a.value - pmu_before[i].value);
		en = (double)(a.enabled - pmu_before[i].enabled);
		run = (double)(a.running - pmu_before[i].running);
		if (run <= 0)
			continue;	/* never scheduled: no number */
		r->valid[i] = true;
		r->running[i] = en > 0 ? run / en : 1.0;
		r->value[i] = run < en ? val * en / run : val;
	}
}

void pmu_close(struct bench_pmu *p)
{
	int i;

	for (i = 0; i < EV_NR; i++) {
		if (p->ev[i].fd >= 0)
			close(p->ev[i].fd);
		p->ev[i].fd = -1;
	}
}

/* ---- harness ------------------------------------------------------------ */

double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int choose_cpu(struct bench_run *r)
{
	char online[256];
	int cpu, c, pick = 0;
	long best;

	if (r->opts->cpu >= 0) {
		snprintf(r->cpu_why, sizeof(r->cpu_why), "--cpu");
		return r->opts->cpu;
	}
	if (read_text("/sys/devices/system/cpu/online", online,
		      sizeof(online)) <= 0)
		snprintf(online, sizeof(online), "0");
	chomp(online);
	/*
	 * The biggest core: the largest cpu_capacity among online CPUs (the
	 * highest-numbered of equals: CPU 0 takes most device interrupts).
	 * Without cpu_capacity, the highest online CPU.
	 */
	cpu = cpulist_last(online);
	best = -1;
	for (c = 0; c <= cpu; c++) {
		char path[96], buf[32];
		long capacity;

		if (!cpulist_has(online, c))
			continue;
		snprintf(path, sizeof(path),
			 "/sys/devices/system/cpu/cpu%d/cpu_capacity", c);
		if (read_text(path, buf, sizeof(buf)) <= 0)
			continue;
		capacity = strtol(buf, NULL, 10);
		if (capacity >= best) {
			best = capacity;
			pick = c;
		}
	}
	if (best >= 0) {
		snprintf(r->cpu_why, sizeof(r->cpu_why),
			 "largest cpu_capacity (%ld) of the online CPUs", best);
		return pick;
	}
	snprintf(r->cpu_why, sizeof(r->cpu_why), "highest online CPU");
	return cpu < 0 ? 0 : cpu;
}

void bench_init(struct bench_run *r, const struct bench_desc *d,
		struct bench_opts *o)
{
	cpu_set_t set;

	memset(r, 0, sizeof(*r));
	r->desc = d;
	r->opts = o;
	setvbuf(stdout, NULL, _IOLBF, 0);
	bench_platform_read(&r->plat, o->tcg);
	r->cpu = choose_cpu(r);
	bench_platform_cpu(&r->plat, r->cpu);
	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		bench_bail(d, "fail", "sched_setaffinity(CPU %d): %s", r->cpu,
			   strerror(errno));
	pmu_open(&r->pmu, r->cpu, o->no_pmu);
	tlbmodel_enable(o->tlbmodel, r->plat.page_size);
}

static void vappend(char **buf, size_t *len, size_t *cap, const char *fmt,
		    va_list ap)
{
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return;
	if (*len + n + 2 > *cap) {
		size_t ncap = (*cap ? *cap * 2 : 1024) + n + 2;
		char *nb = realloc(*buf, ncap);

		if (!nb)
			return;
		*buf = nb;
		*cap = ncap;
	}
	if (*len)
		(*buf)[(*len)++] = ',';
	vsnprintf(*buf + *len, *cap - *len, fmt, ap);
	*len += n;
}

void bench_param(struct bench_run *r, const char *fmt, ...)
{
	size_t len = strlen(r->params);
	va_list ap;
	int n;

	if (len && len < sizeof(r->params) - 1)
		r->params[len++] = ',';
	va_start(ap, fmt);
	n = vsnprintf(r->params + len, sizeof(r->params) - len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(r->params) - len)
		r->params[len ? len - 1 : 0] = '\0';	/* drop, keep valid */
}

void bench_extra(struct bench_run *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vappend(&r->extra, &r->extra_len, &r->extra_cap, fmt, ap);
	va_end(ap);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

const char *bench_ws_name(long kib)
{
	char buf[32];
	char *s;

	if (kib % (1L << 20) == 0)
		snprintf(buf, sizeof(buf), "ws_%ldg", kib >> 20);
	else if (kib % 1024 == 0)
		snprintf(buf, sizeof(buf), "ws_%ldm", kib >> 10);
	else
		snprintf(buf, sizeof(buf), "ws_%ldk", kib);
	s = strdup(buf);
	return s ? s : "ws_?";
}

/* The layout for the TLB model (a NOP marker when not enabled). */
static void tlb_layout(struct bench_run *r)
{
	char err[200];

	if (tlbmodel_layout(err, sizeof(err)))
		printf("# %s: tlbmodel layout not written: %s\n", r->desc->name, err);
}

int bench_measure(struct bench_run *r, const char *name, const char *desc,
		  const char *op, long ops, long warmup_ops, bench_fn fn,
		  void *ctx)
{
	struct bench_metric *m;
	double sorted[BENCH_MAX_SAMPLES];
	char label[160];
	int i;

	if (r->nmetrics >= BENCH_MAX_METRICS || ops < 1)
		return -1;
	m = &r->metrics[r->nmetrics];
	m->name = name;
	m->desc = desc;
	m->op = op;
	m->ops = ops;
	m->warmup_ops = warmup_ops;
	m->samples = calloc(r->opts->samples, sizeof(*m->samples));
	if (!m->samples)
		return -1;
	r->nmetrics++;

	tlb_layout(r);
	if (warmup_ops > 0 && fn(ctx, warmup_ops))
		return -1;
	snprintf(label, sizeof(label), "%s %s ops=%ld samples=%d", r->desc->name,
		 name, ops, r->opts->samples);
	tlbmodel_begin(label);
	for (i = 0; i < r->opts->samples; i++) {
		struct bench_sample *s = &m->samples[i];
		double t0, t1;
		int ret;

		pmu_start(&r->pmu);
		t0 = now_ns();
		ret = fn(ctx, ops);
		t1 = now_ns();
		pmu_stop(&r->pmu, &s->pmu);
		if (ret)
			return -1;
		s->ns = t1 - t0;
		m->nsamples++;
		sorted[i] = s->ns / ops;
	}
	tlbmodel_end();
	tlb_layout(r);
	qsort(sorted, m->nsamples, sizeof(double), cmp_double);
	printf("# %s %s: median %.1f ns/op, min %.1f, max %.1f, %d x %ld ops\n",
	       r->desc->name, name, sorted[m->nsamples / 2], sorted[0],
	       sorted[m->nsamples - 1], m->nsamples, ops);
	return 0;
}

/* ---- JSON output -------------------------------------------------------- */

int json_quote(char *buf, size_t len, const char *s)
{
	size_t o = 0;

#define PUT(c) do { if (o + 1 < len) buf[o] = (c); o++; } while (0)
	PUT('"');
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			PUT('\\');
			PUT((char)c);
		} else if (c == '\n') {
			PUT('\\');
			PUT('n');
		} else if (c < 0x20 || c == 0x7f) {
			char u[8];
			int k;

			snprintf(u, sizeof(u), "\\u%04x", c);
			for (k = 0; u[k]; k++)
				PUT(u[k]);
		} else {
			PUT((char)c);
		}
	}
	PUT('"');
#undef PUT
	if (len)
		buf[o < len ? o : len - 1] = '\0';
	return (int)o;
}

void json_str(FILE *f, const char *s)
{
	size_t len = (s ? strlen(s) : 0) * 6 + 3;
	char *buf = malloc(len);

	if (!s) {
		fputs("null", f);
	} else if (buf) {
		json_quote(buf, len, s);
		fputs(buf, f);
	}
	free(buf);
}

/* key=value lines as a JSON object; decimal numbers stay numbers. */
static void json_keyvals(FILE *f, const char *text)
{
	const char *line = text;
	bool first = true;

	fputc('{', f);
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		char kv[512], *eq, *end;

		if (n && n < sizeof(kv)) {
			memcpy(kv, line, n);
			kv[n] = '\0';
			eq = strchr(kv, '=');
			if (eq) {
				*eq = '\0';
				fputs(first ? "" : ",", f);
				json_str(f, kv);
				fputc(':', f);
				strtoull(eq + 1, &end, 10);
				if (eq[1] && !*end && isdigit((unsigned char)eq[1]))
					fputs(eq + 1, f);
				else
					json_str(f, eq + 1);
				first = false;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	fputc('}', f);
}

/* The arm64.bbml2= value on the command line, NULL if absent. */
static const char *cmdline_bbml2(const char *cmdline, char *buf, size_t len)
{
	const char *p = cmdline;
	const char *key = "arm64.bbml2=";
	const char *found = NULL;

	while ((p = strstr(p, key))) {
		if (p == cmdline || p[-1] == ' ')
			found = p + strlen(key);
		p += strlen(key);
	}
	if (!found)
		return NULL;
	snprintf(buf, len, "%.*s", (int)strcspn(found, " "), found);
	return buf;
}

static void print_json(struct bench_run *r, const struct bench_desc *d,
		       const char *status, const char *reason)
{
	struct bench_platform *p = &r->plat;
	char midr[32], bbml2[64];
	int i, j, k;

	printf("bbml2-bench: json begin %s\n", d->name);
	printf("{\"schema\":\"%s\",\"bench\":\"%s\",\"id\":\"%s\",\"status\":\"%s\",\"reason\":",
	       BENCH_SCHEMA, d->name, d->id, status);
	json_str(stdout, reason);
	printf(",\"summary\":");
	json_str(stdout, d->summary);
	printf("\n");

	if (r->opts) {
		printf(",\"params\":{\"samples\":%d,\"seed\":%llu,\"cpu\":%d,\"cpu_why\":\"%s\",\"setup_s\":%.3f%s%s}\n",
		       r->opts->samples, (unsigned long long)r->opts->seed,
		       r->cpu, r->cpu_why, r->setup_s,
		       r->params[0] ? "," : "", r->params);
	}

	snprintf(midr, sizeof(midr), "0x%08llx", (unsigned long long)p->midr);
	printf(",\"platform\":{\"midr\":");
	if (p->have_midr)
		printf("\"%s\",\"implementer\":%u", midr, p->implementer);
	else
		printf("null,\"implementer\":null");
	printf(",\"midr_cpu\":%d,\"class\":", p->midr_cpu);
	json_str(stdout, p->platform_class);
	printf(",\"class_why\":");
	json_str(stdout, p->class_why);
	printf(",\"emulated\":%s,\"emulated_why\":", p->emulated ? "true" : "false");
	json_str(stdout, p->emulated_why);
	printf(",\"cpus_online\":%ld,\"cpus_conf\":%ld,\"mem_total_kb\":%ld,\"page_size\":%ld,\"release\":",
	       p->cpus_online, p->cpus_conf, p->mem_total_kb, p->page_size);
	json_str(stdout, p->release);
	printf(",\"version\":");
	json_str(stdout, p->version);
	printf(",\"machine\":");
	json_str(stdout, p->machine);
	printf(",\"thp_shmem\":");
	json_str(stdout, p->thp_shmem[0] ? p->thp_shmem : NULL);
	printf("}\n");

	printf(",\"mode\":{\"cmdline\":");
	json_str(stdout, p->cmdline);
	printf(",\"bbml2\":");
	json_str(stdout, cmdline_bbml2(p->cmdline, bbml2, sizeof(bbml2)));
	printf(",\"linear_map\":");
	if (p->linear_map[0])
		json_keyvals(stdout, p->linear_map);
	else
		printf("null");
	printf(",\"linear_map_error\":");
	json_str(stdout, p->linear_map_err[0] ? p->linear_map_err : NULL);
	printf("}\n");

	printf(",\"pmu\":{\"name\":");
	json_str(stdout, r->pmu.name[0] ? r->pmu.name : NULL);
	printf(",\"type\":%d,\"perf_event_paranoid\":%d,\"exclude_user\":1,\"events\":{",
	       r->pmu.type, r->pmu.paranoid);
	for (i = 0; i < EV_NR; i++) {
		struct pmu_counter *c = &r->pmu.ev[i];

		printf("%s\"%s\":{\"code\":\"0x%02x\",\"listed\":%s,\"available\":%s,\"reason\":",
		       i ? "," : "", pmu_events[i].name, pmu_events[i].code,
		       c->listed ? "true" : "false",
		       c->available ? "true" : "false");
		json_str(stdout, c->available ? NULL : c->reason);
		printf("}");
	}
	printf("}}\n");

	printf(",\"snapshot\":{%s}\n", r->extra ? r->extra : "");

	printf(",\"metrics\":[");
	for (i = 0; i < r->nmetrics; i++) {
		struct bench_metric *m = &r->metrics[i];

		printf("%s\n{\"name\":\"%s\",\"desc\":", i ? "," : "", m->name);
		json_str(stdout, m->desc);
		printf(",\"op\":");
		json_str(stdout, m->op);
		printf(",\"unit\":\"ns/op\",\"ops\":%ld,\"warmup_ops\":%ld,\"samples\":[",
		       m->ops, m->warmup_ops);
		for (j = 0; j < m->nsamples; j++) {
			struct bench_sample *s = &m->samples[j];
			bool first = true;
			double mux = 1.0;

			printf("%s\n{\"ns\":%.0f,\"ns_per_op\":%.3f,\"counters\":{",
			       j ? "," : "", s->ns, s->ns / m->ops);
			for (k = 0; k < EV_NR; k++) {
				if (!r->pmu.ev[k].available)
					continue;
				printf("%s\"%s\":", first ? "" : ",",
				       pmu_events[k].name);
				if (s->pmu.valid[k]) {
					printf("%.0f", s->pmu.value[k]);
					if (s->pmu.running[k] < mux)
						mux = s->pmu.running[k];
				} else {
					printf("null");
				}
				first = false;
			}
			printf("},\"pmu_running\":%.3f}", mux);
		}
		printf("\n]}");
	}
	printf("\n]}\n");
	printf("bbml2-bench: json end %s\n", d->name);
	fflush(stdout);
}

void bench_finish(struct bench_run *r, const char *status, const char *reason)
{
	int rc = !strcmp(status, "ok") ? BENCH_EXIT_OK :
		 !strcmp(status, "skip") ? BENCH_EXIT_SKIP : BENCH_EXIT_FAIL;

	print_json(r, r->desc, status, reason);
	if (rc)
		printf("bbml2-bench: %s %s\n", status, reason ? reason : "");
	pmu_close(&r->pmu);
	exit(rc);
}

void bench_bail(const struct bench_desc *d, const char *status,
		const char *fmt, ...)
{
	static struct bench_run r;
	static struct bench_opts o;
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (!r.desc) {
		r.desc = d;
		o.samples = 0;
		r.opts = &o;
		bench_platform_read(&r.plat, -1);
		for (int i = 0; i < EV_NR; i++) {
			r.pmu.ev[i].fd = -1;
			snprintf(r.pmu.ev[i].reason, sizeof(r.pmu.ev[i].reason),
				 "not opened");
		}
	}
	bench_finish(&r, status, reason);
}
