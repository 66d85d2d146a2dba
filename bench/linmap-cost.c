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
 *                   page-table pages the shape implies.
 *
 * A PTE-mapped linear map needs one 4K PTE table per 2M of RAM, RAM/512.
 * Tables built at boot come from memblock and lower MemTotal; tables
 * allocated by the repaint or by later splits come from the page allocator
 * and lower MemFree instead. Compare modes with bench/report.py.
 *
 * One timed metric, write_tables: memset() of RAM/512 bytes (the bytes a
 * PTE-mapped linear map's tables take), one 4K page per op, in a
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

#define PTDUMP_FILE	"/sys/kernel/debug/kernel_page_tables"
#define SZ_2M		(2ULL << 20)
#define SZ_1G		(1ULL << 30)

static const struct bench_desc desc = {
	.name = "linmap-cost",
	.id = "LM",
	.summary = "linear map memory and boot cost: meminfo, boot Memory: line, debugfs linear_map, ptdump shape",
	.size_help = NULL,
};

enum bucket { B_PUD, B_CONT_PMD, B_PMD, B_CONT_PTE, B_PTE, B_HOLE, B_OTHER, B_NR };
static const char *const bucket_name[B_NR] = {
	"pud", "cont_pmd", "pmd", "cont_pte", "pte", "hole", "other",
};

struct shape {
	unsigned long long bytes[B_NR];
	unsigned long long invalid, ro, span, first, last;
	unsigned long long pte_tables, pmd_tables;
	long lines;
	char problems[256];
};

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

static bool has_tok(char **tok, int ntok, const char *t)
{
	int i;

	for (i = 0; i < ntok; i++)
		if (!strcmp(tok[i], t))
			return true;
	return false;
}

static void problem(struct shape *s, const char *what)
{
	size_t n = strlen(s->problems);

	if (n + strlen(what) + 3 < sizeof(s->problems))
		snprintf(s->problems + n, sizeof(s->problems) - n, "%s%s",
			 n ? "; " : "", what);
}

/* Summarise the ptdump lines between the Linear Mapping markers. */
static int parse_ptdump(char *text, struct shape *s)
{
	unsigned long long last2m = ~0ULL, last1g = ~0ULL;
	char *line, *save = NULL;
	int state = 0;

	memset(s, 0, sizeof(*s));
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long long start, end, w;
		char *tok[24], *t, *tsave = NULL;
		int ntok = 0;
		enum bucket b;
		bool pte, pmd;

		if (strstr(line, "---[ Linear Mapping start ]---")) {
			state = 1;
			continue;
		}
		if (strstr(line, "---[ Linear Mapping end ]---")) {
			state = 2;
			break;
		}
		if (state != 1 || sscanf(line, "0x%llx-0x%llx", &start, &end) != 2)
			continue;
		if (end <= start) {
			problem(s, "range with end <= start");
			continue;
		}
		t = strchr(line, ' ');
		for (t = t ? strtok_r(t, " \t", &tsave) : NULL; t && ntok < 24;
		     t = strtok_r(NULL, " \t", &tsave))
			tok[ntok++] = t;
		if (ntok < 2) {
			problem(s, "line without a level");
			continue;
		}
		/* tok[0] is the size text, tok[1] the level, then attributes. */
		pte = !strcmp(tok[1], "PTE");
		pmd = !strcmp(tok[1], "PMD");
		if (ntok == 2)
			b = B_HOLE;
		else if (!strcmp(tok[1], "PUD") && has_tok(tok, ntok, "BLK"))
			b = B_PUD;
		else if (pmd && has_tok(tok, ntok, "BLK"))
			b = has_tok(tok, ntok, "CON") ? B_CONT_PMD : B_PMD;
		else if (pte)
			b = has_tok(tok, ntok, "CON") ? B_CONT_PTE : B_PTE;
		else
			b = B_OTHER;
		if (pte && has_tok(tok, ntok, "BLK"))
			problem(s, "PTE line with BLK");
		s->bytes[b] += end - start;
		if (ntok > 2 && has_tok(tok, ntok, "F"))
			s->invalid += end - start;
		if (has_tok(tok, ntok, "ro"))
			s->ro += end - start;
		if (!s->lines)
			s->first = start;
		s->last = end;
		s->lines++;
		/* Table pages the shape implies (lines come in address order). */
		if (pte) {
			for (w = start / SZ_2M; w <= (end - 1) / SZ_2M; w++)
				if (w != last2m || !s->pte_tables) {
					s->pte_tables++;
					last2m = w;
				}
		}
		if (pte || pmd) {
			for (w = start / SZ_1G; w <= (end - 1) / SZ_1G; w++)
				if (w != last1g || !s->pmd_tables) {
					s->pmd_tables++;
					last1g = w;
				}
		}
	}
	if (state != 2) {
		problem(s, state ? "no Linear Mapping end marker" :
			"no Linear Mapping start marker");
		return -1;
	}
	s->span = s->last - s->first;
	return 0;
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

static void ptdump_facts(struct bench_run *r, struct shape *s)
{
	char q[600], obj[1600], *text;
	double t0 = now_ns();
	size_t n;
	long err;
	int i;

	text = slurp(PTDUMP_FILE, &err);
	if (!text) {
		snprintf(obj, sizeof(obj), "%s: %s%s", PTDUMP_FILE,
			 strerror((int)-err),
			 err == -ENOENT ? " (CONFIG_PTDUMP_DEBUGFS not set?)" : "");
		json_quote(q, sizeof(q), obj);
		bench_extra(r, "\"ptdump\":{\"ok\":false,\"error\":%s}", q);
		memset(s, 0, sizeof(*s));
		snprintf(s->problems, sizeof(s->problems), "unreadable");
		return;
	}
	parse_ptdump(text, s);	/* problems end up in s->problems */
	free(text);
	json_quote(q, sizeof(q), s->problems);
	n = snprintf(obj, sizeof(obj),
		     "\"ptdump\":{\"ok\":%s,\"error\":%s,\"read_ms\":%.1f,\"lines\":%ld,\"span_bytes\":%llu,\"bytes\":{",
		     s->problems[0] ? "false" : "true",
		     s->problems[0] ? q : "null", (now_ns() - t0) / 1e6,
		     s->lines, s->span);
	for (i = 0; i < B_NR && n < sizeof(obj); i++)
		n += snprintf(obj + n, sizeof(obj) - n, "\"%s\":%llu,",
			      bucket_name[i], s->bytes[i]);
	if (n < sizeof(obj))
		snprintf(obj + n, sizeof(obj) - n,
			 "\"invalid\":%llu,\"ro\":%llu},\"pte_tables\":%llu,\"pmd_tables\":%llu}",
			 s->invalid, s->ro, s->pte_tables, s->pmd_tables);
	bench_extra(r, "%s", obj);
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
	size_t bytes;

	if (phys <= 0 || psz <= 0)
		return;
	/* RAM/512 for 4K pages, at least one page. */
	c.pages = (long)(((unsigned long long)phys * psz / 512 + 4095) / 4096);
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
	       meminfo_kb("PageTables"), s.bytes[B_PTE] >> 10,
	       s.bytes[B_CONT_PTE] >> 10,
	       (s.bytes[B_PMD] + s.bytes[B_CONT_PMD] + s.bytes[B_PUD]) >> 10,
	       s.pte_tables, s.problems[0] ? "; ptdump problems: " : "",
	       s.problems);
	if (!r.plat.linear_map[0])
		bench_finish(&r, "skip", r.plat.linear_map_err);
	bench_finish(&r, "ok", NULL);
}
