// SPDX-License-Identifier: GPL-2.0
/*
 * B4 unix-scatter: 64-byte messages through random ones of P AF_UNIX
 * stream socket pairs (memcached-like request/response traffic without
 * the TCP stack).
 *
 * Each op writes 64 bytes into one end of a randomly chosen pair and reads
 * them back from the other end: an skb is allocated and freed, and the
 * socket, file and queue objects of that pair, spread across slab pages in
 * the linear map, are touched. Metrics:
 *
 *   scatter  every pair once per pass, random order
 *   same     always pair 0 (hot TLB control)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "common.h"

#define MSG	64

static const struct bench_desc desc = {
	.name = "unix-scatter",
	.id = "B4",
	.summary = "64-byte write+read through random AF_UNIX socket pairs, same-pair control",
	.size_help = "number of socket pairs (default 4096; 512 under TCG)",
};

struct ctx {
	uint32_t npairs;
	int (*sv)[2];
	uint32_t *perm;
	uint32_t pos;
	char *buf;
};

static int xfer(struct ctx *c, uint32_t p)
{
	if (write(c->sv[p][0], c->buf, MSG) != MSG) {
		printf("# write to pair %u: %s\n", p, strerror(errno));
		return -1;
	}
	if (read(c->sv[p][1], c->buf, MSG) != MSG) {
		printf("# read from pair %u: %s\n", p, strerror(errno));
		return -1;
	}
	return 0;
}

static int op_scatter(void *arg, long count)
{
	struct ctx *c = arg;
	long i;

	for (i = 0; i < count; i++) {
		if (xfer(c, c->perm[c->pos]))
			return -1;
		if (++c->pos == c->npairs)
			c->pos = 0;
	}
	return 0;
}

static int op_same(void *arg, long count)
{
	struct ctx *c = arg;
	long i;

	for (i = 0; i < count; i++)
		if (xfer(c, 0))
			return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct bench_run r;
	struct ctx c = { 0 };
	struct rlimit rl;
	long ops, slab0, slab1;
	uint32_t i;
	double t0;

	bench_parse_opts(&desc, argc, argv, &o);
	bench_init(&r, &desc, &o);
	t0 = now_ns();

	c.npairs = o.size ? o.size : r.plat.emulated ? 512 : 4096;
	if (c.npairs < 2)
		bench_bail(&desc, "skip", "%u socket pairs are too few", c.npairs);
	if (getrlimit(RLIMIT_NOFILE, &rl))
		bench_bail(&desc, "fail", "getrlimit: %s", strerror(errno));
	if (rl.rlim_cur < 2 * c.npairs + 64) {
		rl.rlim_cur = 2 * c.npairs + 64;
		if (rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			bench_bail(&desc, "skip", "RLIMIT_NOFILE %llu needed: %s",
				   (unsigned long long)rl.rlim_cur,
				   strerror(errno));
	}
	c.sv = malloc(sizeof(*c.sv) * c.npairs);
	c.perm = malloc(sizeof(*c.perm) * c.npairs);
	c.buf = aligned_alloc(MSG, MSG);
	if (!c.sv || !c.perm || !c.buf)
		bench_bail(&desc, "fail", "out of memory for %u pairs", c.npairs);
	memset(c.buf, 0x5a, MSG);
	make_permutation(c.perm, c.npairs, o.seed);
	mlock(c.sv, sizeof(*c.sv) * c.npairs);
	mlock(c.perm, sizeof(*c.perm) * c.npairs);
	mlock(c.buf, MSG);

	slab0 = meminfo_kb("Slab");
	for (i = 0; i < c.npairs; i++)
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, c.sv[i]))
			bench_bail(&desc, "fail", "socketpair %u: %s", i,
				   strerror(errno));
	slab1 = meminfo_kb("Slab");

	ops = o.ops ? o.ops : (r.plat.emulated ? 16384 : 65536);
	bench_param(&r, "\"pairs\":%u,\"msg_bytes\":%d,\"ops\":%ld,\"slab_delta_kb\":%ld",
		    c.npairs, MSG, ops, slab1 - slab0);
	r.setup_s = (now_ns() - t0) / 1e9;

	c.pos = 0;
	if (bench_measure(&r, "scatter",
			  "write+read 64 B through a random pair, every pair once per pass",
			  "write+read 64 B", ops, c.npairs, op_scatter, &c))
		bench_finish(&r, "fail", "scatter loop failed");
	if (bench_measure(&r, "same", "write+read 64 B through pair 0: hot-TLB control",
			  "write+read 64 B", ops, ops, op_same, &c))
		bench_finish(&r, "fail", "same loop failed");

	for (i = 0; i < c.npairs; i++) {
		close(c.sv[i][0]);
		close(c.sv[i][1]);
	}
	bench_finish(&r, "ok", NULL);
}
