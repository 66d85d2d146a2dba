// SPDX-License-Identifier: GPL-2.0
/* The libc functions el2shim and the compiler need. */
#include "shim.h"

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (u8)*a - (u8)*b;
		if (!*a)
			break;
	}
	return 0;
}

void *memset(void *p, int c, size_t n)
{
	u8 *d = p;

	while (n--)
		*d++ = c;
	return p;
}

void *memcpy(void *d, const void *s, size_t n)
{
	u8 *dp = d;
	const u8 *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}
