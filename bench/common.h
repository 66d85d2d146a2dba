/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bbml2-lab micro-benchmarks: shared harness.
 *
 * Every benchmark binary follows the same recipe: parse the common options,
 * pin itself to one CPU, build its fixed-seed working set and access order
 * before any timing, run one discarded warm-up, then S samples of K
 * operations each, timed with CLOCK_MONOTONIC_RAW, with kernel-only PMU
 * counters around each sample. It then prints one JSON object between
 *
 *   bbml2-bench: json begin <bench>
 *   bbml2-bench: json end <bench>
 *
 * that carries the parameters, the platform, the mode proof (kernel command
 * line and /sys/kernel/debug/arm64/linear_map) and every sample. The JSON
 * is split over several lines, only between tokens, and no line starts with
 * white space (the lab's KTAP parser would take it for a subtest).
 */
#ifndef BBML2_BENCH_COMMON_H
#define BBML2_BENCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BENCH_SCHEMA		"bbml2-bench/1"
#define BENCH_MAX_SAMPLES	1000
#define BENCH_MAX_METRICS	48
#define BENCH_MAX_SIZES		32

/* Exit codes, kselftest style. */
#define BENCH_EXIT_OK		0
#define BENCH_EXIT_FAIL		1
#define BENCH_EXIT_SKIP		4

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

/* ---- options ----------------------------------------------------------- */

struct bench_opts {
	int samples;		/* S, samples per metric */
	long ops;		/* K, operations per sample (0: benchmark default) */
	long size;		/* working-set size (0: benchmark default) */
	int cpu;		/* CPU to pin to (-1: pick one) */
	int tcg;		/* 1 emulated, 0 hardware, -1 detect from the MIDR */
	uint64_t seed;
	bool no_pmu;
	bool tlbmodel;		/* layouts and labels on the console (bench/tlbmodel) */
	const char *dir;	/* scratch directory (tmpfs) */
	/* --sizes: working sets to sweep, in KiB, ascending (0 entries: default) */
	int nsizes;
	long sizes_kib[BENCH_MAX_SIZES];
};

struct bench_desc {
	const char *name;	/* e.g. "pcache-rand-pread" */
	const char *id;		/* short id, e.g. "B2" */
	const char *summary;	/* one line */
	const char *size_help;	/* what --size means, NULL if unused */
};

void bench_parse_opts(const struct bench_desc *d, int argc, char **argv,
		      struct bench_opts *o);

/* ---- platform and mode proof -------------------------------------------- */

struct bench_platform {
	bool have_midr;
	uint64_t midr;
	unsigned int implementer;
	int midr_cpu;		/* the CPU the MIDR is from (the pinned one) */
	bool emulated;		/* the sizes were cut for an emulator */
	const char *emulated_why;
	/* "emulated", "virtual machine" or "bare metal", and the evidence */
	const char *platform_class;
	char class_why[192];
	long cpus_online;
	long cpus_conf;
	long mem_total_kb;
	long page_size;
	char cmdline[4096];
	char linear_map[4096];	/* debugfs file content, "" if unreadable */
	char linear_map_err[128];
	char release[128];
	char version[256];
	char machine[64];
	char thp_shmem[128];
};

void bench_platform_read(struct bench_platform *p, int tcg_opt);
/* The MIDR of @cpu (the one the benchmark is pinned to). */
void bench_platform_cpu(struct bench_platform *p, int cpu);

/* /proc/meminfo field in kB, -1 if absent. */
long meminfo_kb(const char *field);

/* Read a whole (small or proc/debugfs) file; returns bytes read or -errno. */
long read_text(const char *path, char *buf, size_t len);

/* ---- random order ------------------------------------------------------- */

uint64_t xorshift64s(uint64_t *state);
/* perm[0..n) = fixed-seed random permutation of 0..n-1. */
void make_permutation(uint32_t *perm, uint32_t n, uint64_t seed);

/* ---- PMU ---------------------------------------------------------------- */

enum pmu_ev {
	EV_DTLB_WALK,
	EV_L1D_TLB_REFILL,
	EV_L2D_TLB_REFILL,
	EV_ITLB_WALK,
	EV_INST_RETIRED,
	EV_CPU_CYCLES,
	EV_NR,
};

struct pmu_counter {
	const char *name;	/* sysfs event name */
	unsigned int code;	/* PMUv3 common event number */
	int fd;
	bool listed;		/* present in <pmu>/events */
	bool available;		/* listed and opened */
	char reason[160];	/* why unavailable */
};

struct bench_pmu {
	char name[64];		/* e.g. armv8_pmuv3, "" if none */
	int type;
	int paranoid;
	struct pmu_counter ev[EV_NR];
};

struct pmu_reading {
	bool valid[EV_NR];	/* counter available and scheduled */
	double value[EV_NR];	/* scaled if multiplexed */
	double running[EV_NR];	/* fraction of the time it was counting */
};

void pmu_open(struct bench_pmu *p, int cpu, bool disabled);
void pmu_start(struct bench_pmu *p);
void pmu_stop(struct bench_pmu *p, struct pmu_reading *r);
void pmu_close(struct bench_pmu *p);

/* ---- timing harness ----------------------------------------------------- */

/* Run @count operations of the benchmark, continuing where the last call
 * stopped. Returns 0, or -1 after printing why (the run then fails). */
typedef int (*bench_fn)(void *ctx, long count);

struct bench_sample {
	double ns;
	struct pmu_reading pmu;
};

struct bench_metric {
	const char *name;	/* e.g. "scatter" */
	const char *desc;
	const char *op;		/* what one op is */
	long ops;		/* K */
	long warmup_ops;
	int nsamples;
	struct bench_sample *samples;
};

struct bench_run {
	const struct bench_desc *desc;
	struct bench_opts *opts;
	struct bench_platform plat;
	struct bench_pmu pmu;
	int cpu;
	char cpu_why[96];
	double setup_s;
	int nmetrics;
	struct bench_metric metrics[BENCH_MAX_METRICS];
	/* Benchmark-specific parameters, a JSON object body (no braces). */
	char params[1024];
	/* Benchmark-specific snapshot values, a JSON object body. */
	char *extra;
	size_t extra_len, extra_cap;
};

/* Pins the CPU, reads the platform, opens the PMU. Exits on fatal errors. */
void bench_init(struct bench_run *r, const struct bench_desc *d,
		struct bench_opts *o);

/* Warm up once, then take the samples. Returns 0 or -1. */
int bench_measure(struct bench_run *r, const char *name, const char *desc,
		  const char *op, long ops, long warmup_ops, bench_fn fn,
		  void *ctx);

double now_ns(void);

/* "ws_64k", "ws_3m", "ws_1g": a working set's metric name (never freed). */
const char *bench_ws_name(long kib);

/* printf into r->params / r->extra (JSON object members, comma-separated). */
void bench_param(struct bench_run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void bench_extra(struct bench_run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print the JSON object and exit: status "ok", "skip" or "fail". */
void bench_finish(struct bench_run *r, const char *status, const char *reason)
	__attribute__((noreturn));

/* Report a failure/skip before bench_init could run (still prints JSON). */
void bench_bail(const struct bench_desc *d, const char *status,
		const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

/* ---- JSON output -------------------------------------------------------- */

void json_str(FILE *f, const char *s);
/* Append a JSON string literal for s to buf (for params/extra). */
int json_quote(char *buf, size_t len, const char *s);

#endif /* BBML2_BENCH_COMMON_H */
