// SPDX-License-Identifier: GPL-2.0
// bare-metal guest for test_functime.py: known instruction counts.
// func: 1 + 2 * LOOPS + 1 instructions per call (mov, LOOPS x subs/b.ne, ret).
	.text
	.globl _start
_start:
	mov	x19, #3
1:	bl	func
	subs	x19, x19, #1
	b.ne	1b
	bl	tailer
	movz	w0, #0x0008		// PSCI SYSTEM_OFF 0x84000008
	movk	w0, #0x8400, lsl #16
	hvc	#0
2:	b	2b

	.globl func
func:
	mov	x0, #10
3:	subs	x0, x0, #1
	b.ne	3b
	ret

	.globl tailer
tailer:
	mov	x1, #1
	b	func
	.globl after
after:
	nop
