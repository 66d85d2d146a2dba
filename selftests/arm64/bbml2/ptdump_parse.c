// SPDX-License-Identifier: GPL-2.0
/*
 * Linear map part of the arm64 ptdump: parser, shape and split model.
 *
 * Rules (arch/arm64/mm/ptdump.c, 6.12): only the lines between
 * "---[ Linear Mapping start ]---" and "---[ Linear Mapping end ]---" are
 * used; a line is "0xSTART-0xEND   SIZE LEVEL [TOKEN...]"; the size column
 * is ignored (sizes come from the addresses); a line without tokens is a
 * hole; lines merge when level and attributes are equal, so line counts
 * mean nothing and every check works on bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ptdump_parse.h"

#define LM_START_MARK	"---[ Linear Mapping start ]---"
#define LM_END_MARK	"---[ Linear Mapping end ]---"

static const char * const level_names[PT_NR_LEVELS] = {
	"PGD", "P4D", "PUD", "PMD", "PTE",
};

static const struct {
	const char *tok;
	unsigned int bit;
} tokens[] = {
	{ "F", PTA_F }, { "USR", PTA_USR }, { "ro", PTA_RO }, { "RW", 0 },
	{ "NX", PTA_NX }, { "x", 0 }, { "SHD", PTA_SHD }, { "AF", PTA_AF },
	{ "NG", PTA_NG }, { "CON", PTA_CON }, { "BLK", PTA_BLK },
	{ "UXN", PTA_UXN }, { "GP", PTA_GP },
};

static const char * const memtype_names[] = {
	[PT_MT_NONE] = "",
	[PT_MT_DEVICE_nGnRnE] = "DEVICE/nGnRnE",
	[PT_MT_DEVICE_nGnRE] = "DEVICE/nGnRE",
	[PT_MT_NORMAL_NC] = "MEM/NORMAL-NC",
	[PT_MT_NORMAL] = "MEM/NORMAL",
	[PT_MT_NORMAL_TAGGED] = "MEM/NORMAL-TAGGED",
};

static const char * const kind_names[LMK_NR] = {
	[LMK_HOLE] = "hole",
	[LMK_PUD] = "PUD",
	[LMK_CONT_PMD] = "CONT_PMD",
	[LMK_PMD] = "PMD",
	[LMK_CONT_PTE] = "CONT_PTE",
	[LMK_PTE] = "PTE",
	[LMK_TOP] = "PGD/P4D",
};

static int errf(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (err && len) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return -1;
}

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define ALIGNED(x, a)	(((x) & ((a) - 1)) == 0)

int lm_geom_init(struct lm_geom *g, long page_size)
{
	memset(g, 0, sizeof(*g));
	g->page = page_size;
	switch (page_size) {
	case 4096:
		g->cont_pte = 16 * 4096UL;
		g->pmd = 2UL << 20;
		g->cont_pmd = 16 * g->pmd;
		g->pud = 1UL << 30;
		g->pud_blocks = true;
		return 0;
	case 16384:
		g->cont_pte = 128 * 16384UL;
		g->pmd = 32UL << 20;
		g->cont_pmd = 32 * g->pmd;
		g->pud = 64UL << 30;
		return 0;
	case 65536:
		g->cont_pte = 32 * 65536UL;
		g->pmd = 512UL << 20;
		g->cont_pmd = 32 * g->pmd;
		g->pud = 4UL << 40;
		return 0;
	}
	return -1;
}

const char *lm_kind_name(enum lm_kind k)
{
	return k < LMK_NR ? kind_names[k] : "?";
}

unsigned long lm_kind_size(const struct lm_geom *g, enum lm_kind k)
{
	switch (k) {
	case LMK_PUD:
		return g->pud;
	case LMK_CONT_PMD:
		return g->cont_pmd;
	case LMK_PMD:
		return g->pmd;
	case LMK_CONT_PTE:
		return g->cont_pte;
	case LMK_PTE:
		return g->page;
	default:
		return 0;
	}
}

enum lm_kind pt_line_kind(const struct pt_line *l)
{
	if (l->hole)
		return LMK_HOLE;
	switch (l->level) {
	case PT_PUD:
		return LMK_PUD;
	case PT_PMD:
		return (l->attrs & PTA_CON) ? LMK_CONT_PMD : LMK_PMD;
	case PT_PTE:
		return (l->attrs & PTA_CON) ? LMK_CONT_PTE : LMK_PTE;
	default:
		return LMK_TOP;
	}
}

enum lm_kind lm_kind_split(enum lm_kind k)
{
	switch (k) {
	case LMK_PUD:
		return LMK_CONT_PMD;
	case LMK_CONT_PMD:
		return LMK_PMD;
	case LMK_PMD:
		return LMK_CONT_PTE;
	case LMK_CONT_PTE:
		return LMK_PTE;
	default:
		return k;
	}
}

void pt_attrs_str(unsigned int attrs, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s %s%s%s%s%s%s%s",
		 attrs & PTA_F ? "F " : "", attrs & PTA_USR ? "USR " : "",
		 attrs & PTA_RO ? "ro" : "RW", attrs & PTA_NX ? "NX" : "x",
		 attrs & PTA_SHD ? " SHD" : "", attrs & PTA_NG ? " NG" : "",
		 attrs & PTA_CON ? " CON" : "", attrs & PTA_BLK ? " BLK" : "",
		 attrs & PTA_UXN ? " UXN" : "", attrs & PTA_GP ? " GP" : "");
}

void pt_line_str(const struct pt_line *l, char *buf, size_t len)
{
	char attrs[96];

	if (l->hole) {
		snprintf(buf, len, "0x%016lx-0x%016lx %s hole", l->start, l->end,
			 level_names[l->level]);
		return;
	}
	pt_attrs_str(l->attrs, attrs, sizeof(attrs));
	snprintf(buf, len, "0x%016lx-0x%016lx %s %s %s", l->start, l->end,
		 level_names[l->level], attrs,
		 l->memtype < ARRAY_SIZE(memtype_names) ?
		 memtype_names[l->memtype] : "?");
}

void pt_map_free(struct pt_map *m)
{
	free(m->l);
	memset(m, 0, sizeof(*m));
}

static int map_reserve(struct pt_map *m, size_t nr)
{
	struct pt_line *l;
	size_t cap;

	if (nr <= m->cap)
		return 0;
	cap = m->cap ? m->cap * 2 : 256;
	while (cap < nr)
		cap *= 2;
	l = realloc(m->l, cap * sizeof(*l));
	if (!l)
		return -ENOMEM;
	m->l = l;
	m->cap = cap;
	return 0;
}

int pt_map_copy(struct pt_map *dst, const struct pt_map *src)
{
	memset(dst, 0, sizeof(*dst));
	if (map_reserve(dst, src->nr))
		return -ENOMEM;
	memcpy(dst->l, src->l, src->nr * sizeof(*src->l));
	dst->nr = src->nr;
	dst->start = src->start;
	dst->end = src->end;
	return 0;
}

static int parse_line(char *s, struct pt_line *l, char *err, size_t errlen)
{
	unsigned long start, end;
	char *save, *tok, *line = strdup(s);
	int n = 0, i;
	bool rw = false, x = false;

	if (!line)
		return -ENOMEM;
	memset(l, 0, sizeof(*l));
	if (sscanf(s, "0x%lx-0x%lx", &start, &end) != 2 || end <= start) {
		errf(err, errlen, "bad range in ptdump line '%s'", line);
		goto bad;
	}
	l->start = start;
	l->end = end;
	l->hole = true;
	strtok_r(s, " \t", &save);			/* range */
	if (!strtok_r(NULL, " \t", &save)) {		/* size column */
		errf(err, errlen, "no size in ptdump line '%s'", line);
		goto bad;
	}
	tok = strtok_r(NULL, " \t", &save);		/* level */
	for (i = 0; tok && i < PT_NR_LEVELS; i++)
		if (!strcmp(tok, level_names[i]))
			break;
	if (!tok || i == PT_NR_LEVELS) {
		errf(err, errlen, "unknown level in ptdump line '%s'", line);
		goto bad;
	}
	l->level = i;
	while ((tok = strtok_r(NULL, " \t", &save))) {
		bool known = false;

		n++;
		for (i = 0; i < (int)(ARRAY_SIZE(tokens)); i++) {
			if (!strcmp(tok, tokens[i].tok)) {
				l->attrs |= tokens[i].bit;
				rw |= !strcmp(tok, "RW") || !strcmp(tok, "ro");
				x |= !strcmp(tok, "x") || !strcmp(tok, "NX");
				known = true;
			}
		}
		for (i = 1; i < (int)(ARRAY_SIZE(memtype_names)); i++) {
			if (!strcmp(tok, memtype_names[i])) {
				if (l->memtype) {
					errf(err, errlen, "two memory types in '%s'", line);
					goto bad;
				}
				l->memtype = i;
				known = true;
			}
		}
		if (!known) {
			errf(err, errlen, "unknown token '%s' in ptdump line '%s'",
			     tok, line);
			goto bad;
		}
	}
	if (n) {
		l->hole = false;
		if (!rw || !x || !l->memtype) {
			errf(err, errlen, "ptdump line without ro/RW, NX/x or memory type: '%s'",
			     line);
			goto bad;
		}
	}
	free(line);
	return 0;
bad:
	free(line);
	return -EPROTO;
}

int ptdump_parse(struct pt_map *m, const char *text, char *err, size_t errlen)
{
	char *buf = strdup(text), *save, *s;
	bool in = false, done = false;
	int ret = -EPROTO;

	memset(m, 0, sizeof(*m));
	if (!buf)
		return -ENOMEM;
	for (s = strtok_r(buf, "\n", &save); s; s = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(s, "---[", 4)) {
			if (!strcmp(s, LM_START_MARK)) {
				in = true;
			} else if (in) {
				if (strcmp(s, LM_END_MARK)) {
					errf(err, errlen, "marker '%s' before '%s'",
					     s, LM_END_MARK);
					/* Not the 0 of the last parsed line. */
					ret = -EPROTO;
					goto out;
				}
				done = true;
				break;
			}
			continue;
		}
		if (!in)
			continue;
		if (map_reserve(m, m->nr + 1)) {
			ret = -ENOMEM;
			goto out;
		}
		ret = parse_line(s, &m->l[m->nr], err, errlen);
		if (ret)
			goto out;
		m->nr++;
	}
	ret = -EPROTO;
	if (!done || !m->nr) {
		errf(err, errlen, "no '%s' ... '%s' section in %s", LM_START_MARK,
		     LM_END_MARK, PTDUMP_PATH);
		goto out;
	}
	m->start = m->l[0].start;
	m->end = m->l[m->nr - 1].end;
	ret = 0;
out:
	free(buf);
	if (ret)
		pt_map_free(m);
	return ret;
}

char *ptdump_slurp(char *err, size_t errlen)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap), *nbuf;
	ssize_t n;
	int fd, e = 0;

	if (!buf) {
		errf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	fd = open(PTDUMP_PATH, O_RDONLY);
	if (fd < 0) {
		e = errno;
		errf(err, errlen, "open %s: %s", PTDUMP_PATH, strerror(e));
		free(buf);
		errno = e;
		return NULL;
	}
	for (;;) {
		if (len + 1 >= cap) {
			nbuf = realloc(buf, cap * 2);
			if (!nbuf) {
				e = ENOMEM;
				errf(err, errlen, "out of memory");
				goto fail;
			}
			buf = nbuf;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			errf(err, errlen, "read %s: %s", PTDUMP_PATH, strerror(e));
			goto fail;
		}
		if (!n)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
fail:
	close(fd);
	free(buf);
	errno = e;
	return NULL;
}

int ptdump_read(struct pt_map *m, char *err, size_t errlen)
{
	char *buf;
	int ret;

	memset(m, 0, sizeof(*m));
	buf = ptdump_slurp(err, errlen);
	if (!buf)
		return -errno;
	ret = ptdump_parse(m, buf, err, errlen);
	free(buf);
	return ret;
}

int ptdump_for_each(const char *text, ptdump_line_fn fn, void *ctx,
		    char *err, size_t errlen)
{
	char *buf = strdup(text), *save, *s, section[96] = "";
	struct pt_line l;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	for (s = strtok_r(buf, "\n", &save); s && !ret;
	     s = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(s);

		if (!strncmp(s, "---[ ", 5) && n > 10 && !strcmp(s + n - 5, " ]---")) {
			snprintf(section, sizeof(section), "%.*s", (int)(n - 10), s + 5);
			continue;
		}
		/* The range that ends at the top of the address space prints
		 * its end as 0: a hole or the last fixmap slot, no leaf we need. */
		if (strstr(s, "-0x0000000000000000 "))
			continue;
		ret = parse_line(s, &l, err, errlen);
		if (!ret)
			ret = fn(ctx, section, &l);
	}
	free(buf);
	return ret;
}

static unsigned long level_size(const struct lm_geom *g, int level)
{
	switch (level) {
	case PT_PUD:
		return g->pud;
	case PT_PMD:
		return g->pmd;
	case PT_PTE:
		return g->page;
	default:
		return 0;
	}
}

/* What is wrong with line @i of @m, or NULL. */
static const char *bad_line(const struct pt_map *m, const struct lm_geom *g,
			    size_t i, char *why, size_t len)
{
	const struct pt_line *l = &m->l[i];
	enum lm_kind k = pt_line_kind(l);
	unsigned long sz = l->hole ? level_size(g, l->level) : lm_kind_size(g, k);

	if (l->end <= l->start)
		return "empty line";
	if (i && l->start != m->l[i - 1].end)
		return "gap or overlap before";
	if (!l->hole) {
		if (l->level <= PT_PMD && !(l->attrs & PTA_BLK))
			return "leaf above PTE level without BLK";
		if (l->level == PT_PTE && (l->attrs & PTA_BLK))
			return "PTE with BLK";
		if (l->level <= PT_PUD && (l->attrs & PTA_CON))
			return "contiguous PUD or higher";
		if (k == LMK_PUD && !g->pud_blocks)
			return "PUD block with this page size";
	}
	if (sz && (!ALIGNED(l->start, sz) || !ALIGNED(l->end, sz))) {
		snprintf(why, len, "%s line not aligned to %luK (%s)",
			 lm_kind_name(k), sz >> 10,
			 k == LMK_CONT_PTE || k == LMK_CONT_PMD ?
			 "part of a contiguous range has other attributes" :
			 "not whole entries");
		return why;
	}
	return NULL;
}

/*
 * Where a bad line is bad: the leaf (or contiguous range) its misaligned
 * start and end fall in, or its start for other faults. The same fault
 * seen in two dumps has the same keys even if the lines around changed.
 */
static int bad_keys(const struct pt_map *m, const struct lm_geom *g, size_t i,
		    unsigned long *key)
{
	const struct pt_line *l = &m->l[i];
	enum lm_kind k = pt_line_kind(l);
	unsigned long sz = l->hole ? level_size(g, l->level) : lm_kind_size(g, k);
	char why[128];
	int n = 0;

	if (!bad_line(m, g, i, why, sizeof(why)))
		return 0;
	if (sz && !ALIGNED(l->start, sz))
		key[n++] = l->start & ~(sz - 1);
	if (sz && !ALIGNED(l->end, sz))
		key[n++] = l->end & ~(sz - 1);
	if (!n)
		key[n++] = l->start;
	return n;
}

static bool bad_in(const struct pt_map *base, const struct lm_geom *g,
		   unsigned long key)
{
	unsigned long k[2];
	int i = pt_map_find(base, key), j, n;

	/* The lines of @base around @key. */
	for (i = i > 0 ? i - 1 : 0; i >= 0 && i < (int)base->nr &&
	     base->l[i].start <= key + g->pud; i++) {
		n = bad_keys(base, g, i, k);
		for (j = 0; j < n; j++)
			if (k[j] == key)
				return true;
	}
	return false;
}

int pt_map_selfcheck(const struct pt_map *m, const struct lm_geom *g,
		     const struct pt_map *baseline, char *err, size_t errlen)
{
	char desc[192], why[128];
	unsigned long key[2];
	const char *bad;
	int n = 0, nk, j;
	size_t i;

	if (!m->nr) {
		errf(err, errlen, "empty linear map");
		return 1;
	}
	for (i = 0; i < m->nr; i++) {
		bad = bad_line(m, g, i, why, sizeof(why));
		if (!bad)
			continue;
		if (baseline) {
			nk = bad_keys(m, g, i, key);
			for (j = 0; j < nk && bad_in(baseline, g, key[j]); j++)
				;
			if (j == nk)
				continue;
		}
		if (!n++) {
			pt_line_str(&m->l[i], desc, sizeof(desc));
			errf(err, errlen, "%s: %s", bad, desc);
		}
	}
	if (m->l[0].start != m->start || m->l[m->nr - 1].end != m->end) {
		if (!n++)
			errf(err, errlen, "lines do not cover the linear map");
	}
	return n;
}

/* Windows of size @w touched by [s, e), not counting @last again. */
static unsigned long count_windows(unsigned long s, unsigned long e,
				   unsigned long w, long *last)
{
	long first = s / w, end = (e - 1) / w;
	unsigned long n = end - first + 1;

	if (first == *last)
		n--;
	*last = end;
	return n;
}

void pt_map_shape(const struct pt_map *m, const struct lm_geom *g,
		  unsigned long alias_start, unsigned long alias_end,
		  struct lm_shape *s)
{
	long last_pte = -1, last_pmd = -1, last_mapped = -1;
	size_t i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < m->nr; i++) {
		const struct pt_line *l = &m->l[i];
		enum lm_kind k = pt_line_kind(l);
		unsigned long in = 0, as, ae;

		as = l->start > alias_start ? l->start : alias_start;
		ae = l->end < alias_end ? l->end : alias_end;
		if (ae > as)
			in = ae - as;
		s->alias[k] += in;
		s->bytes[k] += l->end - l->start - in;
		if (!l->hole) {
			s->mapped += l->end - l->start;
			s->mapped_windows += count_windows(l->start, l->end,
							   g->pmd, &last_mapped);
			if (l->attrs & PTA_F)
				s->invalid += l->end - l->start;
			if (in && k == LMK_PMD)
				s->alias_blocks += in / g->pmd;
		}
		if (l->level == PT_PTE)
			s->pte_tables += count_windows(l->start, l->end, g->pmd,
						       &last_pte);
		if (l->level == PT_PTE || l->level == PT_PMD)
			s->pmd_tables += count_windows(l->start, l->end, g->pud,
						       &last_pmd);
	}
}

int pt_map_find(const struct pt_map *m, unsigned long addr)
{
	size_t lo = 0, hi = m->nr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (addr < m->l[mid].start)
			hi = mid;
		else if (addr >= m->l[mid].end)
			lo = mid + 1;
		else
			return mid;
	}
	return -1;
}

const struct pt_line *pt_map_line(const struct pt_map *m, unsigned long addr)
{
	int i = pt_map_find(m, addr);

	return i < 0 ? NULL : &m->l[i];
}

int pt_map_cut(struct pt_map *m, unsigned long addr)
{
	int i = pt_map_find(m, addr);

	if (i < 0)
		return -1;
	if (m->l[i].start == addr)
		return i;
	if (map_reserve(m, m->nr + 1))
		return -1;
	memmove(&m->l[i + 1], &m->l[i], (m->nr - i) * sizeof(m->l[0]));
	m->nr++;
	m->l[i].end = addr;
	m->l[i + 1].start = addr;
	return i + 1;
}

static bool same_mapping(const struct pt_line *a, const struct pt_line *b)
{
	return a->hole == b->hole && a->level == b->level &&
	       (a->hole || (a->attrs == b->attrs && a->memtype == b->memtype));
}

void pt_map_normalize(struct pt_map *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->nr; i++) {
		if (n && m->l[n - 1].end == m->l[i].start &&
		    same_mapping(&m->l[n - 1], &m->l[i]))
			m->l[n - 1].end = m->l[i].end;
		else
			m->l[n++] = m->l[i];
	}
	m->nr = n;
}

int model_split_at(struct pt_map *m, const struct lm_geom *g,
		   unsigned long addr, struct lm_counts *c)
{
	for (;;) {
		int i = pt_map_find(m, addr);
		struct pt_line *l;
		enum lm_kind k;
		unsigned long sz, ls;

		if (i < 0)
			return 0;
		k = pt_line_kind(&m->l[i]);
		sz = lm_kind_size(g, k);
		if (k == LMK_HOLE || k == LMK_PTE || k == LMK_TOP || !sz)
			return 0;
		ls = addr & ~(sz - 1);
		if (ls == addr)
			return 0;
		if (pt_map_cut(m, ls) < 0 || pt_map_cut(m, ls + sz) < 0)
			return -1;
		/* A leaf is several lines if its entries disagree (a bug). */
		for (i = pt_map_find(m, ls); i < (int)m->nr &&
		     m->l[i].start < ls + sz; i++) {
			l = &m->l[i];
			switch (k) {
			case LMK_PUD:
				l->level = PT_PMD;
				l->attrs |= PTA_CON;
				break;
			case LMK_CONT_PMD:
			case LMK_CONT_PTE:
				l->attrs &= ~PTA_CON;
				break;
			case LMK_PMD:
				l->level = PT_PTE;
				l->attrs &= ~PTA_BLK;
				l->attrs |= PTA_CON;
				break;
			default:
				return -1;
			}
		}
		switch (k) {
		case LMK_PUD:
			c->pud++;
			c->tables_pmd++;
			break;
		case LMK_CONT_PMD:
			c->cont_pmd++;
			break;
		case LMK_PMD:
			c->pmd++;
			c->tables_pte++;
			break;
		default:
			c->cont_pte++;
			break;
		}
	}
}

int model_apply(struct pt_map *m, const struct lm_geom *g,
		unsigned long start, unsigned long end,
		unsigned int set, unsigned int clear, char *err, size_t errlen)
{
	const struct pt_line *l;
	int i;

	l = pt_map_line(m, start);
	if (!l || !ALIGNED(start, lm_kind_size(g, pt_line_kind(l)) ?: g->page))
		return errf(err, errlen, "model: 0x%lx is inside a %s leaf",
			    start, l ? lm_kind_name(pt_line_kind(l)) : "unmapped");
	l = pt_map_line(m, end);
	if (l && !ALIGNED(end, lm_kind_size(g, pt_line_kind(l)) ?: g->page))
		return errf(err, errlen, "model: 0x%lx is inside a %s leaf", end,
			    lm_kind_name(pt_line_kind(l)));
	if (pt_map_cut(m, start) < 0 || (end < m->end && pt_map_cut(m, end) < 0))
		return errf(err, errlen, "model: cannot cut at 0x%lx-0x%lx",
			    start, end);
	for (i = pt_map_find(m, start); i >= 0 && i < (int)m->nr &&
	     m->l[i].start < end; i++) {
		if (m->l[i].hole)
			return errf(err, errlen, "model: 0x%lx is not mapped",
				    m->l[i].start);
		m->l[i].attrs = (m->l[i].attrs | set) & ~clear;
	}
	return 0;
}

static unsigned int ignored(const struct pt_ignore *ign, int nign,
			    unsigned long a, unsigned long *next)
{
	unsigned int mask = 0;
	int i;

	for (i = 0; i < nign; i++) {
		if (a >= ign[i].start && a < ign[i].end) {
			mask |= ign[i].mask;
			if (ign[i].end < *next)
				*next = ign[i].end;
		} else if (ign[i].start > a && ign[i].start < *next) {
			*next = ign[i].start;
		}
	}
	return mask;
}

int pt_map_compare(const struct pt_map *want, const struct pt_map *got,
		   const struct pt_ignore *ign, int nign, char *buf, size_t len)
{
	unsigned long a = want->start > got->start ? want->start : got->start;
	unsigned long end = want->end < got->end ? want->end : got->end;
	unsigned long bad_start = 0, bad_end = 0;
	int ndiff = 0, shown = 0;
	size_t off = 0;
	char d1[192], d2[192];
	int i = pt_map_find(want, a), j = pt_map_find(got, a);

	if (buf && len)
		buf[0] = '\0';
	if (want->start != got->start || want->end != got->end) {
		ndiff++;
		off += snprintf(buf + off, len - off,
				" linear map range differs: 0x%lx-0x%lx vs 0x%lx-0x%lx;",
				want->start, want->end, got->start, got->end);
	}
	while (a < end && i >= 0 && j >= 0) {
		const struct pt_line *w = &want->l[i], *g = &got->l[j];
		unsigned long next = w->end < g->end ? w->end : g->end;
		unsigned int mask = ignored(ign, nign, a, &next);
		struct pt_line wm = *w, gm = *g;

		wm.attrs &= ~mask;
		gm.attrs &= ~mask;
		/*
		 * On an invalid entry NG means nothing to the MMU: kernels with
		 * the present-invalid encoding (PTE_PRESENT_INVALID is the nG
		 * bit) set it on every entry they invalidate, older ones don't.
		 */
		if ((wm.attrs & PTA_F) && (gm.attrs & PTA_F)) {
			wm.attrs &= ~PTA_NG;
			gm.attrs &= ~PTA_NG;
		}
		if (!same_mapping(&wm, &gm)) {
			if (bad_end != a) {
				ndiff++;
				if (shown < 4 && off < len) {
					shown++;
					pt_line_str(w, d1, sizeof(d1));
					pt_line_str(g, d2, sizeof(d2));
					off += snprintf(buf + off, len - off,
							" at 0x%lx: want [%s] got [%s];",
							a, d1, d2);
				}
				bad_start = a;
			}
			bad_end = next;
		}
		a = next;
		if (a >= w->end)
			i++;
		if (a >= g->end)
			j++;
		if (i >= (int)want->nr || j >= (int)got->nr)
			break;
	}
	(void)bad_start;
	return ndiff;
}

static int emit(struct pt_map *m, unsigned long s, unsigned long e, int level,
		unsigned int attrs)
{
	struct pt_line *l;

	if (m->nr && m->l[m->nr - 1].end == s && !m->l[m->nr - 1].hole &&
	    m->l[m->nr - 1].level == level && m->l[m->nr - 1].attrs == attrs) {
		m->l[m->nr - 1].end = e;
		return 0;
	}
	if (map_reserve(m, m->nr + 1))
		return -1;
	l = &m->l[m->nr++];
	memset(l, 0, sizeof(*l));
	l->start = s;
	l->end = e;
	l->level = level;
	l->attrs = attrs;
	l->memtype = PT_MT_NORMAL_TAGGED;
	return 0;
}

#define NO_BLOCK	1
#define NO_CONT		2

static unsigned long next_boundary(unsigned long a, unsigned long size,
				   unsigned long limit)
{
	unsigned long n = (a | (size - 1)) + 1;

	return n < limit && n > a ? n : limit;
}

/* __create_pgd_mapping() of [s, e) with @flags, as arch/arm64/mm/mmu.c. */
static int map_chunk(struct pt_map *m, const struct lm_geom *g,
		     unsigned long s, unsigned long e, int flags)
{
	unsigned long a, b, c, d;

	for (a = s; a < e; a = next_boundary(a, g->pud, e)) {
		unsigned long pud_end = next_boundary(a, g->pud, e);

		if (g->pud_blocks && !(flags & NO_BLOCK) &&
		    ALIGNED(a | pud_end, g->pud)) {
			if (emit(m, a, pud_end, PT_PUD, PTA_BLK))
				return -1;
			continue;
		}
		for (b = a; b < pud_end; b = next_boundary(b, g->cont_pmd, pud_end)) {
			unsigned long cpmd_end = next_boundary(b, g->cont_pmd, pud_end);
			bool cont = !(flags & NO_CONT) &&
				    ALIGNED(b | cpmd_end, g->cont_pmd);

			for (c = b; c < cpmd_end; c = next_boundary(c, g->pmd, cpmd_end)) {
				unsigned long pmd_end = next_boundary(c, g->pmd, cpmd_end);

				if (!(flags & NO_BLOCK) && ALIGNED(c | pmd_end, g->pmd)) {
					if (emit(m, c, pmd_end, PT_PMD,
						 PTA_BLK | (cont ? PTA_CON : 0)))
						return -1;
					continue;
				}
				for (d = c; d < pmd_end;
				     d = next_boundary(d, g->cont_pte, pmd_end)) {
					unsigned long cpte_end =
						next_boundary(d, g->cont_pte, pmd_end);
					bool cpte = !(flags & NO_CONT) &&
						    ALIGNED(d | cpte_end, g->cont_pte);

					if (emit(m, d, cpte_end, PT_PTE,
						 cpte ? PTA_CON : 0))
						return -1;
				}
			}
		}
	}
	return 0;
}

int lm_boot_model(const struct pt_map *now, const struct lm_geom *g,
		  unsigned long alias_start, unsigned long alias_end,
		  unsigned long kfence_start, unsigned long kfence_end,
		  bool blocks, struct pt_map *out)
{
	return lm_boot_model_ex(now, g, alias_start, alias_end, kfence_start,
				kfence_end, blocks, NULL, 0, false, out);
}

int lm_boot_model_ex(const struct pt_map *now, const struct lm_geom *g,
		     unsigned long alias_start, unsigned long alias_end,
		     unsigned long kfence_start, unsigned long kfence_end,
		     bool blocks, const unsigned long *cuts, int ncuts,
		     bool alias_same_flags, struct pt_map *out)
{
	size_t i = 0;
	int k;

	memset(out, 0, sizeof(*out));
	out->start = now->start;
	out->end = now->end;
	while (i < now->nr) {
		unsigned long s = now->l[i].start, e, a;

		if (now->l[i].hole) {
			if (map_reserve(out, out->nr + 1))
				goto fail;
			out->l[out->nr++] = now->l[i++];
			continue;
		}
		while (i < now->nr && !now->l[i].hole)
			i++;
		e = now->l[i - 1].end;
		/* Cut the mapped run at the alias, the KFENCE pool, @cuts. */
		for (a = s; a < e;) {
			unsigned long n = e;
			int flags = blocks ? 0 : NO_BLOCK | NO_CONT;

			if (a >= alias_start && a < alias_end) {
				n = alias_end < e ? alias_end : e;
				if (!alias_same_flags)
					flags = NO_CONT;
			} else if (a >= kfence_start && a < kfence_end) {
				n = kfence_end < e ? kfence_end : e;
				flags = NO_BLOCK | NO_CONT;
			} else {
				if (alias_start > a && alias_start < n)
					n = alias_start;
				if (kfence_start > a && kfence_start < n)
					n = kfence_start;
			}
			for (k = 0; k < ncuts; k++)
				if (cuts[k] > a && cuts[k] < n)
					n = cuts[k];
			if (map_chunk(out, g, a, n, flags))
				goto fail;
			a = n;
		}
	}
	return 0;
fail:
	pt_map_free(out);
	return -1;
}

void lm_model_repaint_keep(struct pt_map *m, const struct lm_geom *g,
			   unsigned long keep_start, unsigned long keep_end,
			   struct lm_counts *c)
{
	const struct pt_line *l;
	unsigned long sz;

	/*
	 * A block across an edge of the kept range is split whole (a
	 * contiguous range only as far as its block: the kernel alias is
	 * smaller than a contiguous PMD range in every layout tested).
	 */
	l = pt_map_line(m, keep_start);
	if (l && !l->hole) {
		sz = pt_line_kind(l) == LMK_CONT_PMD ? g->pmd :
		     lm_kind_size(g, pt_line_kind(l));
		if (sz && keep_start % sz)
			keep_start += sz - keep_start % sz;
	}
	l = keep_end ? pt_map_line(m, keep_end - 1) : NULL;
	if (l && !l->hole) {
		sz = pt_line_kind(l) == LMK_CONT_PMD ? g->pmd :
		     lm_kind_size(g, pt_line_kind(l));
		if (sz && keep_end % sz)
			keep_end -= keep_end % sz;
	}
	if (keep_end < keep_start)
		keep_end = keep_start;
	lm_model_repaint(m, g, keep_start, keep_end, c);
}

void lm_model_repaint(struct pt_map *m, const struct lm_geom *g,
		      unsigned long alias_start, unsigned long alias_end,
		      struct lm_counts *c)
{
	size_t i;

	/* Model lines may run across the alias edges: cut them there. */
	if (alias_end > alias_start) {
		pt_map_cut(m, alias_start);
		pt_map_cut(m, alias_end);
	}
	for (i = 0; i < m->nr; i++) {
		struct pt_line *l = &m->l[i];
		unsigned long sz = l->end - l->start;

		if (l->hole || (l->start >= alias_start && l->end <= alias_end))
			continue;
		switch (pt_line_kind(l)) {
		case LMK_PUD:
			c->pud += sz / g->pud;
			c->tables_pmd += sz / g->pud;
			c->pmd += sz / g->pmd;
			c->tables_pte += sz / g->pmd;
			break;
		case LMK_CONT_PMD:
			c->cont_pmd += sz / g->cont_pmd;
			c->pmd += sz / g->pmd;
			c->tables_pte += sz / g->pmd;
			break;
		case LMK_PMD:
			c->pmd += sz / g->pmd;
			c->tables_pte += sz / g->pmd;
			break;
		case LMK_CONT_PTE:
			c->cont_pte += sz / g->cont_pte;
			break;
		default:
			continue;
		}
		l->level = PT_PTE;
		l->attrs &= ~(PTA_CON | PTA_BLK);
	}
	pt_map_normalize(m);
}

void lm_shape_after_splits(struct lm_shape *s, const struct lm_geom *g,
			   const struct lm_counts *c)
{
	s->bytes[LMK_PUD] -= c->pud * g->pud;
	s->bytes[LMK_CONT_PMD] += c->pud * g->pud;
	s->bytes[LMK_CONT_PMD] -= c->cont_pmd * g->cont_pmd;
	s->bytes[LMK_PMD] += c->cont_pmd * g->cont_pmd;
	s->bytes[LMK_PMD] -= c->pmd * g->pmd;
	s->bytes[LMK_CONT_PTE] += c->pmd * g->pmd;
	s->bytes[LMK_CONT_PTE] -= c->cont_pte * g->cont_pte;
	s->bytes[LMK_PTE] += c->cont_pte * g->cont_pte;
}
