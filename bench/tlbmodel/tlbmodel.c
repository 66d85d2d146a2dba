// SPDX-License-Identifier: GPL-2.0
/*
 * tlbmodel: a QEMU TCG plugin that models the data TLBs of several Arm
 * cores at once on the guest's own access stream, per vCPU, and counts
 * what each would refill and walk inside windows the guest marks.
 *
 *   -plugin libtlbmodel.so,layout=CONSOLE_LOG,out=FILE.jsonl
 *           [,presets=n1:a72:...][,tlbi_va=ignore|all][,maxunknown=PERMILLE]
 *
 * The guest (bench/tlblayout.c) tells the plugin two things through
 * unallocated HINT instructions, which are NOPs on hardware:
 *   hint #0x78  begin a window (its label is the last TLBMODEL-WINDOW line)
 *   hint #0x79  end the window
 *   hint #0x7a  the console now holds a new leaf layout block (layout.h)
 * The console log is QEMU's chardev logfile, written synchronously by the
 * vCPU thread, so the block is complete when the hint runs.
 *
 * Which leaf maps a kernel VA comes from that layout (the guest's ptdump,
 * in the same boot); user VAs are taken as base pages, non-global. TLBI
 * VMALLE1/ALLE1/VMALLS12E1 flush all entries (the IS/OS forms on every
 * vCPU), TLBI ASIDE1 the non-global ones (the ASID cannot be read); by-VA
 * TLBIs and DC ZVA cannot be modelled by a QEMU 7.2 plugin (no register
 * reads, and DC ZVA makes no memory callback): they are counted, as are
 * kernel accesses with no leaf in the layout.
 *
 * Output: one JSON object per line: a header (presets with their
 * geometry and sources), one record per window, a summary at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qemu-plugin-api.h"
#include "layout.h"
#include "tlb.h"

#define TLBMODEL_VERSION	"1"
#define MAX_MODELS		8
#define MAX_SHIFT		43

QEMU_PLUGIN_EXPORT int qemu_plugin_version = BBML2_QEMU_PLUGIN_API;

/* Instructions the translator looks for. */
#define HINT_BEGIN	0xd5032f1fu	/* hint #0x78 */
#define HINT_END	0xd5032f3fu	/* hint #0x79 */
#define HINT_LAYOUT	0xd5032f5fu	/* hint #0x7a */
#define DC_ZVA_MASK	0xffffffe0u
#define DC_ZVA		0xd50b7420u
#define SYS_MASK	0xfff80000u	/* SYS with op0 = 1, L = 0 */
#define SYS		0xd5080000u

enum insn_kind {
	K_BEGIN = 1, K_END, K_LAYOUT, K_DCZVA,
	K_TLBI_ALL_LOCAL, K_TLBI_ALL_BCAST, K_TLBI_ASID_LOCAL, K_TLBI_ASID_BCAST,
	K_TLBI_VA_LOCAL, K_TLBI_VA_BCAST, K_TLBI_OTHER,
};

struct model_count {
	uint64_t l1_refill[2];		/* by the instruction's EL: 0 user, 1 kernel */
	uint64_t walk[2];
	uint64_t l1_refill_region[REG_NR];
	uint64_t walk_region[REG_NR];
	uint64_t walk_leaf[MAX_SHIFT];
};

struct counts {
	uint64_t insns[2];
	uint64_t access[2];		/* by instruction EL */
	uint64_t access_region[REG_NR];
	uint64_t kernel_no_leaf;
	uint64_t dc_zva, tlbi_all, tlbi_asid, tlbi_va, tlbi_other;
	struct model_count m[MAX_MODELS];
};

struct vcpu {
	struct tlb tlb[MAX_MODELS];
	struct counts c;
	const struct layout *lay;	/* MRU range cache */
	long idx;
	unsigned long gen_all, gen_asid;
};

static const struct tlb_preset *models[MAX_MODELS];
static unsigned int nmodels;
static struct vcpu *vcpus;
static unsigned int nvcpus;
static bool tlbi_va_all;
static unsigned long max_unknown_permille = 10;

static atomic_ulong gen_all, gen_asid;
static struct layout *_Atomic layout_now;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const char *console_path;
static int console_fd = -1;
static off_t console_off;
static struct layout_scanner scanner;
static struct layout **old_layouts;
static size_t nold;
static FILE *out;
static unsigned long layouts_taken;
static bool warned_no_console;

static struct {
	bool active;
	unsigned int vcpu;
	unsigned long seq;
	char label[LAYOUT_MAX_LABEL];
	const struct layout *layout;
	unsigned long rejected_at_begin;
	struct counts *start;		/* per vCPU */
	char *pending;			/* record waiting for the layout check */
	const struct layout *pending_layout;
} win;

/* ---- the access path ---------------------------------------------------- */

static void sync_flushes(struct vcpu *v)
{
	unsigned long ga = atomic_load_explicit(&gen_all, memory_order_relaxed);
	unsigned long gs = atomic_load_explicit(&gen_asid, memory_order_relaxed);
	unsigned int i;

	if (ga != v->gen_all) {
		for (i = 0; i < nmodels; i++)
			tlb_flush_all(&v->tlb[i]);
		v->gen_all = ga;
		v->gen_asid = gs;
	} else if (gs != v->gen_asid) {
		for (i = 0; i < nmodels; i++)
			if (models[i]->asid_flush)
				tlb_flush_nonglobal(&v->tlb[i]);
		v->gen_asid = gs;
	}
}

static void mem_cb(unsigned int vi, qemu_plugin_meminfo_t info, uint64_t va,
		   void *udata)
{
	struct vcpu *v = &vcpus[vi];
	unsigned int el = (uintptr_t)udata & 1, leaf, region, i;
	const struct layout *l;
	bool kernel = va & (1ULL << 55);

	(void)info;
	sync_flushes(v);
	v->c.access[el]++;
	if (kernel) {
		va |= 0xffULL << 56;	/* KASAN/TBI tags */
		l = atomic_load_explicit(&layout_now, memory_order_acquire);
		if (!l) {
			v->c.kernel_no_leaf++;
			return;
		}
		if (v->lay != l || v->idx < 0 ||
		    va < l->r[v->idx].start || va >= l->r[v->idx].end) {
			v->lay = l;
			v->idx = layout_find(l, va);
			if (v->idx < 0) {
				v->c.kernel_no_leaf++;
				return;
			}
		}
		leaf = l->r[v->idx].shift;
		region = l->r[v->idx].region;
	} else {
		va &= ~(0xffULL << 56);
		l = atomic_load_explicit(&layout_now, memory_order_relaxed);
		leaf = l ? l->page_shift : 12;
		region = REG_USER;
	}
	v->c.access_region[region]++;
	for (i = 0; i < nmodels; i++) {
		struct model_count *m = &v->c.m[i];

		switch (tlb_access(&v->tlb[i], va, leaf, kernel,
				   region == REG_LINEAR)) {
		case TLB_L1_HIT:
			break;
		case TLB_WALK:
			m->walk[el]++;
			m->walk_region[region]++;
			m->walk_leaf[leaf]++;
			/* fall through */
		case TLB_L2_HIT:
			m->l1_refill[el]++;
			m->l1_refill_region[region]++;
			break;
		}
	}
}

static void tb_exec_cb(unsigned int vi, void *udata)
{
	uintptr_t u = (uintptr_t)udata;

	vcpus[vi].c.insns[u & 1] += u >> 1;
}

/* ---- console and layout -------------------------------------------------- */

static void read_console(void)
{
	char buf[65536];
	ssize_t n;

	if (console_fd < 0) {
		console_fd = open(console_path, O_RDONLY | O_CLOEXEC);
		if (console_fd < 0) {
			if (!warned_no_console)
				fprintf(stderr, "tlbmodel: cannot read the console log %s: %s\n",
					console_path, strerror(errno));
			warned_no_console = true;
			return;
		}
	}
	while ((n = pread(console_fd, buf, sizeof(buf), console_off)) > 0) {
		scanner_feed(&scanner, buf, n);
		console_off += n;
	}
}

static void take_layout(void)
{
	struct layout *l = scanner_take(&scanner), **o;

	if (!l)
		return;
	/* Old layouts may still be in another vCPU's hands: freed at exit. */
	o = realloc(old_layouts, (nold + 1) * sizeof(*o));
	if (!o) {
		layout_free(l);
		return;
	}
	old_layouts = o;
	old_layouts[nold++] = l;
	layouts_taken++;
	atomic_store_explicit(&layout_now, l, memory_order_release);
}

/* ---- windows and output -------------------------------------------------- */

/* "name":{...} of the deltas a - b; -1 when the buffer is full. */
static int put_u64s(char **p, size_t *left, const char *name,
		    const uint64_t *a, const uint64_t *b, int n,
		    const char *const *names)
{
	int i, w, first = 1;

#define ADVANCE() do {						\
	if (w < 0 || (size_t)w >= *left)			\
		return -1;					\
	*p += w;						\
	*left -= w;						\
} while (0)
	w = snprintf(*p, *left, "\"%s\":{", name);
	ADVANCE();
	for (i = 0; i < n; i++) {
		uint64_t d = a[i] - (b ? b[i] : 0);

		if (!names && !d)
			continue;
		if (names)
			w = snprintf(*p, *left, "%s\"%s\":%" PRIu64, first ? "" : ",",
				     names[i], d);
		else
			w = snprintf(*p, *left, "%s\"%d\":%" PRIu64, first ? "" : ",",
				     i, d);
		ADVANCE();
		first = 0;
	}
	w = snprintf(*p, *left, "}");
	ADVANCE();
#undef ADVANCE
	return 0;
}

#define PUT(...) do {						\
	int _w = snprintf(p, left, __VA_ARGS__);		\
	if (_w < 0 || (size_t)_w >= left)			\
		goto full;					\
	p += _w;						\
	left -= _w;						\
} while (0)

static void json_label(char **p, size_t *left, const char *s)
{
	size_t o = 0;

	if (*left < 3)
		return;
	(*p)[o++] = '"';
	for (; *s && o + 3 < *left; s++)
		if ((unsigned char)*s >= 0x20 && *s != '"' && *s != '\\')
			(*p)[o++] = *s;
	(*p)[o++] = '"';
	(*p)[o] = '\0';
	*p += o;
	*left -= o;
}

static const char *const el_names[] = { "user_insn", "kernel_insn" };

/* One vCPU's (or the others' summed) counts in a window, as JSON members. */
static int put_counts(char **pp, size_t *lp, const struct counts *now,
		      const struct counts *then)
{
	char *p = *pp;
	size_t left = *lp;
	unsigned int i;

	PUT("\"insns\":{\"user\":%" PRIu64 ",\"kernel\":%" PRIu64 "},",
	    now->insns[0] - then->insns[0], now->insns[1] - then->insns[1]);
	PUT("\"accesses\":{\"user_insn\":%" PRIu64 ",\"kernel_insn\":%" PRIu64 "},",
	    now->access[0] - then->access[0], now->access[1] - then->access[1]);
	if (put_u64s(&p, &left, "accesses_by_region", now->access_region,
		     then->access_region, REG_NR, region_names))
		goto full;
	PUT(",\"unmodelled\":{\"kernel_no_leaf\":%" PRIu64 ",\"dc_zva\":%" PRIu64
	    ",\"tlbi_va\":%" PRIu64 ",\"tlbi_other\":%" PRIu64 "},",
	    now->kernel_no_leaf - then->kernel_no_leaf, now->dc_zva - then->dc_zva,
	    now->tlbi_va - then->tlbi_va, now->tlbi_other - then->tlbi_other);
	PUT("\"tlbi\":{\"all\":%" PRIu64 ",\"asid\":%" PRIu64 "},\"models\":{",
	    now->tlbi_all - then->tlbi_all, now->tlbi_asid - then->tlbi_asid);
	for (i = 0; i < nmodels; i++) {
		const struct model_count *a = &now->m[i], *b = &then->m[i];

		PUT("%s\"%s\":{", i ? "," : "", models[i]->name);
		if (put_u64s(&p, &left, "l1_refill", a->l1_refill, b->l1_refill, 2, el_names))
			goto full;
		PUT(",");
		if (put_u64s(&p, &left, "walk", a->walk, b->walk, 2, el_names))
			goto full;
		PUT(",");
		if (put_u64s(&p, &left, "l1_refill_by_region", a->l1_refill_region,
			     b->l1_refill_region, REG_NR, region_names))
			goto full;
		PUT(",");
		if (put_u64s(&p, &left, "walk_by_region", a->walk_region,
			     b->walk_region, REG_NR, region_names))
			goto full;
		PUT(",");
		if (put_u64s(&p, &left, "walk_by_leaf_shift", a->walk_leaf,
			     b->walk_leaf, MAX_SHIFT, NULL))
			goto full;
		PUT("}");
	}
	PUT("}");
	*pp = p;
	*lp = left;
	return 0;
full:
	return -1;
}

static void add_counts(struct counts *sum, const struct counts *a)
{
	uint64_t *s = (uint64_t *)sum;
	const uint64_t *x = (const uint64_t *)a;
	size_t i;

	for (i = 0; i < sizeof(*sum) / sizeof(uint64_t); i++)
		s[i] += x[i];
}

static void flush_pending(const char *check)
{
	if (!win.pending)
		return;
	fprintf(out, "%s,\"layout_after\":\"%s\"}\n", win.pending, check);
	fflush(out);
	free(win.pending);
	win.pending = NULL;
}

static void window_begin(unsigned int vi)
{
	unsigned int i;

	read_console();
	take_layout();
	flush_pending("not checked");
	if (win.active)
		fprintf(stderr, "tlbmodel: window %lu not ended before the next began\n",
			win.seq);
	win.active = true;
	win.vcpu = vi;
	win.seq++;
	snprintf(win.label, sizeof(win.label), "%s",
		 scanner.labels ? scanner.label : "");
	scanner.label[0] = '\0';
	win.layout = atomic_load(&layout_now);
	win.rejected_at_begin = scanner.rejected;
	for (i = 0; i < nvcpus; i++)
		win.start[i] = vcpus[i].c;
	if (!win.layout)
		fprintf(stderr, "tlbmodel: window %lu (%s) begins with no layout: the "
			"guest printed no valid TLBMODEL-LAYOUT block to %s%s%s\n",
			win.seq, win.label, console_path,
			scanner.last_err[0] ? "; last: " : "", scanner.last_err);
}

static void window_end(unsigned int vi)
{
	static struct counts now, then;
	size_t cap = 1 << 16, left = cap;
	char *rec, *p;
	uint64_t kacc, nolf;
	unsigned int i;
	const char *err = NULL;

	if (!win.active) {
		fprintf(stderr, "tlbmodel: window end without a begin (vCPU %u)\n", vi);
		return;
	}
	win.active = false;
	rec = malloc(cap);
	if (!rec)
		return;
	p = rec;
	PUT("{\"type\":\"window\",\"seq\":%lu,\"label\":", win.seq);
	json_label(&p, &left, win.label);
	PUT(",\"vcpu\":%u,\"end_vcpu\":%u,", win.vcpu, vi);
	now = vcpus[win.vcpu].c;
	nolf = now.kernel_no_leaf - win.start[win.vcpu].kernel_no_leaf;
	kacc = 0;
	for (i = REG_LINEAR; i < REG_NR; i++)
		kacc += now.access_region[i] - win.start[win.vcpu].access_region[i];
	kacc += nolf;
	if (!win.layout)
		err = "no layout: the guest printed no valid layout block before the window";
	else if (kacc && nolf * 1000 > kacc * max_unknown_permille)
		err = "too many kernel accesses with no leaf in the layout";
	else if (scanner.rejected != win.rejected_at_begin)
		err = "a layout block was refused inside the window";
	PUT("\"valid\":%s,", err ? "false" : "true");
	if (err) {
		PUT("\"invalid_reason\":");
		json_label(&p, &left, err);
		PUT(",");
	}
	PUT("\"no_leaf_permille_limit\":%lu,", max_unknown_permille);
	PUT("\"layout_seq\":%lu,", win.layout ? win.layout->seq : 0);
	if (put_counts(&p, &left, &now, &win.start[win.vcpu]))
		goto full;
	memset(&now, 0, sizeof(now));
	memset(&then, 0, sizeof(then));
	for (i = 0; i < nvcpus; i++) {
		if (i == win.vcpu)
			continue;
		add_counts(&now, &vcpus[i].c);
		add_counts(&then, &win.start[i]);
	}
	PUT(",\"other_vcpus\":{");
	if (put_counts(&p, &left, &now, &then))
		goto full;
	PUT("}");
	win.pending = rec;
	win.pending_layout = win.layout;
	return;
full:
	fprintf(stderr, "tlbmodel: window %lu record too long, dropped\n", win.seq);
	free(rec);
}

static void layout_marker(void)
{
	const struct layout *before = atomic_load(&layout_now);
	unsigned long rejected = scanner.rejected;

	read_console();
	take_layout();
	if (scanner.rejected != rejected)
		fprintf(stderr, "tlbmodel: %s\n", scanner.last_err);
	if (win.pending) {
		const struct layout *after = atomic_load(&layout_now);

		if (after == before && scanner.rejected != rejected)
			flush_pending("refused");
		else
			flush_pending(layout_equal(win.pending_layout, after) ?
				      "same" : "changed");
	}
}

static void flush_local(struct vcpu *v, bool all)
{
	unsigned int i;

	for (i = 0; i < nmodels; i++) {
		if (all)
			tlb_flush_all(&v->tlb[i]);
		else if (models[i]->asid_flush)
			tlb_flush_nonglobal(&v->tlb[i]);
	}
}

static void insn_cb(unsigned int vi, void *udata)
{
	struct vcpu *v = &vcpus[vi];
	enum insn_kind k = (uintptr_t)udata;

	switch (k) {
	case K_BEGIN:
	case K_END:
	case K_LAYOUT:
		pthread_mutex_lock(&lock);
		if (k == K_BEGIN)
			window_begin(vi);
		else if (k == K_END)
			window_end(vi);
		else
			layout_marker();
		pthread_mutex_unlock(&lock);
		break;
	case K_DCZVA:
		v->c.dc_zva++;
		break;
	case K_TLBI_VA_LOCAL:
	case K_TLBI_VA_BCAST:
		v->c.tlbi_va++;
		if (!tlbi_va_all)
			break;
		/* the pessimistic bound: a by-VA TLBI as a full one */
		k = k == K_TLBI_VA_LOCAL ? K_TLBI_ALL_LOCAL : K_TLBI_ALL_BCAST;
		/* fall through */
	case K_TLBI_ALL_LOCAL:
	case K_TLBI_ALL_BCAST:
		v->c.tlbi_all++;
		sync_flushes(v);
		if (k == K_TLBI_ALL_BCAST)
			v->gen_all = atomic_fetch_add(&gen_all, 1) + 1;
		flush_local(v, true);
		break;
	case K_TLBI_ASID_LOCAL:
	case K_TLBI_ASID_BCAST:
		v->c.tlbi_asid++;
		sync_flushes(v);
		if (k == K_TLBI_ASID_BCAST)
			v->gen_asid = atomic_fetch_add(&gen_asid, 1) + 1;
		flush_local(v, false);
		break;
	case K_TLBI_OTHER:
		v->c.tlbi_other++;
		break;
	}
}

/* ---- translation ---------------------------------------------------------- */

static enum insn_kind classify_tlbi(uint32_t w)
{
	unsigned int op1 = (w >> 16) & 7, crm = (w >> 8) & 15, op2 = (w >> 5) & 7;
	bool bcast = crm == 1 || crm == 3 || crm == 2 || crm == 5;

	if (op1 == 0 && (crm == 1 || crm == 3 || crm == 7)) {
		if (op2 == 0)
			return bcast ? K_TLBI_ALL_BCAST : K_TLBI_ALL_LOCAL;
		if (op2 == 2)
			return bcast ? K_TLBI_ASID_BCAST : K_TLBI_ASID_LOCAL;
		return bcast ? K_TLBI_VA_BCAST : K_TLBI_VA_LOCAL;
	}
	if (op1 == 0 && (crm == 2 || crm == 5 || crm == 6))	/* range */
		return bcast ? K_TLBI_VA_BCAST : K_TLBI_VA_LOCAL;
	if (op1 == 4 && (crm == 1 || crm == 3 || crm == 7) && (op2 == 4 || op2 == 6))
		return bcast ? K_TLBI_ALL_BCAST : K_TLBI_ALL_LOCAL;
	return K_TLBI_OTHER;
}

static enum insn_kind classify(uint32_t w)
{
	unsigned int crn = (w >> 12) & 15;

	if (w == HINT_BEGIN)
		return K_BEGIN;
	if (w == HINT_END)
		return K_END;
	if (w == HINT_LAYOUT)
		return K_LAYOUT;
	if ((w & DC_ZVA_MASK) == DC_ZVA)
		return K_DCZVA;
	if ((w & SYS_MASK) == SYS && (crn == 8 || crn == 9))
		return classify_tlbi(w);
	return 0;
}

static void tb_trans_cb(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb), i;
	bool kernel = qemu_plugin_tb_vaddr(tb) >> 63;

	(void)id;
	qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec_cb, QEMU_PLUGIN_CB_NO_REGS,
					     (void *)(uintptr_t)(n << 1 | kernel));
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uintptr_t el = qemu_plugin_insn_vaddr(insn) >> 63;
		enum insn_kind k = 0;
		uint32_t w;

		if (qemu_plugin_insn_size(insn) == 4) {
			memcpy(&w, qemu_plugin_insn_data(insn), 4);
			k = classify(w);
		}
		if (k)
			qemu_plugin_register_vcpu_insn_exec_cb(insn, insn_cb,
							       QEMU_PLUGIN_CB_NO_REGS,
							       (void *)(uintptr_t)k);
		qemu_plugin_register_vcpu_mem_cb(insn, mem_cb, QEMU_PLUGIN_CB_NO_REGS,
						 QEMU_PLUGIN_MEM_RW, (void *)el);
	}
}

/* ---- setup and exit -------------------------------------------------------- */

static void at_exit(qemu_plugin_id_t id, void *udata)
{
	size_t i;

	(void)id;
	(void)udata;
	pthread_mutex_lock(&lock);
	read_console();
	take_layout();
	flush_pending("not checked");
	fprintf(out, "{\"type\":\"summary\",\"windows\":%lu,\"unended_window\":%s,"
		"\"layout_blocks\":%lu,\"layouts_taken\":%lu,\"layouts_refused\":%lu",
		win.seq, win.active ? "true" : "false", scanner.blocks,
		layouts_taken, scanner.rejected);
	if (scanner.last_err[0]) {
		char buf[256], *p = buf;
		size_t left = sizeof(buf);

		json_label(&p, &left, scanner.last_err);
		fprintf(out, ",\"last_layout_error\":%s", buf);
	}
	fprintf(out, "}\n");
	fclose(out);
	for (i = 0; i < nvcpus; i++) {
		unsigned int m;

		for (m = 0; m < nmodels; m++)
			tlb_free(&vcpus[i].tlb[m]);
	}
	for (i = 0; i < nold; i++)
		layout_free(old_layouts[i]);
	scanner_free(&scanner);
	pthread_mutex_unlock(&lock);
}

static int add_presets(const char *list)
{
	char *copy = strdup(list), *save, *tok;
	char err[160];
	unsigned int i;

	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
		const struct tlb_preset *p = tlb_preset_find(tok);

		if (!p) {
			fprintf(stderr, "tlbmodel: unknown preset '%s' (known:", tok);
			for (i = 0; i < tlb_npresets; i++)
				fprintf(stderr, " %s", tlb_presets[i].name);
			fprintf(stderr, ")\n");
			free(copy);
			return -1;
		}
		if (tlb_preset_check(p, err, sizeof(err))) {
			fprintf(stderr, "tlbmodel: %s\n", err);
			free(copy);
			return -1;
		}
		if (nmodels == MAX_MODELS) {
			fprintf(stderr, "tlbmodel: at most %d presets\n", MAX_MODELS);
			free(copy);
			return -1;
		}
		models[nmodels++] = p;
	}
	free(copy);
	return 0;
}

static void write_header(const qemu_info_t *info)
{
	unsigned int i;

	fprintf(out, "{\"type\":\"header\",\"plugin\":\"tlbmodel\",\"version\":\"%s\","
		"\"label\":\"modelled (QEMU TCG + tlbmodel), not measured\","
		"\"target\":\"%s\",\"vcpus\":%u,\"tlbi_va\":\"%s\","
		"\"no_leaf_permille_limit\":%lu,\"presets\":[",
		TLBMODEL_VERSION, info->target_name, nvcpus,
		tlbi_va_all ? "all" : "ignore", max_unknown_permille);
	for (i = 0; i < nmodels; i++) {
		const struct tlb_preset *p = models[i];
		char src[512], *s = src;
		size_t left = sizeof(src);

		json_label(&s, &left, p->source);
		fprintf(out, "%s{\"name\":\"%s\",\"core\":\"%s\",\"l1_entries\":%u,"
			"\"l1_sizes\":%" PRIu64 ",\"l2_entries\":%u,\"l2_ways\":%u,"
			"\"l2_sizes\":%" PRIu64 ",\"coalesce\":%u,\"asid_flush\":%s,"
			"\"confidence\":\"%s\",\"source\":%s}",
			i ? "," : "", p->name, p->core, p->l1_entries, p->l1_sizes,
			p->l2_entries, p->l2_ways, p->l2_sizes, p->coalesce,
			p->asid_flush ? "true" : "false", p->confidence, src);
	}
	fprintf(out, "]}\n");
	fflush(out);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
					   const qemu_info_t *info,
					   int argc, char **argv)
{
	const char *outpath = NULL, *presets = NULL;
	unsigned int i, m;
	int a;

	if (!info->system_emulation) {
		fprintf(stderr, "tlbmodel: system emulation only\n");
		return -1;
	}
	for (a = 0; a < argc; a++) {
		const char *v = strchr(argv[a], '=');

		if (!v) {
			fprintf(stderr, "tlbmodel: argument '%s' is not key=value\n", argv[a]);
			return -1;
		}
		v++;
		if (!strncmp(argv[a], "layout=", 7)) {
			console_path = v;
		} else if (!strncmp(argv[a], "out=", 4)) {
			outpath = v;
		} else if (!strncmp(argv[a], "presets=", 8)) {
			presets = v;
		} else if (!strncmp(argv[a], "tlbi_va=", 8) &&
			   (!strcmp(v, "ignore") || !strcmp(v, "all"))) {
			tlbi_va_all = !strcmp(v, "all");
		} else if (!strncmp(argv[a], "maxunknown=", 11)) {
			char *end;

			max_unknown_permille = strtoul(v, &end, 10);
			if (*end || !*v || max_unknown_permille > 1000) {
				fprintf(stderr, "tlbmodel: maxunknown=%s is not 0..1000 (per mille)\n", v);
				return -1;
			}
		} else {
			fprintf(stderr, "tlbmodel: unknown argument '%s' (layout=, out=, presets=, "
				"tlbi_va=ignore|all, maxunknown=)\n", argv[a]);
			return -1;
		}
	}
	if (!console_path || !outpath) {
		fprintf(stderr, "tlbmodel: layout=CONSOLE_LOG and out=FILE are required\n");
		return -1;
	}
	if (presets ? add_presets(presets) : 0)
		return -1;
	if (!presets) {
		for (i = 0; i < tlb_npresets && nmodels < MAX_MODELS; i++)
			models[nmodels++] = &tlb_presets[i];
	}
	nvcpus = info->system.max_vcpus;
	vcpus = calloc(nvcpus, sizeof(*vcpus));
	win.start = calloc(nvcpus, sizeof(*win.start));
	if (!vcpus || !win.start)
		return -1;
	for (i = 0; i < nvcpus; i++) {
		vcpus[i].idx = -1;
		for (m = 0; m < nmodels; m++)
			if (tlb_init(&vcpus[i].tlb[m], models[m]))
				return -1;
	}
	out = fopen(outpath, "w");
	if (!out) {
		fprintf(stderr, "tlbmodel: cannot write %s: %s\n", outpath, strerror(errno));
		return -1;
	}
	write_header(info);
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans_cb);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
