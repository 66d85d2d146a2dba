// SPDX-License-Identifier: GPL-2.0
/*
 * labpower's config file: generated from configs/boards.yaml by
 * `lab/run.py power-config`, or written by hand. Format:
 *
 *   # comment
 *   lock_wait_ms = 30000          (global keys before the first section)
 *   [board NAME]
 *   key = value
 *
 * Command lines (on/off/status) are one argument per space-separated word;
 * inside a word "%XX" (two hex digits) stands for byte XX, so spaces, '%'
 * and control characters are written %20, %25, ...: no quoting rules.
 * The whole file is validated on every run; the first problem is reported
 * as "FILE:LINE: message".
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labpower.h"

#define DEFAULT_MIN_OFF_MS 3000
#define DEFAULT_LOCK_WAIT_MS 30000
#define DEFAULT_CMD_TIMEOUT_MS 30000
#define MAX_MS 86400000L

enum {
	K_DRIVER = 1 << 0, K_CHIP = 1 << 1, K_LINE = 1 << 2, K_ACTIVE_LOW = 1 << 3,
	K_INITIAL = 1 << 4, K_ON = 1 << 5, K_OFF = 1 << 6, K_STATUS = 1 << 7,
	K_CWD = 1 << 8, K_TIMEOUT = 1 << 9, K_MIN_OFF = 1 << 10, K_RESET_OFF = 1 << 11,
};

#define GPIO_KEYS (K_CHIP | K_LINE | K_ACTIVE_LOW | K_INITIAL)
#define CMD_KEYS (K_ON | K_OFF | K_STATUS | K_CWD | K_TIMEOUT)

static const struct {
	const char *name;
	unsigned int bit;
} keys[] = {
	{ "driver", K_DRIVER }, { "chip", K_CHIP }, { "line", K_LINE },
	{ "active_low", K_ACTIVE_LOW }, { "initial", K_INITIAL }, { "on", K_ON },
	{ "off", K_OFF }, { "status", K_STATUS }, { "cwd", K_CWD },
	{ "timeout_ms", K_TIMEOUT }, { "min_off_ms", K_MIN_OFF },
	{ "reset_off_ms", K_RESET_OFF },
};

struct parser {
	const char *path;
	int lineno;
	char *err;
	size_t errlen;
	unsigned int set;	/* keys seen in the current section */
};

static int fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parser *p, const char *fmt, ...)
{
	char msg[LP_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->lineno)
		snprintf(p->err, p->errlen, "%s:%d: %s", p->path, p->lineno, msg);
	else
		snprintf(p->err, p->errlen, "%s: %s", p->path, msg);
	return -1;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static bool valid_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= LP_NAME_MAX || !isalnum((unsigned char)s[0]))
		return false;
	for (i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

static int parse_ms(struct parser *p, const char *key, const char *v, long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (!*v || *end || errno || n < 0 || n > MAX_MS)
		return fail(p, "%s: expected milliseconds 0..%ld, got '%s'", key, MAX_MS, v);
	*out = n;
	return 0;
}

static int parse_bool(struct parser *p, const char *key, const char *v, bool *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"))
		*out = false;
	else
		return fail(p, "%s: expected true or false, got '%s'", key, v);
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

void lp_argv_free(struct lp_argv *a)
{
	int i;

	if (!a->argv)
		return;
	for (i = 0; i < a->argc; i++)
		free(a->argv[i]);
	free(a->argv);
	a->argv = NULL;
	a->argc = 0;
}

/* "word word%20with%20spaces" -> argv; 0 or -1 with err set. */
int lp_argv_decode(const char *text, struct lp_argv *out, char *err, size_t errlen)
{
	size_t n = strlen(text);
	char **argv = calloc(n / 2 + 2, sizeof(*argv));
	int argc = 0;
	const char *s = text;

	out->argv = NULL;
	out->argc = 0;
	if (!argv) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (*s) {
		char *word, *w;

		while (*s == ' ')
			s++;
		if (!*s)
			break;
		word = malloc(strlen(s) + 1);
		if (!word) {
			snprintf(err, errlen, "out of memory");
			goto bad;
		}
		argv[argc++] = word;
		w = word;
		for (; *s && *s != ' '; s++) {
			unsigned char c = *s;

			if (c == '%') {
				int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);

				if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
					snprintf(err, errlen, "bad escape '%.3s' (expected %%XX, not %%00)", s);
					goto bad;
				}
				*w++ = (char)(hi << 4 | lo);
				s += 2;
			} else if (c < 0x21 || c == 0x7f) {
				snprintf(err, errlen, "control character 0x%02x in a command (write it as %%%02X)",
					 c, c);
				goto bad;
			} else {
				*w++ = (char)c;
			}
		}
		*w = '\0';
	}
	if (argc == 0) {
		snprintf(err, errlen, "empty command");
		goto bad;
	}
	argv[argc] = NULL;
	out->argv = argv;
	out->argc = argc;
	return 0;
bad:
	while (argc > 0)
		free(argv[--argc]);
	free(argv);
	return -1;
}

static void board_free(struct lp_board *b)
{
	free(b->chip);
	free(b->line);
	free(b->cwd);
	lp_argv_free(&b->on);
	lp_argv_free(&b->off);
	lp_argv_free(&b->status);
}

void lp_config_free(struct lp_config *cfg)
{
	int i;

	for (i = 0; i < cfg->nboards; i++)
		board_free(&cfg->boards[i]);
	free(cfg->boards);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}

struct lp_board *lp_config_find(struct lp_config *cfg, const char *name)
{
	int i;

	for (i = 0; i < cfg->nboards; i++)
		if (!strcmp(cfg->boards[i].name, name))
			return &cfg->boards[i];
	return NULL;
}

static int set_argv(struct parser *p, const char *key, const char *v, struct lp_argv *a)
{
	char why[LP_ERR_MAX];

	if (lp_argv_decode(v, a, why, sizeof(why)))
		return fail(p, "%s: %s", key, why);
	return 0;
}

static int set_key(struct parser *p, struct lp_board *b, const char *key, const char *v)
{
	unsigned int bit = 0;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i].name, key))
			bit = keys[i].bit;
	if (!bit)
		return fail(p, "unknown key '%s' in board %s", key, b->name);
	if (p->set & bit)
		return fail(p, "duplicate key '%s' in board %s", key, b->name);
	p->set |= bit;

	switch (bit) {
	case K_DRIVER:
		if (!strcmp(v, "gpio"))
			b->driver = LP_GPIO;
		else if (!strcmp(v, "command"))
			b->driver = LP_COMMAND;
		else
			return fail(p, "driver: expected gpio or command, got '%s'", v);
		return 0;
	case K_CHIP:
	case K_LINE:
		if (!*v)
			return fail(p, "%s: empty", key);
		if (bit == K_CHIP)
			b->chip = strdup(v);
		else
			b->line = strdup(v);
		return 0;
	case K_ACTIVE_LOW:
		return parse_bool(p, key, v, &b->active_low);
	case K_INITIAL:
		if (strcmp(v, "on") && strcmp(v, "off"))
			return fail(p, "initial: expected on or off, got '%s'", v);
		b->initial_on = !strcmp(v, "on");
		return 0;
	case K_ON:
		return set_argv(p, key, v, &b->on);
	case K_OFF:
		return set_argv(p, key, v, &b->off);
	case K_STATUS:
		return set_argv(p, key, v, &b->status);
	case K_CWD:
		if (v[0] != '/')
			return fail(p, "cwd: must be an absolute path, got '%s'", v);
		b->cwd = strdup(v);
		return 0;
	case K_TIMEOUT:
		if (parse_ms(p, key, v, &b->cmd_timeout_ms))
			return -1;
		if (b->cmd_timeout_ms == 0)
			return fail(p, "timeout_ms: must be above 0");
		return 0;
	case K_MIN_OFF:
		return parse_ms(p, key, v, &b->min_off_ms);
	case K_RESET_OFF:
		return parse_ms(p, key, v, &b->reset_off_ms);
	}
	return 0;
}

/* The checks that need the whole section. */
static int finish_board(struct parser *p, struct lp_config *cfg, struct lp_board *b)
{
	int i, saved = p->lineno;

	p->lineno = b->lineno;
	if (!(p->set & K_DRIVER))
		return fail(p, "board %s: 'driver' is required (gpio or command)", b->name);
	if (b->driver == LP_GPIO) {
		if (p->set & CMD_KEYS)
			return fail(p, "board %s: driver gpio takes no on/off/status/cwd/timeout_ms",
				    b->name);
		if (!b->chip || !b->line)
			return fail(p, "board %s: driver gpio needs 'chip' and 'line'", b->name);
	} else {
		if (p->set & GPIO_KEYS)
			return fail(p, "board %s: driver command takes no chip/line/active_low/initial",
				    b->name);
		if (!b->on.argv || !b->off.argv)
			return fail(p, "board %s: driver command needs 'on' and 'off'", b->name);
	}
	if (!(p->set & K_MIN_OFF))
		b->min_off_ms = DEFAULT_MIN_OFF_MS;
	if (!(p->set & K_RESET_OFF))
		b->reset_off_ms = b->min_off_ms;
	if (b->reset_off_ms < b->min_off_ms)
		return fail(p, "board %s: reset_off_ms %ld is below min_off_ms %ld", b->name,
			    b->reset_off_ms, b->min_off_ms);
	if (!(p->set & K_TIMEOUT))
		b->cmd_timeout_ms = DEFAULT_CMD_TIMEOUT_MS;
	for (i = 0; i < cfg->nboards - 1; i++) {
		struct lp_board *o = &cfg->boards[i];

		if (o->driver == LP_GPIO && b->driver == LP_GPIO &&
		    !strcmp(o->chip, b->chip) && !strcmp(o->line, b->line))
			return fail(p, "boards %s and %s both use chip %s line %s", o->name,
				    b->name, b->chip, b->line);
	}
	p->lineno = saved;
	return 0;
}

static int new_board(struct parser *p, struct lp_config *cfg, const char *name)
{
	struct lp_board *nb;

	if (!valid_name(name))
		return fail(p, "bad board name '%s' (letters, digits, '_.-', at most %d)",
			    name, LP_NAME_MAX - 1);
	if (lp_config_find(cfg, name))
		return fail(p, "duplicate board '%s'", name);
	nb = realloc(cfg->boards, (cfg->nboards + 1) * sizeof(*nb));
	if (!nb)
		return fail(p, "out of memory");
	cfg->boards = nb;
	nb = &cfg->boards[cfg->nboards++];
	memset(nb, 0, sizeof(*nb));
	snprintf(nb->name, sizeof(nb->name), "%s", name);
	nb->lineno = p->lineno;
	p->set = 0;
	return 0;
}

static int parse_line(struct parser *p, struct lp_config *cfg, char *s)
{
	char *eq, *key, *val;

	s = trim(s);
	if (!*s || *s == '#')
		return 0;
	if (*s == '[') {
		size_t n = strlen(s);

		if (cfg->nboards && finish_board(p, cfg, &cfg->boards[cfg->nboards - 1]))
			return -1;
		if (s[n - 1] != ']' || strncmp(s, "[board ", 7))
			return fail(p, "expected a section '[board NAME]', got '%s'", s);
		s[n - 1] = '\0';
		return new_board(p, cfg, trim(s + 7));
	}
	eq = strchr(s, '=');
	if (!eq)
		return fail(p, "expected 'key = value' or '[board NAME]', got '%s'", s);
	*eq = '\0';
	key = trim(s);
	val = trim(eq + 1);
	if (!cfg->nboards) {
		if (strcmp(key, "lock_wait_ms"))
			return fail(p, "unknown global key '%s' (only lock_wait_ms)", key);
		return parse_ms(p, key, val, &cfg->lock_wait_ms);
	}
	return set_key(p, &cfg->boards[cfg->nboards - 1], key, val);
}

int lp_config_parse(const char *path, const char *text, struct lp_config *cfg,
		    char *err, size_t errlen)
{
	struct parser p = { .path = path, .err = err, .errlen = errlen };
	char *copy = strdup(text), *line, *next;
	int rc = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->lock_wait_ms = DEFAULT_LOCK_WAIT_MS;
	cfg->path = strdup(path);
	if (!copy || !cfg->path) {
		free(copy);
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	for (line = copy; line && !rc; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		p.lineno++;
		rc = parse_line(&p, cfg, line);
	}
	if (!rc && cfg->nboards)
		rc = finish_board(&p, cfg, &cfg->boards[cfg->nboards - 1]);
	if (!rc && !cfg->nboards) {
		p.lineno = 0;
		rc = fail(&p, "no boards ([board NAME] sections)");
	}
	free(copy);
	if (rc)
		lp_config_free(cfg);
	return rc;
}

int lp_config_load(const char *path, struct lp_config *cfg, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t len = 0, cap = 0, n;
	int rc;

	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	do {
		if (cap - len < 4096) {
			char *t = realloc(text, cap + 65536);

			if (!t) {
				free(text);
				fclose(f);
				snprintf(err, errlen, "%s: out of memory", path);
				return -1;
			}
			text = t;
			cap += 65536;
		}
		n = fread(text + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0 && len < (1 << 22));
	if (ferror(f) || len >= (1 << 22)) {
		snprintf(err, errlen, "%s: %s", path, ferror(f) ? "read error" : "larger than 4 MiB");
		fclose(f);
		free(text);
		return -1;
	}
	fclose(f);
	text[len] = '\0';
	if (strlen(text) != len) {
		snprintf(err, errlen, "%s: NUL byte in the file", path);
		free(text);
		return -1;
	}
	rc = lp_config_parse(path, text, cfg, err, errlen);
	free(text);
	return rc;
}
