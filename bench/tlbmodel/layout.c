// SPDX-License-Identifier: GPL-2.0
/*
 * Leaf layout blocks from the guest console: parser and lookup (layout.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"

#define BEGIN_TAG	"TLBMODEL-LAYOUT-BEGIN "
#define END_TAG		"TLBMODEL-LAYOUT-END "
#define LINE_TAG	"TLBMODEL-L "
#define WINDOW_TAG	"TLBMODEL-WINDOW "

const char *const region_names[REG_NR] = {
	[REG_USER] = "user",
	[REG_LINEAR] = "linear",
	[REG_VMALLOC] = "vmalloc",
	[REG_MODULES] = "modules",
	[REG_KIMAGE] = "kimage",
	[REG_VMEMMAP] = "vmemmap",
	[REG_OTHER] = "other",
};

int region_from_name(const char *name)
{
	int i;

	for (i = 0; i < REG_NR; i++)
		if (!strcmp(region_names[i], name))
			return i;
	return -1;
}

void layout_free(struct layout *l)
{
	if (l) {
		free(l->r);
		free(l);
	}
}

long layout_find(const struct layout *l, uint64_t va)
{
	size_t lo = 0, hi = l->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (va < l->r[mid].start)
			hi = mid;
		else if (va >= l->r[mid].end)
			lo = mid + 1;
		else
			return mid;
	}
	return -1;
}

bool layout_equal(const struct layout *a, const struct layout *b)
{
	if (!a || !b)
		return a == b;
	return a->nr == b->nr && a->page_shift == b->page_shift &&
	       !memcmp(a->r, b->r, a->nr * sizeof(*a->r));
}

static void block_fail(struct layout_scanner *sc, const char *fmt, const char *arg)
{
	if (!sc->block_err[0])
		snprintf(sc->block_err, sizeof(sc->block_err), fmt, arg);
}

static void parse_begin(struct layout_scanner *sc, const char *s)
{
	unsigned long page;

	sc->blocks++;
	if (sc->in_block) {
		sc->rejected++;
		snprintf(sc->last_err, sizeof(sc->last_err),
			 "layout block %lu: no END before the next BEGIN",
			 sc->blocks - 1);
		layout_free(sc->building);
	}
	sc->in_block = true;
	sc->block_err[0] = '\0';
	sc->building = calloc(1, sizeof(*sc->building));
	if (!sc->building) {
		sc->in_block = false;
		return;
	}
	sc->building->seq = sc->blocks;
	if (sscanf(s, "v1 page=%lu", &page) != 1 ||
	    (page != 4096 && page != 16384 && page != 65536))
		block_fail(sc, "bad BEGIN line '%s' (want 'v1 page=4096|16384|65536')", s);
	else
		sc->building->page_shift = __builtin_ctzl(page);
}

static void parse_range(struct layout_scanner *sc, const char *s)
{
	struct layout *l = sc->building;
	struct leaf_range r;
	uint64_t start, end;
	unsigned int shift;
	char reg[32];
	int n, region;

	if (sscanf(s, "%" SCNx64 " %" SCNx64 " %u %31s%n", &start, &end, &shift,
		   reg, &n) != 4 || s[n]) {
		block_fail(sc, "bad layout line '%s'", s);
		return;
	}
	region = region_from_name(reg);
	if (region < 0 || region == REG_USER) {
		block_fail(sc, "unknown region in layout line '%s'", s);
		return;
	}
	if (end <= start || shift < 12 || shift > 42 ||
	    (start & ((1ULL << shift) - 1)) || (end & ((1ULL << shift) - 1))) {
		block_fail(sc, "range not aligned to its leaf in '%s'", s);
		return;
	}
	if (l->nr && start < l->r[l->nr - 1].end) {
		block_fail(sc, "ranges not sorted or overlapping at '%s'", s);
		return;
	}
	if (l->nr == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		struct leaf_range *nr = realloc(l->r, cap * sizeof(*nr));

		if (!nr) {
			block_fail(sc, "%s", "out of memory");
			return;
		}
		l->r = nr;
		l->cap = cap;
	}
	memset(&r, 0, sizeof(r));
	r.start = start;
	r.end = end;
	r.shift = shift;
	r.region = region;
	l->r[l->nr++] = r;
}

static void parse_end(struct layout_scanner *sc, const char *s)
{
	unsigned long n;
	int used;

	if (sscanf(s, "lines=%lu%n", &n, &used) != 1 || s[used])
		block_fail(sc, "bad END line '%s'", s);
	else if (n != sc->building->nr && !sc->block_err[0])
		snprintf(sc->block_err, sizeof(sc->block_err),
			 "END says %lu lines, the block has %zu", n,
			 sc->building->nr);
	if (!sc->block_err[0] && !sc->building->nr)
		block_fail(sc, "%s", "empty layout block");
	sc->in_block = false;
	if (sc->block_err[0]) {
		sc->rejected++;
		snprintf(sc->last_err, sizeof(sc->last_err), "layout block %lu refused: %s",
			 sc->building->seq, sc->block_err);
		layout_free(sc->building);
	} else {
		layout_free(sc->ready);
		sc->ready = sc->building;
	}
	sc->building = NULL;
}

static void parse_line(struct layout_scanner *sc, char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
	if (!strncmp(s, BEGIN_TAG, strlen(BEGIN_TAG))) {
		parse_begin(sc, s + strlen(BEGIN_TAG));
	} else if (!strncmp(s, WINDOW_TAG, strlen(WINDOW_TAG))) {
		snprintf(sc->label, sizeof(sc->label), "%s", s + strlen(WINDOW_TAG));
		sc->labels++;
	} else if (!sc->in_block) {
		return;
	} else if (!strncmp(s, LINE_TAG, strlen(LINE_TAG))) {
		parse_range(sc, s + strlen(LINE_TAG));
	} else if (!strncmp(s, END_TAG, strlen(END_TAG))) {
		parse_end(sc, s + strlen(END_TAG));
	} else {
		block_fail(sc, "foreign line inside the layout block: '%s'", s);
	}
}

void scanner_feed(struct layout_scanner *sc, const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char c = buf[i];

		if (c == '\n') {
			sc->line[sc->len] = '\0';
			if (sc->overlong) {
				if (sc->in_block)
					block_fail(sc, "%s", "overlong line inside the layout block");
			} else {
				parse_line(sc, sc->line);
			}
			sc->len = 0;
			sc->overlong = false;
		} else if (sc->len + 1 < sizeof(sc->line)) {
			sc->line[sc->len++] = c;
		} else {
			sc->overlong = true;
		}
	}
}

struct layout *scanner_take(struct layout_scanner *sc)
{
	struct layout *l = sc->ready;

	sc->ready = NULL;
	return l;
}

void scanner_free(struct layout_scanner *sc)
{
	layout_free(sc->building);
	layout_free(sc->ready);
	sc->building = sc->ready = NULL;
}
