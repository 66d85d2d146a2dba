/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest side of the TLB model (bench/tlbmodel): the leaf layout of the
 * kernel's address space, from ptdump, written on the console between
 * markers, and the window markers around each measured loop.
 *
 * The markers are unallocated HINT instructions: NOPs on hardware and on
 * QEMU without the plugin, so the same binaries run on boards, where only
 * the console output is left out (it is written only when enabled).
 */
#ifndef BBML2_BENCH_TLBLAYOUT_H
#define BBML2_BENCH_TLBLAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Write layouts and window labels on the console (default: off). */
void tlbmodel_enable(bool on, long page_size);
bool tlbmodel_enabled(void);
/* Report the current layout: 0, or -1 and @err (the markers still run). */
int tlbmodel_layout(char *err, size_t errlen);
void tlbmodel_begin(const char *label);
void tlbmodel_end(void);

/*
 * The layout of a ptdump text: one "TLBMODEL-L start end shift region"
 * line per run of equal leaves, malloc'd in *@out, with *@nlines lines.
 * [@kimg_start, @kimg_end) is the kernel image (region kimage). 0, or -1
 * and @err for a dump the parser refuses.
 */
int tlblayout_from_ptdump(const char *text, long page_size,
			  uint64_t kimg_start, uint64_t kimg_end,
			  char **out, size_t *nlines, char *err, size_t errlen);

#endif /* BBML2_BENCH_TLBLAYOUT_H */
