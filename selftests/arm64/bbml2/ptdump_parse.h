/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Parser of the linear map part of the arm64 kernel page table dump
 * (/sys/kernel/debug/kernel_page_tables, arch/arm64/mm/ptdump.c), and a
 * model of how the linear map is laid out at boot and split at run time,
 * to compare what the kernel did with what it should have done.
 */
#ifndef BBML2_PTDUMP_PARSE_H
#define BBML2_PTDUMP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#define PTDUMP_PATH	"/sys/kernel/debug/kernel_page_tables"

/* Attribute tokens of a ptdump line, in the kernel's print order. */
#define PTA_F		(1u << 0)	/* entry not zero, valid bit clear */
#define PTA_USR		(1u << 1)
#define PTA_RO		(1u << 2)	/* "ro"; "RW" when clear */
#define PTA_NX		(1u << 3)	/* "NX"; "x" when clear */
#define PTA_SHD		(1u << 4)
#define PTA_AF		(1u << 5)
#define PTA_NG		(1u << 6)
#define PTA_CON		(1u << 7)
#define PTA_BLK		(1u << 8)
#define PTA_UXN		(1u << 9)
#define PTA_GP		(1u << 10)

enum pt_memtype {
	PT_MT_NONE,
	PT_MT_DEVICE_nGnRnE,
	PT_MT_DEVICE_nGnRE,
	PT_MT_NORMAL_NC,
	PT_MT_NORMAL,
	PT_MT_NORMAL_TAGGED,
};

/* Levels as ptdump names them. */
enum { PT_PGD, PT_P4D, PT_PUD, PT_PMD, PT_PTE, PT_NR_LEVELS };

/* What maps a range: the kinds of leaf a split goes through. */
enum lm_kind {
	LMK_HOLE,
	LMK_PUD,
	LMK_CONT_PMD,
	LMK_PMD,
	LMK_CONT_PTE,
	LMK_PTE,
	LMK_TOP,	/* leaf at a folded top level (not expected) */
	LMK_NR,
};

struct pt_line {
	unsigned long start, end;
	unsigned char level;
	unsigned char memtype;
	bool hole;
	unsigned int attrs;
};

/* The lines of [start, end), in order and without gaps once parsed. */
struct pt_map {
	struct pt_line *l;
	size_t nr, cap;
	unsigned long start, end;
};

/* Leaf sizes for the running page size. */
struct lm_geom {
	unsigned long page, cont_pte, pmd, cont_pmd, pud;
	bool pud_blocks;
};

/* Leaf splits and page-table pages, as counted by the kernel's debugfs. */
struct lm_counts {
	unsigned long pud, cont_pmd, pmd, cont_pte;
	unsigned long tables_pmd, tables_pte;
};

/* Bytes per kind of leaf, outside and inside the kernel image alias. */
struct lm_shape {
	unsigned long bytes[LMK_NR];
	unsigned long alias[LMK_NR];
	unsigned long mapped;		/* non-hole bytes */
	unsigned long invalid;		/* bytes with F */
	unsigned long pte_tables;	/* PMD-size windows with PTE-level lines */
	unsigned long pmd_tables;	/* PUD-size windows with PMD/PTE lines */
	unsigned long mapped_windows;	/* PMD-size windows with mapped bytes */
	unsigned long alias_blocks;	/* PMD-size windows that are alias blocks */
};

/* Attribute bits to ignore in part of a comparison. */
struct pt_ignore {
	unsigned long start, end;
	unsigned int mask;
};

int lm_geom_init(struct lm_geom *g, long page_size);
const char *lm_kind_name(enum lm_kind k);
unsigned long lm_kind_size(const struct lm_geom *g, enum lm_kind k);
enum lm_kind pt_line_kind(const struct pt_line *l);
/* The kind a leaf of @k becomes when split. */
enum lm_kind lm_kind_split(enum lm_kind k);
void pt_line_str(const struct pt_line *l, char *buf, size_t len);
void pt_attrs_str(unsigned int attrs, char *buf, size_t len);

/* 0, or -errno (and @err) if the file cannot be read or parsed. */
int ptdump_read(struct pt_map *m, char *err, size_t errlen);
int ptdump_parse(struct pt_map *m, const char *text, char *err, size_t errlen);
void pt_map_free(struct pt_map *m);

/*
 * Every line of the whole dump, section by section: @fn gets the text of
 * the last "---[ ... ]---" marker before the line ("" before the first)
 * and the parsed line. 0, @fn's first non-zero return, or -EPROTO with
 * @err on a line the parser does not know.
 */
typedef int (*ptdump_line_fn)(void *ctx, const char *section,
			      const struct pt_line *l);
int ptdump_for_each(const char *text, ptdump_line_fn fn, void *ctx,
		    char *err, size_t errlen);
/* Read the whole dump (malloc'd text), or NULL and @err. */
char *ptdump_slurp(char *err, size_t errlen);
int pt_map_copy(struct pt_map *dst, const struct pt_map *src);

/*
 * Parser self-checks (levels, BLK/CON consistency, alignment, coverage):
 * 0, or the number of bad lines, the first described in @err. Lines that
 * are exactly in @baseline (if not NULL) already were bad: not counted.
 */
int pt_map_selfcheck(const struct pt_map *m, const struct lm_geom *g,
		     const struct pt_map *baseline, char *err, size_t errlen);

void pt_map_shape(const struct pt_map *m, const struct lm_geom *g,
		  unsigned long alias_start, unsigned long alias_end,
		  struct lm_shape *s);

int pt_map_find(const struct pt_map *m, unsigned long addr);
const struct pt_line *pt_map_line(const struct pt_map *m, unsigned long addr);
/* Make @addr a line boundary; index of the line starting there, or -1. */
int pt_map_cut(struct pt_map *m, unsigned long addr);
void pt_map_normalize(struct pt_map *m);

/*
 * The model of split_kernel_leaf_mapping(): make @addr a leaf boundary by
 * splitting the leaf that straddles it, PUD -> contiguous PMDs -> PMDs ->
 * contiguous PTEs -> PTEs, only as far down as needed.
 */
int model_split_at(struct pt_map *m, const struct lm_geom *g,
		   unsigned long addr, struct lm_counts *c);
/* Apply an attribute change to whole leaves; -1 and @err if not whole. */
int model_apply(struct pt_map *m, const struct lm_geom *g,
		unsigned long start, unsigned long end,
		unsigned int set, unsigned int clear, char *err, size_t errlen);

/*
 * Compare two maps over the range both cover: number of differing
 * ranges, the first few described in @buf.
 */
int pt_map_compare(const struct pt_map *want, const struct pt_map *got,
		   const struct pt_ignore *ign, int nign,
		   char *buf, size_t len);

/*
 * The linear map as map_mem() lays it out at boot, from the mapped ranges
 * of @now (holes do not change), cut at the kernel image alias (mapped
 * without contiguous entries) and the early KFENCE pool (pages only).
 * @blocks: the rest may use blocks. Lines carry only level, BLK and CON.
 */
int lm_boot_model(const struct pt_map *now, const struct lm_geom *g,
		  unsigned long alias_start, unsigned long alias_end,
		  unsigned long kfence_start, unsigned long kfence_end,
		  bool blocks, struct pt_map *out);
/*
 * lm_boot_model() with more edges no leaf may cross (@cuts: 7.x maps the
 * kernel's [__init_end, __bss_stop) before the memory banks), and with
 * @alias_same_flags the alias mapped like the rest (7.x: contiguous
 * entries allowed, pages where the rest is page mapped) instead of 6.12's
 * blocks without contiguous entries.
 */
int lm_boot_model_ex(const struct pt_map *now, const struct lm_geom *g,
		     unsigned long alias_start, unsigned long alias_end,
		     unsigned long kfence_start, unsigned long kfence_end,
		     bool blocks, const unsigned long *cuts, int ncuts,
		     bool alias_same_flags, struct pt_map *out);
/*
 * The repaint keeping [@keep_start, @keep_end) as it is and splitting the
 * rest, where an edge of the kept range inside a leaf splits that whole
 * leaf (7.x keeps [_stext, __init_begin), and _stext lies inside the
 * alias's first block).
 */
void lm_model_repaint_keep(struct pt_map *m, const struct lm_geom *g,
			   unsigned long keep_start, unsigned long keep_end,
			   struct lm_counts *c);
/*
 * The repaint: every leaf outside the alias split to plain pages. Adds the
 * splits and tables it takes to @c.
 */
void lm_model_repaint(struct pt_map *m, const struct lm_geom *g,
		      unsigned long alias_start, unsigned long alias_end,
		      struct lm_counts *c);
/*
 * Bytes per kind after the on-demand splits counted by @c, starting from
 * @s (outside the alias only).
 */
void lm_shape_after_splits(struct lm_shape *s, const struct lm_geom *g,
			   const struct lm_counts *c);

#endif /* BBML2_PTDUMP_PARSE_H */
