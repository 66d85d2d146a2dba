/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EL2SHIM_TYPES_H
#define EL2SHIM_TYPES_H

/* Shared by the freestanding program and the host-side unit test. */
typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long u64;

#endif /* EL2SHIM_TYPES_H */
