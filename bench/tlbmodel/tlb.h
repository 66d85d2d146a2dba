/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A data-TLB model: a fully associative L1 and a set-associative unified
 * L2, true LRU, per vCPU. An entry covers one naturally aligned block of
 * 2^shift bytes; which shifts each level can hold, how larger leaves are
 * splintered and whether the L2 coalesces contiguous linear-map pages are
 * the preset's parameters. The model counts what a PMU would: L1 refills
 * and walks (L2 misses).
 */
#ifndef BBML2_TLBMODEL_TLB_H
#define BBML2_TLBMODEL_TLB_H

#include <stdbool.h>
#include <stdint.h>

#define TLB_MAX_L1	128
#define TLB_MAX_WAYS	16

/* A core's TLB geometry, with where the numbers come from. */
struct tlb_preset {
	const char *name;
	const char *core;
	unsigned int l1_entries;	/* fully associative */
	uint64_t l1_sizes;		/* bit s: L1 holds 2^s entries */
	unsigned int l2_entries;
	unsigned int l2_ways;
	uint64_t l2_sizes;
	/* L2 entries of 4K linear-map leaves cover 2^coalesce pages */
	unsigned int coalesce;
	/* by-ASID TLBI: 1 flushes all non-global entries, 0 ignores it */
	bool asid_flush;
	const char *source;
	const char *confidence;
};

struct tlb_entry {
	uint64_t key;		/* 0: empty */
	uint64_t stamp;		/* last use, for LRU */
	bool global;
};

struct tlb {
	const struct tlb_preset *p;
	unsigned int l2_sets;
	uint64_t clock;
	uint64_t last_l1;	/* key of the last L1 hit (MRU shortcut) */
	unsigned int last_idx;	/* and its slot */
	struct tlb_entry l1[TLB_MAX_L1];
	struct tlb_entry *l2;	/* l2_sets * l2_ways */
};

/* Outcome of one access. */
enum tlb_result {
	TLB_L1_HIT,
	TLB_L2_HIT,		/* an L1 refill */
	TLB_WALK,		/* an L1 refill and a walk */
};

extern const struct tlb_preset tlb_presets[];
extern const unsigned int tlb_npresets;

const struct tlb_preset *tlb_preset_find(const char *name);
/* 0, or -1 and a message in @err if the preset cannot be modelled. */
int tlb_preset_check(const struct tlb_preset *p, char *err, unsigned long len);

int tlb_init(struct tlb *t, const struct tlb_preset *p);
void tlb_free(struct tlb *t);
void tlb_flush_all(struct tlb *t);
void tlb_flush_nonglobal(struct tlb *t);

/* The entry size a leaf of 2^@leaf becomes in a level holding @sizes. */
unsigned int tlb_splinter(uint64_t sizes, unsigned int leaf);

/*
 * One access to @va, mapped by a leaf of 2^@leaf bytes. @linear: the leaf
 * belongs to the linear map (PA-contiguous, so L2 coalescing applies).
 */
enum tlb_result tlb_access(struct tlb *t, uint64_t va, unsigned int leaf,
			   bool global, bool linear);

#endif /* BBML2_TLBMODEL_TLB_H */
