// SPDX-License-Identifier: GPL-2.0
/*
 * linmap-chase (B1): TLB reach of the kernel linear map. The bench-only
 * module linmap_chase.ko (bench/linmap-chase/) links one cache line of each
 * of N/4 pages from the page allocator into one random cycle; this program
 * sweeps the working set N and times dependent loads along the cycle, run
 * in the kernel (write to debugfs run) in this task's context, so the
 * kernel-only PMU counters (DTLB_WALK, L1D/L2D_TLB_REFILL) count them.
 *
 * Every load touches another page, so once the working set's pages exceed
 * the dTLB's reach each load needs a walk with a PTE-mapped linear map and
 * almost none with 2M/1G blocks: the knee of ns/load and DTLB_WALK/load
 * against N is the TLB reach. Under QEMU TCG there are no TLB events and
 * QEMU's softmmu TLB caches 4K translations whatever the guest's blocks;
 * the run there checks the mechanics only.
 *
 * The module is loaded from linmap_chase.ko next to this program, else
 * /lab/bench-modules/ (the bench initramfs), unless
 * /sys/kernel/debug/linmap_chase already exists.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "common.h"

#define CHASE_DIR	"/sys/kernel/debug/linmap_chase"
/* Where the bench initramfs puts it (bench/Makefile, KDIR=...). */
#define MODULE_PATH	"/lab/bench-modules/linmap_chase.ko"

static const struct bench_desc desc = {
	.name = "linmap-chase",
	.id = "B1",
	.summary = "dependent loads through the linear map, one per page, working-set sweep",
	.size_help = "largest working set in KiB (default: 1 GiB, TCG 64 MiB)",
};

struct chase {
	int run_fd;
};

static int op_chase(void *arg, long count)
{
	struct chase *c = arg;
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld", count);

	if (pwrite(c->run_fd, buf, n, 0) != n) {
		printf("# linmap-chase: run %ld: %s\n", count, strerror(errno));
		return -1;
	}
	return 0;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

/* Load the module unless its debugfs directory is there; NULL or why not. */
static const char *load_module(const char *self, char *why, size_t len)
{
	char path[512], copy[512];
	int fd;

	if (!access(CHASE_DIR, F_OK))
		return NULL;
	mkdir("/sys/kernel/debug", 0700);
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	if (!access(CHASE_DIR, F_OK))
		return NULL;
	snprintf(copy, sizeof(copy), "%s", self);
	snprintf(path, sizeof(path), "%s/linmap_chase.ko", dirname(copy));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(path, sizeof(path), "%s", MODULE_PATH);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		snprintf(why, len, "%s: %s", path, strerror(errno));
		return why;
	}
	if (syscall(SYS_finit_module, fd, "", 0) && errno != EEXIST) {
		snprintf(why, len, "finit_module(%s): %s", path, strerror(errno));
		close(fd);
		return why;
	}
	close(fd);
	if (access(CHASE_DIR, F_OK)) {
		snprintf(why, len, "%s missing after loading %s", CHASE_DIR, path);
		return why;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long sizes[BENCH_MAX_SIZES];
	struct bench_opts o;
	struct bench_run r;
	struct chase c;
	char why[600], text[64], info[512];
	long kib, max_kib, ops;
	const char *err;
	int i, nsizes = 0;
	double t0;

	bench_parse_opts(&desc, argc, argv, &o);
	err = load_module(argv[0], why, sizeof(why));
	if (err)
		bench_bail(&desc, "skip", "linmap_chase module: %s", err);
	bench_init(&r, &desc, &o);
	t0 = now_ns();
	max_kib = o.size ? o.size : r.plat.emulated ? 64 << 10 : 1 << 20;
	ops = o.ops ? o.ops : r.plat.emulated ? 100000 : 1000000;
	c.run_fd = open(CHASE_DIR "/run", O_WRONLY | O_CLOEXEC);
	if (c.run_fd < 0)
		bench_bail(&desc, "fail", "%s/run: %s", CHASE_DIR, strerror(errno));
	bench_param(&r, "\"max_kib\":%ld,\"loads\":%ld,\"stride\":\"one line per 4K page\"",
		    max_kib, ops);
	r.setup_s = (now_ns() - t0) / 1e9;
	/* --sizes, else octaves from 64 KiB to the largest. */
	if (o.nsizes) {
		for (i = 0; i < o.nsizes; i++)
			sizes[nsizes++] = o.sizes_kib[i];
	} else {
		for (kib = 64; kib <= max_kib && nsizes < BENCH_MAX_SIZES; kib *= 2)
			sizes[nsizes++] = kib;
	}
	for (i = 0; i < nsizes; i++) {
		const char *name = bench_ws_name(sizes[i]);
		int ret;

		kib = sizes[i];
		snprintf(text, sizeof(text), "%ld %llu", kib,
			 (unsigned long long)o.seed);
		ret = write_file(CHASE_DIR "/setup", text);
		if (ret) {
			printf("# linmap-chase: setup %ld KiB: %s; sweep stops here\n",
			       kib, strerror(-ret));
			break;
		}
		if (read_text(CHASE_DIR "/info", info, sizeof(info)) > 0) {
			char q[1100], *nl;

			while ((nl = strchr(info, '\n')))
				*nl = ' ';
			json_quote(q, sizeof(q), info);
			bench_extra(&r, "\"%s\":%s", name, q);
		}
		if (bench_measure(&r, name,
				  "dependent loads, one cache line per page, random cycle",
				  "load", ops, ops, op_chase, &c)) {
			write_file(CHASE_DIR "/setup", "0 0");
			bench_finish(&r, "fail", "chase failed");
		}
	}
	write_file(CHASE_DIR "/setup", "0 0");
	close(c.run_fd);
	if (!r.nmetrics)
		bench_finish(&r, "fail", "no working set could be set up");
	bench_finish(&r, "ok", NULL);
}
