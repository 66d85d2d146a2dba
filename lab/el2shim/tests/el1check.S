/* SPDX-License-Identifier: GPL-2.0 */
/*
 * el1check: a bare-metal stand-in for the kernel, loaded where el2shim
 * expects the Image, to check at EL1 what Linux needs from el2shim's EL2
 * setup without depending on a kernel config (el1check.c does the checks).
 */
#define EL1CHECK_STACK	8192

	.section .text.head, "ax"
	.globl	_start
_start:
	b	1f
	.long	0
	.quad	0			/* text_offset */
	.quad	_image_size
	.quad	0x2
	.quad	0, 0, 0
	.ascii	"ARM\x64"
	.long	0
1:	ldr	x1, =__bss_start
	ldr	x2, =__bss_end
2:	cmp	x1, x2
	b.hs	3f
	str	xzr, [x1], #8
	b	2b
3:	ldr	x1, =el1check_stack
	add	x1, x1, #EL1CHECK_STACK
	mov	sp, x1
	bl	el1check_main
4:	wfi
	b	4b

	.bss
	.balign	16
el1check_stack:
	.skip	EL1CHECK_STACK

	.text
	.globl	el1_smc
el1_smc:
	smc	#0
	ret
