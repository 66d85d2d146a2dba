// SPDX-License-Identifier: GPL-2.0
/*
 * B2 pcache-rand-pread: random 64-byte pread()s over a hot memfd (shmem)
 * file much larger than the TLB reach.
 *
 * Each pread() copies one cache line out of a different 4K page-cache page,
 * in a fixed-seed random order that visits every page once per pass, so the
 * time is the syscall, the xarray walk and one linear-map access to a
 * scattered page: with a PTE-mapped linear map that access needs its own
 * TLB entry, with blocks one entry covers 2M or 1G. Metrics:
 *
 *   scatter      one line from each page of the file, random order
 *   single_page  the same line offsets, always in page 0 (hot TLB control)
 *   seq_1m       1 MiB sequential pread()s over the whole file (bandwidth,
 *                one linear-map page per 4K copied)
 *
 * scatter - single_page is the cost of reaching a cold page.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "common.h"

#define LINE		64
#define SEQ_CHUNK	(1UL << 20)

static const struct bench_desc desc = {
	.name = "pcache-rand-pread",
	.id = "B2",
	.summary = "random 64-byte preads over a hot memfd file, single-page control, 1 MiB sequential",
	.size_help = "file size in MiB (default min(1024, RAM/4); min(128, RAM/16) under TCG)",
};

struct ctx {
	int fd;
	long page_size;
	uint32_t npages;
	uint32_t *perm;
	uint32_t pos;
	uint64_t seq_off;
	uint64_t file_bytes;
	char *buf;
	char *big;
};

/* Vary the line within the page so the reads do not all alias one set. */
static inline off_t line_off(uint32_t page)
{
	return (off_t)((page * 37u) % 64u) * LINE;
}

static int op_scatter(void *arg, long count)
{
	struct ctx *c = arg;
	long i;

	for (i = 0; i < count; i++) {
		uint32_t pg = c->perm[c->pos];
		off_t off = (off_t)pg * c->page_size + line_off(pg);

		if (pread(c->fd, c->buf, LINE, off) != LINE) {
			printf("# pread at %lld failed: %s\n", (long long)off,
			       strerror(errno));
			return -1;
		}
		if (++c->pos == c->npages)
			c->pos = 0;
	}
	return 0;
}

static int op_single(void *arg, long count)
{
	struct ctx *c = arg;
	long i;

	for (i = 0; i < count; i++) {
		off_t off = line_off(c->perm[c->pos]);

		if (pread(c->fd, c->buf, LINE, off) != LINE) {
			printf("# pread at %lld failed: %s\n", (long long)off,
			       strerror(errno));
			return -1;
		}
		if (++c->pos == c->npages)
			c->pos = 0;
	}
	return 0;
}

static int op_seq(void *arg, long count)
{
	struct ctx *c = arg;
	long i;

	for (i = 0; i < count; i++) {
		if (pread(c->fd, c->big, SEQ_CHUNK, c->seq_off) != (ssize_t)SEQ_CHUNK) {
			printf("# pread of 1 MiB at %llu failed: %s\n",
			       (unsigned long long)c->seq_off, strerror(errno));
			return -1;
		}
		c->seq_off += SEQ_CHUNK;
		if (c->seq_off + SEQ_CHUNK > c->file_bytes)
			c->seq_off = 0;
	}
	return 0;
}

static int open_file(const char *dir)
{
	char path[512];
	int fd = memfd_create("bbml2-bench-pcache", MFD_CLOEXEC);

	if (fd >= 0 || errno != ENOSYS)
		return fd;
	snprintf(path, sizeof(path), "%s/bbml2-bench-pcache.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd >= 0)
		unlink(path);
	return fd;
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct bench_run r;
	struct ctx c = { 0 };
	uint64_t mb, i;
	long ops, shmem0, shmem1;
	struct stat st;
	double t0;

	bench_parse_opts(&desc, argc, argv, &o);
	bench_init(&r, &desc, &o);
	t0 = now_ns();

	c.page_size = r.plat.page_size;
	if (o.size) {
		mb = o.size;
	} else {
		uint64_t ram_mb = r.plat.mem_total_kb > 0 ?
				  r.plat.mem_total_kb / 1024 : 1024;

		mb = r.plat.emulated ? ram_mb / 16 : ram_mb / 4;
		if (mb > (r.plat.emulated ? 128 : 1024))
			mb = r.plat.emulated ? 128 : 1024;
	}
	/* --sizes: the file holds the largest working set of the sweep. */
	if (o.nsizes && (uint64_t)(o.sizes_kib[o.nsizes - 1] + 1023) / 1024 > mb)
		mb = (o.sizes_kib[o.nsizes - 1] + 1023) / 1024;
	if (mb < 2)
		bench_bail(&desc, "skip", "file of %llu MiB is too small",
			   (unsigned long long)mb);
	c.file_bytes = mb << 20;
	c.npages = c.file_bytes / c.page_size;

	c.perm = malloc(sizeof(*c.perm) * c.npages);
	c.buf = aligned_alloc(LINE, LINE);
	c.big = aligned_alloc(c.page_size, SEQ_CHUNK);
	if (!c.perm || !c.buf || !c.big)
		bench_bail(&desc, "fail", "out of memory for a %llu MiB file",
			   (unsigned long long)mb);
	make_permutation(c.perm, c.npages, o.seed);
	memset(c.big, 0x5a, SEQ_CHUNK);
	mlock(c.perm, sizeof(*c.perm) * c.npages);
	mlock(c.buf, LINE);
	mlock(c.big, SEQ_CHUNK);

	c.fd = open_file(o.dir);
	if (c.fd < 0)
		bench_bail(&desc, "fail", "memfd_create: %s", strerror(errno));
	shmem0 = meminfo_kb("Shmem");
	for (i = 0; i < c.file_bytes; i += SEQ_CHUNK) {
		if (pwrite(c.fd, c.big, SEQ_CHUNK, i) != (ssize_t)SEQ_CHUNK)
			bench_bail(&desc, "fail", "filling the file at %llu MiB: %s",
				   (unsigned long long)(i >> 20),
				   strerror(errno));
	}
	shmem1 = meminfo_kb("Shmem");
	if (fstat(c.fd, &st))
		bench_bail(&desc, "fail", "fstat: %s", strerror(errno));

	/* One pass over the file per sample: every page once. */
	ops = o.ops ? o.ops : c.npages;

	bench_param(&r, "\"file_mb\":%llu,\"pages\":%u,\"read_bytes\":%d",
		    (unsigned long long)mb, c.npages, LINE);
	bench_param(&r, "\"file_blocks_kb\":%lld,\"shmem_delta_kb\":%ld",
		    (long long)st.st_blocks / 2, shmem1 - shmem0);
	bench_param(&r, "\"ops\":%ld,\"line_offset\":\"(page*37 %% 64)*64\"",
		    ops);
	r.setup_s = (now_ns() - t0) / 1e9;

	c.pos = 0;
	if (bench_measure(&r, "scatter",
			  "64-byte pread from a different page each time, random order over the whole file",
			  "pread 64 B", ops, c.npages, op_scatter, &c))
		bench_finish(&r, "fail", "scatter loop failed");
	c.pos = 0;
	if (bench_measure(&r, "single_page",
			  "64-byte pread always from page 0 (same line offsets): hot-TLB control",
			  "pread 64 B", ops, ops, op_single, &c))
		bench_finish(&r, "fail", "single_page loop failed");
	if (bench_measure(&r, "seq_1m",
			  "1 MiB sequential preads over the whole file",
			  "pread 1 MiB", c.file_bytes / SEQ_CHUNK,
			  c.file_bytes / SEQ_CHUNK, op_seq, &c))
		bench_finish(&r, "fail", "seq_1m loop failed");

	/* --sizes: scatter over the first N bytes of the file, per N. */
	for (i = 0; i < (uint64_t)o.nsizes; i++) {
		struct ctx w = c;
		uint64_t n = (uint64_t)o.sizes_kib[i] * 1024 / c.page_size;
		long wops;

		if (!n)
			n = 1;
		w.npages = n;
		w.pos = 0;
		make_permutation(c.perm, n, o.seed);
		wops = o.ops ? o.ops : (long)(n > 8192 ? n : 8192);
		if (bench_measure(&r, bench_ws_name(o.sizes_kib[i]),
				  "scatter restricted to the first N bytes of the file (working-set sweep)",
				  "pread 64 B", wops, n, op_scatter, &w))
			bench_finish(&r, "fail", "working-set loop failed");
	}

	close(c.fd);
	bench_finish(&r, "ok", NULL);
}
