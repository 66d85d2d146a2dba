/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EL2SHIM_FDT_H
#define EL2SHIM_FDT_H

#include "types.h"

#define FDT_MAX_CPUS	16

/* What el2shim needs from QEMU's device tree. */
struct fdt_info {
	u32 totalsize;
	int ncpus;
	u64 mpidr[FDT_MAX_CPUS];	/* /cpus/cpu@N reg, in DT order */
	int nmem;			/* /memory nodes seen */
	u64 mem_base, mem_size;		/* the first one's reg */
	const char *bootargs;		/* /chosen/bootargs, or NULL */
	u64 initrd_start, initrd_end;	/* 0 if no initrd */
	const char *psci_method;	/* /psci method, or NULL */
};

/* Returns 0, or -1 with *err naming what is wrong. */
int fdt_scan(const void *fdt, struct fdt_info *info, const char **err);

/*
 * Add a /memreserve/ entry (Linux memblock_reserve()s it and never hands it
 * out, yet keeps it in the linear map), moving the structure and strings
 * blocks up into the DTB's free space. Pointers from fdt_scan() are stale
 * afterwards. Returns 0, or -1 with *err set.
 */
int fdt_add_memreserve(void *fdt, u64 base, u64 size, const char **err);

/* The i-th /memreserve/ entry: 0, or -1 past the last one. */
int fdt_get_memreserve(const void *fdt, int i, u64 *base, u64 *size);

#endif /* EL2SHIM_FDT_H */
