/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The leaf layout of the kernel's address space as the guest reports it on
 * its console (bench/tlblayout.c writes it), and the scanner that finds it
 * and the window labels in the console log.
 *
 *   TLBMODEL-LAYOUT-BEGIN v1 page=<bytes>
 *   TLBMODEL-L <start hex> <end hex> <leaf shift> <region>
 *   ...
 *   TLBMODEL-LAYOUT-END lines=<n>
 *   TLBMODEL-WINDOW <label>
 *
 * A block is taken whole or refused: every line between BEGIN and END must
 * be an L line, <n> must be their count, ranges sorted and disjoint.
 */
#ifndef BBML2_TLBMODEL_LAYOUT_H
#define BBML2_TLBMODEL_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum region {
	REG_USER,
	REG_LINEAR,
	REG_VMALLOC,
	REG_MODULES,
	REG_KIMAGE,
	REG_VMEMMAP,
	REG_OTHER,
	REG_NR,
};

struct leaf_range {
	uint64_t start, end;
	unsigned char shift;
	unsigned char region;
};

struct layout {
	struct leaf_range *r;
	size_t nr, cap;
	unsigned int page_shift;
	unsigned long seq;	/* which block of the console it was */
};

#define LAYOUT_MAX_LABEL	160

struct layout_scanner {
	char line[512];
	size_t len;
	bool overlong;
	bool in_block;
	size_t declared;	/* lines the block's END claimed */
	struct layout *building;
	char block_err[160];
	unsigned long blocks;	/* BEGIN lines seen */
	/* results, consumed by the caller */
	struct layout *ready;	/* the last complete, valid block */
	unsigned long rejected;
	char last_err[200];
	char label[LAYOUT_MAX_LABEL];
	unsigned long labels;
};

extern const char *const region_names[REG_NR];

int region_from_name(const char *name);
void layout_free(struct layout *l);
/* Index of the range holding @va, or -1. */
long layout_find(const struct layout *l, uint64_t va);
bool layout_equal(const struct layout *a, const struct layout *b);

/* Feed console bytes; complete lines are parsed as they arrive. */
void scanner_feed(struct layout_scanner *sc, const char *buf, size_t len);
/* Take the newest valid layout (NULL if none since the last call). */
struct layout *scanner_take(struct layout_scanner *sc);
void scanner_free(struct layout_scanner *sc);

#endif /* BBML2_TLBMODEL_LAYOUT_H */
