// SPDX-License-Identifier: GPL-2.0
/*
 * linmap-cost: what the linear map mode costs in memory and boot time, read
 * directly from the running kernel (no timing loop; one snapshot per boot).
 *
 *   /proc/meminfo   MemTotal, MemFree, MemAvailable, PageTables, Slab...
 *   dmesg           "Memory: <avail>K/<total>K available (... <n>K reserved"
 *                   and the series' "linear map: ..." line
 *   debugfs         arm64/linear_map (mode, repaint_ns, repaint_tables_*,
 *                   split_*; also in the mode proof of every benchmark) and
 *                   kernel_page_tables (ptdump), summarised per mapping
 *                   level between the Linear Mapping markers, with the
 *                   page-table pages the shape implies. The dump is read
 *                   with the kselftests' parser (selftests/arm64/bbml2/
 *                   ptdump_parse.c, built into this program): the same
 *                   format checks, self-checks and leaf sizes of the
 *                   running page size, so there is one parser.
 *
 * A PTE-mapped linear map needs one PTE table per PMD-size window of RAM:
 * RAM/512 with 4K pages, RAM/2048 with 16K, RAM/8192 with 64K.
 * Tables built at boot come from memblock and lower MemTotal; tables
 * allocated by the repaint or by later splits come from the page allocator
 * and lower MemFree instead. Compare modes with bench/report.py.
 *
 * LINMAP_COST_PTDUMP=FILE: summarise that recorded dump instead, print
 * only {"ptdump":{...}} and exit (bench/tests run it on the host).
 *
 * One timed metric, write_tables: memset() of RAM/512 bytes (4K pages; the
 * bytes a PTE-mapped linear map's tables take), one 4K page per op, in a
 * pre-faulted, locked buffer. It is the guest's own speed limit for writing
 * the tables the repaint writes, measured in the same boot, so the report
 * can state repaint_ns against it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/klog.h>
#include <sys/mman.h>

#include "common.h"
#include "ptdump_parse.h"

#define PTDUMP_ENV	"LINMAP_COST_PTDUMP"

static const struct bench_desc desc = {
	.name = "linmap-cost",
	.id = "LM",
	.summary = "linear map memory and boot cost: meminfo, boot Memory: line, debugfs linear_map, ptdump shape",
	.size_help = NULL,
};

/* The JSON buckets (keys kept from the bench's first parser) per kind. */
static const struct {
	const char *name;
	enum lm_kind kind;
} buckets[] = {
	{ "pud", LMK_PUD }, { "cont_pmd", LMK_CONT_PMD }, { "pmd", LMK_PMD },
	{ "cont_pte", LMK_CONT_PTE }, { "pte", LMK_PTE }, { "hole", LMK_HOLE },
	{ "other", LMK_TOP },
};

struct shape {
	struct lm_shape s;
	unsigned long long ro, span;
	long lines, page_size;
	int bad;		/* lines pt_map_selfcheck() rejects */
	bool parsed;
	char problems[600];
};

/* Bytes of kind @k, in and outside the kernel alias (not told apart here). */
static unsigned long long kind_bytes(const struct shape *s, enum lm_kind k)
{
	return (unsigned long long)s->s.bytes[k] + s->s.alias[k];
}

static char *slurp(const char *path, long *err)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*err = 0;
	if (fd < 0 || !buf) {
		*err = fd < 0 ? -errno : -ENOMEM;
		if (fd >= 0)
			close(fd);
		free(buf);
		return NULL;
	}
	for (;;) {
		ssize_t n;

		if (len + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				*err = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			*err = -errno;
			break;
		}
		if (!n)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	if (*err) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Summarise the ptdump lines between the Linear Mapping markers. */
static void summarise(const char *text, struct shape *s)
{
	struct pt_map m;
	struct lm_geom g;
	char err[512];
	size_t i;

	memset(s, 0, sizeof(*s));
	s->page_size = sysconf(_SC_PAGESIZE);
	if (lm_geom_init(&g, s->page_size)) {
		snprintf(s->problems, sizeof(s->problems),
			 "page size %ld not modelled", s->page_size);
		return;
	}
	if (ptdump_parse(&m, text, err, sizeof(err))) {
		snprintf(s->problems, sizeof(s->problems), "%s", err);
		return;
	}
	s->parsed = true;
	s->bad = pt_map_selfcheck(&m, &g, NULL, err, sizeof(err));
	if (s->bad)
		snprintf(s->problems, sizeof(s->problems),
			 "%d line(s) fail the self-checks, first: %s", s->bad, err);
	pt_map_shape(&m, &g, 0, 0, &s->s);
	for (i = 0; i < m.nr; i++)
		if (!m.l[i].hole && (m.l[i].attrs & PTA_RO))
			s->ro += m.l[i].end - m.l[i].start;
	s->lines = m.nr;
	s->span = m.end - m.start;
	pt_map_free(&m);
}

/* "<n>K" right before @key in @line, -1 if absent. */
static long kb_before(const char *line, const char *key)
{
	const char *p = strstr(line, key);

	if (!p)
		return -1;
	while (p > line && p[-1] != ' ' && p[-1] != '/' && p[-1] != '(')
		p--;
	return strtol(p, NULL, 10);
}

static void copy_line(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%.*s", (int)strcspn(src, "\n"), src);
}

static void dmesg_facts(struct bench_run *r)
{
	char memline[512] = "", lmline[512] = "", q[1200];
	int size = klogctl(10, NULL, 0);	/* SYSLOG_ACTION_SIZE_BUFFER */
	char *buf, *p;
	int n;

	if (size <= 0 || !(buf = malloc(size + 1))) {
		bench_extra(r, "\"dmesg_error\":\"klogctl: %s\"", strerror(errno));
		return;
	}
	n = klogctl(3, buf, size);		/* SYSLOG_ACTION_READ_ALL */
	if (n < 0) {
		bench_extra(r, "\"dmesg_error\":\"klogctl: %s\"", strerror(errno));
		free(buf);
		return;
	}
	buf[n] = '\0';
	p = strstr(buf, "Memory: ");
	if (p)
		copy_line(memline, sizeof(memline), p);
	p = strstr(buf, "linear map: ");
	if (p)
		copy_line(lmline, sizeof(lmline), p);
	free(buf);

	json_quote(q, sizeof(q), memline[0] ? memline : "");
	bench_extra(r, "\"memory_line\":%s", memline[0] ? q : "null");
	if (memline[0]) {
		const char *slash = strchr(memline, '/');

		bench_extra(r, "\"boot_available_kb\":%ld,\"boot_total_kb\":%ld,\"boot_reserved_kb\":%ld",
			    strtol(memline + strlen("Memory: "), NULL, 10),
			    slash ? strtol(slash + 1, NULL, 10) : -1L,
			    kb_before(memline, "K reserved"));
	}
	json_quote(q, sizeof(q), lmline);
	bench_extra(r, "\"linear_map_line\":%s", lmline[0] ? q : "null");
}

static void meminfo_facts(struct bench_run *r)
{
	static const struct {
		const char *field, *key;
	} f[] = {
		{ "MemTotal", "mem_total_kb" },
		{ "MemFree", "mem_free_kb" },
		{ "MemAvailable", "mem_available_kb" },
		{ "PageTables", "page_tables_kb" },
		{ "SecPageTables", "sec_page_tables_kb" },
		{ "Slab", "slab_kb" },
		{ "KernelStack", "kernel_stack_kb" },
		{ "Percpu", "percpu_kb" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(f); i++) {
		long v = meminfo_kb(f[i].field);

		if (v >= 0)
			bench_extra(r, "\"%s\":%ld", f[i].key, v);
		else
			bench_extra(r, "\"%s\":null", f[i].key);
	}
}

/* The "ptdump" object: ok only if the dump parsed and passed every check. */
static void ptdump_json(char *obj, size_t len, const struct shape *s,
			double read_ms)
{
	char q[700];
	size_t n, i;

	json_quote(q, sizeof(q), s->problems);
	n = snprintf(obj, len,
		     "\"ptdump\":{\"ok\":%s,\"error\":%s,\"read_ms\":%.1f,\"page_size\":%ld,\"selfcheck_bad\":%d,\"lines\":%ld,\"span_bytes\":%llu,\"bytes\":{",
		     s->problems[0] ? "false" : "true",
		     s->problems[0] ? q : "null", read_ms, s->page_size,
		     s->bad, s->lines, s->span);
	for (i = 0; i < ARRAY_SIZE(buckets) && n < len; i++)
		n += snprintf(obj + n, len - n, "\"%s\":%llu,", buckets[i].name,
			      kind_bytes(s, buckets[i].kind));
	if (n < len)
		snprintf(obj + n, len - n,
			 "\"invalid\":%lu,\"ro\":%llu},\"pte_tables\":%lu,\"pmd_tables\":%lu}",
			 s->s.invalid, s->ro, s->s.pte_tables, s->s.pmd_tables);
}

static void ptdump_facts(struct bench_run *r, struct shape *s)
{
	char q[600], obj[2048], *text;
	double t0 = now_ns();
	long err;

	text = slurp(PTDUMP_PATH, &err);
	if (!text) {
		snprintf(obj, sizeof(obj), "%s: %s%s", PTDUMP_PATH,
			 strerror((int)-err),
			 err == -ENOENT ? " (CONFIG_PTDUMP_DEBUGFS not set?)" : "");
		json_quote(q, sizeof(q), obj);
		bench_extra(r, "\"ptdump\":{\"ok\":false,\"error\":%s}", q);
		memset(s, 0, sizeof(*s));
		snprintf(s->problems, sizeof(s->problems), "unreadable");
		return;
	}
	summarise(text, s);	/* problems end up in s->problems */
	free(text);
	ptdump_json(obj, sizeof(obj), s, (now_ns() - t0) / 1e6);
	bench_extra(r, "%s", obj);
}

/* LINMAP_COST_PTDUMP=FILE: the summary of a recorded dump, nothing else. */
static int recorded_ptdump(const char *path)
{
	char obj[2048];
	struct shape s;
	long err;
	char *text = slurp(path, &err);

	if (!text) {
		fprintf(stderr, "linmap-cost: %s: %s\n", path, strerror((int)-err));
		return 1;
	}
	summarise(text, &s);
	free(text);
	ptdump_json(obj, sizeof(obj), &s, 0);
	printf("{%s}\n", obj);
	return 0;
}

struct wt_ctx {
	unsigned char *buf;
	long pages;
	unsigned int pass;
};

/* Write @count 4K pages of the buffer, a new byte value every call. */
static int write_tables(void *ctx, long count)
{
	struct wt_ctx *c = ctx;
	long i;

	c->pass++;
	for (i = 0; i < count; i++)
		memset(c->buf + (size_t)(i % c->pages) * 4096,
		       (int)(0x11 * (c->pass & 0xf)) | 1, 4096);
	return 0;
}

static void measure_write_tables(struct bench_run *r)
{
	long phys = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	struct wt_ctx c = { 0 };
	struct lm_geom g;
	size_t bytes;

	if (phys <= 0 || psz <= 0 || lm_geom_init(&g, psz))
		return;
	/*
	 * One page of PTEs per PMD-size window: RAM/512 with 4K pages
	 * (RAM/2048 with 16K, RAM/8192 with 64K), at least one 4K page.
	 */
	c.pages = (long)(((unsigned long long)phys * psz / (g.pmd / g.page) +
			  4095) / 4096);
	bytes = (size_t)c.pages * 4096;
	c.buf = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (c.buf == MAP_FAILED) {
		bench_extra(r, "\"write_tables_error\":\"mmap %zu bytes: %s\"",
			    bytes, strerror(errno));
		return;
	}
	mlock(c.buf, bytes);
	bench_extra(r, "\"write_tables_bytes\":%zu", bytes);
	if (bench_measure(r, "write_tables",
			  "memset of RAM/512 bytes (a PTE linear map's table bytes), pre-faulted",
			  "4K page written", c.pages, c.pages, write_tables, &c))
		bench_extra(r, "\"write_tables_error\":\"measurement failed\"");
	munmap(c.buf, bytes);
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct bench_run r;
	struct shape s;
	double t0;

	if (getenv(PTDUMP_ENV))
		return recorded_ptdump(getenv(PTDUMP_ENV));
	bench_parse_opts(&desc, argc, argv, &o);
	bench_init(&r, &desc, &o);
	t0 = now_ns();

	meminfo_facts(&r);
	dmesg_facts(&r);
	ptdump_facts(&r, &s);
	r.setup_s = (now_ns() - t0) / 1e9;
	measure_write_tables(&r);

	printf("# linmap-cost: MemTotal %ld kB, MemFree %ld kB, PageTables %ld kB; ptdump: %llu KiB PTE, %llu KiB CONT_PTE, %llu KiB PMD+CONT_PMD+PUD, %llu PTE tables%s%s\n",
	       meminfo_kb("MemTotal"), meminfo_kb("MemFree"),
	       meminfo_kb("PageTables"), kind_bytes(&s, LMK_PTE) >> 10,
	       kind_bytes(&s, LMK_CONT_PTE) >> 10,
	       (kind_bytes(&s, LMK_PMD) + kind_bytes(&s, LMK_CONT_PMD) +
		kind_bytes(&s, LMK_PUD)) >> 10,
	       (unsigned long long)s.s.pte_tables,
	       s.problems[0] ? "; ptdump problems: " : "",
	       s.problems);
	if (!r.plat.linear_map[0])
		bench_finish(&r, "skip", r.plat.linear_map_err);
	bench_finish(&r, "ok", NULL);
}
