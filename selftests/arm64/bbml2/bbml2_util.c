// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the arm64/bbml2 tests.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../../kselftest.h"
#include "bbml2_util.h"

bool module_loaded_here;
char module_missing[1024];

unsigned long align_down(unsigned long x, unsigned long a)
{
	return x & ~(a - 1);
}

int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	size_t off = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while (off + 1 < len) {
		n = read(fd, buf + off, len - off - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return n;
		}
		if (!n)
			break;
		off += n;
	}
	buf[off] = '\0';
	close(fd);
	return off;
}

int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	return 0;
}

static int parse_cpulist(const char *s, int *cpus, int max)
{
	int n = 0;

	while (*s && *s != '\n') {
		char *end;
		long a = strtol(s, &end, 10), b;

		if (end == s)
			break;
		b = a;
		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		for (; a <= b && n < max; a++)
			cpus[n++] = a;
		s = end;
		if (*s == ',')
			s++;
	}
	return n;
}

int online_cpus(int *cpus, int max)
{
	char buf[256];

	if (read_file("/sys/devices/system/cpu/online", buf, sizeof(buf)) < 0)
		return -1;
	return parse_cpulist(buf, cpus, max);
}

int present_cpus(int *cpus, int max)
{
	char buf[256];

	if (read_file("/sys/devices/system/cpu/present", buf, sizeof(buf)) < 0)
		return -1;
	return parse_cpulist(buf, cpus, max);
}

/* --- /sys/kernel/debug/arm64/linear_map ---------------------------------- */

int lm_info_read(struct lm_info *info, char *err, size_t len)
{
	static const struct {
		const char *key;
		size_t off, size;
		char type;	/* i int, u unsigned long, U u64, s string */
	} keys[] = {
#define K(name, field, t) \
	{ name, offsetof(struct lm_info, field), sizeof(info->field), t }
		K("options", options, 's'),
		K("rodata_full", rodata_full, 'i'),
		K("debug_pagealloc", debug_pagealloc, 'i'),
		K("boot_cpu_bbml2", boot_cpu_bbml2, 'i'),
		K("system_bbml2", system_bbml2, 'i'),
		K("blocks_at_boot", blocks_at_boot, 'i'),
		K("requires_bbml2", requires_bbml2, 'i'),
		K("linear_map", linear_map, 's'),
		K("repainted", repainted, 'i'),
		K("repaint_ns", repaint_ns, 'U'),
		K("repaint_stop_machine_ns", repaint_stop_machine_ns, 'U'),
		K("repaint_prep_ns", repaint_prep_ns, 'U'),
		K("repaint_rebuilt", repaint_rebuilt, 'u'),
		K("repaint_split_pud", repaint.pud, 'u'),
		K("repaint_split_cont_pmd", repaint.cont_pmd, 'u'),
		K("repaint_split_pmd", repaint.pmd, 'u'),
		K("repaint_split_cont_pte", repaint.cont_pte, 'u'),
		K("repaint_tables_pmd", repaint.tables_pmd, 'u'),
		K("repaint_tables_pte", repaint.tables_pte, 'u'),
		K("split_pud", split.pud, 'u'),
		K("split_cont_pmd", split.cont_pmd, 'u'),
		K("split_pmd", split.pmd, 'u'),
		K("split_cont_pte", split.cont_pte, 'u'),
		K("split_tables_pmd", split.tables_pmd, 'u'),
		K("split_tables_pte", split.tables_pte, 'u'),
		K("split_failures", split_failures, 'u'),
		K("linear_map_start", lm_start, 'u'),
		K("linear_map_end", lm_end, 'u'),
		K("kernel_alias_start", alias_start, 'u'),
		K("kernel_alias_end", alias_end, 'u'),
#undef K
	};
	bool seen[ARRAY_SIZE(keys)] = { false };
	char buf[4096], *save, *line;
	size_t i;
	int n;

	memset(info, 0, sizeof(*info));
	n = read_file(LM_DEBUGFS, buf, sizeof(buf));
	if (n < 0) {
		snprintf(err, len, "read %s: %s", LM_DEBUGFS, strerror(-n));
		return n;
	}
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');

		if (!eq)
			continue;
		*eq++ = '\0';
		for (i = 0; i < ARRAY_SIZE(keys); i++) {
			char *p = (char *)info + keys[i].off;

			if (strcmp(line, keys[i].key))
				continue;
			seen[i] = true;
			switch (keys[i].type) {
			case 's':
				snprintf(p, keys[i].size, "%s", eq);
				break;
			case 'i':
				*(int *)p = strtol(eq, NULL, 0);
				break;
			case 'u':
				*(unsigned long *)p = strtoul(eq, NULL, 0);
				break;
			case 'U':
				*(unsigned long long *)p = strtoull(eq, NULL, 0);
				break;
			}
		}
	}
	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		if (!seen[i]) {
			snprintf(err, len, "%s has no key '%s'", LM_DEBUGFS,
				 keys[i].key);
			return -EPROTO;
		}
		info->nkeys++;
	}
	return 0;
}

void lm_counts_sub(struct lm_counts *d, const struct lm_counts *now,
		   const struct lm_counts *before)
{
	d->pud = now->pud - before->pud;
	d->cont_pmd = now->cont_pmd - before->cont_pmd;
	d->pmd = now->pmd - before->pmd;
	d->cont_pte = now->cont_pte - before->cont_pte;
	d->tables_pmd = now->tables_pmd - before->tables_pmd;
	d->tables_pte = now->tables_pte - before->tables_pte;
}

bool lm_counts_equal(const struct lm_counts *a, const struct lm_counts *b)
{
	return !memcmp(a, b, sizeof(*a));
}

void lm_counts_str(const struct lm_counts *c, char *buf, size_t len)
{
	snprintf(buf, len,
		 "pud=%lu cont_pmd=%lu pmd=%lu cont_pte=%lu tables_pmd=%lu tables_pte=%lu",
		 c->pud, c->cont_pmd, c->pmd, c->cont_pte, c->tables_pmd,
		 c->tables_pte);
}

bool lm_report_present(void)
{
	return !access(LM_DEBUGFS, F_OK);
}

/* First and last mapped byte of the linear map in @m. */
static bool mapped_bounds(const struct pt_map *m, unsigned long *lo,
			  unsigned long *hi)
{
	size_t i;
	bool any = false;

	for (i = 0; i < m->nr; i++) {
		if (m->l[i].hole)
			continue;
		if (!any)
			*lo = m->l[i].start;
		*hi = m->l[i].end;
		any = true;
	}
	return any;
}

int iomem_span(const char *name, bool nested, unsigned long *start,
	       unsigned long *end)
{
	struct iomem_res r[64];
	int nr = iomem_find(name, nested, r, 64), i;

	if (nr < 0)
		return nr;
	if (!nr)
		return -ENOENT;
	*start = r[0].start;
	*end = r[0].end;
	for (i = 1; i < nr && i < 64; i++) {
		if (r[i].start < *start)
			*start = r[i].start;
		if (r[i].end > *end)
			*end = r[i].end;
	}
	return 0;
}

/* Physical address of the page at @p (root: pagemap shows PFNs). */
int user_phys(const void *p, unsigned long *phys)
{
	long page = getpagesize();
	uint64_t e;
	int fd = open("/proc/self/pagemap", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread(fd, &e, sizeof(e), ((unsigned long)p / page) * sizeof(e));
	close(fd);
	if (n != sizeof(e))
		return -EIO;
	if (!(e >> 63) || !(e & ((1ULL << 55) - 1)))
		return -ENOENT;
	*phys = (e & ((1ULL << 55) - 1)) * page;
	return 0;
}

int phys_map_init(struct phys_map *pm, const struct pt_map *m, char *why,
		  size_t len)
{
	if (iomem_span("System RAM", false, &pm->ram0, &pm->ram1)) {
		snprintf(why, len, "no System RAM in /proc/iomem");
		return -1;
	}
	if (!mapped_bounds(m, &pm->lo, &pm->hi)) {
		snprintf(why, len, "ptdump shows no linear map");
		return -1;
	}
	if (pm->hi - pm->lo != pm->ram1 - pm->ram0) {
		snprintf(why, len, "System RAM 0x%lx-0x%lx does not span the linear map 0x%lx-0x%lx",
			 pm->ram0, pm->ram1, pm->lo, pm->hi);
		return -1;
	}
	return 0;
}

unsigned long lm_addr(const struct phys_map *pm, unsigned long phys)
{
	return pm->lo + (phys - pm->ram0);
}

int lm_info_derive(struct lm_info *info, char *err, size_t len)
{
	unsigned long k0, k1, big;
	struct phys_map pm;
	struct lm_shape s;
	struct lm_geom g;
	struct pt_map m;
	const char *v;
	char buf[64];

	memset(info, 0, sizeof(*info));
	info->derived = true;
	snprintf(info->options, sizeof(info->options), "none");
	if (lm_geom_init(&g, getpagesize())) {
		snprintf(err, len, "page size %d not supported", getpagesize());
		return -EINVAL;
	}
	if (ptdump_read(&m, err, len))
		return -EIO;
	if (phys_map_init(&pm, &m, err, len) ||
	    (iomem_span("Kernel code", true, &k0, &k1) &&
	     snprintf(err, len, "no Kernel code in /proc/iomem"))) {
		pt_map_free(&m);
		return -ENOENT;
	}
	info->lm_start = m.start;
	info->lm_end = m.end;
	info->alias_start = lm_addr(&pm, k0);
	info->alias_end = lm_addr(&pm, k1);
	pt_map_shape(&m, &g, info->alias_start, info->alias_end, &s);
	pt_map_free(&m);
	big = s.bytes[LMK_PUD] + s.bytes[LMK_CONT_PMD] + s.bytes[LMK_PMD] +
	      s.bytes[LMK_CONT_PTE];
	snprintf(info->linear_map, sizeof(info->linear_map), "%s",
		 big ? "blocks" : "pte");
	/*
	 * rodata_full is the default ("full" is what 6.12 calls it; 7.x has
	 * on, off and noalias and warns about "full" but keeps the default).
	 */
	v = cmdline_param("rodata", buf, sizeof(buf));
	info->rodata_full = !v || (strcmp(v, "off") && strcmp(v, "noalias"));
	v = cmdline_param("debug_pagealloc", buf, sizeof(buf));
	info->debug_pagealloc = v && (!strcmp(v, "on") || !strcmp(v, "1"));
	return 0;
}

int lm_info_get(struct lm_info *info, char *err, size_t len)
{
	if (lm_report_present())
		return lm_info_read(info, err, len);
	return lm_info_derive(info, err, len);
}

/*
 * Kernel image addresses of @n symbols from /proc/kallsyms (0 where
 * missing); how many were found.
 */
static int kallsyms_find(const char * const *names, unsigned long *addr, int n)
{
	char line[512], sym[256], type;
	unsigned long a;
	int found = 0, i;
	FILE *f = fopen("/proc/kallsyms", "r");

	memset(addr, 0, n * sizeof(*addr));
	if (!f)
		return 0;
	while (found < n && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx %c %255s", &a, &type, sym) != 3)
			continue;
		for (i = 0; i < n; i++) {
			if (!addr[i] && a && !strcmp(sym, names[i])) {
				addr[i] = a;
				found++;
			}
		}
	}
	fclose(f);
	return found;
}

int lm_layout_get(const struct lm_info *info, struct lm_layout *lay,
		  char *err, size_t len)
{
	static const char * const names[] = {
		"_text", "_stext", "__init_end", "__bss_stop",
	};
	unsigned long a[4];
	struct utsname u;
	int major = 0, minor = 0;

	memset(lay, 0, sizeof(*lay));
	lay->keep_start = info->alias_start;
	lay->keep_end = info->alias_end;
	snprintf(lay->name, sizeof(lay->name), "6.12's map_mem() (the series)");
	if (!info->derived)
		return 0;
	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2) {
		snprintf(err, len, "cannot read the kernel release");
		return -1;
	}
	if (major < 7 || (major == 7 && minor < 3)) {
		snprintf(lay->name, sizeof(lay->name),
			 "6.12's map_mem() (assumed for %.30s)", u.release);
		return 0;
	}
	kallsyms_find(names, a, 4);
	lay->alias_same_flags = true;
	/*
	 * Without CONFIG_KALLSYMS_ALL only symbols of [_stext, _etext] are
	 * there: no _text. arm64's vmlinux.lds.S starts .text, and so _stext,
	 * at the first SEGMENT_ALIGN (64 KiB) boundary after the small
	 * .head.text, i.e. at _text + 64 KiB.
	 */
	lay->keep_start = info->alias_start + (a[0] && a[1] ? a[1] - a[0] : 0x10000);
	/* Data symbols are there only with CONFIG_KALLSYMS_ALL. */
	if (a[0] && a[2] && a[3]) {
		lay->cuts[0] = info->alias_start + (a[2] - a[0]);
		lay->cuts[1] = info->alias_start + (a[3] - a[0]);
		lay->ncuts = 2;
	}
	snprintf(lay->name, sizeof(lay->name), "7.3's map_mem() (%.20s%s)", u.release,
		 lay->ncuts ? "" : ", no __init_end/__bss_stop in kallsyms");
	return 0;
}

/* --- the expected mode --------------------------------------------------- */

static int read_cmdline(char *buf, size_t len)
{
	int n = read_file("/proc/cmdline", buf, len);

	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return n;
}

/*
 * Split a command line into parameters as the kernel's next_arg() does
 * (double quotes group), calling @fn(param, value or NULL) for each.
 */
static void for_each_param(const char *cmdline,
			   void (*fn)(const char *p, const char *v, void *arg),
			   void *arg)
{
	char *buf = strdup(cmdline), *s = buf;

	if (!buf)
		return;
	while (*s) {
		char *p, *v = NULL, *o;
		bool quoted = false;

		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		p = o = s;
		while (*s && (quoted || !isspace((unsigned char)*s))) {
			if (*s == '"') {
				quoted = !quoted;
				s++;
				continue;
			}
			if (*s == '=' && !v) {
				*o++ = '\0';
				v = o;
				s++;
				continue;
			}
			*o++ = *s++;
		}
		if (*s)
			s++;
		*o = '\0';
		fn(p, v, arg);
	}
	free(buf);
}

struct find_param {
	const char *name;
	char *buf;
	size_t len;
	bool found;
};

static void find_param_fn(const char *p, const char *v, void *arg)
{
	struct find_param *f = arg;

	if (strcmp(p, f->name))
		return;
	f->found = true;
	snprintf(f->buf, f->len, "%s", v ? v : "");
}

const char *cmdline_param(const char *name, char *buf, size_t len)
{
	struct find_param f = { name, buf, len, false };
	char cmdline[4096];

	if (read_cmdline(cmdline, sizeof(cmdline)) < 0)
		return NULL;
	for_each_param(cmdline, find_param_fn, &f);
	return f.found ? buf : NULL;
}

static const char * const opt_names[] = { "off", "assume", "repaint" };

static void add_warn(struct bbml2_expect *e, const char *fmt, ...)
{
	va_list ap;

	if (e->nwarn >= MAX_WARN)
		return;
	va_start(ap, fmt);
	vsnprintf(e->warn[e->nwarn++], sizeof(e->warn[0]), fmt, ap);
	va_end(ap);
}

/*
 * Whether this kernel refuses "assume": built with the option
 * CONFIG_ARM64_BBML2_ASSUME available but off ("is not set" in
 * /proc/config.gz). A kernel without the symbol predates the option and
 * accepts "assume"; without /proc/config.gz nothing can be told, and
 * "assume" is expected to be accepted.
 */
bool assume_refused(void)
{
	static int refused = -1;
	char line[256];
	FILE *f;

	if (refused >= 0)
		return refused;
	refused = 0;
	if (access("/proc/config.gz", R_OK))
		return refused;
	f = popen("zcat /proc/config.gz 2>/dev/null", "r");
	if (!f)
		return refused;
	while (fgets(line, sizeof(line), f))
		if (!strcmp(line, "# CONFIG_ARM64_BBML2_ASSUME is not set\n"))
			refused = 1;
	pclose(f);
	return refused;
}

/* parse_arm64_bbml2() of arch/arm64/kernel/cpufeature.c, per occurrence. */
static void parse_bbml2(struct bbml2_expect *e, const char *v)
{
	const char *opt = v;
	bool refused = false;

	e->occurrences++;
	snprintf(e->value + strlen(e->value), sizeof(e->value) - strlen(e->value),
		 "%sarm64.bbml2%s%s", e->occurrences > 1 ? " " : "",
		 v ? "=" : "", v ? v : "");
	if (!v || !*v) {
		add_warn(e, "arm64.bbml2: no option given; BBML2_NOABORT comes from the CPU allow-list");
		return;
	}
	while (*opt) {
		size_t len = strcspn(opt, ",");
		unsigned int flag = 0, i;

		for (i = 0; i < 3; i++)
			if (len == strlen(opt_names[i]) &&
			    !strncmp(opt, opt_names[i], len))
				flag = 1u << i;
		if (flag)
			e->opts |= flag;
		else if (len)
			add_warn(e, "arm64.bbml2: unknown option '%.*s' ignored (valid: off, assume, repaint)",
				 (int)len, opt);
		opt += len;
		if (*opt == ',')
			opt++;
	}
	if ((e->opts & BBML2_OFF) && (e->opts & ~BBML2_OFF)) {
		add_warn(e, "arm64.bbml2: 'off' overrides the other options");
		e->opts = BBML2_OFF;
	}
	if ((e->opts & BBML2_ASSUME) && assume_refused()) {
		add_warn(e, "arm64.bbml2: 'assume' refused: this kernel is built without CONFIG_ARM64_BBML2_ASSUME (emulators only)");
		e->opts &= ~BBML2_ASSUME;
		refused = true;
	}
	if (!e->opts) {
		if (!refused)
			add_warn(e, "arm64.bbml2: no valid option; BBML2_NOABORT comes from the CPU allow-list");
	} else if (e->opts & BBML2_ASSUME) {
		e->banners++;
	}
}

static void expect_param_fn(const char *p, const char *v, void *arg)
{
	if (!strcmp(p, "arm64.bbml2"))
		parse_bbml2(arg, v);
}

/*
 * The allow-list of the kernel under test, when the suite was built with
 * one: one "imp part vmin rmin vmax rmax name" line per range, compared as
 * is_midr_in_range() does.
 */
#define MAX_RANGES 64
static struct { unsigned int imp, part, lo, hi; } ranges[MAX_RANGES];
static int nranges = -1;	/* -1: no file, the built-in list */

static void load_allowlist(void)
{
	static bool tried;
	char path[4096], line[256];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 16);
	unsigned int imp, part, vmin, rmin, vmax, rmax;
	FILE *f;

	if (tried || n <= 0)
		return;
	tried = true;
	path[n] = 0;
	strcpy(strrchr(path, '/') ? strrchr(path, '/') + 1 : path, "allowlist");
	f = fopen(path, "r");
	if (!f)
		return;
	nranges = 0;
	while (fgets(line, sizeof(line), f) && nranges < MAX_RANGES) {
		if (sscanf(line, "%x %x %u %u %u %u", &imp, &part, &vmin, &rmin,
			   &vmax, &rmax) != 6)
			continue;
		ranges[nranges].imp = imp;
		ranges[nranges].part = part;
		ranges[nranges].lo = vmin << 4 | rmin;
		ranges[nranges].hi = vmax << 4 | rmax;
		nranges++;
	}
	fclose(f);
}

bool allowlist_from_tree(void)
{
	load_allowlist();
	return nranges >= 0;
}

/* Without the file: the series' list (cpu_supports_bbml2_noabort()). */
bool midr_allowed(unsigned long long midr)
{
	unsigned int impl = (midr >> 24) & 0xff, part = (midr >> 4) & 0xfff;
	unsigned int var = (midr >> 20) & 0xf, rev = midr & 0xf;
	unsigned int vr = var << 4 | rev;
	int i;

	if (allowlist_from_tree()) {
		for (i = 0; i < nranges; i++)
			if (ranges[i].imp == impl && ranges[i].part == part &&
			    ranges[i].lo <= vr && vr <= ranges[i].hi)
				return true;
		return false;
	}
	if (impl == 0x41 && part == 0xd82)		/* Cortex-X4 r0p3+ */
		return vr >= 0x03 && vr <= 0x0f;
	if (impl == 0x41 && (part == 0xd84 || part == 0xd83))
		return vr >= 0x02 && vr <= 0x0f;	/* Neoverse-V3(AE) r0p2+ */
	if (impl == 0xc0 && (part == 0xac3 || part == 0xac4))
		return true;				/* AmpereOne, AC04 */
	if (impl == 0x4e && part == 0x010)		/* NVIDIA Olympus */
		return true;
	return false;
}

static int cpu_midr(int cpu, unsigned long long *midr)
{
	char path[128], buf[64];

	snprintf(path, sizeof(path),
		 "/sys/devices/system/cpu/cpu%d/regs/identification/midr_el1", cpu);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	*midr = strtoull(buf, NULL, 16);
	return 0;
}

int bbml2_expect_get(struct bbml2_expect *e, const struct lm_info *info,
		     char *err, size_t len)
{
	const char *env = getenv(EXPECT_ENV);
	char cmdline[4096], buf[64];
	unsigned long long midr0, midr;
	int cpus[1024], ncpu, i, can_set_direct_map, force_pte, listed = 0;
	bool all_listed = true;

	memset(e, 0, sizeof(*e));
	if (read_cmdline(cmdline, sizeof(cmdline)) < 0) {
		snprintf(err, len, "cannot read /proc/cmdline");
		return -1;
	}
	if (env && *env) {
		e->source = EXPECT_ENV;
		if (strcmp(env, "none"))
			parse_bbml2(e, env);
	} else if (!lm_report_present()) {
		/* No switch: the kernel ignores arm64.bbml2=. */
		e->source = "the command line (no arm64.bbml2= switch in this kernel)";
	} else {
		e->source = "the command line";
		for_each_param(cmdline, expect_param_fn, e);
	}
	if (!e->occurrences)
		snprintf(e->value, sizeof(e->value), "no arm64.bbml2=");
	buf[0] = '\0';
	for (i = 0; i < 3; i++)
		if (e->opts & (1u << i))
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
				 "%s%s", buf[0] ? "," : "", opt_names[i]);
	snprintf(e->options, sizeof(e->options), "%s", buf[0] ? buf : "none");

	/* The CPUs brought up before the capabilities are finalised. */
	ncpu = present_cpus(cpus, 1024);
	if (ncpu <= 0) {
		snprintf(err, len, "cannot read the present CPUs");
		return -1;
	}
	if (cmdline_param("nosmp", buf, sizeof(buf)))
		ncpu = 1;
	else if (cmdline_param("maxcpus", buf, sizeof(buf)) && atoi(buf) < ncpu)
		ncpu = atoi(buf) > 0 ? atoi(buf) : 1;
	e->early_cpus = ncpu;

	if (cpu_midr(0, &midr0)) {
		snprintf(err, len, "cannot read the MIDR of CPU0");
		return -1;
	}
	for (i = 1; i < ncpu; i++) {
		if (cpu_midr(cpus[i], &midr))
			midr = midr0;	/* offline now: assume like CPU0 */
		all_listed &= midr_allowed(midr);
		listed += midr_allowed(midr);
	}

	if (e->opts & BBML2_OFF)
		e->boot_cpu = 0;
	else if (e->opts & BBML2_ASSUME)
		e->boot_cpu = 1;
	else
		e->boot_cpu = midr_allowed(midr0);
	e->system = e->boot_cpu;
	if (ncpu > 1) {
		if (e->opts & (BBML2_OFF | BBML2_REPAINT))
			e->system = 0;
		else if (!(e->opts & BBML2_ASSUME) && !all_listed)
			e->system = 0;
	}

	e->rodata_full = info->rodata_full;
	e->debug_pagealloc = info->debug_pagealloc;
	/* KFENCE initialised late (sample_interval=0 at boot) counts too. */
	if (read_file("/sys/module/kfence/parameters/sample_interval", buf,
		      sizeof(buf)) > 0 && atoi(buf) == 0)
		e->kfence_late = 1;
	can_set_direct_map = e->rodata_full || e->debug_pagealloc || e->kfence_late;
	force_pte = e->debug_pagealloc || (!e->boot_cpu && can_set_direct_map);
	e->blocks_at_boot = !force_pte;
	e->repainted = !force_pte && can_set_direct_map && !e->system;
	e->requires = !force_pte && can_set_direct_map && !e->repainted;
	e->map = e->blocks_at_boot && !e->repainted ? "blocks" : "pte";
	snprintf(e->why, sizeof(e->why),
		 "%s from %s; MIDR cpu0=0x%llx (%s), %d of %d secondaries listed; rodata_full=%d debug_pagealloc=%d kfence_late=%d -> boot_cpu=%d system=%d blocks_at_boot=%d repainted=%d map=%s",
		 e->value, e->source, midr0,
		 midr_allowed(midr0) ? "listed" : "not listed", listed, ncpu - 1,
		 e->rodata_full, e->debug_pagealloc, e->kfence_late,
		 e->boot_cpu, e->system, e->blocks_at_boot, e->repainted, e->map);
	return 0;
}

int bbml2_mode_check(const struct lm_info *info, char *err, size_t len)
{
	struct bbml2_expect e;

	if (bbml2_expect_get(&e, info, err, len))
		return -1;
	if (info->derived) {
		/* Only the map's shape can be seen without the report. */
		if (!strcmp(e.map, info->linear_map))
			return 0;
		snprintf(err, len, "expected linear_map=%s (%s), ptdump shows %s",
			 e.map, e.why, info->linear_map);
		return -1;
	}
	if (!strcmp(e.map, info->linear_map) && e.requires == info->requires_bbml2 &&
	    e.repainted == info->repainted)
		return 0;
	snprintf(err, len,
		 "expected linear_map=%s requires_bbml2=%d repainted=%d (%s), the kernel reports %s/%d/%d",
		 e.map, e.requires, e.repainted, e.why, info->linear_map,
		 info->requires_bbml2, info->repainted);
	return -1;
}

/* --- /dev/kmsg ----------------------------------------------------------- */

static char *kmsg_unescape(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned int c;

		if (s[i] == '\\' && i + 3 < n + 1 && s[i + 1] == 'x' &&
		    sscanf(s + i + 2, "%2x", &c) == 1) {
			*o++ = c;
			i += 3;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

void kmsg_free(struct kmsg *k)
{
	size_t i;

	for (i = 0; i < k->nr; i++)
		free(k->r[i].msg);
	free(k->r);
	memset(k, 0, sizeof(*k));
}

int kmsg_read(struct kmsg *k, unsigned long long from)
{
	char rec[8192];
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	bool first = true;

	memset(k, 0, sizeof(*k));
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);
		unsigned long long seq;
		int prio;
		char *semi, *nl;

		if (n < 0) {
			if (errno == EPIPE) {
				k->lost = true;
				continue;
			}
			if (errno == EINTR)
				continue;
			break;
		}
		rec[n] = '\0';
		if (sscanf(rec, "%d,%llu,", &prio, &seq) != 2)
			continue;
		if (first) {
			k->first_seq = seq;
			first = false;
		}
		if (seq < from)
			continue;
		semi = strchr(rec, ';');
		if (!semi)
			continue;
		nl = strchr(semi + 1, '\n');
		if (k->nr == k->cap) {
			struct kmsg_rec *r;

			k->cap = k->cap ? k->cap * 2 : 1024;
			r = realloc(k->r, k->cap * sizeof(*r));
			if (!r)
				break;
			k->r = r;
		}
		k->r[k->nr].seq = seq;
		k->r[k->nr].level = prio & 7;
		k->r[k->nr].msg = kmsg_unescape(semi + 1,
						nl ? (size_t)(nl - semi - 1) :
						strlen(semi + 1));
		if (k->r[k->nr].msg)
			k->nr++;
	}
	close(fd);
	return 0;
}

unsigned long long kmsg_mark(void)
{
	struct kmsg k;
	unsigned long long next = 0;

	if (kmsg_read(&k, 0))
		return 0;
	if (k.nr)
		next = k.r[k.nr - 1].seq + 1;
	kmsg_free(&k);
	return next;
}

static const char * const splat_patterns[] = {
	"WARNING:", "BUG:", "Oops", "Internal error", "Call trace:",
	"Unable to handle kernel", "Kernel panic", "INFO: task",
	"rcu: INFO", "self-detected stall", "soft lockup", "hard LOCKUP",
	"possible circular locking", "sleeping function called",
	"inconsistent lock state", "cut here", "KASAN", "KFENCE:",
	"UBSAN", "SError", "TLB conflict", "Bad page", "list_add corruption",
	"list_del corruption", "kernel BUG", "stack-protector",
	"cannot restore", "leaking",
};

int kmsg_splats(unsigned long long from, char *buf, size_t len)
{
	struct kmsg k;
	size_t i, j, off = 0;
	int n = 0;

	if (len)
		buf[0] = '\0';
	if (kmsg_read(&k, from))
		return -1;
	for (i = 0; i < k.nr; i++) {
		for (j = 0; j < ARRAY_SIZE(splat_patterns); j++) {
			if (!strstr(k.r[i].msg, splat_patterns[j]))
				continue;
			if (n++ < 4 && off < len)
				off += snprintf(buf + off, len - off, "%s'%s'",
						off ? "; " : "", k.r[i].msg);
			break;
		}
	}
	kmsg_free(&k);
	return n;
}

/* --- the test module ----------------------------------------------------- */

static int exe_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	char *slash;

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (slash)
		*slash = '\0';
	return 0;
}

/* Whether the log since @mark says the module has unknown symbols. */
static bool unknown_symbols_logged(unsigned long long mark, bool *readable)
{
	struct kmsg k;
	bool found = false;
	size_t i;

	*readable = !kmsg_read(&k, mark);
	if (!*readable)
		return false;
	for (i = 0; i < k.nr && !found; i++)
		found = strstr(k.r[i].msg, MODULE_NAME ": Unknown symbol") ||
			strstr(k.r[i].msg, MODULE_NAME ": disagrees about version");
	kmsg_free(&k);
	return found;
}

int module_try_load(char *err, size_t len, bool *absent)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	unsigned long long mark;
	bool readable;
	int fd, ret;

	if (absent)
		*absent = false;
	if (!access(MODULE_CTL, F_OK))
		return 0;
	if (exe_dir(dir, sizeof(dir)))
		snprintf(dir, sizeof(dir), ".");
	snprintf(path, sizeof(path), "%s/%s", dir, MODULE_KO);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, len, "test module %s %s (%s)", path,
			 ret == -ENOENT ? "missing" : "unreadable",
			 strerror(errno));
		/* Not shipped is a missing prerequisite; unreadable is not. */
		if (absent && ret == -ENOENT)
			*absent = true;
		return ret;
	}
	mark = kmsg_mark();
	ret = syscall(__NR_finit_module, fd, "", 0);
	ret = ret ? -errno : 0;
	close(fd);
	if (ret == -EEXIST)
		return 0;
	if (ret == -ENOENT) {
		/*
		 * Unknown symbols: the kernel lacks the test-only exports
		 * (CONFIG_ARM64_LINEAR_MAP_TEST), a missing prerequisite. An
		 * init function returning -ENOENT is not: the log tells them
		 * apart when it can be read.
		 */
		if (unknown_symbols_logged(mark, &readable) || !readable) {
			snprintf(err, len,
				 "cannot load %s: unknown symbols (kernel without CONFIG_ARM64_LINEAR_MAP_TEST?)",
				 path);
			if (absent)
				*absent = true;
		} else {
			snprintf(err, len,
				 "cannot load %s: -ENOENT without an unknown symbol in the log (module init failed?)",
				 path);
		}
	} else if (ret == -ENOEXEC) {
		snprintf(err, len, "cannot load %s: built for another kernel (-ENOEXEC)",
			 path);
	} else if (ret) {
		snprintf(err, len, "cannot load %s: %s (%d)", path,
			 strerror(-ret), ret);
	}
	if (!ret && access(MODULE_CTL, F_OK)) {
		snprintf(err, len, "%s loaded but %s is missing", path,
			 MODULE_CTL);
		return -EPROTO;
	}
	return ret;
}

int module_load(char *err, size_t len)
{
	return module_try_load(err, len, NULL);
}

int module_unload(void)
{
	if (syscall(__NR_delete_module, MODULE_NAME, O_NONBLOCK))
		return errno == ENOENT ? 0 : -errno;
	return 0;
}

int module_sync(void)
{
	int fd = sess_open(), ret;

	if (fd < 0)
		return -errno;
	ret = sess_cmd(fd, NULL, 0, "sync");
	close(fd);
	return ret;
}

int sess_open(void)
{
	return open(MODULE_CTL, O_RDWR | O_CLOEXEC);
}

int sess_cmd(int fd, char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[256];
	va_list ap;
	ssize_t n;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (out && outlen)
		out[0] = '\0';
	if (write(fd, cmd, len) != len)
		return -errno;
	if (!out || !outlen)
		return 0;
	n = pread(fd, out, outlen - 1, 0);
	if (n < 0)
		return -errno;
	out[n] = '\0';
	return 0;
}

int module_info_get(int fd, struct module_info *mi)
{
	char *buf = malloc(65536), *p;
	unsigned long size = 0;
	int ret;

	memset(mi, 0, sizeof(*mi));
	if (!buf)
		return -ENOMEM;
	ret = sess_cmd(fd, buf, 65536, "info");
	if (!ret) {
		p = strstr(buf, "kfence_pool=");
		if (p)
			mi->kfence_start = strtoul(p + 12, NULL, 0);
		p = strstr(buf, "kfence_pool_size=");
		if (p)
			size = strtoul(p + 17, NULL, 0);
		mi->kfence_end = mi->kfence_start ? mi->kfence_start + size : 0;
		p = strstr(buf, "page_size=");
		if (p)
			mi->page_size = strtol(p + 10, NULL, 0);
	}
	free(buf);
	return ret;
}

/* --- prerequisites ------------------------------------------------------- */

static void unload_at_exit(void)
{
	module_unload();
}

static __noreturn __printf(1, 2) void skip_all(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ksft_print_header();
	ksft_exit_skip("%s\n", msg);
}

static __noreturn __printf(1, 2) void fail_all(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ksft_print_header();
	ksft_exit_fail_msg("%s\n", msg);
}

void bbml2_prereq(unsigned int need)
{
	struct utsname u;
	struct lm_info info;
	char err[512];
	int ret;

	if (uname(&u) || strcmp(u.machine, "aarch64"))
		skip_all("not arm64 (%s)", u.machine);
	if (geteuid())
		skip_all("needs root (debugfs, kernel page tables, module)");
	if (access(DEBUGFS_DIR "/arm64", F_OK) &&
	    access(PTDUMP_PATH, F_OK) &&
	    mount("debugfs", DEBUGFS_DIR, "debugfs", 0, NULL) &&
	    errno != EBUSY)
		skip_all("debugfs not available at %s (CONFIG_DEBUG_FS?): %s",
			 DEBUGFS_DIR, strerror(errno));
	if (access(LM_DEBUGFS, F_OK)) {
		if (!(need & NO_SERIES_OK) && (need & NEED_MODULE))
			skip_all("no %s and no test module: a kernel without the series' report and its test-only exports (CONFIG_ARM64_LINEAR_MAP_TEST, which %s.ko needs); mainline has neither",
				 LM_DEBUGFS, MODULE_NAME);
		if (!(need & NO_SERIES_OK))
			skip_all("%s", WHY_NO_REPORT);
		/* Without the report, ptdump is what shows the linear map. */
		if (access(PTDUMP_PATH, R_OK))
			skip_all("%s, and no %s (CONFIG_PTDUMP_DEBUGFS not set)",
				 WHY_NO_REPORT, PTDUMP_PATH);
	} else if (lm_info_read(&info, err, sizeof(err))) {
		fail_all("%s", err);
	}
	if ((need & NEED_PTDUMP) && access(PTDUMP_PATH, R_OK))
		skip_all("no %s (CONFIG_PTDUMP_DEBUGFS not set)", PTDUMP_PATH);
	if (need & NEED_MODULE) {
		bool was = !access(MODULE_CTL, F_OK);

		bool absent;

		ret = module_try_load(err, sizeof(err), &absent);
		/*
		 * Only a missing .ko or a kernel without the test exports is
		 * a missing prerequisite; a module that is there and does
		 * not load (another kernel's build, -EINVAL, -EBUSY, its
		 * init failing) is a failure of what is under test.
		 */
		if (ret && absent && !(need & NO_SERIES_OK))
			skip_all("%s", err);
		if (ret && absent) {
			snprintf(module_missing, sizeof(module_missing),
				 "%s (%s)", WHY_NO_MODULE, err);
			return;
		}
		if (ret)
			fail_all("%s", err);
		if (!was) {
			module_loaded_here = true;
			atexit(unload_at_exit);
		}
		/* Let its init memory go now, not in the middle of a test. */
		ret = module_sync();
		if (ret)
			fail_all("%s sync: %s", MODULE_CTL, strerror(-ret));
	}
}

/*
 * The largest order the buddy allocator hands out (MAX_PAGE_ORDER): one
 * column of /proc/buddyinfo per order. 10 if the file cannot be read.
 */
static int max_page_order(void)
{
	char buf[4096], *line, *tok, *save;
	int n = 0;

	if (read_file("/proc/buddyinfo", buf, sizeof(buf)) <= 0)
		return 10;
	line = strtok_r(buf, "\n", &save);
	if (!line || !strstr(line, "zone"))
		return 10;
	/* "Node 0, zone   Normal   c0 c1 ... cN": the counts follow the name. */
	tok = strstr(line, "zone") + strlen("zone");
	tok += strspn(tok, " ");
	tok += strcspn(tok, " ");
	for (tok = strtok_r(tok, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		n++;
	return n ? n - 1 : 10;
}

int iomem_find(const char *name, bool nested, struct iomem_res *r, int max)
{
	static char buf[1 << 16];
	char *line, *save, *n;
	int nr = 0;

	if (read_file("/proc/iomem", buf, sizeof(buf)) <= 0)
		return -EIO;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long a, b;

		n = strstr(line, " : ");
		if (!n || strcmp(n + 3, name) || (line[0] == ' ') != nested)
			continue;
		if (sscanf(line, "%lx-%lx", &a, &b) != 2)
			continue;
		if (nr < max) {
			r[nr].start = a;
			r[nr].end = b + 1;
		}
		nr++;
	}
	return nr;
}

/*
 * Bytes of System RAM (/proc/iomem) outside every "Early memory node
 * ranges" line of the boot log: memory hot-added since boot (ACPI
 * pc-dimm, virtio-mem). 0 when the boot log is no longer in the buffer.
 */
unsigned long ram_added_since_boot(void)
{
	unsigned long early[64][2], added = 0;
	struct iomem_res ram[64];
	int nearly = 0, nram, i, j;
	char *p;
	struct kmsg k;
	size_t r;

	if (kmsg_read(&k, 0))
		return 0;
	for (r = 0; r < k.nr && nearly < 64; r++) {
		unsigned long a, b;

		p = strstr(k.r[r].msg, ": [mem ");
		if (!p || strncmp(k.r[r].msg, "  node ", 7) ||
		    sscanf(p, ": [mem %lx-%lx]", &a, &b) != 2)
			continue;
		early[nearly][0] = a;
		early[nearly++][1] = b + 1;
	}
	kmsg_free(&k);
	nram = iomem_find("System RAM", false, ram, 64);
	if (!nearly || nram <= 0)
		return 0;
	for (j = 0; j < nram && j < 64; j++) {
		unsigned long x, end = ram[j].end;

		/* Page by page would be slow: walk by the early ranges' edges. */
		for (x = ram[j].start; x < end; ) {
			unsigned long next = end;
			bool in = false;

			for (i = 0; i < nearly; i++) {
				if (x >= early[i][0] && x < early[i][1]) {
					in = true;
					next = early[i][1];
					break;
				}
				if (early[i][0] > x && early[i][0] < next)
					next = early[i][0];
			}
			if (next > end)
				next = end;
			if (!in)
				added += next - x;
			x = next;
		}
	}
	return added;
}

/*
 * Chunks larger than this are not asked of the allocator: with 64K pages
 * a PMD block is 512 MiB, a quarter of a 2 GiB guest.
 */
#define CHUNK_MAX	(32UL << 20)

int pmd_block_order(long page)
{
	int order = 0, max = max_page_order();

	while ((1L << order) < page / 8 && ((unsigned long)page << order) < CHUNK_MAX)
		order++;
	return order > max ? max : order;
}

unsigned long lm_test_chunk(const struct lm_geom *g)
{
	unsigned long c = g->pmd > (4UL << 20) ? g->pmd : 4UL << 20;

	return c > CHUNK_MAX ? CHUNK_MAX : c;
}
