// SPDX-License-Identifier: GPL-2.0
/*
 * functime: guest instructions spent while one vCPU is inside a kernel
 * function (issue 19), counted from outside, so the same figure exists for
 * any kernel, with or without the series' instrumentation.
 *
 *   qemu-system-aarch64 -icount shift=0 ... \
 *     -plugin build/functime/libfunctime.so,out=FILE,vcpu=0,\
 *             fn=NAME:START:END[,fn=...]
 *
 * START/END (hex, END exclusive) are the function's range from the build's
 * System.map (its address and the next symbol's; bench/functime.py works
 * them out). For every call of NAME on the followed vCPU (default 0, the
 * boot CPU) one line goes to FILE:
 *
 *   functime name=NAME call=K vcpu=V insns=N exit=ret|tail
 *
 * N is the number of guest instructions executed by all vCPUs from the
 * function's first instruction to its return (RET included) on the
 * followed vCPU: under -icount
 * shift=0 that is the virtual time in ns the vCPU spent in the function
 * (what the series' repaint_ns measures there). Entry: the function's first
 * instruction executes on that vCPU. Return: a RET inside the range at the
 * entry's depth, or a B out of the range (a tail call; its callee is then
 * not counted, and the line says exit=tail). QEMU 7.2's API v1 cannot read
 * registers, so the return is found in the code rather than from LR.
 *
 * The instruction counter is one global inline add per translation block
 * (API v1 has no per-vCPU inline counters). -icount runs all vCPUs in one
 * thread, so the global count is exact there; without -icount (MTTCG) it
 * is not, and the plugin says so in FILE ("mttcg=maybe").
 *
 * Built with gcc -O2 -fPIC -shared against bench/tlbmodel/qemu-plugin-api.h
 * (the lead's declarations of QEMU 7.2's API); the one call that header
 * does not declare (the inline TB counter) is declared below.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu-plugin-api.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;

/* Not in qemu-plugin-api.h: QEMU 7.2's inline op on a whole TB. */
enum qemu_plugin_op {
	QEMU_PLUGIN_INLINE_ADD_U64,
};
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb,
					      enum qemu_plugin_op op,
					      void *ptr, uint64_t imm);

#define MAX_FN 8

struct fn {
	char name[64];
	uint64_t start, end;
	int depth;
	uint64_t entry_total;
	uint64_t calls;
	uint64_t sum;
};

/*
 * One registered callback: its function and how many instructions of its
 * TB the global counter already holds past this instruction's own count
 * (the TB's inline add runs when the TB starts): entries count themselves,
 * exits count through themselves, so a call is exact to the instruction.
 */
struct site {
	struct fn *f;
	uint64_t ahead;
};

static struct fn fns[MAX_FN];
static int nfn;
static unsigned int follow_vcpu;
static uint64_t total;		/* guest instructions, all vCPUs */
static FILE *out;

static void on_entry(unsigned int vcpu, void *udata)
{
	struct site *st = udata;
	struct fn *f = st->f;

	if (vcpu != follow_vcpu)
		return;
	/* the TB's instructions from this one on are already in total */
	if (f->depth++ == 0)
		f->entry_total = total - st->ahead - 1;
}

static void leave(struct site *st, const char *how)
{
	struct fn *f = st->f;
	uint64_t n = total - st->ahead - f->entry_total;

	f->depth = 0;
	f->calls++;
	f->sum += n;
	fprintf(out, "functime name=%s call=%llu vcpu=%u insns=%llu exit=%s\n",
		f->name, (unsigned long long)f->calls, follow_vcpu,
		(unsigned long long)n, how);
	fflush(out);
}

static void on_ret(unsigned int vcpu, void *udata)
{
	struct site *st = udata;

	if (vcpu != follow_vcpu || st->f->depth == 0)
		return;
	if (--st->f->depth == 0)
		leave(st, "ret");
}

static void on_tail(unsigned int vcpu, void *udata)
{
	struct site *st = udata;

	if (vcpu != follow_vcpu || st->f->depth == 0)
		return;
	if (st->f->depth == 1)
		leave(st, "tail");
	else
		st->f->depth--;
}

static void reg(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
		struct fn *f, uint64_t ahead)
{
	/* one per translation; QEMU gives no hook to free them (few, small) */
	struct site *st = malloc(sizeof(*st));

	if (!st)
		abort();
	st->f = f;
	st->ahead = ahead;
	qemu_plugin_register_vcpu_insn_exec_cb(insn, cb, QEMU_PLUGIN_CB_NO_REGS, st);
}

/* RET, RETAA, RETAB (any register). */
static int is_ret(uint32_t i)
{
	return (i & 0xfffffc1f) == 0xd65f0000 || i == 0xd65f0bff || i == 0xd65f0fff;
}

/* B imm26 -> its target, or 0 if not a B. */
static uint64_t b_target(uint32_t i, uint64_t pc)
{
	int64_t off;

	if ((i & 0xfc000000) != 0x14000000)
		return 0;
	off = (int64_t)((uint64_t)(i & 0x03ffffff) << 38) >> 36;
	return pc + off;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	(void)id;
	size_t n = qemu_plugin_tb_n_insns(tb);

	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
						 &total, n);
	for (size_t k = 0; k < n; k++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, k);
		uint64_t pc = qemu_plugin_insn_vaddr(insn);
		uint32_t word;

		for (int j = 0; j < nfn; j++) {
			struct fn *f = &fns[j];
			uint64_t t;

			if (pc < f->start || pc >= f->end)
				continue;
			if (qemu_plugin_insn_size(insn) != 4)
				continue;
			memcpy(&word, qemu_plugin_insn_data(insn), 4);
			if (pc == f->start)
				reg(insn, on_entry, f, n - k - 1);
			if (is_ret(word))
				reg(insn, on_ret, f, n - k - 1);
			t = b_target(word, pc);
			if (t && (t < f->start || t >= f->end))
				reg(insn, on_tail, f, n - k - 1);
		}
	}
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
	(void)id;
	(void)udata;
	for (int j = 0; j < nfn; j++)
		fprintf(out, "functime-summary name=%s calls=%llu insns=%llu open=%d\n",
			fns[j].name, (unsigned long long)fns[j].calls,
			(unsigned long long)fns[j].sum, fns[j].depth);
	fprintf(out, "functime-total insns=%llu\n", (unsigned long long)total);
	fclose(out);
}

static int parse_fn(const char *v)
{
	struct fn *f;
	const char *c1 = strchr(v, ':');
	const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	char *e1, *e2;

	if (nfn == MAX_FN || !c1 || !c2 || (size_t)(c1 - v) >= sizeof(f->name) || c1 == v)
		return -1;
	f = &fns[nfn];
	memcpy(f->name, v, c1 - v);
	f->name[c1 - v] = 0;
	errno = 0;
	f->start = strtoull(c1 + 1, &e1, 16);
	f->end = strtoull(c2 + 1, &e2, 16);
	if (errno || e1 != c2 || *e2 || f->start >= f->end)
		return -1;
	nfn++;
	return 0;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	const char *path = NULL;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strncmp(a, "out=", 4)) {
			path = a + 4;
		} else if (!strncmp(a, "vcpu=", 5)) {
			follow_vcpu = strtoul(a + 5, NULL, 0);
		} else if (!strncmp(a, "fn=", 3)) {
			if (parse_fn(a + 3)) {
				fprintf(stderr, "functime: bad fn=%s (want NAME:START:END, hex, at most %d)\n",
					a + 3, MAX_FN);
				return -1;
			}
		} else {
			fprintf(stderr, "functime: unknown argument '%s'\n", a);
			return -1;
		}
	}
	if (!path || !nfn) {
		fprintf(stderr, "functime: needs out=FILE and at least one fn=NAME:START:END\n");
		return -1;
	}
	out = fopen(path, "w");
	if (!out) {
		fprintf(stderr, "functime: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(out, "functime-start vcpus=%d follow=%u\n",
		info->system_emulation ? info->system.smp_vcpus : 1, follow_vcpu);
	for (int j = 0; j < nfn; j++)
		fprintf(out, "functime-fn name=%s start=0x%llx end=0x%llx\n", fns[j].name,
			(unsigned long long)fns[j].start, (unsigned long long)fns[j].end);
	fflush(out);
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
