// SPDX-License-Identifier: GPL-2.0
/* Polled output on QEMU virt's PL011; QEMU needs no initialisation. */
#include "shim.h"

#define UARTDR		0x00
#define UARTFR		0x18
#define UARTFR_TXFF	BIT(5)

static volatile u32 *const uart = (volatile u32 *)SHIM_UART_BASE;

void putc(char c)
{
	if (c == '\n')
		putc('\r');
	while (uart[UARTFR / 4] & UARTFR_TXFF)
		;
	uart[UARTDR / 4] = (u8)c;
}

void puts(const char *s)
{
	while (*s)
		putc(*s++);
}

void puthex(u64 v)
{
	int shift = 60;

	puts("0x");
	while (shift > 0 && !(v >> shift))
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		putc("0123456789abcdef"[(v >> shift) & 0xf]);
}

void putdec(u64 v)
{
	char buf[21];
	int i = sizeof(buf) - 1;

	buf[i] = '\0';
	do {
		buf[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	puts(buf + i);
}
