/* SPDX-License-Identifier: GPL-2.0 */
/*
 * labpower: switch lab boards through GPIO relays (libgpiod) or commands.
 * Shared declarations of the config parser, the run-dir state and locks,
 * the drivers and the command line.
 */
#ifndef LABPOWER_H
#define LABPOWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes (documented in `labpower --help` and lab/README.md). */
enum lp_exit {
	LP_OK = 0,		/* done; `status`: the board is on */
	LP_OFF = 1,		/* `status` only: the board is off */
	LP_USAGE = 2,		/* bad command line */
	LP_UNKNOWN = 3,		/* unknown board: refused */
	LP_CONFIG = 4,		/* config file or run directory unusable */
	LP_LOCKED = 5,		/* lock wait timed out: someone else operates the board */
	LP_DEVICE = 6,		/* chip/line missing, line held by another consumer,
				 * power command failed */
	LP_HOLDER = 7,		/* the holder failed to start or to stop */
};

enum lp_driver { LP_GPIO, LP_COMMAND };

#define LP_NAME_MAX 64
#define LP_ERR_MAX 256

struct lp_argv {
	char **argv;		/* NULL-terminated, NULL if not configured */
	int argc;
};

struct lp_board {
	char name[LP_NAME_MAX];
	enum lp_driver driver;
	int lineno;		/* where its section starts */
	/* gpio */
	char *chip;
	char *line;
	bool active_low;
	bool initial_on;
	/* command */
	struct lp_argv on, off, status;
	char *cwd;
	long cmd_timeout_ms;
	/* both */
	long min_off_ms;
	long reset_off_ms;
};

struct lp_config {
	char *path;
	long lock_wait_ms;
	struct lp_board *boards;
	int nboards;
};

/* config.c */
int lp_config_load(const char *path, struct lp_config *cfg, char *err, size_t errlen);
int lp_config_parse(const char *path, const char *text, struct lp_config *cfg,
		    char *err, size_t errlen);
void lp_config_free(struct lp_config *cfg);
struct lp_board *lp_config_find(struct lp_config *cfg, const char *name);
int lp_argv_decode(const char *text, struct lp_argv *out, char *err, size_t errlen);
void lp_argv_free(struct lp_argv *a);

/* state.c: run directory, locks, state files, clock */
enum lp_power { LP_STATE_UNKNOWN, LP_STATE_OFF, LP_STATE_ON };

struct lp_state {
	enum lp_power power;	/* last commanded state */
	int64_t since_ms;	/* CLOCK_BOOTTIME of that command */
	int64_t wall_s;		/* wall clock of it, for people */
	bool this_boot;		/* recorded in this boot of the controller */
};

int64_t lp_now_ms(void);
void lp_sleep_ms(int64_t ms);
int lp_rundir_prepare(const char *dir, char *err, size_t errlen);
int lp_path(char *buf, size_t len, const char *dir, const char *board, const char *ext);
int lp_flock_wait(int fd, int op, long wait_ms);
int lp_lock_board(const char *dir, const char *board, long wait_ms, char *err, size_t errlen);
int lp_state_read(const char *dir, const char *board, struct lp_state *st);
int lp_state_write(const char *dir, const char *board, enum lp_power power, int64_t since_ms,
		   char *err, size_t errlen);
int64_t lp_off_remaining_ms(const struct lp_state *st, long min_off_ms, int64_t now);
int lp_holder_pid(const char *dir, const char *board);
int lp_pidfd_open(int pid);
int lp_pidfd_wait(int pidfd, long ms);

/* gpio backends (gpio_v1.c, gpio_v2.c or gpio_fake.c, chosen at build time) */
struct lp_line;
int lp_gpio_open(const char *chip, const char *line, struct lp_line **out,
		 char *err, size_t errlen);
int lp_gpio_request(struct lp_line *l, const char *consumer, bool active_low, int value,
		    char *err, size_t errlen);
int lp_gpio_set(struct lp_line *l, int value, char *err, size_t errlen);
int lp_gpio_owner(struct lp_line *l, char *consumer, size_t len);
void lp_gpio_close(struct lp_line *l);
const char *lp_gpio_backend(void);

/* command.c */
int lp_cmd_run(const struct lp_board *b, const struct lp_argv *a, int *status,
	       char *err, size_t errlen);

/* labpower.c: the actions (the command line lives in main.c) */
struct lp_ctx {
	struct lp_config *cfg;
	const char *rundir;
	long lock_wait_ms;
	bool verbose;
};

int lp_do(struct lp_ctx *ctx, const char *action, const char *board);

/* log.c */
void lp_log(const char *board, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lp_set_who(int argc, char **argv);

#endif /* LABPOWER_H */
