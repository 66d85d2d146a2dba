// SPDX-License-Identifier: GPL-2.0
/*
 * labpower's actions: on, off, reset, status, list, init.
 *
 * gpio boards: `on` starts a detached holder (double fork, setsid, stdio on
 * /dev/null) that requests the line as output, drives it active and keeps
 * the request open until SIGTERM; the caller returns 0 only after the holder
 * reported the line driven through a pipe. The holder closes the caller's
 * operation lock right after fork(): a forked child shares the flock of the
 * open file description, and would otherwise keep every later command
 * waiting. If the holder dies the kernel releases the line (undriven = off
 * when the relay is wired fail-safe) and `status` says the holder is gone.
 *
 * command boards: the on/off commands start and stop the board; lock, state,
 * minimum off time and exit codes are the same.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "labpower.h"

#define HOLDER_REPORT_MS 10000	/* holder start: request + drive the line */
#define HOLDER_STOP_MS 5000	/* SIGTERM -> line released */
#define HOLDER_KILL_MS 2000	/* SIGKILL -> gone */

struct op {
	struct lp_ctx *ctx;
	struct lp_board *b;
	int lockfd;
	char err[LP_ERR_MAX * 2];
	char note[256];		/* extra detail for the log line */
};

static int failf(struct op *o, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int failf(struct op *o, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(o->err, sizeof(o->err), fmt, ap);
	va_end(ap);
	return code;
}

static const char *power_name(enum lp_power p)
{
	return p == LP_STATE_ON ? "on" : p == LP_STATE_OFF ? "off" : "unknown";
}

static void consumer_of(const struct lp_board *b, char *buf, size_t len)
{
	snprintf(buf, len, "labpower:%s", b->name);
}

/* ---- the holder ---------------------------------------------------------- */

static void report(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(int fd, const char *fmt, ...)
{
	char buf[LP_ERR_MAX * 2];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(fd, buf, n) != n)
		_exit(LP_HOLDER);
}

/*
 * Runs in the detached grandchild: requests and drives the line, then locks
 * BOARD.hold (its liveness for status and on), reports OK and waits for
 * SIGTERM. The kernel releases the line and the lock when it dies in any
 * way; callers that must know the line is free wait for the process to
 * have exited (a pidfd), since the order in which an exiting process's
 * files are released is not defined.
 */
static void holder_main(struct op *o, int rep)
{
	struct lp_board *b = o->b;
	char consumer[LP_NAME_MAX + 16], path[4096], err[LP_ERR_MAX], pidbuf[32];
	struct lp_line *line = NULL;
	sigset_t stop;
	int null, hold, sig, n;

	null = open("/dev/null", O_RDWR);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0) {
		report(rep, "ERR %d holder: cannot detach stdio", LP_HOLDER);
		_exit(LP_HOLDER);
	}
	if (null > 2)
		close(null);
	if (chdir("/"))
		_exit(LP_HOLDER);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop, NULL);

	consumer_of(b, consumer, sizeof(consumer));
	if (lp_gpio_open(b->chip, b->line, &line, err, sizeof(err)) ||
	    lp_gpio_request(line, consumer, b->active_low, 1, err, sizeof(err))) {
		report(rep, "ERR %d %s", LP_DEVICE, err);
		_exit(LP_DEVICE);
	}
	lp_path(path, sizeof(path), o->ctx->rundir, b->name, ".hold");
	hold = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0664);
	if (hold < 0 || lp_flock_wait(hold, LOCK_EX, HOLDER_REPORT_MS / 2)) {
		report(rep, "ERR %d holder: cannot lock %s: %s", LP_HOLDER, path, strerror(errno));
		_exit(LP_HOLDER);
	}
	n = snprintf(pidbuf, sizeof(pidbuf), "%d\n", (int)getpid());
	if (ftruncate(hold, 0) || pwrite(hold, pidbuf, n, 0) != n) {
		report(rep, "ERR %d holder: cannot write %s", LP_HOLDER, path);
		_exit(LP_HOLDER);
	}
	report(rep, "OK %d", (int)getpid());
	close(rep);

	do {
		sig = sigwaitinfo(&stop, NULL);
	} while (sig < 0);
	/* Drive it inactive first: some controllers latch the last value. */
	lp_gpio_set(line, 0, err, sizeof(err));
	lp_gpio_close(line);
	_exit(0);
}

/* Starts the holder; returns its pid, or -(exit code) with o->err set. */
static int start_holder(struct op *o)
{
	char buf[LP_ERR_MAX * 2 + 32];
	struct pollfd pfd;
	size_t len = 0;
	int p[2], code;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -failf(o, LP_HOLDER, "pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -failf(o, LP_HOLDER, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
#ifdef LABPOWER_FAKE
		/* Host tests only: reproduce the inherited-lock bug on demand. */
		if (!getenv("LABPOWER_FAKE_LEAK_LOCK"))
#endif
			close(o->lockfd);
		close(p[0]);
		setsid();
		pid = fork();
		if (pid != 0)
			_exit(pid < 0 ? LP_HOLDER : 0);
		holder_main(o, p[1]);
	}
	close(p[1]);
	waitpid(pid, NULL, 0);

	pfd.fd = p[0];
	pfd.events = POLLIN;
	for (;;) {
		ssize_t n;
		int r = poll(&pfd, 1, HOLDER_REPORT_MS);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			close(p[0]);
			return -failf(o, LP_HOLDER, "holder did not report within %d ms",
				      HOLDER_REPORT_MS);
		}
		n = read(p[0], buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
		if (memchr(buf, '\n', len) || len == sizeof(buf) - 1)
			break;
	}
	close(p[0]);
	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (!strncmp(buf, "OK ", 3))
		return atoi(buf + 3);
	if (!strncmp(buf, "ERR ", 4)) {
		char *msg;

		code = (int)strtol(buf + 4, &msg, 10);
		return -failf(o, code == LP_DEVICE ? LP_DEVICE : LP_HOLDER, "%s", msg + 1);
	}
	return -failf(o, LP_HOLDER, "holder exited without reporting");
}

/* ---- gpio driver --------------------------------------------------------- */

static int gpio_on(struct op *o, enum lp_power *was)
{
	struct lp_state st;
	int64_t wait;
	int pid = lp_holder_pid(o->ctx->rundir, o->b->name);

	lp_state_read(o->ctx->rundir, o->b->name, &st);
	*was = st.power;
	if (pid > 0) {
		*was = LP_STATE_ON;
		snprintf(o->note, sizeof(o->note), "already on, holder pid %d", pid);
		return LP_OK;
	}
	if (st.power == LP_STATE_ON) {
		/* The holder died at an unknown time: count the off time from now. */
		st.power = LP_STATE_OFF;
		st.since_ms = lp_now_ms();
		st.this_boot = true;
		lp_state_write(o->ctx->rundir, o->b->name, LP_STATE_OFF, st.since_ms,
			       o->err, sizeof(o->err));
	}
	wait = lp_off_remaining_ms(&st, o->b->min_off_ms, lp_now_ms());
	lp_sleep_ms(wait);
	pid = start_holder(o);
	if (pid < 0)
		return -pid;
	if (lp_state_write(o->ctx->rundir, o->b->name, LP_STATE_ON, lp_now_ms(),
			   o->err, sizeof(o->err)))
		return LP_CONFIG;
	snprintf(o->note, sizeof(o->note), "holder pid %d, waited %lld ms of min_off_ms %ld",
		 pid, (long long)wait, o->b->min_off_ms);
	return LP_OK;
}

/* Waits for the hold lock to be free; 0, or -1 on timeout. */
static int wait_hold_free(struct op *o, long ms)
{
	char path[4096];
	int fd, rc;

	lp_path(path, sizeof(path), o->ctx->rundir, o->b->name, ".hold");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	rc = lp_flock_wait(fd, LOCK_SH, ms);
	close(fd);
	return rc;
}

/*
 * SIGTERM, then SIGKILL, to the holder; returns once it has exited, so its
 * line request is gone too. The pidfd is opened before signalling, so a
 * recycled pid is never signalled.
 */
static int stop_holder(struct op *o, int pid)
{
	int pfd = pid > 1 ? lp_pidfd_open(pid) : -1;

	if (pfd < 0) {
		if (pid > 1 && errno == ESRCH)
			return 0;	/* exited just now */
		/* no pid (or no pidfd): signal by pid, wait for the hold lock */
		if (pid > 1)
			kill(pid, SIGTERM);
		if (!wait_hold_free(o, HOLDER_STOP_MS))
			return 0;
		if (pid > 1)
			kill(pid, SIGKILL);
		if (!wait_hold_free(o, HOLDER_KILL_MS))
			return 0;
		return failf(o, LP_HOLDER, "holder pid %d does not stop", pid);
	}
	kill(pid, SIGTERM);
	if (!lp_pidfd_wait(pfd, HOLDER_STOP_MS)) {
		close(pfd);
		return 0;
	}
	kill(pid, SIGKILL);
	if (!lp_pidfd_wait(pfd, HOLDER_KILL_MS)) {
		close(pfd);
		return 0;
	}
	close(pfd);
	return failf(o, LP_HOLDER, "holder pid %d does not stop", pid);
}

/* The line driven inactive once and released: a known level with no holder. */
static int gpio_release_off(struct op *o)
{
	char consumer[LP_NAME_MAX + 16], err[LP_ERR_MAX];
	struct lp_line *line;

	consumer_of(o->b, consumer, sizeof(consumer));
	if (lp_gpio_open(o->b->chip, o->b->line, &line, err, sizeof(err)))
		return failf(o, LP_DEVICE, "%s", err);
	if (lp_gpio_request(line, consumer, o->b->active_low, 0, err, sizeof(err))) {
		lp_gpio_close(line);
		return failf(o, LP_DEVICE, "%s", err);
	}
	lp_gpio_close(line);
	return LP_OK;
}

static int record_off(struct op *o, const struct lp_state *st)
{
	if (st->power == LP_STATE_OFF && st->this_boot)
		return LP_OK;	/* already off: the off time keeps counting */
	if (lp_state_write(o->ctx->rundir, o->b->name, LP_STATE_OFF, lp_now_ms(),
			   o->err, sizeof(o->err)))
		return LP_CONFIG;
	return LP_OK;
}

static int gpio_off(struct op *o, enum lp_power *was)
{
	struct lp_state st;
	int pid = lp_holder_pid(o->ctx->rundir, o->b->name);
	int rc;

	lp_state_read(o->ctx->rundir, o->b->name, &st);
	*was = pid > 0 ? LP_STATE_ON : st.power;
	if (pid > 0) {
		rc = stop_holder(o, pid);
		if (rc)
			return rc;
		snprintf(o->note, sizeof(o->note), "holder pid %d stopped", pid);
	} else if (st.power == LP_STATE_ON) {
		snprintf(o->note, sizeof(o->note), "holder was gone");
	}
	rc = gpio_release_off(o);
	if (rc)
		return rc;
	if (pid > 0)
		st.power = LP_STATE_ON;
	return record_off(o, &st);
}

static int gpio_status(struct op *o, char *line, size_t len)
{
	char consumer[64], err[LP_ERR_MAX];
	struct lp_line *l;
	struct lp_state st;
	int pid = lp_holder_pid(o->ctx->rundir, o->b->name), used;

	if (pid > 0) {
		snprintf(line, len, "%s: on (holder pid %d, chip %s line %s)", o->b->name, pid,
			 o->b->chip, o->b->line);
		return LP_OK;
	}
	lp_state_read(o->ctx->rundir, o->b->name, &st);
	if (lp_gpio_open(o->b->chip, o->b->line, &l, err, sizeof(err)))
		return failf(o, LP_DEVICE, "%s", err);
	used = lp_gpio_owner(l, consumer, sizeof(consumer));
	lp_gpio_close(l);
	if (used == 1) {
		char own[LP_NAME_MAX + 16];

		consumer_of(o->b, own, sizeof(own));
		if (!strcmp(consumer, own))
			snprintf(line, len, "%s: off: holder gone, its line request is being released",
				 o->b->name);
		else
			snprintf(line, len, "%s: off, but the line is held by another consumer: '%s'",
				 o->b->name, consumer);
		return LP_OFF;
	}
	if (st.power == LP_STATE_ON)
		snprintf(line, len, "%s: off: holder gone (last commanded on at %lld), line undriven",
			 o->b->name, (long long)st.wall_s);
	else
		snprintf(line, len, "%s: off", o->b->name);
	return LP_OFF;
}

/* ---- command driver ------------------------------------------------------ */

/* 1 on, 0 off, -(exit code) on error; from the status command or the state. */
static int cmd_query(struct op *o, const struct lp_state *st)
{
	int status;

	if (!o->b->status.argv)
		return st->power == LP_STATE_ON;
	if (lp_cmd_run(o->b, &o->b->status, &status, o->err, sizeof(o->err)))
		return -LP_DEVICE;
	if (status > 1)
		return -failf(o, LP_DEVICE, "status command exited %d (0 = on, 1 = off)", status);
	return status == 0;
}

static int cmd_action(struct op *o, const struct lp_argv *a, const char *what)
{
	char err[LP_ERR_MAX];
	int status;

	if (lp_cmd_run(o->b, a, &status, err, sizeof(err)))
		return failf(o, LP_DEVICE, "%s command: %s", what, err);
	if (status)
		return failf(o, LP_DEVICE, "%s command '%s' exited %d", what, a->argv[0], status);
	return LP_OK;
}

static int cmd_on(struct op *o, enum lp_power *was)
{
	struct lp_state st;
	int64_t wait;
	int on, rc;

	lp_state_read(o->ctx->rundir, o->b->name, &st);
	*was = st.power;
	on = cmd_query(o, &st);
	if (on < 0)
		return -on;
	if (on) {
		*was = LP_STATE_ON;
		snprintf(o->note, sizeof(o->note), "already on");
		return LP_OK;
	}
	wait = lp_off_remaining_ms(&st, o->b->min_off_ms, lp_now_ms());
	lp_sleep_ms(wait);
	rc = cmd_action(o, &o->b->on, "on");
	if (rc)
		return rc;
	if (lp_state_write(o->ctx->rundir, o->b->name, LP_STATE_ON, lp_now_ms(),
			   o->err, sizeof(o->err)))
		return LP_CONFIG;
	snprintf(o->note, sizeof(o->note), "waited %lld ms of min_off_ms %ld",
		 (long long)wait, o->b->min_off_ms);
	return LP_OK;
}

static int cmd_off(struct op *o, enum lp_power *was)
{
	struct lp_state st;
	int rc;

	lp_state_read(o->ctx->rundir, o->b->name, &st);
	*was = st.power;
	rc = cmd_action(o, &o->b->off, "off");
	if (rc)
		return rc;
	return record_off(o, &st);
}

static int cmd_status(struct op *o, char *line, size_t len)
{
	struct lp_state st;
	int on;

	lp_state_read(o->ctx->rundir, o->b->name, &st);
	on = cmd_query(o, &st);
	if (on < 0)
		return -on;
	snprintf(line, len, "%s: %s%s", o->b->name, on ? "on" : "off",
		 o->b->status.argv ? "" : " (last commanded; no status command)");
	return on ? LP_OK : LP_OFF;
}

/* ---- actions ------------------------------------------------------------- */

static int do_on(struct op *o, enum lp_power *was)
{
	return o->b->driver == LP_GPIO ? gpio_on(o, was) : cmd_on(o, was);
}

static int do_off(struct op *o, enum lp_power *was)
{
	return o->b->driver == LP_GPIO ? gpio_off(o, was) : cmd_off(o, was);
}

static int do_reset(struct op *o, enum lp_power *was)
{
	enum lp_power dummy;
	struct lp_state st;
	int64_t wait;
	int rc = do_off(o, was);

	if (rc)
		return rc;
	lp_state_read(o->ctx->rundir, o->b->name, &st);
	wait = lp_off_remaining_ms(&st, o->b->reset_off_ms, lp_now_ms());
	lp_sleep_ms(wait);
	o->note[0] = '\0';
	rc = do_on(o, &dummy);
	if (!rc) {
		char note[sizeof(o->note)];

		snprintf(note, sizeof(note), "%s", o->note);
		snprintf(o->note, sizeof(o->note), "off %lld ms (reset_off_ms %ld), %.180s",
			 (long long)wait, o->b->reset_off_ms, note);
	}
	return rc;
}

static void describe(const struct lp_board *b, char *buf, size_t len)
{
	if (b->driver == LP_GPIO)
		snprintf(buf, len, "gpio chip %s line %s%s", b->chip, b->line,
			 b->active_low ? " active-low" : "");
	else
		snprintf(buf, len, "command %s", b->on.argv[0]);
}

static int one_board(struct lp_ctx *ctx, struct lp_board *b, const char *action)
{
	struct op o = { .ctx = ctx, .b = b, .lockfd = -1 };
	enum lp_power was = LP_STATE_UNKNOWN;
	char line[512], what[256];
	int64_t t0 = lp_now_ms();
	const char *now = NULL;
	int rc;

	describe(b, what, sizeof(what));
	if (!strcmp(action, "status")) {
		rc = b->driver == LP_GPIO ? gpio_status(&o, line, sizeof(line)) :
			cmd_status(&o, line, sizeof(line));
		if (rc == LP_OK || rc == LP_OFF)
			printf("%s\n", line);
		else
			lp_log(b->name, "status: failed (%s): %s", what, o.err);
		return rc;
	}

	o.lockfd = lp_lock_board(ctx->rundir, b->name, ctx->lock_wait_ms, o.err, sizeof(o.err));
	if (o.lockfd < 0) {
		rc = errno == ETIMEDOUT ? LP_LOCKED : LP_CONFIG;
		lp_log(b->name, "%s: refused: %s", action, o.err);
		return rc;
	}
	if (!strcmp(action, "on")) {
		rc = do_on(&o, &was);
		now = "on";
	} else if (!strcmp(action, "off")) {
		rc = do_off(&o, &was);
		now = "off";
	} else {
		rc = do_reset(&o, &was);
		now = "on";
	}
	close(o.lockfd);
	if (rc)
		lp_log(b->name, "%s: failed (%s, was %s): %s", action, what, power_name(was), o.err);
	else
		lp_log(b->name, "%s: %s -> %s (%s%s%s) ok in %lld ms", action, power_name(was), now,
		       what, o.note[0] ? "; " : "", o.note, (long long)(lp_now_ms() - t0));
	return rc;
}

static int do_list(struct lp_ctx *ctx)
{
	int i;

	for (i = 0; i < ctx->cfg->nboards; i++) {
		struct lp_board *b = &ctx->cfg->boards[i];
		struct lp_state st;
		char what[256];
		int pid = 0;

		describe(b, what, sizeof(what));
		lp_state_read(ctx->rundir, b->name, &st);
		if (b->driver == LP_GPIO)
			pid = lp_holder_pid(ctx->rundir, b->name);
		if (pid > 0)
			printf("%s\t%s\ton (holder pid %d)\n", b->name, what, pid);
		else if (b->driver == LP_GPIO && st.power == LP_STATE_ON)
			printf("%s\t%s\toff (holder gone)\n", b->name, what);
		else
			printf("%s\t%s\t%s (last commanded)\n", b->name, what, power_name(st.power));
	}
	return LP_OK;
}

static int do_init(struct lp_ctx *ctx)
{
	int i, rc, worst = LP_OK;

	for (i = 0; i < ctx->cfg->nboards; i++) {
		struct lp_board *b = &ctx->cfg->boards[i];

		if (b->driver != LP_GPIO)
			continue;	/* a command board's state is its own */
		rc = one_board(ctx, b, b->initial_on ? "on" : "off");
		if (rc > worst)
			worst = rc;
	}
	return worst;
}

int lp_do(struct lp_ctx *ctx, const char *action, const char *name)
{
	struct lp_board *b;

	if (!strcmp(action, "list"))
		return do_list(ctx);
	if (!strcmp(action, "init"))
		return do_init(ctx);
	b = lp_config_find(ctx->cfg, name);
	if (!b) {
		lp_log(name, "%s: refused: unknown board (not in %s)", action, ctx->cfg->path);
		return LP_UNKNOWN;
	}
	return one_board(ctx, b, action);
}
