// SPDX-License-Identifier: GPL-2.0
/*
 * bbml2_split: on-demand splits of the block-mapped linear map are exact.
 *
 * Each test changes the attributes of a range of the linear map (through
 * the test module: the masks of set_memory_ro/nx/x, set_memory_valid(),
 * set_direct_map_*(); or the real callers: set_memory_ro() on a vmalloc
 * area, module loading, memfd_secret()) whose ends fall inside a chosen
 * kind of leaf (PUD, contiguous PMD, PMD, contiguous PTE, page), found in
 * the page table dump, or exactly on the boundary of the next smaller kind
 * inside an intact leaf while the other end is the leaf's own boundary
 * (the *_to_sub and *_from_sub cases, whose leaves are looked for in the
 * dump kind by kind). Before anything is done, a model of
 * split_kernel_leaf_mapping() (split only the leaf that straddles each end
 * of the range, PUD -> contiguous PMDs -> PMDs -> contiguous PTEs -> PTEs,
 * no further than needed) predicts the whole linear map afterwards; the
 * dump must then match it exactly, the split counters must have moved
 * exactly as predicted, the pages must be (in)accessible as asked
 * (kernel_page_present(), a faulting read/write probe) and, after the
 * change is undone, the attributes must be back while the splits stay.
 * With a page-mapped linear map nothing needs splitting: the same checks
 * then say that no counter moved.
 *
 * On a kernel without the series' test module (mainline 7.3, the series
 * without CONFIG_ARM64_LINEAR_MAP_TEST) consistent_at_start and the
 * memfd_secret cases still run: memfd_secret() takes its pages out of the
 * linear map there too (with blocks, a split). What the module gave them
 * comes from elsewhere: the linear map's range and the kernel alias from
 * ptdump's markers and /proc/iomem where the series' report is missing too
 * (lm_info_get()), the secret pages' linear addresses from pagemap and
 * /proc/iomem (checked on every kernel), their validity from the dump
 * instead of kernel_page_present(). Without the report no split counter
 * can be compared: the dump must still match the model exactly. KFENCE's
 * pool, whose pages KFENCE makes valid and invalid at will, only the
 * module can locate: with KFENCE built in they skip, saying so. The cases
 * that change attributes through the module skip, naming it.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../../kselftest_harness.h"
#include "bbml2_util.h"

#ifndef __NR_memfd_secret
#define __NR_memfd_secret 447
#endif

#define MAX_POOL	8192
#define MAX_RANGES	64
#define RESULT_LEN	(64 * 1024)

enum op { OP_RO, OP_NX, OP_ROX, OP_INVALID, OP_DMAP };

static const struct op_desc {
	const char *name;
	const char *doit[2];
	const char *undo[2];
	unsigned int set, clear;	/* attributes while changed */
	bool per_page;			/* the kernel API takes one page */
	bool invalid, ro;
} ops[] = {
	[OP_RO] = { "ro", { "ro" }, { "rw" }, PTA_RO, 0, false, false, true },
	[OP_NX] = { "nx", { "nx" }, { NULL }, PTA_NX, 0, false, false, false },
	[OP_ROX] = { "rox", { "ro", "x" }, { "nx", "rw" }, PTA_RO, PTA_NX,
		     false, false, true },
	[OP_INVALID] = { "invalid", { "invalid" }, { "valid" }, PTA_F, 0,
			 false, true, false },
	[OP_DMAP] = { "dmap", { "dmap_invalid" }, { "dmap_default" }, PTA_F, 0,
		      true, true, false },
};

/* Every undo leaves valid, writable, non-executable pages. */
#define RESTORED_SET	PTA_NX
#define RESTORED_CLEAR	(PTA_RO | PTA_F)

enum shape {
	SH_SINGLE_MID,		/* one page inside the leaf */
	SH_SINGLE_START,	/* one page at the start of the leaf */
	SH_CROSS_START,		/* 5 pages across the start of the leaf */
	SH_MULTI_MID,		/* 5 pages inside, across a smaller boundary */
	SH_DEEP_END,		/* inside up to a boundary half way in */
	SH_SPAN,		/* all but the first and last page */
	SH_WHOLE,		/* exactly the leaf: nothing to split */
	/*
	 * One end on the boundary of the next smaller kind of leaf inside
	 * the leaf, the other on the leaf's own boundary, so that nothing
	 * but the end inside splits it (issue 20, item 7).
	 */
	SH_TO_SUB,		/* from the leaf's start to a smaller boundary */
	SH_FROM_SUB,		/* from the last smaller boundary to its end */
};

static const char * const shape_names[] = {
	"one page inside", "one page at the start", "5 pages across the start",
	"5 pages inside", "from inside to a boundary inside",
	"all but the first and last page", "the whole leaf",
	"from its start to the first smaller leaf's end",
	"from the last smaller leaf's start to its end",
};

struct range {
	unsigned long start, npages;
};

struct snap {
	struct pt_map m;
	struct lm_info info;
};

FIXTURE(split) {
	int fd;
	struct lm_geom g;
	struct lm_info info;
	struct pt_ignore ign[2];
	int nign;
	bool dpa;
	/* KFENCE built in, its pool unknown without the module. */
	bool kfence_unknown;
	unsigned long long kmark;
	unsigned int order;
	unsigned long chunk, budget;
	unsigned long pool[MAX_POOL];
	int npool;
	char *buf;
};

static unsigned long mem_available(void)
{
	char buf[4096], *p;
	unsigned long kb = 0;

	if (read_file("/proc/meminfo", buf, sizeof(buf)) > 0) {
		p = strstr(buf, "MemAvailable:");
		if (p)
			sscanf(p, "MemAvailable: %lu", &kb);
	}
	return kb << 10;
}

FIXTURE_SETUP(split)
{
	struct module_info mi = { 0 };
	char err[512];
	unsigned long c;

	self->fd = -1;
	self->buf = malloc(RESULT_LEN);
	ASSERT_NE(NULL, self->buf);
	/* Without the module (module_missing) only some tests run. */
	if (!module_missing[0]) {
		self->fd = sess_open();
		ASSERT_LE(0, self->fd)
			TH_LOG("open %s: %s", MODULE_CTL, strerror(errno));
	}
	ASSERT_EQ(0, lm_geom_init(&self->g, getpagesize()));
	ASSERT_EQ(0, lm_info_get(&self->info, err, sizeof(err))) TH_LOG("%s", err);
	/* What may split depends on the mode: it must be the expected one. */
	ASSERT_EQ(0, bbml2_mode_check(&self->info, err, sizeof(err)))
		TH_LOG("%s", err);
	if (self->fd < 0)
		self->kfence_unknown = !access("/sys/module/kfence", F_OK);
	else
		ASSERT_EQ(0, module_info_get(self->fd, &mi));
	if (mi.kfence_end > mi.kfence_start) {
		/*
		 * KFENCE changes the validity of its pool pages at will (and
		 * with the present-invalid encoding nG goes with it).
		 */
		self->ign[self->nign++] = (struct pt_ignore){
			mi.kfence_start, mi.kfence_end, PTA_F | PTA_NG };
	}
	self->dpa = self->info.debug_pagealloc;
	if (self->dpa) {
		/* DEBUG_PAGEALLOC unmaps every free page: validity is noise. */
		self->ign[self->nign++] = (struct pt_ignore){
			self->info.lm_start, self->info.lm_end, PTA_F | PTA_NG };
	}
	/* Pool chunks: 4 MiB or a PMD, whichever is larger, at most 32 MiB. */
	c = lm_test_chunk(&self->g);
	for (self->order = 0; (self->g.page << self->order) < c; self->order++)
		;
	self->chunk = self->g.page << self->order;
	self->budget = mem_available() / 4 * 3;
	self->kmark = kmsg_mark();
}

FIXTURE_TEARDOWN(split)
{
	if (self->fd >= 0) {
		sess_cmd(self->fd, NULL, 0, "free_all");
		close(self->fd);
	}
	free(self->buf);
}

static int cmp_ul(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

/* Allocate another batch of pool blocks; false when out of budget. */
static bool pool_grow(FIXTURE_DATA(split) *self)
{
	char *p, *end;
	int ret;

	if (self->npool + 32 > MAX_POOL ||
	    (self->npool + 32) * self->chunk > self->budget)
		return false;
	ret = sess_cmd(self->fd, self->buf, RESULT_LEN, "alloc %u 32", self->order);
	while (ret == -EINVAL && self->order > 0) {
		/* Larger than MAX_PAGE_ORDER: use smaller blocks. */
		self->order--;
		self->chunk >>= 1;
		ret = sess_cmd(self->fd, self->buf, RESULT_LEN, "alloc %u 32",
			       self->order);
	}
	if (ret)
		return false;
	for (p = self->buf; *p; p = end) {
		unsigned long a = strtoul(p, &end, 16);

		if (end == p)
			break;
		self->pool[self->npool++] = a;
		while (*end == '\n')
			end++;
	}
	qsort(self->pool, self->npool, sizeof(self->pool[0]), cmp_ul);
	return true;
}

static bool pool_has(FIXTURE_DATA(split) *self, unsigned long a);
static bool regular(FIXTURE_DATA(split) *self, const struct pt_map *m,
		    unsigned long a, unsigned long len);

/*
 * Allocate the pool block at @a itself: the module allocates from its zone
 * until that one comes (up to the budget), then gives the others back.
 */
static bool pool_target(FIXTURE_DATA(split) *self, unsigned long a)
{
	if (self->npool >= MAX_POOL ||
	    sess_cmd(self->fd, NULL, 0, "alloc_at 0x%lx %u %lu", a, self->order,
		     self->budget / self->chunk))
		return false;
	self->pool[self->npool++] = a;
	qsort(self->pool, self->npool, sizeof(self->pool[0]), cmp_ul);
	return true;
}

/*
 * Leaves larger than a pool block (PUD) are few and far apart in the
 * allocator's order: go for the start of each intact one directly, and
 * the block before it for ranges that cross its start.
 */
static void pool_target_leaves(FIXTURE_DATA(split) *self,
			       const struct pt_map *m, enum lm_kind kind)
{
	unsigned long b = lm_kind_size(&self->g, kind), ls;
	int i;

	for (i = m->nr - 1; i >= 0; i--) {
		const struct pt_line *l = &m->l[i];

		if (pt_line_kind(l) != kind)
			continue;
		for (ls = l->end - b; ls >= l->start && ls < l->end; ls -= b) {
			if (!regular(self, m, ls, self->chunk))
				continue;
			if (pool_has(self, ls) || pool_target(self, ls)) {
				if (!pool_has(self, ls - self->chunk))
					pool_target(self, ls - self->chunk);
				return;
			}
		}
	}
}

static bool pool_has(FIXTURE_DATA(split) *self, unsigned long a)
{
	unsigned long c = align_down(a, self->chunk);

	return bsearch(&c, self->pool, self->npool, sizeof(c), cmp_ul);
}

static bool owned(FIXTURE_DATA(split) *self, unsigned long a, unsigned long len)
{
	unsigned long c;

	for (c = align_down(a, self->chunk); c < a + len; c += self->chunk)
		if (!pool_has(self, c))
			return false;
	return true;
}

/* Plain RAM: valid, writable, non-executable, not the kernel alias. */
static bool regular(FIXTURE_DATA(split) *self, const struct pt_map *m,
		    unsigned long a, unsigned long len)
{
	int i = pt_map_find(m, a);

	if (a < self->info.alias_end && a + len > self->info.alias_start)
		return false;
	for (; i >= 0 && i < (int)m->nr && m->l[i].start < a + len; i++) {
		const struct pt_line *l = &m->l[i];

		if (l->hole || (l->attrs & (PTA_F | PTA_RO)) ||
		    !(l->attrs & PTA_NX) ||
		    (l->memtype != PT_MT_NORMAL_TAGGED &&
		     l->memtype != PT_MT_NORMAL))
			return false;
	}
	return i >= 0;
}

static bool usable(FIXTURE_DATA(split) *self, const struct pt_map *m,
		   const struct range *r, int nr)
{
	int i;

	for (i = 0; i < nr; i++) {
		unsigned long len = r[i].npages * self->g.page;

		if (!r[i].npages || !owned(self, r[i].start, len) ||
		    !regular(self, m, r[i].start, len))
			return false;
	}
	return true;
}

/*
 * The next smaller kind of leaf whose boundaries lie inside a leaf of
 * @kind: a PMD inside a PUD (inside the contiguous PMDs it splits into)
 * and inside contiguous PMDs, a contiguous PTE range inside a PMD, a page
 * inside contiguous PTEs. At most a pool block.
 */
static unsigned long sub_size(FIXTURE_DATA(split) *self, enum lm_kind kind)
{
	switch (kind) {
	case LMK_PUD:
	case LMK_CONT_PMD:
		return self->g.pmd;
	case LMK_PMD:
		return self->g.cont_pte;
	default:
		return self->g.page;
	}
}

static bool edge_shape(enum shape sh)
{
	return sh == SH_TO_SUB || sh == SH_FROM_SUB;
}

static int make_ranges(FIXTURE_DATA(split) *self, enum lm_kind kind,
		       enum shape sh, unsigned long ls, unsigned long a,
		       struct range *r)
{
	unsigned long p = self->g.page, b = lm_kind_size(&self->g, kind);
	unsigned long s = b < self->chunk ? b : self->chunk;

	switch (sh) {
	case SH_SINGLE_MID:
		r[0] = (struct range){ a + s / 2 + p, 1 };
		break;
	case SH_SINGLE_START:
		r[0] = (struct range){ ls, 1 };
		break;
	case SH_CROSS_START:
		r[0] = (struct range){ ls - 2 * p, 5 };
		break;
	case SH_MULTI_MID:
		r[0] = (struct range){ a + s / 2 - 2 * p, 5 };
		break;
	case SH_DEEP_END:
		r[0] = (struct range){ a + 3 * p, (s / 2 - 3 * p) / p };
		break;
	case SH_SPAN:
		r[0] = (struct range){ a + p, (s - 2 * p) / p };
		break;
	case SH_WHOLE:
		if (b > self->chunk)
			return 0;
		r[0] = (struct range){ ls, b / p };
		break;
	case SH_TO_SUB:
		r[0] = (struct range){ ls, sub_size(self, kind) / p };
		break;
	case SH_FROM_SUB:
		r[0] = (struct range){ ls + b - sub_size(self, kind),
				       sub_size(self, kind) / p };
		break;
	}
	return 1;
}

static bool needs_leaf_start(enum shape sh)
{
	return sh == SH_SINGLE_START || sh == SH_CROSS_START || sh == SH_WHOLE;
}

/* A leaf of @kind in pool memory that the shape fits in. */
static int find_case(FIXTURE_DATA(split) *self, const struct pt_map *m,
		     enum lm_kind kind, enum shape sh, struct range *r,
		     unsigned long *leaf)
{
	unsigned long b = lm_kind_size(&self->g, kind), p = self->g.page;
	int i, n;

	for (i = self->npool - 1; i >= 0; i--) {
		unsigned long c = self->pool[i], ls, end;

		if (kind == LMK_PTE) {
			/* Pages: any run of page-level entries. */
			unsigned long want = sh == SH_SINGLE_MID ? 1 : 5, a;

			for (a = c; a + want * p <= c + self->chunk; a += p) {
				const struct pt_line *l = pt_map_line(m, a);

				if (!l || pt_line_kind(l) != LMK_PTE ||
				    l->end < a + want * p)
					continue;
				r[0] = (struct range){ a, want };
				if (usable(self, m, r, 1)) {
					*leaf = a;
					return 1;
				}
			}
			continue;
		}
		if (b > self->chunk) {
			/* Big leaf: the pool block is the anchor. */
			ls = align_down(c, b);
			if (needs_leaf_start(sh) && ls != c)
				continue;
			end = ls + b;
			if (pt_map_line(m, c) &&
			    pt_line_kind(pt_map_line(m, c)) == kind &&
			    pt_map_line(m, c)->start <= ls &&
			    pt_map_line(m, c)->end >= end) {
				n = make_ranges(self, kind, sh, ls, c, r);
				if (n && usable(self, m, r, n)) {
					*leaf = ls;
					return n;
				}
			}
			continue;
		}
		for (ls = c; ls + b <= c + self->chunk; ls += b) {
			const struct pt_line *l = pt_map_line(m, ls);

			if (!l || pt_line_kind(l) != kind || l->end < ls + b)
				continue;
			n = make_ranges(self, kind, sh, ls, ls, r);
			if (n && usable(self, m, r, n)) {
				*leaf = ls;
				return n;
			}
		}
	}
	return 0;
}

/* Most pool blocks one range of an edge shape may need (64K pages). */
#define EDGE_MAX_CHUNKS	16
/* Leaves whose memory find_edge_case() tries to allocate, per call. */
#define EDGE_TARGETS	6

/*
 * A leaf of @kind for an edge shape (SH_TO_SUB, SH_FROM_SUB), taken from
 * the dump itself: every intact leaf of that kind outside the kernel
 * alias is a candidate, not only what the pool happens to hold. With
 * @next, a range that ends at the leaf's own end needs the next leaf to
 * be an intact one of the same kind, so that a split beyond the end of
 * the range shows. With @target, the pool blocks of up to EDGE_TARGETS
 * candidates the test does not own yet are allocated (the caller reads
 * the dump again); otherwise only owned memory is used.
 */
static int find_edge_case(FIXTURE_DATA(split) *self, const struct pt_map *m,
			  enum lm_kind kind, enum shape sh, struct range *r,
			  unsigned long *leaf, bool next, bool target)
{
	unsigned long b = lm_kind_size(&self->g, kind), p = self->g.page;
	int i, tries = 0;

	for (i = (int)m->nr - 1; i >= 0; i--) {
		const struct pt_line *l = &m->l[i];
		unsigned long ls, len, c;

		if (pt_line_kind(l) != kind)
			continue;
		for (ls = align_down(l->end, b) - b; ls >= l->start && ls < l->end;
		     ls -= b) {
			if (next && sh == SH_FROM_SUB && ls + 2 * b > l->end)
				continue;
			make_ranges(self, kind, sh, ls, ls, r);
			len = r->npages * p;
			if (len > EDGE_MAX_CHUNKS * self->chunk ||
			    !regular(self, m, r->start, len))
				continue;
			if (usable(self, m, r, 1)) {
				*leaf = ls;
				return 1;
			}
			if (!target || tries == EDGE_TARGETS)
				continue;
			tries++;
			for (c = align_down(r->start, self->chunk);
			     c < r->start + len; c += self->chunk)
				if (!pool_has(self, c) && !pool_target(self, c))
					break;
		}
	}
	return 0;
}

/*
 * Read the dump and the counters. Lines that break the self-checks fail
 * the test if they are new since @base; with no @base (the first dump of
 * a test) they are only reported: consistent_at_start owns them.
 */
static void snap_take(struct __test_metadata *_metadata,
		      FIXTURE_DATA(split) *self, struct snap *s,
		      const struct snap *base, const char *when)
{
	char err[512];
	int bad;

	ASSERT_EQ(0, ptdump_read(&s->m, err, sizeof(err))) TH_LOG("%s: %s", when, err);
	ASSERT_EQ(0, lm_info_get(&s->info, err, sizeof(err))) TH_LOG("%s", err);
	bad = pt_map_selfcheck(&s->m, &self->g, base ? &base->m : NULL, err,
			       sizeof(err));
	if (!base && bad) {
		TH_LOG("%s: already %d inconsistent line(s) in the linear map, e.g. %s",
		       when, bad, err);
	} else {
		EXPECT_EQ(0, bad) TH_LOG("%s: %s", when, err);
	}
}

static void snap_free(struct snap *s)
{
	pt_map_free(&s->m);
}

static void check_model(struct __test_metadata *_metadata,
			FIXTURE_DATA(split) *self, const struct pt_map *model,
			const struct snap *before, const struct snap *after,
			const struct lm_counts *want, const char *when)
{
	struct lm_counts got;
	char a[256], b[256];
	int diffs;

	diffs = pt_map_compare(model, &after->m, self->ign, self->nign,
			       self->buf, RESULT_LEN);
	EXPECT_EQ(0, diffs) TH_LOG("%s: %d range(s) differ from the model:%s",
				   when, diffs, self->buf);
	/* Without the report there are no counters: the dump is all. */
	if (after->info.derived)
		return;
	lm_counts_sub(&got, &after->info.split, &before->info.split);
	lm_counts_str(want, a, sizeof(a));
	lm_counts_str(&got, b, sizeof(b));
	EXPECT_TRUE(lm_counts_equal(want, &got))
		TH_LOG("%s: split counters: expected %s, got %s", when, a, b);
	EXPECT_EQ(before->info.split_failures, after->info.split_failures);
}

static void describe(struct __test_metadata *_metadata,
		     FIXTURE_DATA(split) *self, const struct pt_map *m,
		     const struct range *r, int n, const char *what)
{
	int i;

	for (i = 0; i < n && i < 4; i++) {
		unsigned long e = r[i].start + r[i].npages * self->g.page;
		const struct pt_line *ls = pt_map_line(m, r[i].start);
		const struct pt_line *le = pt_map_line(m, e);

		TH_LOG("%s 0x%lx-0x%lx (%lu pages): start in %s, end in %s",
		       what, r[i].start, e, r[i].npages,
		       ls ? lm_kind_name(pt_line_kind(ls)) : "?",
		       le ? lm_kind_name(pt_line_kind(le)) : "nothing");
	}
	if (n > 4)
		TH_LOG("... and %d more ranges", n - 4);
}

/* Expected splits: both ends of every range (every page for per-page APIs). */
static void model_ranges(struct __test_metadata *_metadata,
			 FIXTURE_DATA(split) *self, struct pt_map *model,
			 const struct range *r, int n, bool per_page,
			 struct lm_counts *c)
{
	unsigned long p = self->g.page, a;
	int i;

	for (i = 0; i < n; i++) {
		unsigned long e = r[i].start + r[i].npages * p;

		for (a = r[i].start; a < e; a += per_page ? p : e - a) {
			ASSERT_EQ(0, model_split_at(model, &self->g, a, c));
			ASSERT_EQ(0, model_split_at(model, &self->g,
						    per_page ? a + p : e, c));
		}
	}
}

static void model_attrs(struct __test_metadata *_metadata,
			FIXTURE_DATA(split) *self, struct pt_map *model,
			const struct range *r, int n, unsigned int set,
			unsigned int clear)
{
	char err[256];
	int i;

	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, model_apply(model, &self->g, r[i].start,
					 r[i].start + r[i].npages * self->g.page,
					 set, clear, err, sizeof(err)))
			TH_LOG("%s", err);
	}
	pt_map_normalize(model);
}

/* kernel_page_present() of [a, a + n pages) is all @want. */
static void check_present(struct __test_metadata *_metadata,
			  FIXTURE_DATA(split) *self, unsigned long a,
			  unsigned long n, char want, const char *when)
{
	unsigned long i;
	int ret;

	ret = sess_cmd(self->fd, self->buf, RESULT_LEN, "present 0x%lx %lu", a, n);
	ASSERT_EQ(0, ret) TH_LOG("present 0x%lx: %s", a, strerror(-ret));
	for (i = 0; i < n; i++) {
		if (self->buf[i] != want) {
			TH_LOG("%s: kernel_page_present(0x%lx) is %c, expected %c",
			       when, a + i * self->g.page, self->buf[i], want);
			_metadata->exit_code = KSFT_FAIL;
			return;
		}
	}
}

/* The read/write probe of the module on each page is @want. */
static void check_probe(struct __test_metadata *_metadata,
			FIXTURE_DATA(split) *self, const struct range *r,
			const char *want, const char *when)
{
	unsigned long i;
	char *p;
	int ret;

	ret = sess_cmd(self->fd, self->buf, RESULT_LEN, "probe 0x%lx %lu",
		       r->start, r->npages);
	ASSERT_EQ(0, ret) TH_LOG("probe: %s", strerror(-ret));
	for (i = 0, p = self->buf; i < r->npages; i++, p += 3) {
		if (strncmp(p, want, 2)) {
			TH_LOG("%s: page 0x%lx access %.2s, expected %s", when,
			       r->start + i * self->g.page, p, want);
			_metadata->exit_code = KSFT_FAIL;
			return;
		}
	}
}

/* Fill or check the pattern on [a, e) and two pages around, if owned. */
static int data_op(FIXTURE_DATA(split) *self, const char *cmd,
		   const struct range *r, unsigned long seed)
{
	unsigned long p = self->g.page, a = r->start - 2 * p;
	unsigned long e = r->start + (r->npages + 2) * p;
	int ret = 0;

	for (; a < e && !ret; a += p) {
		unsigned long n = 0;

		if (!owned(self, a, p))
			continue;
		/* One call per pool block. */
		while (a + n * p < e && owned(self, a + n * p, p) &&
		       align_down(a + n * p, self->chunk) == align_down(a, self->chunk))
			n++;
		ret = sess_cmd(self->fd, self->buf, RESULT_LEN, "%s 0x%lx %lu %lx",
			       cmd, a, n, seed);
		a += (n - 1) * p;
	}
	return ret;
}

static void run_ranges(struct __test_metadata *_metadata,
		       FIXTURE_DATA(split) *self, struct snap *pre,
		       const struct range *r, int n, enum op op)
{
	const struct op_desc *o = &ops[op];
	struct lm_counts want = { 0 }, none = { 0 };
	struct pt_map model;
	struct snap post, post2;
	unsigned long seed = 0x5eed0000 + op, p = self->g.page;
	int i, j, ret, splats;
	const char *access;

	ASSERT_EQ(0, pt_map_copy(&model, &pre->m));
	model_ranges(_metadata, self, &model, r, n, o->per_page, &want);
	model_attrs(_metadata, self, &model, r, n, o->set, o->clear);
	describe(_metadata, self, &pre->m, r, n, o->name);
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, data_op(self, "fill", &r[i], seed));

	for (j = 0; j < 2 && o->doit[j]; j++) {
		for (i = 0; i < n; i++) {
			ret = sess_cmd(self->fd, NULL, 0, "change %s 0x%lx %lu",
				       o->doit[j], r[i].start, r[i].npages);
			EXPECT_EQ(0, ret) TH_LOG("%s on 0x%lx (%lu pages): %s",
						 o->doit[j], r[i].start,
						 r[i].npages, strerror(-ret));
		}
	}
	snap_take(_metadata, self, &post, pre, "after the change");
	check_model(_metadata, self, &model, pre, &post, &want, "after the change");
	access = o->invalid ? "--" : o->ro ? "r-" : "rw";
	for (i = 0; i < n; i++) {
		check_present(_metadata, self, r[i].start, r[i].npages,
			      o->invalid ? '0' : '1', "after the change");
		/* The pages around stay mapped. */
		if (regular(self, &pre->m, r[i].start - p, p))
			check_present(_metadata, self, r[i].start - p, 1, '1',
				      "page before the range");
		if (regular(self, &pre->m, r[i].start + r[i].npages * p, p))
			check_present(_metadata, self,
				      r[i].start + r[i].npages * p, 1, '1',
				      "page after the range");
		check_probe(_metadata, self, &r[i], access, "after the change");
	}
	if (op == OP_RO || op == OP_ROX) {
		for (i = 0; i < n; i++)
			EXPECT_EQ(0, data_op(self, "check", &r[i], seed))
				TH_LOG("read-only data: %s", self->buf);
	}

	for (j = 0; j < 2 && o->undo[j]; j++) {
		for (i = 0; i < n; i++) {
			ret = sess_cmd(self->fd, NULL, 0, "change %s 0x%lx %lu",
				       o->undo[j], r[i].start, r[i].npages);
			EXPECT_EQ(0, ret) TH_LOG("%s on 0x%lx: %s", o->undo[j],
						 r[i].start, strerror(-ret));
		}
	}
	/* Attributes back, splits kept: no new split, no merge. */
	model_attrs(_metadata, self, &model, r, n, RESTORED_SET, RESTORED_CLEAR);
	snap_take(_metadata, self, &post2, pre, "after undoing it");
	check_model(_metadata, self, &model, &post, &post2, &none,
		    "after undoing it");
	for (i = 0; i < n; i++) {
		check_present(_metadata, self, r[i].start, r[i].npages, '1',
			      "after undoing it");
		check_probe(_metadata, self, &r[i], "rw", "after undoing it");
		EXPECT_EQ(0, data_op(self, "check", &r[i], seed))
			TH_LOG("data: %s", self->buf);
	}
	splats = kmsg_splats(self->kmark, self->buf, RESULT_LEN);
	EXPECT_EQ(0, splats) TH_LOG("kernel log: %s", self->buf);
	pt_map_free(&model);
	snap_free(&post);
	snap_free(&post2);
}

static bool any_kind(const struct pt_map *m, unsigned long as,
		     unsigned long ae, enum lm_kind lo, enum lm_kind hi)
{
	size_t i;

	for (i = 0; i < m->nr; i++) {
		enum lm_kind k = pt_line_kind(&m->l[i]);

		if (k >= lo && k <= hi &&
		    (m->l[i].end <= as || m->l[i].start >= ae))
			return true;
	}
	return false;
}

/*
 * Turn part of a larger leaf in the pool into leaves of @kind: a change
 * of one page (nx, which changes nothing) splits every leaf around it.
 */
static bool prepare(struct __test_metadata *_metadata,
		    FIXTURE_DATA(split) *self, const struct pt_map *m,
		    enum lm_kind kind)
{
	int i;

	for (i = self->npool - 1; i >= 0; i--) {
		unsigned long a = self->pool[i] + 5 * self->g.page;
		const struct pt_line *l = pt_map_line(m, a);
		struct range r = { a, 1 };

		if (!l || pt_line_kind(l) >= kind || pt_line_kind(l) == LMK_HOLE ||
		    !usable(self, m, &r, 1))
			continue;
		TH_LOG("no %s leaf in the pool: splitting the %s leaf at 0x%lx (nx on one page)",
		       lm_kind_name(kind), lm_kind_name(pt_line_kind(l)), a);
		return !sess_cmd(self->fd, NULL, 0, "change nx 0x%lx 1", a);
	}
	return false;
}

/*
 * A page-mapped linear map (pte modes, after a repaint, debug_pagealloc):
 * the same change on pool pages, shaped as it would be around a leaf of
 * @kind, must apply without a single split.
 */
static void run_pte_case(struct __test_metadata *_metadata,
			 FIXTURE_DATA(split) *self, struct snap *pre,
			 enum lm_kind kind, enum shape sh, enum op op)
{
	struct range r[MAX_RANGES];
	unsigned long a;
	int n;

	if (!self->npool) {
		ASSERT_TRUE(pool_grow(self)) TH_LOG("cannot allocate test pages");
		snap_free(pre);
		snap_take(_metadata, self, pre, NULL, "after allocating");
	}
	a = self->pool[self->npool / 2];
	if (sh == SH_FROM_SUB)	/* the "leaf" ends half way into the block */
		n = make_ranges(self, kind, sh, a + self->chunk / 2 -
				lm_kind_size(&self->g, kind), a, r);
	else
		n = make_ranges(self, kind, sh, a + self->chunk / 2, a, r);
	if (edge_shape(sh) && sub_size(self, kind) > self->chunk / 2)
		n = 0;
	if (!n) {
		r[0] = (struct range){ a + self->chunk / 2, 1 };
		n = 1;
	}
	ASSERT_TRUE(usable(self, &pre->m, r, n))
		TH_LOG("pool range 0x%lx (%lu pages) is not plain page-mapped memory",
		       r[0].start, r[0].npages);
	TH_LOG("page-mapped linear map (linear_map=%s): %s-shaped %s change, no split expected",
	       self->info.linear_map, lm_kind_name(kind), ops[op].name);
	run_ranges(_metadata, self, pre, r, n, op);
}

static void run_case(struct __test_metadata *_metadata,
		     FIXTURE_DATA(split) *self, enum lm_kind kind,
		     enum shape sh, enum op op)
{
	struct range r[MAX_RANGES];
	struct snap pre;
	unsigned long leaf = 0;
	bool prepared = false, targeted = false, relaxed = false;
	int n;

	SKIP_WITHOUT_SERIES(return);
	snap_take(_metadata, self, &pre, NULL, "before");
	if (!strcmp(self->info.linear_map, "pte")) {
		/*
		 * Page mapped outside the kernel alias: a larger leaf left
		 * there (by a repaint or a hot-add that missed it) is a bug
		 * to report, never a case to run or a reason to skip.
		 */
		EXPECT_FALSE(any_kind(&pre.m, self->info.alias_start,
				      self->info.alias_end, LMK_PUD, LMK_CONT_PTE))
			TH_LOG("linear_map=pte, but a block or contiguous leaf is left outside the kernel alias");
		if (kind != LMK_PTE) {
			run_pte_case(_metadata, self, &pre, kind, sh, op);
			snap_free(&pre);
			return;
		}
	}
	if (!any_kind(&pre.m, self->info.alias_start, self->info.alias_end,
		      LMK_PUD, kind)) {
		pt_map_free(&pre.m);
		SKIP(return, "no %s or larger leaf outside the kernel alias in this boot (linear_map=%s, %lu PUD, %lu contiguous PMD, %lu PMD blocks split since boot)",
		     lm_kind_name(kind), self->info.linear_map,
		     pre.info.split.pud, pre.info.split.cont_pmd,
		     pre.info.split.pmd);
	}
	for (;;) {
		if (edge_shape(sh))
			n = find_edge_case(self, &pre.m, kind, sh, r, &leaf,
					   !relaxed, false);
		else
			n = find_case(self, &pre.m, kind, sh, r, &leaf);
		if (n)
			break;
		if (!targeted && (edge_shape(sh) ||
				  lm_kind_size(&self->g, kind) > self->chunk)) {
			targeted = true;
			if (edge_shape(sh))
				find_edge_case(self, &pre.m, kind, sh, r, &leaf,
					       !relaxed, true);
			else
				pool_target_leaves(self, &pre.m, kind);
			snap_free(&pre);
			snap_take(_metadata, self, &pre, NULL, "after allocating");
			continue;
		}
		if (pool_grow(self)) {
			/* Allocating validates pages under DEBUG_PAGEALLOC. */
			snap_free(&pre);
			snap_take(_metadata, self, &pre, NULL, "after allocating");
			continue;
		}
		if (!prepared && kind != LMK_PUD &&
		    prepare(_metadata, self, &pre.m, kind)) {
			prepared = true;
			snap_free(&pre);
			snap_take(_metadata, self, &pre, NULL, "after preparing");
			continue;
		}
		if (edge_shape(sh) && !relaxed) {
			/* Any leaf of the kind, without an intact successor. */
			relaxed = true;
			targeted = false;
			continue;
		}
		{
			unsigned long mib = self->npool * (self->chunk >> 20);
			bool others = any_kind(&pre.m, self->info.alias_start,
					       self->info.alias_end, kind, kind);

			snap_free(&pre);
			SKIP(return, "no intact %s leaf in the %lu MiB this test could allocate (%s)",
			     lm_kind_name(kind), mib,
			     others ? "the others are in use" :
			     "all split by earlier changes");
		}
	}
	TH_LOG("%s leaf at 0x%lx, %s, op %s", lm_kind_name(kind), leaf,
	       shape_names[sh], ops[op].name);
	if (sh == SH_FROM_SUB) {
		const struct pt_line *nl = pt_map_line(&pre.m, r[0].start +
						       r[0].npages * self->g.page);

		TH_LOG("the range ends at the leaf's end; beyond it: %s%s",
		       nl ? lm_kind_name(pt_line_kind(nl)) : "nothing",
		       relaxed ? " (no leaf of the same kind with an intact successor was available: a split beyond the end cannot show)" : "");
	}
	run_ranges(_metadata, self, &pre, r, n, op);
	snap_free(&pre);
}

/*
 * Before any test here: the linear map as the previous programs and the
 * loading of the test module (where there is one) left it (loading
 * changes the linear alias of the module's pages) passes the self-checks,
 * e.g. no contiguous range with entries that disagree.
 */
TEST_F_TIMEOUT(split, consistent_at_start, 300)
{
	struct pt_map m;
	char err[512];

	ASSERT_EQ(0, ptdump_read(&m, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(0, pt_map_selfcheck(&m, &self->g, NULL, err, sizeof(err)))
		TH_LOG("%s", err);
	pt_map_free(&m);
}

#define SPLIT_CASE(kname, kind, sname, shape, op)			\
	TEST_F_TIMEOUT(split, kname##_##sname##_##op, 600)		\
	{								\
		run_case(_metadata, self, kind, shape, OP_##op);	\
	}

#define OP_ro		OP_RO
#define OP_nx		OP_NX
#define OP_rox		OP_ROX
#define OP_invalid	OP_INVALID
#define OP_dmap		OP_DMAP

/* Ends inside a PUD block. */
SPLIT_CASE(pud, LMK_PUD, single_start, SH_SINGLE_START, invalid)
SPLIT_CASE(pud, LMK_PUD, single_mid, SH_SINGLE_MID, ro)
SPLIT_CASE(pud, LMK_PUD, cross_start, SH_CROSS_START, dmap)
SPLIT_CASE(pud, LMK_PUD, multi_mid, SH_MULTI_MID, nx)
SPLIT_CASE(pud, LMK_PUD, deep_end, SH_DEEP_END, rox)
SPLIT_CASE(pud, LMK_PUD, span, SH_SPAN, ro)
/*
 * Ends on the boundary of a smaller kind inside an intact leaf, the other
 * end on the leaf's own boundary: only that end can split it (issue 20,
 * item 7). A PMD boundary inside a PUD (and inside the contiguous PMDs it
 * becomes) ...
 */
SPLIT_CASE(pud, LMK_PUD, to_sub, SH_TO_SUB, ro)
SPLIT_CASE(pud, LMK_PUD, from_sub, SH_FROM_SUB, invalid)
/* ... inside a contiguous range of PMD blocks. */
SPLIT_CASE(cont_pmd, LMK_CONT_PMD, single_mid, SH_SINGLE_MID, invalid)
SPLIT_CASE(cont_pmd, LMK_CONT_PMD, single_start, SH_SINGLE_START, ro)
SPLIT_CASE(cont_pmd, LMK_CONT_PMD, cross_start, SH_CROSS_START, nx)
SPLIT_CASE(cont_pmd, LMK_CONT_PMD, multi_mid, SH_MULTI_MID, dmap)
SPLIT_CASE(cont_pmd, LMK_CONT_PMD, deep_end, SH_DEEP_END, ro)
SPLIT_CASE(cont_pmd, LMK_CONT_PMD, span, SH_SPAN, invalid)
/* ... a PMD boundary inside contiguous PMDs, and their own end ... */
SPLIT_CASE(cont_pmd, LMK_CONT_PMD, to_sub, SH_TO_SUB, ro)
SPLIT_CASE(cont_pmd, LMK_CONT_PMD, from_sub, SH_FROM_SUB, nx)
/* ... inside a PMD block. */
SPLIT_CASE(pmd, LMK_PMD, single_mid, SH_SINGLE_MID, dmap)
SPLIT_CASE(pmd, LMK_PMD, single_start, SH_SINGLE_START, nx)
SPLIT_CASE(pmd, LMK_PMD, cross_start, SH_CROSS_START, ro)
SPLIT_CASE(pmd, LMK_PMD, multi_mid, SH_MULTI_MID, invalid)
SPLIT_CASE(pmd, LMK_PMD, deep_end, SH_DEEP_END, dmap)
SPLIT_CASE(pmd, LMK_PMD, span, SH_SPAN, rox)
SPLIT_CASE(pmd, LMK_PMD, whole, SH_WHOLE, ro)
/* ... a contiguous PTE boundary inside a PMD ... */
SPLIT_CASE(pmd, LMK_PMD, to_sub, SH_TO_SUB, invalid)
SPLIT_CASE(pmd, LMK_PMD, from_sub, SH_FROM_SUB, ro)
/* ... inside a contiguous range of PTEs. */
SPLIT_CASE(cont_pte, LMK_CONT_PTE, single_mid, SH_SINGLE_MID, nx)
SPLIT_CASE(cont_pte, LMK_CONT_PTE, single_start, SH_SINGLE_START, dmap)
SPLIT_CASE(cont_pte, LMK_CONT_PTE, cross_start, SH_CROSS_START, invalid)
SPLIT_CASE(cont_pte, LMK_CONT_PTE, multi_mid, SH_MULTI_MID, ro)
SPLIT_CASE(cont_pte, LMK_CONT_PTE, deep_end, SH_DEEP_END, invalid)
SPLIT_CASE(cont_pte, LMK_CONT_PTE, span, SH_SPAN, dmap)
SPLIT_CASE(cont_pte, LMK_CONT_PTE, whole, SH_WHOLE, rox)
/* ... and a contiguous PTE range's own end. */
SPLIT_CASE(cont_pte, LMK_CONT_PTE, from_sub, SH_FROM_SUB, nx)
/* ... on plain pages: nothing to split, in any mode. */
SPLIT_CASE(pte, LMK_PTE, single, SH_SINGLE_MID, ro)
SPLIT_CASE(pte, LMK_PTE, single, SH_SINGLE_MID, invalid)
SPLIT_CASE(pte, LMK_PTE, single, SH_SINGLE_MID, dmap)
SPLIT_CASE(pte, LMK_PTE, multi, SH_MULTI_MID, rox)
SPLIT_CASE(pte, LMK_PTE, multi, SH_MULTI_MID, nx)
SPLIT_CASE(pte, LMK_PTE, multi, SH_MULTI_MID, dmap)

static int parse_addrs(const char *s, unsigned long *a, int max)
{
	int n = 0;
	char *end;

	while (*s && n < max) {
		unsigned long v = strtoul(s, &end, 16);

		if (end == s)
			break;
		a[n++] = v;
		s = end;
		while (*s == '\n')
			s++;
	}
	return n;
}

/* set_memory_ro()/rw() on a vmalloc area: the linear alias, page by page. */
TEST_F_TIMEOUT(split, vmalloc_alias, 600)
{
	unsigned long addrs[65];
	struct range r[64];
	struct lm_counts want = { 0 }, none = { 0 };
	struct snap pre, post, post2;
	struct pt_map model;
	int n, i, ret;

	SKIP_WITHOUT_SERIES(return);
	snap_take(_metadata, self, &pre, NULL, "before");
	ret = sess_cmd(self->fd, self->buf, RESULT_LEN, "vmalloc 64");
	ASSERT_EQ(0, ret) TH_LOG("vmalloc: %s", strerror(-ret));
	n = parse_addrs(self->buf, addrs, 65) - 1;
	ASSERT_EQ(64, n);
	for (i = 0; i < n; i++)
		r[i] = (struct range){ addrs[i + 1], 1 };
	ASSERT_EQ(0, pt_map_copy(&model, &pre.m));
	model_ranges(_metadata, self, &model, r, n, true, &want);
	model_attrs(_metadata, self, &model, r, n, PTA_RO, 0);
	describe(_metadata, self, &pre.m, r, n, "alias page");

	ret = sess_cmd(self->fd, NULL, 0, "vset ro");
	EXPECT_EQ(0, ret) TH_LOG("set_memory_ro: %s", strerror(-ret));
	snap_take(_metadata, self, &post, &pre, "after set_memory_ro");
	check_model(_metadata, self, &model, &pre, &post, &want,
		    "after set_memory_ro");

	ret = sess_cmd(self->fd, NULL, 0, "vset rw");
	EXPECT_EQ(0, ret) TH_LOG("set_memory_rw: %s", strerror(-ret));
	model_attrs(_metadata, self, &model, r, n, 0, PTA_RO);
	snap_take(_metadata, self, &post2, &pre, "after set_memory_rw");
	check_model(_metadata, self, &model, &post, &post2, &none,
		    "after set_memory_rw");
	EXPECT_EQ(0, sess_cmd(self->fd, NULL, 0, "vfree"));
	EXPECT_EQ(0, kmsg_splats(self->kmark, self->buf, RESULT_LEN))
		TH_LOG("kernel log: %s", self->buf);
	pt_map_free(&model);
	snap_free(&pre);
	snap_free(&post);
	snap_free(&post2);
}

/*
 * Loading a module makes the linear alias of its text and rodata
 * read-only (set_memory_ro/rox, page by page); its init areas get the same
 * and are freed right after loading, which resets every page of them
 * (vm_reset_perms(): invalid, then default); unloading resets every page
 * of the other areas.
 */
TEST_F_TIMEOUT(split, module_load_alias, 600)
{
	struct lm_counts want = { 0 }, want2 = { 0 };
	struct range *r, *rw, *init;
	struct snap pre, post, post2;
	struct pt_map model;
	char err[512], *line, *save;
	int nro = 0, nrw = 0, ninit = 0, ret, fd;
	char *buf = self->buf;

	SKIP_WITHOUT_SERIES(return);
	r = calloc(3 * 2048, sizeof(*r));
	ASSERT_NE(NULL, r);
	rw = r + 2048;
	init = r + 4096;
	/* This test loads the module itself: drop the fixture's session. */
	sess_cmd(self->fd, NULL, 0, "free_all");
	close(self->fd);
	self->fd = -1;
	ret = module_unload();
	ASSERT_EQ(0, ret) TH_LOG("cannot unload %s: %s", MODULE_NAME, strerror(-ret));

	snap_take(_metadata, self, &pre, NULL, "before loading");
	ASSERT_EQ(0, module_load(err, sizeof(err))) TH_LOG("%s", err);
	fd = sess_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sess_cmd(fd, NULL, 0, "sync"));
	ASSERT_EQ(0, sess_cmd(fd, buf, RESULT_LEN, "info"));
	close(fd);
	snap_take(_metadata, self, &post, &pre, "after loading");

	/* "mem TYPE RO NPAGES" then NPAGES addresses. */
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char type[32];
		int ro, np, k;

		if (sscanf(line, "mem %31s %d %d", type, &ro, &np) != 3)
			continue;
		TH_LOG("module %s: %d page(s)%s", type, np, ro ? ", read-only" : "");
		for (k = 0; k < np; k++) {
			struct range x;

			line = strtok_r(NULL, "\n", &save);
			ASSERT_NE(NULL, line);
			x = (struct range){ strtoul(line, NULL, 16), 1 };
			ASSERT_LT(nro + nrw + ninit, 2048);
			if (!strncmp(type, "init_", 5))
				init[ninit++] = x;
			else if (ro)
				r[nro++] = x;
			else
				rw[nrw++] = x;
		}
	}
	ASSERT_LT(0, nro);
	/* Loaded: read-only core pages, init pages reset. */
	ASSERT_EQ(0, pt_map_copy(&model, &pre.m));
	model_ranges(_metadata, self, &model, r, nro, true, &want);
	model_ranges(_metadata, self, &model, init, ninit, true, &want);
	model_attrs(_metadata, self, &model, r, nro, PTA_RO, 0);
	check_model(_metadata, self, &model, &pre, &post, &want, "after loading");

	/* Unloaded: every core page reset. */
	ret = module_unload();
	ASSERT_EQ(0, ret) TH_LOG("cannot unload: %s", strerror(-ret));
	snap_take(_metadata, self, &post2, &pre, "after unloading");
	memcpy(&r[nro], rw, nrw * sizeof(*rw));
	model_ranges(_metadata, self, &model, r, nro + nrw, true, &want2);
	model_attrs(_metadata, self, &model, r, nro + nrw, 0, PTA_RO | PTA_F);
	check_model(_metadata, self, &model, &post, &post2, &want2,
		    "after unloading");
	EXPECT_EQ(0, kmsg_splats(self->kmark, self->buf, RESULT_LEN))
		TH_LOG("kernel log: %s", self->buf);
	ASSERT_EQ(0, module_load(err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(0, module_sync());
	pt_map_free(&model);
	snap_free(&pre);
	snap_free(&post);
	snap_free(&post2);
	free(r);
}

static sigjmp_buf sigbus_env;

static void on_sigbus(int sig)
{
	siglongjmp(sigbus_env, 1);
}

/* Pages F in @b and not in @a (outside ignored ranges), at most @max. */
static int new_invalid(FIXTURE_DATA(split) *self, const struct pt_map *a,
		       const struct pt_map *b, struct range *r, int max)
{
	unsigned long p = self->g.page;
	size_t i;
	int n = 0, k;

	for (i = 0; i < b->nr; i++) {
		const struct pt_line *l = &b->l[i];
		unsigned long x;

		if (l->hole || !(l->attrs & PTA_F))
			continue;
		for (x = l->start; x < l->end; x += p) {
			const struct pt_line *o = pt_map_line(a, x);
			bool ign = false;

			for (k = 0; k < self->nign; k++)
				ign |= x >= self->ign[k].start && x < self->ign[k].end;
			if (ign || (o && !o->hole && (o->attrs & PTA_F)))
				continue;
			if (n == max)
				return max + 1;
			r[n++] = (struct range){ x, 1 };
		}
	}
	return n;
}

/*
 * The linear addresses of the first @pages pages at @mem, from pagemap and
 * /proc/iomem, sorted: 0, or -1 and why they cannot be told.
 */
static int linear_aliases(FIXTURE_DATA(split) *self, const struct pt_map *m,
			  const char *mem, int pages, unsigned long *a,
			  char *why, size_t len)
{
	struct phys_map pm;
	unsigned long phys;
	int i, ret;

	if (phys_map_init(&pm, m, why, len))
		return -1;
	for (i = 0; i < pages; i++) {
		ret = user_phys(mem + i * self->g.page, &phys);
		if (ret) {
			snprintf(why, len, "no PFN of page %d in /proc/self/pagemap: %s",
				 i, strerror(-ret));
			return -1;
		}
		a[i] = lm_addr(&pm, phys);
	}
	qsort(a, pages, sizeof(*a), cmp_ul);
	return 0;
}

static bool valid_at(const struct pt_map *m, unsigned long a)
{
	const struct pt_line *l = pt_map_line(m, a);

	return l && !l->hole && !(l->attrs & PTA_F);
}

static void secret_case(struct __test_metadata *_metadata,
			FIXTURE_DATA(split) *self, int pages)
{
	struct lm_counts want = { 0 }, none = { 0 };
	struct range r[MAX_RANGES + 1];
	unsigned long sec[MAX_RANGES];
	struct snap pre, post, post2;
	struct rlimit rl = { 64 << 20, 64 << 20 };
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	struct pt_map model;
	unsigned long p = self->g.page;
	volatile int touched = 0;
	char *mem, why[256], c[256];
	int fd, n, i, k, nsec;

	ASSERT_GE(MAX_RANGES, pages);
	if (self->dpa)
		SKIP(return, "debug_pagealloc unmaps every free page: new invalid pages cannot be attributed to memfd_secret");
	if (self->kfence_unknown)
		SKIP(return, "KFENCE is built in and makes its pool's pages valid and invalid at will, and only the test module locates the pool: %.640s",
		     module_missing);
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	fd = syscall(__NR_memfd_secret, 0);
	if (fd < 0 && (errno == ENOSYS || errno == EINVAL))
		SKIP(return, "memfd_secret() not available: %s", strerror(errno));
	ASSERT_LE(0, fd) TH_LOG("memfd_secret: %s", strerror(errno));
	ASSERT_EQ(0, ftruncate(fd, pages * p));
	mem = mmap(NULL, pages * p, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, mem);

	snap_take(_metadata, self, &pre, NULL, "before");
	sigaction(SIGBUS, &sa, &old);
	if (!sigsetjmp(sigbus_env, 1)) {
		for (i = 0; i < pages; i++, touched++)
			memset(mem + i * p, 0x5a ^ i, p);
	}
	sigaction(SIGBUS, &old, NULL);
	EXPECT_EQ(pages, touched)
		TH_LOG("SIGBUS faulting in memfd_secret page %d (the kernel could not unmap it from the linear map)",
		       touched);
	snap_take(_metadata, self, &post, &pre, "after the faults");

	/* The pages that went invalid are the secret ones. */
	n = new_invalid(self, &pre.m, &post.m, r, MAX_RANGES);
	EXPECT_EQ(touched, n) TH_LOG("new invalid pages in the linear map");
	if (n > MAX_RANGES)
		n = MAX_RANGES;
	/* Each of them, located through pagemap, is one of those. */
	nsec = touched;
	if (linear_aliases(self, &pre.m, mem, touched, sec, why, sizeof(why))) {
		TH_LOG("secret pages not located (%s): the new invalid pages stand for them",
		       why);
		nsec = 0;
	}
	for (i = 0; i < nsec; i++) {
		for (k = 0; k < n && r[k].start != sec[i]; k++)
			;
		EXPECT_LT(k, n)
			TH_LOG("secret page at 0x%lx (pagemap) is %s in the linear map",
			       sec[i], valid_at(&post.m, sec[i]) ?
			       "still valid" : "not a new invalid page");
		if (k == n)
			break;
	}
	ASSERT_EQ(0, pt_map_copy(&model, &pre.m));
	model_ranges(_metadata, self, &model, r, n, true, &want);
	model_attrs(_metadata, self, &model, r, n, PTA_F, 0);
	describe(_metadata, self, &pre.m, r, n, "secret page");
	lm_counts_str(&want, c, sizeof(c));
	TH_LOG("splits the model predicts: %s (%s)", c,
	       post.info.derived ? "no counters to compare: " WHY_NO_REPORT :
	       "the counters must agree");
	check_model(_metadata, self, &model, &pre, &post, &want, "after the faults");
	/* kernel_page_present() needs the module; the dump shows the same. */
	for (i = 0; i < n && self->fd >= 0; i++)
		check_present(_metadata, self, r[i].start, 1, '0', "secret page");
	for (i = 0; i < touched; i++)
		if (mem[i * p] != (char)(0x5a ^ i) ||
		    mem[i * p + p - 1] != (char)(0x5a ^ i))
			break;
	EXPECT_EQ(touched, i) TH_LOG("secret data");

	/* Freed on munmap + close: valid again, splits kept. */
	ASSERT_EQ(0, munmap(mem, pages * p));
	ASSERT_EQ(0, close(fd));
	model_attrs(_metadata, self, &model, r, n, 0, PTA_F | PTA_RO);
	snap_take(_metadata, self, &post2, &pre, "after munmap and close");
	check_model(_metadata, self, &model, &post, &post2, &none,
		    "after munmap and close");
	for (i = 0; i < n && self->fd >= 0; i++)
		check_present(_metadata, self, r[i].start, 1, '1', "freed secret page");
	for (i = 0; i < nsec; i++) {
		EXPECT_TRUE(valid_at(&post2.m, sec[i]))
			TH_LOG("freed secret page at 0x%lx (pagemap) still invalid",
			       sec[i]);
		if (!valid_at(&post2.m, sec[i]))
			break;
	}
	EXPECT_EQ(0, kmsg_splats(self->kmark, self->buf, RESULT_LEN))
		TH_LOG("kernel log: %s", self->buf);
	pt_map_free(&model);
	snap_free(&pre);
	snap_free(&post);
	snap_free(&post2);
}

TEST_F_TIMEOUT(split, memfd_secret_1, 600)
{
	secret_case(_metadata, self, 1);
}

TEST_F_TIMEOUT(split, memfd_secret_3, 600)
{
	secret_case(_metadata, self, 3);
}

TEST_F_TIMEOUT(split, memfd_secret_64, 600)
{
	secret_case(_metadata, self, 64);
}

int main(int argc, char **argv)
{
	bbml2_prereq(NEED_PTDUMP | NEED_MODULE | NO_SERIES_OK);
	return test_harness_run(argc, argv);
}
