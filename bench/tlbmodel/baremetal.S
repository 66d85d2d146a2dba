/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Bare-metal check of the tlbmodel plugin (test_baremetal.py): EL1 on
 * QEMU's virt machine, MMU on, and three 16 MiB TTBR1 regions over the
 * same physical memory with known leaves:
 *
 *   0xffffff8040000000  4K pages        (region "linear")
 *   0xffffff8042000000  2M blocks       (region "vmalloc")
 *   0xffffff8044000000  64K contiguous  (region "vmemmap")
 *
 * It reports that layout on the PL011 like bench/tlblayout.c does, then
 * runs windows of 4 passes, one load per 4K page, whose walks and refills
 * follow from each preset's geometry alone, and a window with one TLBI
 * VMALLE1IS, one TLBI VAALE1IS, one TLBI ASIDE1IS and one DC ZVA followed
 * by one pass over the 2M region. No stack, no literal pools: the only
 * data accesses in a window are the loads under test.
 */
#define UART		0x09000000
#define RAM_PA		0x41000000
#define VA_4K		0xffffff8040000000
#define VA_2M		0xffffff8042000000
#define VA_64K		0xffffff8044000000
#define SZ		0x1000000
#define PAGE_NORMAL	0x707		/* AF, inner shareable, attr 1, page */
#define BLOCK_NORMAL	0x705
#define BLOCK_DEVICE	0x401
#define PTE_CONT	(1 << 52)
#define TCR		0x2b5193519	/* 39-bit VAs, 4K granules, WB, IS */
#define MAIR		0xff00		/* 0: device nGnRnE, 1: normal WB */

	.macro movq reg, val
	movz	\reg, #((\val) & 0xffff)
	movk	\reg, #(((\val) >> 16) & 0xffff), lsl #16
	movk	\reg, #(((\val) >> 32) & 0xffff), lsl #32
	movk	\reg, #(((\val) >> 48) & 0xffff), lsl #48
	.endm

	.macro say str
	adr	x0, \str
	bl	puts
	.endm

	.macro window label, base, passes
	say	\label
	movq	x0, \base
	mov	x2, #\passes
	hint	#0x78
	bl	touch
	hint	#0x79
	hint	#0x7a
	.endm

	.text
	.globl _start
_start:
	/* TTBR0: identity, 1G device block (UART) and 1G normal (RAM). */
	adr	x1, tt0_l1
	movq	x2, BLOCK_DEVICE
	str	x2, [x1]
	movq	x2, (0x40000000 | BLOCK_NORMAL)
	str	x2, [x1, #8]
	/* TTBR1: L1[1] -> L2. */
	adr	x1, tt1_l1
	adr	x2, tt1_l2
	orr	x2, x2, #3
	str	x2, [x1, #8]
	/* L2[0..7]: tables of 4K pages; L2[32..39]: tables of CONT pages. */
	adr	x1, tt1_l2
	adr	x3, l3
	mov	x4, #0
1:	orr	x5, x3, #3
	lsl	x6, x4, #3
	cmp	x4, #8
	b.lo	2f
	add	x6, x6, #(24 * 8)	/* tables 8..15 at L2[32..39] */
2:	str	x5, [x1, x6]
	add	x3, x3, #4096
	add	x4, x4, #1
	cmp	x4, #16
	b.lo	1b
	/* L2[16..23]: 2M blocks. */
	movq	x2, (RAM_PA | BLOCK_NORMAL)
	mov	x4, #16
3:	str	x2, [x1, x4, lsl #3]
	add	x2, x2, #0x200000
	add	x4, x4, #1
	cmp	x4, #24
	b.lo	3b
	/* The 16 L3 tables: 8 x 512 pages, then the same with PTE_CONT. */
	adr	x3, l3
	movq	x2, (RAM_PA | PAGE_NORMAL)
	mov	x4, #0
4:	str	x2, [x3], #8
	add	x2, x2, #4096
	add	x4, x4, #1
	cmp	x4, #4096
	b.lo	4b
	movq	x2, (RAM_PA | PAGE_NORMAL | PTE_CONT)
	mov	x4, #0
5:	str	x2, [x3], #8
	add	x2, x2, #4096
	add	x4, x4, #1
	cmp	x4, #4096
	b.lo	5b

	movq	x1, MAIR
	msr	mair_el1, x1
	movq	x1, TCR
	msr	tcr_el1, x1
	adr	x1, tt0_l1
	msr	ttbr0_el1, x1
	adr	x1, tt1_l1
	msr	ttbr1_el1, x1
	dsb	ish
	tlbi	vmalle1
	dsb	ish
	isb
	mrs	x1, sctlr_el1
	orr	x1, x1, #1		/* M */
	orr	x1, x1, #(1 << 2)	/* C */
	orr	x1, x1, #(1 << 12)	/* I */
	msr	sctlr_el1, x1
	isb

	say	layout
	hint	#0x7a

	window	w4k, VA_4K, 4
	window	w2m, VA_2M, 4
	window	w64k, VA_64K, 4

	say	wtlbi
	movq	x0, VA_2M
	hint	#0x78
	tlbi	vmalle1is
	tlbi	vaale1is, x0
	tlbi	aside1is, xzr
	dsb	ish
	isb
	dc	zva, x0
	mov	x2, #1
	bl	touch
	hint	#0x79
	hint	#0x7a

	/* PSCI SYSTEM_OFF through QEMU's HVC conduit. */
	movq	x0, 0x84000008
	hvc	#0
6:	wfi
	b	6b

/* Load one word of every 4K page of [x0, x0 + SZ), x2 times. */
touch:
	movq	x5, SZ
	add	x5, x5, x0
1:	mov	x4, x0
2:	ldr	x6, [x4]
	add	x4, x4, #4096
	cmp	x4, x5
	b.lo	2b
	subs	x2, x2, #1
	b.ne	1b
	ret

/* Print the NUL-terminated string at x0 on the PL011. */
puts:
	movq	x9, UART
1:	ldrb	w10, [x0], #1
	cbz	w10, 2f
	str	w10, [x9]
	b	1b
2:	ret

	.section .rodata
layout:
	.ascii	"TLBMODEL-LAYOUT-BEGIN v1 page=4096\n"
	.ascii	"TLBMODEL-L ffffff8040000000 ffffff8041000000 12 linear\n"
	.ascii	"TLBMODEL-L ffffff8042000000 ffffff8043000000 21 vmalloc\n"
	.ascii	"TLBMODEL-L ffffff8044000000 ffffff8045000000 16 vmemmap\n"
	.asciz	"TLBMODEL-LAYOUT-END lines=3\n"
w4k:	.asciz	"TLBMODEL-WINDOW 4k\n"
w2m:	.asciz	"TLBMODEL-WINDOW 2m\n"
w64k:	.asciz	"TLBMODEL-WINDOW 64k\n"
wtlbi:	.asciz	"TLBMODEL-WINDOW tlbi\n"

	.bss
	.balign	4096
tt0_l1:	.skip	4096
tt1_l1:	.skip	4096
tt1_l2:	.skip	4096
l3:	.skip	16 * 4096
