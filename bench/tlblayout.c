// SPDX-License-Identifier: GPL-2.0
/*
 * Guest side of the TLB model: layout from ptdump (the kselftests' parser)
 * and the HINT markers. See tlblayout.h and bench/tlbmodel/layout.h for
 * the protocol.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "ptdump_parse.h"
#include "tlblayout.h"

#define CONSOLE		"/dev/console"

struct conv {
	struct lm_geom g;
	uint64_t kimg_start, kimg_end;
	char *buf;
	size_t len, cap, lines;
	/* the run being built */
	bool have;
	uint64_t start, end;
	unsigned int shift;
	const char *region;
};

static bool enabled;
static long page_size = 4096;

static const char *region_of(const char *section)
{
	if (!strcmp(section, "Linear Mapping start"))
		return "linear";
	if (!strcmp(section, "Modules start"))
		return "modules";
	if (!strcmp(section, "vmalloc() area"))
		return "vmalloc";
	if (!strcmp(section, "vmemmap start"))
		return "vmemmap";
	return "other";
}

static int emit(struct conv *c)
{
	int n;

	if (!c->have)
		return 0;
	for (;;) {
		n = snprintf(c->buf + c->len, c->cap - c->len,
			     "TLBMODEL-L %016llx %016llx %u %s\n",
			     (unsigned long long)c->start,
			     (unsigned long long)c->end, c->shift, c->region);
		if (n > 0 && (size_t)n < c->cap - c->len)
			break;
		c->cap = c->cap ? 2 * c->cap : 1 << 16;
		c->buf = realloc(c->buf, c->cap);
		if (!c->buf)
			return -ENOMEM;
	}
	c->len += n;
	c->lines++;
	c->have = false;
	return 0;
}

static int on_line(void *ctx, const char *section, const struct pt_line *l)
{
	struct conv *c = ctx;
	unsigned long size;
	unsigned int shift;
	const char *region;

	if (l->hole || (l->attrs & PTA_F))
		return emit(c);		/* no leaf: a gap in the layout */
	switch (l->level) {
	case PT_PTE:
		size = l->attrs & PTA_CON ? c->g.cont_pte : c->g.page;
		break;
	case PT_PMD:
		size = l->attrs & PTA_CON ? c->g.cont_pmd : c->g.pmd;
		break;
	case PT_PUD:
		size = c->g.pud;
		break;
	default:
		return emit(c);		/* leaf at a folded top level */
	}
	shift = __builtin_ctzl(size);
	/* A run the dump merged off the leaf's alignment: smaller entries. */
	while (shift > 12 && ((l->start | l->end) & ((1UL << shift) - 1)))
		shift--;
	region = region_of(section);
	if (l->start >= c->kimg_start && l->start < c->kimg_end)
		region = "kimage";
	if (c->have && c->end == l->start && c->shift == shift &&
	    !strcmp(c->region, region)) {
		c->end = l->end;
		return 0;
	}
	if (emit(c))
		return -ENOMEM;
	c->have = true;
	c->start = l->start;
	c->end = l->end;
	c->shift = shift;
	c->region = region;
	return 0;
}

int tlblayout_from_ptdump(const char *text, long psize, uint64_t kimg_start,
			  uint64_t kimg_end, char **out, size_t *nlines,
			  char *err, size_t errlen)
{
	struct conv c;
	int ret;

	memset(&c, 0, sizeof(c));
	if (lm_geom_init(&c.g, psize)) {
		snprintf(err, errlen, "page size %ld is not 4K, 16K or 64K", psize);
		return -1;
	}
	c.kimg_start = kimg_start;
	c.kimg_end = kimg_end;
	ret = ptdump_for_each(text, on_line, &c, err, errlen);
	if (!ret)
		ret = emit(&c);
	if (!ret && !c.lines) {
		snprintf(err, errlen, "no mapped kernel range in the dump");
		ret = -1;
	}
	if (ret) {
		if (ret == -ENOMEM)
			snprintf(err, errlen, "out of memory");
		free(c.buf);
		return -1;
	}
	*out = c.buf;
	*nlines = c.lines;
	return 0;
}

/* ---- on the guest ------------------------------------------------------- */

void tlbmodel_enable(bool on, long psize)
{
	enabled = on;
	page_size = psize;
}

bool tlbmodel_enabled(void)
{
	return enabled;
}

static void hint_layout(void)
{
#ifdef __aarch64__
	asm volatile("hint #0x7a" ::: "memory");
#endif
}

void tlbmodel_begin(const char *label)
{
	if (enabled) {
		int fd = open(CONSOLE, O_WRONLY | O_NOCTTY | O_CLOEXEC);

		if (fd >= 0) {
			dprintf(fd, "TLBMODEL-WINDOW %s\n", label);
			tcdrain(fd);
			close(fd);
		}
	}
#ifdef __aarch64__
	asm volatile("hint #0x78" ::: "memory");
#endif
}

void tlbmodel_end(void)
{
#ifdef __aarch64__
	asm volatile("hint #0x79" ::: "memory");
#endif
}

/* The kernel image's [_text, _end) from /proc/kallsyms (0, 0 if hidden). */
static void kimage_bounds(uint64_t *start, uint64_t *end)
{
	static uint64_t s, e;
	static bool done;
	char line[256], name[128], type;
	unsigned long long a;
	FILE *f;

	if (!done) {
		done = true;
		f = fopen("/proc/kallsyms", "r");
		while (f && fgets(line, sizeof(line), f) && !(s && e)) {
			if (sscanf(line, "%llx %c %127s", &a, &type, name) != 3)
				continue;
			if (!strcmp(name, "_text"))
				s = a;
			else if (!strcmp(name, "_end"))
				e = a;
		}
		if (f)
			fclose(f);
	}
	*start = s;
	*end = e;
}

int tlbmodel_layout(char *err, size_t errlen)
{
	uint64_t ks, ke;
	char *text, *out;
	size_t n, off = 0;
	ssize_t w;
	int fd, ret = -1;

	if (!enabled) {
		hint_layout();
		return 0;
	}
	kimage_bounds(&ks, &ke);
	text = ptdump_slurp(err, errlen);
	if (!text)
		goto out;
	if (tlblayout_from_ptdump(text, page_size, ks, ke, &out, &n, err, errlen)) {
		free(text);
		goto out;
	}
	free(text);
	fd = open(CONSOLE, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "open %s: %s", CONSOLE, strerror(errno));
		free(out);
		goto out;
	}
	dprintf(fd, "TLBMODEL-LAYOUT-BEGIN v1 page=%ld\n", page_size);
	while (off < strlen(out)) {
		w = write(fd, out + off, strlen(out) - off);
		if (w <= 0)
			break;
		off += w;
	}
	dprintf(fd, "TLBMODEL-LAYOUT-END lines=%zu\n", n);
	/* The plugin reads QEMU's console log when the hint runs. */
	tcdrain(fd);
	close(fd);
	free(out);
	ret = 0;
out:
	hint_layout();
	return ret;
}
