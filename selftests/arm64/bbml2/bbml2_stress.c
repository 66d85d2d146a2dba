// SPDX-License-Identifier: GPL-2.0
/*
 * bbml2_stress: splits from every CPU at once.
 *
 * One thread per online CPU changes attributes of its own slots of a
 * shared region through the test module (ro, ro+x, invalid, direct map
 * invalid, nx, each undone), checks each change with a faulting probe, and
 * faults memfd_secret pages in and out, while one more thread keeps
 * reading the kernel page table dump. Slots of different threads
 * alternate, so their ranges overlap in leaves: the same PMD blocks and
 * contiguous ranges are split from several CPUs at once. They never
 * overlap in pages: the kernel leaves the result of two concurrent
 * changes of the same page undefined (callers own the pages they change).
 *
 * The region is taken from the largest leaves available, so that there is
 * something to split. At the end every thread changes all its slots at
 * once and, while they stay changed, the dump must show each slot as asked
 * and every contiguous range whole (a range whose entries disagree is a
 * misprogrammed contiguous hint); then they are undone.
 *
 * Afterwards: the mapped bytes are unchanged, no kind of block grew, the
 * bytes per kind moved exactly as the split counters say, the region is
 * plain valid RAM again with its data intact, no split failed and the
 * kernel log is clean.
 *
 * On a kernel without the series' report and test module (mainline
 * 6.18+) module_ops_all_cpus skips, naming them, and memfd_secret_all_cpus
 * runs with memfd_secret() as the only source of splits: no split is
 * counted there, so the bytes per kind are checked against no counter,
 * but still nothing may be unmapped, no kind of block may grow, the
 * kernel alias may not change, and a page-mapped map may not change at
 * all.
 *
 * BBML2_STRESS_ITERS sets the iterations per thread (default 400).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <sched.h>
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

#define MAX_THREADS	64
#define MAX_SLOTS	4096
#define REGION_BLOCKS	4
#define CANDIDATES	32

struct slot {
	unsigned long start, npages;
	int owner;
};

struct shared {
	struct lm_geom g;
	unsigned long blocks[REGION_BLOCKS], block;
	struct slot slots[MAX_SLOTS];
	int nslots, nthreads, iters;
	bool module_ops, secrets;
	bool stop;
	int reader_reads, reader_errors;
	pthread_barrier_t phase;
};

/*
 * Op of each slot in the final phase, where they all stay changed at once:
 * ro, rox, invalid, dmap on even slots; odd slots, between them, stay as
 * they are (-1).
 */
static int hold_op(int slot)
{
	return slot % 2 ? -1 : (slot / 2) % 4;
}

struct worker {
	pthread_t tid;
	struct shared *sh;
	int id, cpu;
	unsigned long long seed;
	int ops, secrets, errors;
	char err[512];
};

static unsigned long long rnd(unsigned long long *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static __printf(2, 3) void fail(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	if (!w->errors++) {
		va_start(ap, fmt);
		vsnprintf(w->err, sizeof(w->err), fmt, ap);
		va_end(ap);
	}
}

static const struct {
	const char *doit[2], *undo[2];
	const char *access;
} wops[] = {
	{ { "ro" }, { "rw" }, "r-" },
	{ { "ro", "x" }, { "nx", "rw" }, "r-" },
	{ { "invalid" }, { "valid" }, "--" },
	{ { "dmap_invalid" }, { "dmap_default" }, "--" },
	{ { "nx" }, { NULL }, "rw" },
};

static void probe(struct worker *w, int fd, const struct slot *s,
		  const char *want, const char *when)
{
	char buf[MAX_SLOTS * 3];
	unsigned long i;
	int ret;

	ret = sess_cmd(fd, buf, sizeof(buf), "probe 0x%lx %lu", s->start,
		       s->npages);
	if (ret) {
		fail(w, "access check of 0x%lx: %s", s->start, strerror(-ret));
		return;
	}
	for (i = 0; i < s->npages; i++) {
		if (strncmp(buf + 3 * i, want, 2)) {
			fail(w, "%s: page 0x%lx access %.2s, expected %s", when,
			     s->start + i * w->sh->g.page, buf + 3 * i, want);
			return;
		}
	}
}

static void module_op(struct worker *w, int fd, const struct slot *s, int op)
{
	int j, ret;

	for (j = 0; j < 2 && wops[op].doit[j]; j++) {
		ret = sess_cmd(fd, NULL, 0, "change %s 0x%lx %lu",
			       wops[op].doit[j], s->start, s->npages);
		if (ret)
			fail(w, "%s 0x%lx+%lu: %s", wops[op].doit[j], s->start,
			     s->npages, strerror(-ret));
	}
	probe(w, fd, s, wops[op].access, wops[op].doit[0]);
	for (j = 0; j < 2 && wops[op].undo[j]; j++) {
		ret = sess_cmd(fd, NULL, 0, "change %s 0x%lx %lu",
			       wops[op].undo[j], s->start, s->npages);
		if (ret)
			fail(w, "%s 0x%lx+%lu: %s", wops[op].undo[j], s->start,
			     s->npages, strerror(-ret));
	}
	probe(w, fd, s, "rw", "undone");
	w->ops++;
}

static void secret_op(struct worker *w, unsigned long long *seed)
{
	unsigned long p = w->sh->g.page;
	int n = 1 + rnd(seed) % 8, i, fd;
	char *mem;

	fd = syscall(__NR_memfd_secret, 0);
	if (fd < 0) {
		fail(w, "memfd_secret: %s", strerror(errno));
		return;
	}
	if (ftruncate(fd, n * p)) {
		fail(w, "ftruncate: %s", strerror(errno));
		close(fd);
		return;
	}
	mem = mmap(NULL, n * p, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		fail(w, "mmap: %s", strerror(errno));
		close(fd);
		return;
	}
	/* SIGBUS here would kill the test: that is a failure too. */
	for (i = 0; i < n; i++)
		memset(mem + i * p, w->id ^ i, p);
	for (i = 0; i < n; i++)
		if (mem[i * p] != (char)(w->id ^ i) ||
		    mem[i * p + p - 1] != (char)(w->id ^ i))
			fail(w, "memfd_secret data of page %d", i);
	munmap(mem, n * p);
	close(fd);
	w->secrets++;
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	unsigned long long seed = w->seed;
	int mine[MAX_SLOTS], nmine = 0, i, fd = -1;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	for (i = 0; i < sh->nslots; i++)
		if (sh->slots[i].owner == w->id)
			mine[nmine++] = i;
	if (sh->module_ops) {
		fd = sess_open();
		if (fd < 0)
			fail(w, "open %s: %s", MODULE_CTL, strerror(errno));
	}
	for (i = 0; i < sh->iters && !w->errors; i++) {
		if (sh->module_ops && nmine)
			module_op(w, fd, &sh->slots[mine[rnd(&seed) % nmine]],
				  rnd(&seed) % (ARRAY_SIZE(wops)));
		if (sh->secrets && (!sh->module_ops || !(i % 8)))
			secret_op(w, &seed);
	}
	if (sh->module_ops) {
		int j, k, ret;

		/* Everybody changes all its slots at once, main checks. */
		pthread_barrier_wait(&sh->phase);
		for (k = 0; k < nmine && fd >= 0; k++) {
			int op = hold_op(mine[k]);

			for (j = 0; op >= 0 && j < 2 && wops[op].doit[j]; j++) {
				ret = sess_cmd(fd, NULL, 0, "change %s 0x%lx %lu",
					       wops[op].doit[j],
					       sh->slots[mine[k]].start,
					       sh->slots[mine[k]].npages);
				if (ret)
					fail(w, "hold %s 0x%lx: %s", wops[op].doit[j],
					     sh->slots[mine[k]].start, strerror(-ret));
			}
		}
		pthread_barrier_wait(&sh->phase);
		pthread_barrier_wait(&sh->phase);
		for (k = 0; k < nmine && fd >= 0; k++) {
			int op = hold_op(mine[k]);

			for (j = 0; op >= 0 && j < 2 && wops[op].undo[j]; j++) {
				ret = sess_cmd(fd, NULL, 0, "change %s 0x%lx %lu",
					       wops[op].undo[j],
					       sh->slots[mine[k]].start,
					       sh->slots[mine[k]].npages);
				if (ret)
					fail(w, "unhold %s 0x%lx: %s", wops[op].undo[j],
					     sh->slots[mine[k]].start, strerror(-ret));
			}
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* The dump shows every slot as its final-phase op asked. */
static int check_hold(struct shared *sh, const struct pt_map *m, char *msg,
		      size_t len)
{
	/* ro, rox, invalid, dmap, then untouched (index 4) */
	static const unsigned int want_set[] = {
		PTA_RO | PTA_NX, PTA_RO, PTA_F, PTA_F, PTA_NX };
	static const unsigned int want_clear[] = {
		PTA_F, PTA_F | PTA_NX, 0, 0, PTA_F | PTA_RO };
	int i;

	for (i = 0; i < sh->nslots; i++) {
		const struct slot *sl = &sh->slots[i];
		unsigned long a, e = sl->start + sl->npages * sh->g.page;
		int op = hold_op(i) < 0 ? 4 : hold_op(i);

		for (a = sl->start; a < e;) {
			const struct pt_line *l = pt_map_line(m, a);
			char d[192];

			if (!l || l->hole ||
			    (l->attrs & want_set[op]) != want_set[op] ||
			    (l->attrs & want_clear[op])) {
				if (l)
					pt_line_str(l, d, sizeof(d));
				snprintf(msg, len, "slot 0x%lx (%lu pages, %s): %s",
					 sl->start, sl->npages,
					 op < 4 ? wops[op].doit[0] : "untouched",
					 l ? d : "unmapped");
				return -1;
			}
			a = l->end;
		}
	}
	return 0;
}

static void *reader_fn(void *arg)
{
	struct shared *sh = arg;
	char err[256];

	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		struct pt_map m;

		/* Not a consistent snapshot while splitting: parse only. */
		if (ptdump_read(&m, err, sizeof(err)))
			sh->reader_errors++;
		else
			pt_map_free(&m);
		sh->reader_reads++;
	}
	return NULL;
}

/*
 * Keep the REGION_BLOCKS allocated blocks that sit in the largest leaves
 * (most to split), give the others back.
 */
static void pick_blocks(struct __test_metadata *_metadata, struct shared *sh,
			int fd, char *buf)
{
	unsigned long cand[CANDIDATES];
	int kind[CANDIDATES], n = 0, i, j, picked = 0;
	struct pt_map m;
	char err[256], *line, *save;

	for (line = strtok_r(buf, "\n", &save); line && n < CANDIDATES;
	     line = strtok_r(NULL, "\n", &save))
		cand[n++] = strtoul(line, NULL, 16);
	ASSERT_LE(REGION_BLOCKS, n);
	ASSERT_EQ(0, ptdump_read(&m, err, sizeof(err))) TH_LOG("%s", err);
	for (i = 0; i < n; i++) {
		const struct pt_line *l = pt_map_line(&m, cand[i]);

		kind[i] = l ? pt_line_kind(l) : LMK_NR;
	}
	pt_map_free(&m);
	for (j = LMK_PUD; j <= LMK_NR && picked < REGION_BLOCKS; j++) {
		for (i = 0; i < n && picked < REGION_BLOCKS; i++) {
			if (kind[i] != j)
				continue;
			TH_LOG("region block 0x%lx in a %s leaf", cand[i],
			       lm_kind_name(j));
			sh->blocks[picked++] = cand[i];
			kind[i] = -1;
		}
	}
	for (i = 0; i < n; i++)
		if (kind[i] != -1)
			ASSERT_EQ(0, sess_cmd(fd, NULL, 0, "free 0x%lx", cand[i]));
}

struct snap {
	struct pt_map m;
	struct lm_info info;
	struct lm_shape s;
};

/* Self-check failures count if new since @base (reported if no @base). */
static void snap_take(struct __test_metadata *_metadata, struct shared *sh,
		      struct snap *s, const struct snap *base)
{
	char err[512];
	int bad;

	ASSERT_EQ(0, ptdump_read(&s->m, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(0, lm_info_get(&s->info, err, sizeof(err))) TH_LOG("%s", err);
	bad = pt_map_selfcheck(&s->m, &sh->g, base ? &base->m : NULL, err,
			       sizeof(err));
	if (!base && bad) {
		TH_LOG("already %d inconsistent line(s) in the linear map, e.g. %s",
		       bad, err);
	} else {
		EXPECT_EQ(0, bad) TH_LOG("%s", err);
	}
	pt_map_shape(&s->m, &sh->g, s->info.alias_start, s->info.alias_end,
		     &s->s);
}

static void run_stress(struct __test_metadata *_metadata, bool module_ops,
		       bool secrets)
{
	static struct shared sh;
	struct worker w[MAX_THREADS];
	struct snap pre, post;
	struct lm_counts d;
	struct lm_shape want;
	struct rlimit rl = { 256 << 20, 256 << 20 };
	pthread_t reader;
	unsigned long long kmark;
	unsigned long p, sum_pre, sum_post;
	int cpus[MAX_THREADS], ncpu, fd = -1, i, ret, errors = 0;
	char *buf = malloc(65536), cnt[256];
	const char *env = getenv("BBML2_STRESS_ITERS");
	static const enum lm_kind order[] = {
		LMK_PUD, LMK_CONT_PMD, LMK_PMD, LMK_CONT_PTE,
	};

	ASSERT_NE(NULL, buf);
	memset(&sh, 0, sizeof(sh));
	{
		struct lm_info info;

		ASSERT_EQ(0, lm_info_get(&info, buf, 65536)) TH_LOG("%s", buf);
		ASSERT_EQ(0, bbml2_mode_check(&info, buf, 65536)) TH_LOG("%s", buf);
	}
	ASSERT_EQ(0, lm_geom_init(&sh.g, getpagesize()));
	p = sh.g.page;
	sh.iters = env ? atoi(env) : 400;
	sh.module_ops = module_ops;
	sh.secrets = secrets;
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	ncpu = online_cpus(cpus, MAX_THREADS);
	ASSERT_LT(0, ncpu);
	sh.nthreads = ncpu;

	if (module_ops) {
		int order_blocks;

		fd = sess_open();
		ASSERT_LE(0, fd);
		/* A region of REGION_BLOCKS chunks of 4 MiB to 32 MiB (PMD size). */
		sh.block = lm_test_chunk(&sh.g);
		for (order_blocks = 0; (p << order_blocks) < sh.block; order_blocks++)
			;
		ret = sess_cmd(fd, buf, 65536, "alloc %d %d", order_blocks,
			       CANDIDATES);
		ASSERT_EQ(0, ret) TH_LOG("alloc: %s", strerror(-ret));
		pick_blocks(_metadata, &sh, fd, buf);
		/* Slots of 1..17 pages, round robin over the threads. */
		for (i = 0; i < REGION_BLOCKS; i++) {
			unsigned long blk = sh.blocks[i], off = 0;

			while (off < sh.block && sh.nslots < MAX_SLOTS) {
				unsigned long n = 1 + (sh.nslots * 7) % 17;

				if (off + n * p > sh.block)
					n = (sh.block - off) / p;
				sh.slots[sh.nslots] = (struct slot){
					blk + off, n, sh.nslots % ncpu };
				sh.nslots++;
				off += n * p;
			}
			/* Fill each block with its pattern. */
			ret = sess_cmd(fd, NULL, 0, "fill 0x%lx %lu %x", blk,
				       sh.block / p, i + 1);
			ASSERT_EQ(0, ret);
		}
	}

	snap_take(_metadata, &sh, &pre, NULL);
	kmark = kmsg_mark();
	if (module_ops)
		ASSERT_EQ(0, pthread_barrier_init(&sh.phase, NULL, ncpu + 1));
	for (i = 0; i < ncpu; i++) {
		w[i] = (struct worker){ .sh = &sh, .id = i, .cpu = cpus[i],
					.seed = 0x9e3779b97f4a7c15ULL * (i + 1) };
		ASSERT_EQ(0, pthread_create(&w[i].tid, NULL, worker_fn, &w[i]));
	}
	ASSERT_EQ(0, pthread_create(&reader, NULL, reader_fn, &sh));
	if (module_ops) {
		struct snap hold;
		char msg[512];

		/* Random phase over; then all slots changed at once. */
		pthread_barrier_wait(&sh.phase);
		__atomic_store_n(&sh.stop, true, __ATOMIC_RELEASE);
		pthread_join(reader, NULL);
		pthread_barrier_wait(&sh.phase);
		snap_take(_metadata, &sh, &hold, &pre);
		EXPECT_EQ(0, check_hold(&sh, &hold.m, msg, sizeof(msg)))
			TH_LOG("while every slot is changed: %s", msg);
		pt_map_free(&hold.m);
		pthread_barrier_wait(&sh.phase);
	}
	for (i = 0; i < ncpu; i++)
		pthread_join(w[i].tid, NULL);
	if (!module_ops) {
		__atomic_store_n(&sh.stop, true, __ATOMIC_RELEASE);
		pthread_join(reader, NULL);
	}

	for (i = 0; i < ncpu; i++) {
		TH_LOG("cpu%d: %d changes, %d memfd_secret rounds%s%s", w[i].cpu,
		       w[i].ops, w[i].secrets, w[i].errors ? ": " : "",
		       w[i].errors ? w[i].err : "");
		errors += w[i].errors;
	}
	EXPECT_EQ(0, errors);
	TH_LOG("%d concurrent page table dumps", sh.reader_reads);
	EXPECT_EQ(0, sh.reader_errors);

	snap_take(_metadata, &sh, &post, &pre);
	/* Splitting never unmaps or maps anything. */
	EXPECT_EQ(pre.s.mapped, post.s.mapped);
	/* No kind of block grew: no merge, and nothing unaccounted. */
	sum_pre = sum_post = 0;
	for (i = 0; i < 4; i++) {
		sum_pre += pre.s.bytes[order[i]];
		sum_post += post.s.bytes[order[i]];
		EXPECT_LE(sum_post, sum_pre)
			TH_LOG("bytes in leaves of %s or larger grew",
			       lm_kind_name(order[i]));
	}
	if (post.info.derived) {
		/* No counters: pages stay pages; blocks only split (above). */
		TH_LOG("splits: not counted (%s); %lu KiB left leaves larger than a page",
		       WHY_NO_REPORT, (sum_pre - sum_post) >> 10);
		if (!strcmp(post.info.linear_map, "pte"))
			for (i = 0; i < LMK_NR; i++)
				EXPECT_EQ(pre.s.bytes[i], post.s.bytes[i])
					TH_LOG("%s bytes changed in a page-mapped linear map",
					       lm_kind_name(i));
	} else {
		/* Bytes per kind moved exactly as the split counters say. */
		lm_counts_sub(&d, &post.info.split, &pre.info.split);
		lm_counts_str(&d, cnt, sizeof(cnt));
		TH_LOG("splits: %s", cnt);
		want = pre.s;
		lm_shape_after_splits(&want, &sh.g, &d);
		for (i = 0; i < 4; i++)
			EXPECT_EQ(want.bytes[order[i]], post.s.bytes[order[i]])
				TH_LOG("%s bytes vs the split counters",
				       lm_kind_name(order[i]));
		EXPECT_EQ(want.bytes[LMK_PTE], post.s.bytes[LMK_PTE]);
		EXPECT_EQ(pre.info.split_failures, post.info.split_failures);
		if (!post.info.requires_bbml2)
			EXPECT_EQ(0UL, d.pud + d.cont_pmd + d.pmd + d.cont_pte);
	}
	for (i = 0; i < LMK_NR; i++)
		EXPECT_EQ(pre.s.alias[i], post.s.alias[i]);

	if (module_ops) {
		/* Valid, writable, not executable again, data intact. */
		for (i = 0; i < sh.nslots; i++) {
			unsigned long x = sh.slots[i].start;
			unsigned long e = x + sh.slots[i].npages * p;
			const struct pt_line *l;
			char d1[192] = "unmapped";

			/* The slot may span lines of different kinds. */
			while (x < e && (l = pt_map_line(&post.m, x)) && !l->hole &&
			       !(l->attrs & (PTA_F | PTA_RO)) && (l->attrs & PTA_NX))
				x = l->end;
			if (x >= e)
				continue;
			l = pt_map_line(&post.m, x);
			if (l)
				pt_line_str(l, d1, sizeof(d1));
			TH_LOG("slot 0x%lx not restored: %s", sh.slots[i].start, d1);
			_metadata->exit_code = KSFT_FAIL;
			break;
		}
		for (i = 0; i < REGION_BLOCKS; i++) {
			ret = sess_cmd(fd, buf, 65536, "check 0x%lx %lu %x",
				       sh.blocks[i], sh.block / p, i + 1);
			EXPECT_EQ(0, ret) TH_LOG("data of block 0x%lx: %s",
						 sh.blocks[i], buf);
		}
		ret = sess_cmd(fd, buf, 65536, "free_all");
		EXPECT_EQ(0, ret);
		close(fd);
		pthread_barrier_destroy(&sh.phase);
	}
	ret = kmsg_splats(kmark, buf, 65536);
	EXPECT_EQ(0, ret) TH_LOG("kernel log: %s", buf);
	pt_map_free(&pre.m);
	pt_map_free(&post.m);
	free(buf);
}

/* Only for its timeout: the harness has no TEST_TIMEOUT(). */
FIXTURE(stress) {
	int unused;
};

FIXTURE_SETUP(stress)
{
}

FIXTURE_TEARDOWN(stress)
{
}

TEST_F_TIMEOUT(stress, module_ops_all_cpus, 900)
{
	SKIP_WITHOUT_MODULE(return);
	run_stress(_metadata, true, true);
}

TEST_F_TIMEOUT(stress, memfd_secret_all_cpus, 900)
{
	run_stress(_metadata, false, true);
}

int main(int argc, char **argv)
{
	bbml2_prereq(NEED_PTDUMP | NEED_MODULE | NO_SERIES_OK);
	return test_harness_run(argc, argv);
}
