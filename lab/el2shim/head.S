/* SPDX-License-Identifier: GPL-2.0 */
/*
 * el2shim entry points, exception vectors and the few instructions C cannot
 * express: the arm64 Image header (so that QEMU treats us as a Linux kernel
 * and passes the DTB in x0), the boot and secondary entries, the EL2 vector
 * table, the SMC to QEMU's PSCI firmware and the final eret to EL1.
 */
#include "shim.h"

	.section .text.head, "ax"
	.globl	_start
_start:
	/* arm64 Image header (Documentation/arm64/booting.rst) */
	b	primary_entry		/* code0 */
	.long	0			/* code1 */
	.quad	SHIM_TEXT_OFFSET	/* text_offset from a 2 MiB boundary */
	.quad	_image_size		/* image_size, bss and stacks included */
	.quad	0x2			/* flags: little endian, 4K pages */
	.quad	0, 0, 0
	.ascii	"ARM\x64"		/* magic */
	.long	0

	.text
/* x0: DTB (QEMU's boot stub). Only the boot CPU comes here. */
primary_entry:
	msr	daifset, #0xf
	mov	x19, x0
	mrs	x1, CurrentEL
	cmp	x1, #(2 << 2)
	b.ne	early_fail
	adr	x1, _start
	ldr	x2, =_start
	cmp	x1, x2
	b.ne	early_fail

	ldr	x1, =__bss_start
	ldr	x2, =__bss_end
1:	cmp	x1, x2
	b.hs	2f
	str	xzr, [x1], #8
	b	1b
2:
	mov	x0, #0
	bl	stack_top
	mov	sp, x0
	ldr	x1, =el2_vectors
	msr	vbar_el2, x1
	isb
	mov	x0, x19
	bl	shim_main
	b	halt

/*
 * x0: our own context from the substituted PSCI CPU_ON, the CPU's index in
 * the CPU table. Every CPU_ON comes here on a freshly reset CPU.
 */
	.globl	secondary_entry
secondary_entry:
	msr	daifset, #0xf
	mov	x19, x0
	cmp	x0, #SHIM_MAX_CPUS
	b.hs	early_fail
	bl	stack_top
	mov	sp, x0
	ldr	x1, =el2_vectors
	msr	vbar_el2, x1
	isb
	mov	x0, x19
	bl	shim_secondary
	b	halt

/* Before a stack exists: say so on the PL011 and stop. */
early_fail:
	ldr	x1, =SHIM_UART_BASE
	adr	x2, early_msg
1:	ldrb	w3, [x2], #1
	cbz	w3, halt
2:	ldr	w4, [x1, #0x18]		/* UARTFR */
	tbnz	w4, #5, 2b		/* TXFF */
	str	w3, [x1]		/* UARTDR */
	b	1b

	.globl	halt
halt:
	wfi
	b	halt

early_msg:
	.asciz	"el2shim: FATAL: not entered at EL2, not at its link address, or bad CPU index\r\n"
	.balign	4

/* x0: stack top of CPU x0 (clobbers x1) */
stack_top:
	ldr	x1, =shim_stacks
	add	x0, x0, #1
	add	x0, x1, x0, lsl #SHIM_STACK_SHIFT
	ret

/*
 * void enter_el1(u64 entry, u64 arg, u64 sp): reset the EL2 stack and eret
 * to entry at EL1h, DAIF masked, x0 = arg and x1-x3 = 0 as booting.rst asks.
 */
	.globl	enter_el1
enter_el1:
	mov	sp, x2
	msr	elr_el2, x0
	mov	x0, #0x3c5		/* D A I F masked, EL1h */
	msr	spsr_el2, x0
	mov	x0, x1
	mov	x1, #0
	mov	x2, #0
	mov	x3, #0
	isb
	eret

/*
 * u64 read_id_reg(u64 idx): the ID register S3_0_C0_C<crm>_<op2>, idx =
 * (crm - 1) * 8 + op2 for crm 1-7, the ID group HCR_EL2.TID3 traps.
 * Unallocated encodings in that space read as zero.
 */
	.globl	read_id_reg
read_id_reg:
	adr	x1, id_reg_table
	add	x1, x1, x0, lsl #3
	br	x1
	.balign	8
id_reg_table:
	.irp	crm, 1, 2, 3, 4, 5, 6, 7
	.irp	op2, 0, 1, 2, 3, 4, 5, 6, 7
	mrs	x0, S3_0_C0_C\crm\()_\op2
	ret
	.endr
	.endr

/* u64 smc_call(u64 fid, u64 a1, u64 a2, u64 a3): SMCCC call to QEMU */
	.globl	smc_call
smc_call:
	dsb	sy
	smc	#0
	ret

/* Exception frame: x0-x30, 32 slots (struct regs in shim.h). */
.macro	save_frame
	sub	sp, sp, #(32 * 8)
	stp	x0, x1, [sp, #(0 * 8)]
	stp	x2, x3, [sp, #(2 * 8)]
	stp	x4, x5, [sp, #(4 * 8)]
	stp	x6, x7, [sp, #(6 * 8)]
	stp	x8, x9, [sp, #(8 * 8)]
	stp	x10, x11, [sp, #(10 * 8)]
	stp	x12, x13, [sp, #(12 * 8)]
	stp	x14, x15, [sp, #(14 * 8)]
	stp	x16, x17, [sp, #(16 * 8)]
	stp	x18, x19, [sp, #(18 * 8)]
	stp	x20, x21, [sp, #(20 * 8)]
	stp	x22, x23, [sp, #(22 * 8)]
	stp	x24, x25, [sp, #(24 * 8)]
	stp	x26, x27, [sp, #(26 * 8)]
	stp	x28, x29, [sp, #(28 * 8)]
	str	x30, [sp, #(30 * 8)]
.endm

.macro	restore_frame
	ldp	x0, x1, [sp, #(0 * 8)]
	ldp	x2, x3, [sp, #(2 * 8)]
	ldp	x4, x5, [sp, #(4 * 8)]
	ldp	x6, x7, [sp, #(6 * 8)]
	ldp	x8, x9, [sp, #(8 * 8)]
	ldp	x10, x11, [sp, #(10 * 8)]
	ldp	x12, x13, [sp, #(12 * 8)]
	ldp	x14, x15, [sp, #(14 * 8)]
	ldp	x16, x17, [sp, #(16 * 8)]
	ldp	x18, x19, [sp, #(18 * 8)]
	ldp	x20, x21, [sp, #(20 * 8)]
	ldp	x22, x23, [sp, #(22 * 8)]
	ldp	x24, x25, [sp, #(24 * 8)]
	ldp	x26, x27, [sp, #(26 * 8)]
	ldp	x28, x29, [sp, #(28 * 8)]
	ldr	x30, [sp, #(30 * 8)]
	add	sp, sp, #(32 * 8)
.endm

/* Every vector but "lower EL, AArch64, synchronous" is fatal. */
.macro	vec_bad idx
	.balign	0x80
	save_frame
	mov	x0, sp
	mov	x1, #\idx
	bl	handle_bad
	b	halt
.endm

	.balign	0x800
el2_vectors:
	vec_bad	0	/* current EL, SP_EL0 */
	vec_bad	1
	vec_bad	2
	vec_bad	3
	vec_bad	4	/* current EL, SP_ELx */
	vec_bad	5
	vec_bad	6
	vec_bad	7
	.balign	0x80	/* lower EL, AArch64: synchronous */
	b	lower_sync
	vec_bad	9
	vec_bad	10
	vec_bad	11
	vec_bad	12	/* lower EL, AArch32 */
	vec_bad	13
	vec_bad	14
	vec_bad	15

lower_sync:
	save_frame
	mov	x0, sp
	bl	handle_lower_sync
	restore_frame
	eret
