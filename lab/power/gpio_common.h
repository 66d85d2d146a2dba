/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the GPIO backends: how chip and line are spelled. */
#ifndef LABPOWER_GPIO_COMMON_H
#define LABPOWER_GPIO_COMMON_H

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* "gpiochipN": a chip by its device name rather than its label. */
static inline bool lp_is_chip_name(const char *s)
{
	if (strncmp(s, "gpiochip", 8) || !s[8])
		return false;
	for (s += 8; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* A line given as a decimal offset, else -1 (a line name). */
static inline long lp_line_offset(const char *s)
{
	char *end;
	long n;

	if (!isdigit((unsigned char)*s))
		return -1;
	n = strtol(s, &end, 10);
	return *end || n > 65535 ? -1 : n;
}

#endif
