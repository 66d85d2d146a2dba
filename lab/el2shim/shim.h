/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EL2SHIM_H
#define EL2SHIM_H

/*
 * Memory layout on QEMU's virt machine (RAM at 0x40000000):
 *   0x40000000  QEMU's own boot stub (it writes it at the bottom of RAM)
 *   0x40200000  el2shim, loaded by QEMU as -kernel (text_offset 2 MiB)
 *   0x40400000  the kernel Image, -device loader,file=Image,addr=...
 *   0x48000000  initrd, then the DTB: placed by QEMU (RAM >= 256 MiB)
 * el2shim adds a /memreserve/ entry for 0x40200000-0x40400000 to the DTB, so
 * Linux never allocates it; the stub below is free once Linux runs.
 */
#define SHIM_RAM_BASE		0x40000000
#define SHIM_TEXT_OFFSET	0x200000
#define SHIM_KERNEL_ADDR	0x40400000
#define SHIM_UART_BASE		0x09000000	/* virt's PL011 */
#define SHIM_MAX_CPUS		16
#define SHIM_STACK_SHIFT	13		/* 8 KiB per CPU */

#ifndef __ASSEMBLER__

#include "types.h"

typedef unsigned long size_t;

struct regs {
	u64 x[31];
	u64 pad;
};

#define __noreturn		__attribute__((noreturn))
#define __aligned(n)		__attribute__((aligned(n)))
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

/* shim.lds */
extern u8 _start_image[];

/* head.S */
void __noreturn halt(void);
void __noreturn enter_el1(u64 entry, u64 arg, u64 sp);
u64 smc_call(u64 fid, u64 a1, u64 a2, u64 a3);
u64 read_id_reg(u64 idx);
void secondary_entry(void);

/* uart.c */
void putc(char c);
void puts(const char *s);
void puthex(u64 v);
void putdec(u64 v);

/* lib.c */
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
void *memset(void *p, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

#define read_sysreg(r) ({					\
	u64 __v;						\
	asm volatile("mrs %0, " #r : "=r" (__v));		\
	__v;							\
})
#define write_sysreg(v, r)					\
	asm volatile("msr " #r ", %0" : : "r" ((u64)(v)))
#define isb()	asm volatile("isb" : : : "memory")

#define BIT(n)			(1UL << (n))
#define FIELD(v, lo, w)		(((v) >> (lo)) & ((1UL << (w)) - 1))

#endif /* __ASSEMBLER__ */
#endif /* EL2SHIM_H */
