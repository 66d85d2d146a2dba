// SPDX-License-Identifier: GPL-2.0
/*
 * A fake GPIO backend for the host tests (build-time choice, never in the
 * real tool). A chip is a directory $LABPOWER_FAKE_GPIO/<chip>/ with a file
 * `names` (one line name per offset). A request flock()s <offset>.req, so
 * like the kernel's request it is exclusive and ends when its holder dies;
 * <offset>.consumer names the requester and <offset>.value holds the
 * physical level driven. Undriven, a line reads <offset>.pull (default 0).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "labpower.h"
#include "gpio_common.h"

struct lp_line {
	char dir[512];
	unsigned int offset;
	int req_fd;
	bool active_low;
	char desc[160];
};

const char *lp_gpio_backend(void)
{
	return "fake GPIO (host tests)";
}

static int write_file(const char *dir, unsigned int off, const char *ext, const char *text)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%u.%s", dir, off, ext);
	f = fopen(path, "we");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

int lp_gpio_open(const char *chip, const char *line, struct lp_line **out,
		 char *err, size_t errlen)
{
	const char *root = getenv("LABPOWER_FAKE_GPIO");
	const char *base = strrchr(chip, '/') ? strrchr(chip, '/') + 1 : chip;
	struct lp_line *l;
	char path[600], name[128];
	long offset = lp_line_offset(line);
	unsigned int n = 0;
	struct stat st;
	FILE *f;

	if (!root) {
		snprintf(err, errlen, "fake GPIO: LABPOWER_FAKE_GPIO is not set");
		return -1;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	l->req_fd = -1;
	snprintf(l->dir, sizeof(l->dir), "%s/%s", root, base);
	if (stat(l->dir, &st) || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "GPIO chip '%s' not found", chip);
		free(l);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/names", l->dir);
	f = fopen(path, "re");
	while (f && fgets(name, sizeof(name), f)) {
		name[strcspn(name, "\n")] = '\0';
		if (offset < 0 && !strcmp(name, line))
			offset = n;
		n++;
	}
	if (f)
		fclose(f);
	if (offset < 0 || offset >= n) {
		snprintf(err, errlen, "GPIO line '%s' not found on chip '%s' (fake, %u lines)",
			 line, chip, n);
		free(l);
		return -1;
	}
	l->offset = (unsigned int)offset;
	snprintf(l->desc, sizeof(l->desc), "%s line %u", base, l->offset);
	*out = l;
	return 0;
}

int lp_gpio_owner(struct lp_line *l, char *consumer, size_t len)
{
	char path[600];
	FILE *f;
	int fd, used;

	consumer[0] = '\0';
	snprintf(path, sizeof(path), "%s/%u.req", l->dir, l->offset);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	used = flock(fd, LOCK_SH | LOCK_NB) ? 1 : 0;
	close(fd);
	if (!used)
		return 0;
	snprintf(path, sizeof(path), "%s/%u.consumer", l->dir, l->offset);
	f = fopen(path, "re");
	if (f) {
		if (fgets(consumer, (int)len, f))
			consumer[strcspn(consumer, "\n")] = '\0';
		fclose(f);
	}
	return 1;
}

int lp_gpio_request(struct lp_line *l, const char *consumer, bool active_low, int value,
		    char *err, size_t errlen)
{
	char path[600], who[64];

	snprintf(path, sizeof(path), "%s/%u.req", l->dir, l->offset);
	l->req_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (l->req_fd < 0 || flock(l->req_fd, LOCK_EX | LOCK_NB)) {
		int e = errno;

		if (l->req_fd >= 0)
			close(l->req_fd);
		l->req_fd = -1;
		if (e == EWOULDBLOCK && lp_gpio_owner(l, who, sizeof(who)) == 1)
			snprintf(err, errlen, "GPIO %s is held by another consumer: '%s'",
				 l->desc, who);
		else
			snprintf(err, errlen, "GPIO %s: cannot request: %s", l->desc, strerror(e));
		return -1;
	}
	l->active_low = active_low;
	write_file(l->dir, l->offset, "consumer", consumer);
	return lp_gpio_set(l, value, err, errlen);
}

int lp_gpio_set(struct lp_line *l, int value, char *err, size_t errlen)
{
	int phys = (value != 0) != l->active_low;

	if (l->req_fd < 0 || write_file(l->dir, l->offset, "value", phys ? "1\n" : "0\n")) {
		snprintf(err, errlen, "GPIO %s: cannot set %d", l->desc, value);
		return -1;
	}
	return 0;
}

void lp_gpio_close(struct lp_line *l)
{
	if (!l)
		return;
	if (l->req_fd >= 0)
		close(l->req_fd);
	free(l);
}
