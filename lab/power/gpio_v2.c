// SPDX-License-Identifier: GPL-2.0
/*
 * GPIO backend for the libgpiod 2.x API, chosen by the Makefile when
 * `pkg-config --modversion libgpiod` is 2 or newer. v2 opens chips by path
 * only, so a label or gpiochipN is looked up under /dev.
 */
#include <dirent.h>
#include <errno.h>
#include <gpiod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labpower.h"
#include "gpio_common.h"

struct lp_line {
	struct gpiod_chip *chip;
	struct gpiod_line_request *req;
	unsigned int offset;
	char desc[160];
};

const char *lp_gpio_backend(void)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "libgpiod %s (v2 API)", gpiod_api_version());
	return buf;
}

/* The chip whose label is `label`: scan /dev/gpiochip*. */
static struct gpiod_chip *open_by_label(const char *label)
{
	DIR *d = opendir("/dev");
	struct dirent *e;
	struct gpiod_chip *found = NULL;

	if (!d)
		return NULL;
	while (!found && (e = readdir(d))) {
		char path[300];
		struct gpiod_chip *c;
		struct gpiod_chip_info *info;

		if (strncmp(e->d_name, "gpiochip", 8))
			continue;
		snprintf(path, sizeof(path), "/dev/%s", e->d_name);
		if (!gpiod_is_gpiochip_device(path))
			continue;
		c = gpiod_chip_open(path);
		if (!c)
			continue;
		info = gpiod_chip_get_info(c);
		if (info && !strcmp(gpiod_chip_info_get_label(info), label))
			found = c;
		else
			gpiod_chip_close(c);
		if (info)
			gpiod_chip_info_free(info);
	}
	closedir(d);
	if (!found)
		errno = ENOENT;
	return found;
}

int lp_gpio_open(const char *chip, const char *line, struct lp_line **out,
		 char *err, size_t errlen)
{
	struct lp_line *l = calloc(1, sizeof(*l));
	struct gpiod_chip_info *info;
	char path[300];
	size_t nlines = 0;
	long offset;

	if (!l) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (chip[0] == '/') {
		l->chip = gpiod_chip_open(chip);
	} else if (lp_is_chip_name(chip)) {
		snprintf(path, sizeof(path), "/dev/%s", chip);
		l->chip = gpiod_chip_open(path);
	} else {
		l->chip = open_by_label(chip);
	}
	if (!l->chip) {
		snprintf(err, errlen, "GPIO chip '%s' not found%s%s", chip,
			 errno == ENOENT ? "" : ": ", errno == ENOENT ? "" : strerror(errno));
		free(l);
		return -1;
	}
	info = gpiod_chip_get_info(l->chip);
	if (info)
		nlines = gpiod_chip_info_get_num_lines(info);
	offset = lp_line_offset(line);
	if (offset < 0)
		offset = gpiod_chip_get_line_offset_from_name(l->chip, line);
	if (offset < 0 || (size_t)offset >= nlines) {
		snprintf(err, errlen, "GPIO line '%s' not found on chip '%s' (%s, %zu lines)",
			 line, chip, info ? gpiod_chip_info_get_name(info) : "?", nlines);
		if (info)
			gpiod_chip_info_free(info);
		gpiod_chip_close(l->chip);
		free(l);
		return -1;
	}
	l->offset = (unsigned int)offset;
	snprintf(l->desc, sizeof(l->desc), "%s line %u",
		 info ? gpiod_chip_info_get_name(info) : chip, l->offset);
	if (info)
		gpiod_chip_info_free(info);
	*out = l;
	return 0;
}

int lp_gpio_owner(struct lp_line *l, char *consumer, size_t len)
{
	struct gpiod_line_info *info = gpiod_chip_get_line_info(l->chip, l->offset);
	const char *c;
	int used;

	consumer[0] = '\0';
	if (!info)
		return -1;
	used = gpiod_line_info_is_used(info);
	c = gpiod_line_info_get_consumer(info);
	if (used)
		snprintf(consumer, len, "%s", c && *c ? c : "(no consumer name, maybe the kernel)");
	gpiod_line_info_free(info);
	return used ? 1 : 0;
}

int lp_gpio_request(struct lp_line *l, const char *consumer, bool active_low, int value,
		    char *err, size_t errlen)
{
	struct gpiod_line_settings *s = gpiod_line_settings_new();
	struct gpiod_line_config *lc = gpiod_line_config_new();
	struct gpiod_request_config *rc = gpiod_request_config_new();
	char who[64];
	int e = ENOMEM;

	if (s && lc && rc &&
	    !gpiod_line_settings_set_direction(s, GPIOD_LINE_DIRECTION_OUTPUT) &&
	    !gpiod_line_settings_set_output_value(s, value ? GPIOD_LINE_VALUE_ACTIVE :
						  GPIOD_LINE_VALUE_INACTIVE)) {
		gpiod_line_settings_set_active_low(s, active_low);
		gpiod_request_config_set_consumer(rc, consumer);
		if (!gpiod_line_config_add_line_settings(lc, &l->offset, 1, s))
			l->req = gpiod_chip_request_lines(l->chip, rc, lc);
		e = errno;
	}
	gpiod_request_config_free(rc);
	gpiod_line_config_free(lc);
	gpiod_line_settings_free(s);
	if (l->req)
		return 0;
	if (e == EBUSY && lp_gpio_owner(l, who, sizeof(who)) == 1)
		snprintf(err, errlen, "GPIO %s is held by another consumer: '%s'", l->desc, who);
	else
		snprintf(err, errlen, "GPIO %s: cannot request as output: %s", l->desc,
			 strerror(e));
	return -1;
}

int lp_gpio_set(struct lp_line *l, int value, char *err, size_t errlen)
{
	if (l->req && !gpiod_line_request_set_value(l->req, l->offset,
						     value ? GPIOD_LINE_VALUE_ACTIVE :
						     GPIOD_LINE_VALUE_INACTIVE))
		return 0;
	snprintf(err, errlen, "GPIO %s: cannot set %d: %s", l->desc, value,
		 l->req ? strerror(errno) : "not requested");
	return -1;
}

void lp_gpio_close(struct lp_line *l)
{
	if (!l)
		return;
	if (l->req)
		gpiod_line_request_release(l->req);
	gpiod_chip_close(l->chip);
	free(l);
}
