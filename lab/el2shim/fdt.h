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
	u64 mem_base, mem_size;
	u8 *mem_reg;			/* the first one's reg, for fdt_set_memory */
	const char *bootargs;		/* /chosen/bootargs, or NULL */
	u64 initrd_start, initrd_end;	/* 0 if no initrd */
	const char *psci_method;	/* /psci method, or NULL */
};

/* Returns 0, or -1 with *err naming what is wrong. */
int fdt_scan(const void *fdt, struct fdt_info *info, const char **err);

/* Rewrite the first /memory node's reg in place (two cells each). */
void fdt_set_memory(struct fdt_info *info, u64 base, u64 size);

#endif /* EL2SHIM_FDT_H */
