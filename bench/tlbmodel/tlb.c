// SPDX-License-Identifier: GPL-2.0
/*
 * The TLB model and its presets. See tlb.h; the geometry sources are in
 * bench/tlbmodel/README.md and in each preset's source string.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlb.h"

#define B(s)		(1ULL << (s))
/* Leaf sizes by granule: 4K 64K(CONT) 2M 32M(CONT) 1G; 16K 2M(CONT) 32M
 * 1G(CONT); 64K 2M(CONT) 512M 16G(CONT). */
#define SZ_ALL		(B(12) | B(14) | B(16) | B(21) | B(25) | B(29) | B(30))

const struct tlb_preset tlb_presets[] = {
	{
		.name = "a72", .core = "Cortex-A72",
		.l1_entries = 32, .l1_sizes = B(12) | B(14) | B(16) | B(20),
		.l2_entries = 1024, .l2_ways = 4,
		.l2_sizes = B(12) | B(14) | B(16) | B(20) | B(21) | B(24) |
			    B(29) | B(30),
		.asid_flush = true,
		.source = "Cortex-A72 TRM (100095) 5.2: 32-entry fully associative L1 data micro-TLB (4K, 64K, 1M entries), 1024-entry 4-way L2 TLB",
		.confidence = "good (16K entries assumed like 4K)",
	},
	{
		.name = "n1", .core = "Neoverse-N1/Cortex-A76",
		.l1_entries = 48, .l1_sizes = B(12) | B(14) | B(16) | B(21) | B(29),
		.l2_entries = 1280, .l2_ways = 5, .l2_sizes = SZ_ALL,
		.asid_flush = true,
		.source = "Cortex-A76 TRM (100798) A5.2, Table A5-3: 48-entry fully associative L1 data TLB (4K, 16K, 64K, 2M, 512M), 1280-entry 5-way L2 TLB; Neoverse N1 platform paper (A76-derived MMU)",
		.confidence = "good for A76, medium for N1",
	},
	{
		.name = "n1c4", .core = "Neoverse-N1/Cortex-A76, L2 coalescing",
		.l1_entries = 48, .l1_sizes = B(12) | B(14) | B(16) | B(21) | B(29),
		.l2_entries = 1280, .l2_ways = 5, .l2_sizes = SZ_ALL,
		.coalesce = 2, .asid_flush = true,
		.source = "as n1, plus the A76 L2 TLB entry format's four-contiguous-pages coalescing (TRM 100798 Table A6-31), applied to linear-map 4K pages",
		.confidence = "medium (when the core coalesces is not public)",
	},
	{
		.name = "x925", .core = "Cortex-X925 (X4/V3 class)",
		.l1_entries = 96, .l1_sizes = B(12) | B(14) | B(16) | B(21) | B(29),
		.l2_entries = 2048, .l2_ways = 8, .l2_sizes = SZ_ALL,
		.asid_flush = true,
		.source = "Cortex-X925 TRM (102807): 96-entry fully associative L1 data TLB, 2048-entry 8-way L2 TLB; X4 doubled the L1 from 48 to 96; V3 taken as X925-like",
		.confidence = "medium for X925, unverified for V3",
	},
	{
		.name = "n1-asid-keep", .core = "Neoverse-N1/Cortex-A76, by-ASID TLBI ignored",
		.l1_entries = 48, .l1_sizes = B(12) | B(14) | B(16) | B(21) | B(29),
		.l2_entries = 1280, .l2_ways = 5, .l2_sizes = SZ_ALL,
		.asid_flush = false,
		.source = "as n1; the other bound of the ASID approximation (user entries are never flushed by ASID)",
		.confidence = "bound, not a core",
	},
};

const unsigned int tlb_npresets = sizeof(tlb_presets) / sizeof(tlb_presets[0]);

const struct tlb_preset *tlb_preset_find(const char *name)
{
	unsigned int i;

	for (i = 0; i < tlb_npresets; i++)
		if (!strcmp(tlb_presets[i].name, name))
			return &tlb_presets[i];
	return NULL;
}

int tlb_preset_check(const struct tlb_preset *p, char *err, unsigned long len)
{
	if (!p->l1_entries || p->l1_entries > TLB_MAX_L1) {
		snprintf(err, len, "preset %s: L1 entries %u not in 1..%u",
			 p->name, p->l1_entries, TLB_MAX_L1);
		return -1;
	}
	if (!p->l2_ways || p->l2_ways > TLB_MAX_WAYS ||
	    p->l2_entries % p->l2_ways) {
		snprintf(err, len, "preset %s: %u L2 entries in %u ways",
			 p->name, p->l2_entries, p->l2_ways);
		return -1;
	}
	if (!(p->l1_sizes & B(12)) || !(p->l2_sizes & B(12))) {
		snprintf(err, len, "preset %s: no 4K entries", p->name);
		return -1;
	}
	return 0;
}

int tlb_init(struct tlb *t, const struct tlb_preset *p)
{
	memset(t, 0, sizeof(*t));
	t->p = p;
	t->l2_sets = p->l2_entries / p->l2_ways;
	t->l2 = calloc(p->l2_entries, sizeof(*t->l2));
	return t->l2 ? 0 : -1;
}

void tlb_free(struct tlb *t)
{
	free(t->l2);
	t->l2 = NULL;
}

void tlb_flush_all(struct tlb *t)
{
	memset(t->l1, 0, sizeof(t->l1));
	memset(t->l2, 0, t->p->l2_entries * sizeof(*t->l2));
	t->last_l1 = 0;
}

void tlb_flush_nonglobal(struct tlb *t)
{
	unsigned int i;

	for (i = 0; i < t->p->l1_entries; i++)
		if (!t->l1[i].global)
			t->l1[i].key = 0;
	for (i = 0; i < t->p->l2_entries; i++)
		if (!t->l2[i].global)
			t->l2[i].key = 0;
	t->last_l1 = 0;
}

unsigned int tlb_splinter(uint64_t sizes, unsigned int leaf)
{
	unsigned int s;

	for (s = leaf + 1; s-- > 0;)
		if (sizes & B(s))
			return s;
	return leaf;
}

static inline uint64_t tlb_key(uint64_t va, unsigned int s)
{
	return ((va >> s) << 6) | s;
}

/* The way to fill in @e[0..n): an empty one, else the least recently used. */
static struct tlb_entry *victim(struct tlb_entry *e, unsigned int n)
{
	struct tlb_entry *v = &e[0];
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (!e[i].key)
			return &e[i];
		if (e[i].stamp < v->stamp)
			v = &e[i];
	}
	return v;
}

enum tlb_result tlb_access(struct tlb *t, uint64_t va, unsigned int leaf,
			   bool global, bool linear)
{
	const struct tlb_preset *p = t->p;
	unsigned int s1 = tlb_splinter(p->l1_sizes, leaf);
	unsigned int s2 = tlb_splinter(p->l2_sizes, leaf);
	uint64_t k1 = tlb_key(va, s1), k2, now = ++t->clock;
	enum tlb_result res = TLB_L2_HIT;
	struct tlb_entry *set, *e;
	unsigned int i;

	/* MRU shortcut: same answer and same LRU order as the scan. */
	if (k1 == t->last_l1 && t->l1[t->last_idx].key == k1) {
		t->l1[t->last_idx].stamp = now;
		return TLB_L1_HIT;
	}
	for (i = 0; i < p->l1_entries; i++) {
		if (t->l1[i].key == k1) {
			t->l1[i].stamp = now;
			t->last_l1 = k1;
			t->last_idx = i;
			return TLB_L1_HIT;
		}
	}

	if (linear && p->coalesce && leaf < 16)
		s2 = leaf + p->coalesce;
	k2 = tlb_key(va, s2);
	set = &t->l2[((va >> s2) % t->l2_sets) * p->l2_ways];
	for (i = 0; i < p->l2_ways; i++)
		if (set[i].key == k2)
			break;
	if (i < p->l2_ways) {
		set[i].stamp = now;
	} else {
		res = TLB_WALK;
		e = victim(set, p->l2_ways);
		e->key = k2;
		e->stamp = now;
		e->global = global;
	}
	e = victim(t->l1, p->l1_entries);
	e->key = k1;
	e->stamp = now;
	e->global = global;
	t->last_l1 = k1;
	t->last_idx = e - t->l1;
	return res;
}
