// SPDX-License-Identifier: GPL-2.0
/*
 * B3 dentry-scatter-stat: fstatat() of random names among D files in one
 * tmpfs directory.
 *
 * Each lookup hashes the name into the dcache hash table, walks a bucket,
 * and reads the dentry and the inode: slab objects spread over many pages
 * of the linear map, touched in random order. A metadata-heavy proxy for
 * workloads (memcached, web servers) whose kernel side chases pointers
 * through slab memory. Metrics:
 *
 *   scatter  fstatat() of every file once per pass, random order
 *   same     fstatat() of one name (hot TLB control)
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

#define NAME_LEN	12

static const struct bench_desc desc = {
	.name = "dentry-scatter-stat",
	.id = "B3",
	.summary = "fstatat() of random names among many tmpfs files, same-name control",
	.size_help = "number of files (default 100000; 12500 under TCG)",
};

struct ctx {
	int dfd;
	uint32_t nfiles;
	uint32_t *perm;
	uint32_t pos;
	char (*names)[NAME_LEN];
};

static int op_scatter(void *arg, long count)
{
	struct ctx *c = arg;
	struct stat st;
	long i;

	for (i = 0; i < count; i++) {
		const char *name = c->names[c->perm[c->pos]];

		if (fstatat(c->dfd, name, &st, 0)) {
			printf("# fstatat %s: %s\n", name, strerror(errno));
			return -1;
		}
		if (++c->pos == c->nfiles)
			c->pos = 0;
	}
	return 0;
}

static int op_same(void *arg, long count)
{
	struct ctx *c = arg;
	struct stat st;
	long i;

	for (i = 0; i < count; i++) {
		if (fstatat(c->dfd, c->names[0], &st, 0)) {
			printf("# fstatat %s: %s\n", c->names[0], strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void cleanup(struct ctx *c, uint32_t created, const char *dir)
{
	uint32_t i;

	for (i = 0; i < created; i++)
		unlinkat(c->dfd, c->names[i], 0);
	close(c->dfd);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct bench_run r;
	struct ctx c = { 0 };
	char dir[512], qdir[1100];
	long ops, slab0, slab1;
	uint32_t i;
	double t0;

	bench_parse_opts(&desc, argc, argv, &o);
	bench_init(&r, &desc, &o);
	t0 = now_ns();

	c.nfiles = o.size ? o.size : r.plat.emulated ? 12500 : 100000;
	if (c.nfiles < 16)
		bench_bail(&desc, "skip", "%u files are too few", c.nfiles);
	c.names = malloc(sizeof(*c.names) * c.nfiles);
	c.perm = malloc(sizeof(*c.perm) * c.nfiles);
	if (!c.names || !c.perm)
		bench_bail(&desc, "fail", "out of memory for %u names", c.nfiles);
	for (i = 0; i < c.nfiles; i++)
		snprintf(c.names[i], NAME_LEN, "f%07u", i);
	make_permutation(c.perm, c.nfiles, o.seed);
	mlock(c.names, sizeof(*c.names) * c.nfiles);
	mlock(c.perm, sizeof(*c.perm) * c.nfiles);

	snprintf(dir, sizeof(dir), "%s/bbml2-bench-dentry.%d", o.dir, getpid());
	if (mkdir(dir, 0755))
		bench_bail(&desc, "fail", "mkdir %s: %s", dir, strerror(errno));
	c.dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c.dfd < 0)
		bench_bail(&desc, "fail", "open %s: %s", dir, strerror(errno));
	slab0 = meminfo_kb("Slab");
	for (i = 0; i < c.nfiles; i++) {
		int fd = openat(c.dfd, c.names[i],
				O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);

		if (fd < 0) {
			int err = errno;

			cleanup(&c, i, dir);
			bench_bail(&desc, "fail", "creating file %u in %s: %s",
				   i, dir, strerror(err));
		}
		close(fd);
	}
	slab1 = meminfo_kb("Slab");

	ops = o.ops ? o.ops : c.nfiles;
	json_quote(qdir, sizeof(qdir), o.dir);
	bench_param(&r, "\"files\":%u,\"dir\":%s,\"ops\":%ld,\"slab_delta_kb\":%ld",
		    c.nfiles, qdir, ops, slab1 - slab0);
	r.setup_s = (now_ns() - t0) / 1e9;

	c.pos = 0;
	if (bench_measure(&r, "scatter",
			  "fstatat() of every file once per pass, random order",
			  "fstatat", ops, c.nfiles, op_scatter, &c)) {
		cleanup(&c, c.nfiles, dir);
		bench_finish(&r, "fail", "scatter loop failed");
	}
	if (bench_measure(&r, "same", "fstatat() of one name: hot-TLB control",
			  "fstatat", ops, ops, op_same, &c)) {
		cleanup(&c, c.nfiles, dir);
		bench_finish(&r, "fail", "same loop failed");
	}
	cleanup(&c, c.nfiles, dir);
	bench_finish(&r, "ok", NULL);
}
