// SPDX-License-Identifier: GPL-2.0
/*
 * GPIO backend for the libgpiod 1.6 API (Debian 12). The chip is found by
 * path, gpiochipN name or label; the line by offset or by name.
 */
#include <ctype.h>
#include <errno.h>
#include <gpiod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labpower.h"
#include "gpio_common.h"

struct lp_line {
	struct gpiod_chip *chip;
	struct gpiod_line *line;
	char desc[160];
};

const char *lp_gpio_backend(void)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "libgpiod %s (v1 API)", gpiod_version_string());
	return buf;
}

int lp_gpio_open(const char *chip, const char *line, struct lp_line **out,
		 char *err, size_t errlen)
{
	struct lp_line *l = calloc(1, sizeof(*l));
	long offset;

	if (!l) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (chip[0] == '/')
		l->chip = gpiod_chip_open(chip);
	else if (lp_is_chip_name(chip))
		l->chip = gpiod_chip_open_by_name(chip);
	else
		l->chip = gpiod_chip_open_by_label(chip);
	if (!l->chip) {
		snprintf(err, errlen, "GPIO chip '%s' not found%s%s", chip,
			 errno == ENOENT ? "" : ": ", errno == ENOENT ? "" : strerror(errno));
		free(l);
		return -1;
	}
	offset = lp_line_offset(line);
	if (offset >= 0)
		l->line = gpiod_chip_get_line(l->chip, (unsigned int)offset);
	else
		l->line = gpiod_chip_find_line(l->chip, line);
	if (!l->line) {
		snprintf(err, errlen, "GPIO line '%s' not found on chip '%s' (%s, %u lines)",
			 line, chip, gpiod_chip_name(l->chip), gpiod_chip_num_lines(l->chip));
		gpiod_chip_close(l->chip);
		free(l);
		return -1;
	}
	snprintf(l->desc, sizeof(l->desc), "%s line %u", gpiod_chip_name(l->chip),
		 gpiod_line_offset(l->line));
	*out = l;
	return 0;
}

int lp_gpio_owner(struct lp_line *l, char *consumer, size_t len)
{
	const char *c;

	consumer[0] = '\0';
	if (gpiod_line_update(l->line))
		return -1;
	if (!gpiod_line_is_used(l->line))
		return 0;
	c = gpiod_line_consumer(l->line);
	snprintf(consumer, len, "%s", c ? c : "(no consumer name, maybe the kernel)");
	return 1;
}

int lp_gpio_request(struct lp_line *l, const char *consumer, bool active_low, int value,
		    char *err, size_t errlen)
{
	int flags = active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0;
	char who[64];

	if (!gpiod_line_request_output_flags(l->line, consumer, flags, value))
		return 0;
	if (errno == EBUSY && lp_gpio_owner(l, who, sizeof(who)) == 1)
		snprintf(err, errlen, "GPIO %s is held by another consumer: '%s'", l->desc, who);
	else
		snprintf(err, errlen, "GPIO %s: cannot request as output: %s", l->desc,
			 strerror(errno));
	return -1;
}

int lp_gpio_set(struct lp_line *l, int value, char *err, size_t errlen)
{
	if (!gpiod_line_set_value(l->line, value))
		return 0;
	snprintf(err, errlen, "GPIO %s: cannot set %d: %s", l->desc, value, strerror(errno));
	return -1;
}

void lp_gpio_close(struct lp_line *l)
{
	if (!l)
		return;
	gpiod_line_release(l->line);
	gpiod_chip_close(l->chip);
	free(l);
}
