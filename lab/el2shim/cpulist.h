/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EL2SHIM_CPULIST_H
#define EL2SHIM_CPULIST_H

#include "types.h"

/* MIDR value meaning "keep the MIDR QEMU gives this CPU" */
#define CPULIST_HOST	0

/*
 * Parse a CPU list such as "x4r0p3,3*a720r0p0" (the value of el2shim.cpus=)
 * into one MIDR per CPU. The list ends at a space or NUL. Returns the
 * number of CPUs, or -1 with *err set to the reason and *at to the start of
 * the offending entry.
 */
int cpulist_parse(const char *s, u32 *midr, int max, const char **err,
		  const char **at);

/* "Cortex-X4" for a MIDR whose implementer and part are known, else NULL */
const char *cpulist_model(u32 midr);

/*
 * A set of CPU indices, the value of el2shim.bbm3=: "all" or indices
 * separated by commas ("0,2"), each below ncpus. Ends at a space or NUL.
 * Returns 0 with *mask set, or -1 with *err set.
 */
int cpuset_parse(const char *s, u32 *mask, int ncpus, const char **err);

/*
 * "CPU:MS", the value of el2shim.hold=: a CPU index below ncpus and a
 * time in milliseconds (1-600000). Returns 0, or -1 with *err set.
 */
int hold_parse(const char *s, int *cpu, u32 *ms, int ncpus, const char **err);

#endif /* EL2SHIM_CPULIST_H */
