// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of labpower: the config parser and the state/lock helpers
 * in-process, then the tool built on the fake GPIO backend (labpower-fake)
 * as a subprocess for exit codes, the holder, locking and timing.
 *
 *   test_labpower PATH/TO/labpower-fake
 *
 * Prints "ok N name" or "not ok N name # reason" per case, then
 * "N passed, N failed"; exits 1 if any case failed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "labpower.h"

static const char *tool;
static char why[1024];
static char tmp[256];		/* per-test scratch dir */

static void set_why(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The reason of a failure, on one line (captured output may hold newlines). */
static void set_why(const char *fmt, ...)
{
	va_list ap;
	char *c;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	for (c = why; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = '|';
}

#define FAIL(...) do { set_why(__VA_ARGS__); return -1; } while (0)
#define CHECK(cond, ...) do { if (!(cond)) FAIL(__VA_ARGS__); } while (0)

/* ---- helpers ------------------------------------------------------------- */

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
}

static int read_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	buf[0] = '\0';
	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return 0;
}

static void setup(const char *config)
{
	char path[512];

	snprintf(tmp, sizeof(tmp), "/tmp/labpower-test.XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(path, sizeof(path), "%s/gpio", tmp);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/gpio/lab-relays", tmp);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/gpio/lab-relays/names", tmp);
	write_text(path, "a-pwr\nb-pwr\nc-pwr\nd-pwr\n");
	snprintf(path, sizeof(path), "%s/gpio", tmp);
	setenv("LABPOWER_FAKE_GPIO", path, 1);
	snprintf(path, sizeof(path), "%s/run", tmp);
	setenv("LABPOWER_RUNDIR", path, 1);
	snprintf(path, sizeof(path), "%s/conf", tmp);
	setenv("LABPOWER_CONFIG", path, 1);
	write_text(path, config);
	unsetenv("LABPOWER_FAKE_LEAK_LOCK");
}

static int holder_pid(const char *board)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/run", tmp);
	return lp_holder_pid(path, board);
}

/* Kills what a test left running and removes its scratch dir. */
static void teardown(void)
{
	char cmd[600];
	DIR *d;
	struct dirent *e;

	snprintf(cmd, sizeof(cmd), "%s/run", tmp);
	d = opendir(cmd);
	while (d && (e = readdir(d))) {
		char *dot = strstr(e->d_name, ".hold");
		int pid;

		if (!dot || dot[5])
			continue;
		*dot = '\0';
		pid = holder_pid(e->d_name);
		if (pid > 1)
			kill(pid, SIGKILL);
	}
	if (d)
		closedir(d);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", tmp);
}

/* The physical level of a fake line: driven value while requested, else the pull. */
static int level(int offset, char *consumer, size_t len)
{
	char path[512], buf[64];
	int fd, held;

	snprintf(path, sizeof(path), "%s/gpio/lab-relays/%d.req", tmp, offset);
	fd = open(path, O_RDONLY);
	held = fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) != 0;
	if (fd >= 0)
		close(fd);
	if (consumer) {
		consumer[0] = '\0';
		if (held) {
			snprintf(path, sizeof(path), "%s/gpio/lab-relays/%d.consumer", tmp, offset);
			read_text(path, consumer, len);
		}
	}
	snprintf(path, sizeof(path), "%s/gpio/lab-relays/%d.%s", tmp, offset,
		 held ? "value" : "pull");
	if (read_text(path, buf, sizeof(buf)))
		return 0;
	return atoi(buf);
}

struct result {
	int rc;
	long ms;
	char out[4096];
	char err[4096];
};

/*
 * Runs the tool with args (NULL-terminated); stdout and stderr through pipes
 * read to EOF, so a holder that kept them open would show as a timeout.
 */
static int run(struct result *r, ...)
{
	char *argv[16];
	int out[2], err[2], n = 0, ws;
	size_t lo = 0, le = 0;
	struct pollfd p[2];
	int64_t t0 = lp_now_ms();
	va_list ap;
	pid_t pid;

	argv[n++] = (char *)tool;
	va_start(ap, r);
	while (n < 15 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	if (pipe(out) || pipe(err))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		close(out[1]);
		close(err[1]);
		execv(tool, argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	p[0].fd = out[0];
	p[1].fd = err[0];
	p[0].events = p[1].events = POLLIN;
	while (p[0].fd >= 0 || p[1].fd >= 0) {
		int i;

		if (poll(p, 2, 15000) <= 0) {
			kill(pid, SIGKILL);
			r->rc = -2;	/* stdio kept open or hung */
			break;
		}
		for (i = 0; i < 2; i++) {
			char *buf = i ? r->err : r->out;
			size_t *len = i ? &le : &lo;
			ssize_t k;

			if (p[i].fd < 0 || !p[i].revents)
				continue;
			k = read(p[i].fd, buf + *len, sizeof(r->out) - 1 - *len);
			if (k <= 0) {
				close(p[i].fd);
				p[i].fd = -1;
			} else {
				*len += k;
			}
		}
	}
	r->out[lo] = '\0';
	r->err[le] = '\0';
	for (n = 0; n < 2; n++)
		if (p[n].fd >= 0)
			close(p[n].fd);
	waitpid(pid, &ws, 0);
	r->ms = (long)(lp_now_ms() - t0);
	if (r->rc != -2)
		r->rc = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
	return r->rc;
}

/* The process has exited (gone, or a zombie not yet reaped by its reaper). */
static bool gone(int pid)
{
	char path[64], buf[256], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_text(path, buf, sizeof(buf)))
		return true;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

static int lines_of(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static const char gpio_conf[] =
	"lock_wait_ms = 3000\n"
	"[board a]\n"
	"driver = gpio\nchip = lab-relays\nline = a-pwr\nactive_low = true\n"
	"min_off_ms = 400\nreset_off_ms = 600\n"
	"[board b]\n"
	"driver = gpio\nchip = lab-relays\nline = 1\nmin_off_ms = 0\ninitial = on\n"
	"[board nochip]\n"
	"driver = gpio\nchip = no-such-chip\nline = 0\n"
	"[board noline]\n"
	"driver = gpio\nchip = lab-relays\nline = zz-pwr\n";

/* ---- config parser ------------------------------------------------------- */

static int parse(const char *text, struct lp_config *cfg, char *err)
{
	return lp_config_parse("t.conf", text, cfg, err, LP_ERR_MAX);
}

static int expect_parse_error(const char *text, const char *want)
{
	struct lp_config cfg;
	char err[LP_ERR_MAX];

	if (!parse(text, &cfg, err)) {
		lp_config_free(&cfg);
		FAIL("parsed, wanted an error containing '%s'", want);
	}
	CHECK(strstr(err, want), "error '%s' lacks '%s'", err, want);
	return 0;
}

static int t_parse_defaults(void)
{
	struct lp_config cfg;
	char err[LP_ERR_MAX];
	struct lp_board *b;

	CHECK(!parse("[board r1]\ndriver = gpio\nchip = lab-relays\nline = r1-pwr\n", &cfg, err),
	      "%s", err);
	b = lp_config_find(&cfg, "r1");
	CHECK(b && cfg.nboards == 1, "board r1 missing");
	CHECK(b->driver == LP_GPIO && !strcmp(b->chip, "lab-relays") && !strcmp(b->line, "r1-pwr"),
	      "chip/line wrong");
	CHECK(b->min_off_ms == 3000 && b->reset_off_ms == 3000, "min_off %ld reset_off %ld",
	      b->min_off_ms, b->reset_off_ms);
	CHECK(!b->active_low && !b->initial_on && cfg.lock_wait_ms == 30000, "defaults wrong");
	CHECK(!lp_config_find(&cfg, "r2"), "found a board that is not there");
	lp_config_free(&cfg);
	return 0;
}

static int t_parse_full(void)
{
	struct lp_config cfg;
	char err[LP_ERR_MAX];
	struct lp_board *b;

	CHECK(!parse("# c\nlock_wait_ms = 1234\n\n[board  x.1 ]\n  driver=gpio\nchip=/dev/gpiochip3\n"
		     "line=7\nactive_low=yes\ninitial=on\nmin_off_ms=5000\nreset_off_ms=6000\n",
		     &cfg, err), "%s", err);
	b = lp_config_find(&cfg, "x.1");
	CHECK(b, "board x.1 missing");
	CHECK(b->active_low && b->initial_on && b->min_off_ms == 5000 && b->reset_off_ms == 6000,
	      "values wrong");
	CHECK(cfg.lock_wait_ms == 1234 && !strcmp(b->line, "7"), "lock_wait/line wrong");
	lp_config_free(&cfg);
	return 0;
}

static int t_parse_command_argv(void)
{
	struct lp_config cfg;
	char err[LP_ERR_MAX];
	struct lp_board *b;

	CHECK(!parse("[board v]\ndriver = command\non = /bin/echo  a%20b %25 x%3dy\n"
		     "off = stop\nstatus = st v\ncwd = /srv\ntimeout_ms = 500\n", &cfg, err),
	      "%s", err);
	b = lp_config_find(&cfg, "v");
	CHECK(b->on.argc == 4, "on argc %d", b->on.argc);
	CHECK(!strcmp(b->on.argv[0], "/bin/echo") && !strcmp(b->on.argv[1], "a b") &&
	      !strcmp(b->on.argv[2], "%") && !strcmp(b->on.argv[3], "x=y") && !b->on.argv[4],
	      "on argv wrong: '%s' '%s' '%s'", b->on.argv[1], b->on.argv[2], b->on.argv[3]);
	CHECK(b->off.argc == 1 && b->status.argc == 2 && !strcmp(b->cwd, "/srv"), "off/status/cwd");
	CHECK(b->cmd_timeout_ms == 500 && b->min_off_ms == 3000, "timeout %ld", b->cmd_timeout_ms);
	lp_config_free(&cfg);
	return 0;
}

static int t_parse_errors(void)
{
	static const struct { const char *text, *want; } cases[] = {
		{ "[board a]\ndriver=gpio\nchip=c\nline=1\n[board a]\ndriver=gpio\nchip=c\nline=2\n",
		  "t.conf:5: duplicate board 'a'" },
		{ "[board a]\ndriver=gpio\nchip=c\nline=l\n[board b]\ndriver=gpio\nchip=c\nline=l\n",
		  "t.conf:5: boards a and b both use chip c line l" },
		{ "[board a]\ndriver=gpio\nchip=c\nline=1\nmin_off_ms=500\nreset_off_ms=100\n",
		  "reset_off_ms 100 is below min_off_ms 500" },
		{ "[board a]\ndriver=gpio\nchip=c\nline=1\ncolour=red\n", "t.conf:5: unknown key 'colour'" },
		{ "[board a]\ndriver=gpio\nchip=c\nchip=d\nline=1\n", "t.conf:4: duplicate key 'chip'" },
		{ "[board a]\nchip=c\nline=1\n", "t.conf:1: board a: 'driver' is required" },
		{ "[board a]\ndriver=gpio\nchip=c\n", "driver gpio needs 'chip' and 'line'" },
		{ "[board a]\ndriver=gpio\nchip=c\nline=1\non=x\n", "driver gpio takes no on/off" },
		{ "[board a]\ndriver=command\non=x\n", "driver command needs 'on' and 'off'" },
		{ "[board a]\ndriver=command\non=x\noff=y\nline=3\n", "driver command takes no chip" },
		{ "[board a]\ndriver=command\non=x%zz\noff=y\n", "t.conf:3: on: bad escape '%zz'" },
		{ "[board a]\ndriver=command\non=x%00\noff=y\n", "bad escape" },
		{ "[board a]\ndriver=command\non=a\tb\noff=y\n", "control character 0x09" },
		{ "[board a]\ndriver=command\non=x\noff=y\ncwd=rel\n", "cwd: must be an absolute path" },
		{ "[board a]\ndriver=gpio\nchip=c\nline=1\nmin_off_ms=-1\n", "min_off_ms: expected milliseconds" },
		{ "[board a]\ndriver=gpio\nchip=c\nline=1\nmin_off_ms=5s\n", "got '5s'" },
		{ "[board a]\ndriver=gpio\nchip=c\nline=1\nactive_low=maybe\n", "expected true or false" },
		{ "[board a]\ndriver=relay\n", "driver: expected gpio or command" },
		{ "[board a]\ndriver=gpio\nchip=c\nline=1\ninitial=up\n", "initial: expected on or off" },
		{ "[board bad name]\n", "bad board name 'bad name'" },
		{ "[host a]\n", "expected a section '[board NAME]'" },
		{ "colour = red\n", "t.conf:1: unknown global key 'colour'" },
		{ "just words\n", "t.conf:1: expected 'key = value'" },
		{ "# nothing\n", "t.conf: no boards" },
		{ "[board a]\ndriver=command\non=x\noff=   \n", "off: empty command" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (expect_parse_error(cases[i].text, cases[i].want)) {
			char msg[sizeof(why)];

			snprintf(msg, sizeof(msg), "%s", why);
			FAIL("case %zu: %s", i, msg);
		}
	return 0;
}

static int t_config_load_missing(void)
{
	struct lp_config cfg;
	char err[LP_ERR_MAX];

	CHECK(lp_config_load("/nonexistent/labpower.conf", &cfg, err, sizeof(err)), "loaded");
	CHECK(strstr(err, "/nonexistent/labpower.conf: cannot open: No such file"), "err '%s'", err);
	return 0;
}

/* ---- state and locks ------------------------------------------------------ */

static int t_state_roundtrip(void)
{
	struct lp_state st;
	char err[LP_ERR_MAX];

	setup("");
	CHECK(!lp_rundir_prepare(getenv("LABPOWER_RUNDIR"), err, sizeof(err)), "%s", err);
	CHECK(!lp_state_read(getenv("LABPOWER_RUNDIR"), "a", &st) && st.power == LP_STATE_UNKNOWN,
	      "no state file should read as unknown");
	CHECK(!lp_state_write(getenv("LABPOWER_RUNDIR"), "a", LP_STATE_OFF, 123456, err,
			      sizeof(err)), "%s", err);
	CHECK(!lp_state_read(getenv("LABPOWER_RUNDIR"), "a", &st), "read failed");
	CHECK(st.power == LP_STATE_OFF && st.since_ms == 123456 && st.this_boot,
	      "read back power %d since %lld this_boot %d", st.power, (long long)st.since_ms,
	      st.this_boot);
	return 0;
}

static int t_off_remaining(void)
{
	struct lp_state st = { .power = LP_STATE_OFF, .since_ms = 10000, .this_boot = true };
	int64_t r1 = lp_off_remaining_ms(&st, 500, 10200);
	int64_t r2 = lp_off_remaining_ms(&st, 500, 10600);
	int64_t r3 = lp_off_remaining_ms(&st, 500, 9000);	/* clock behind the record */

	CHECK(r1 == 300 && r2 == 0 && r3 == 500, "remaining %lld %lld %lld", (long long)r1,
	      (long long)r2, (long long)r3);
	st.this_boot = false;
	CHECK(lp_off_remaining_ms(&st, 500, 10200) == 0, "another boot's record must not count");
	st.this_boot = true;
	st.power = LP_STATE_ON;
	CHECK(lp_off_remaining_ms(&st, 500, 10200) == 0, "an 'on' record has no off time");
	return 0;
}

static int t_flock_wait_timeout(void)
{
	char path[512];
	int a, b, rc, e;
	int64_t t0;
	long ms;

	setup("");
	snprintf(path, sizeof(path), "%s/x.lock", tmp);
	a = open(path, O_RDWR | O_CREAT, 0644);
	b = open(path, O_RDWR);
	CHECK(a >= 0 && b >= 0 && !flock(a, LOCK_EX), "setup");
	t0 = lp_now_ms();
	rc = lp_flock_wait(b, LOCK_EX, 250);
	e = errno;
	ms = (long)(lp_now_ms() - t0);
	CHECK(rc == -1 && e == ETIMEDOUT, "rc %d errno %d", rc, e);
	CHECK(ms >= 250 && ms < 2000, "waited %ld ms for a 250 ms bound", ms);
	close(a);
	CHECK(!lp_flock_wait(b, LOCK_EX, 250), "free lock not taken");
	close(b);
	return 0;
}

static int t_flock_wait_acquires(void)
{
	char path[512], c;
	int p[2], fd, rc;
	int64_t t0;
	long ms;
	pid_t pid;

	setup("");
	snprintf(path, sizeof(path), "%s/x.lock", tmp);
	CHECK(!pipe(p), "pipe");
	pid = fork();
	if (pid == 0) {
		fd = open(path, O_RDWR | O_CREAT, 0644);
		flock(fd, LOCK_EX);
		if (write(p[1], "L", 1) != 1)
			_exit(1);
		lp_sleep_ms(300);	/* the "other caller" works for 300 ms */
		_exit(0);
	}
	close(p[1]);
	CHECK(read(p[0], &c, 1) == 1, "child did not lock");
	fd = open(path, O_RDWR);
	t0 = lp_now_ms();
	rc = lp_flock_wait(fd, LOCK_EX, 5000);
	ms = (long)(lp_now_ms() - t0);
	waitpid(pid, NULL, 0);
	close(fd);
	close(p[0]);
	CHECK(rc == 0, "lock not acquired: %s", strerror(errno));
	CHECK(ms >= 200 && ms < 4000, "acquired after %ld ms, the holder kept it ~300", ms);
	return 0;
}

/* ---- the tool (fake GPIO) -------------------------------------------------- */

static int t_exit_usage(void)
{
	struct result r;

	setup(gpio_conf);
	CHECK(run(&r, NULL) == LP_USAGE, "no args: rc %d", r.rc);
	CHECK(lines_of(r.err) == 1 && strstr(r.err, "no command given"), "stderr '%s'", r.err);
	CHECK(run(&r, "frobnicate", "a", NULL) == LP_USAGE && strstr(r.err, "unknown command"),
	      "unknown command: rc %d", r.rc);
	CHECK(run(&r, "on", NULL) == LP_USAGE && strstr(r.err, "exactly one BOARD"), "on: rc %d",
	      r.rc);
	CHECK(run(&r, "--lock-wait", "soon", "on", "a", NULL) == LP_USAGE, "bad --lock-wait: rc %d",
	      r.rc);
	CHECK(run(&r, "--help", NULL) == 0 && strstr(r.out, "6 device error"), "--help");
	return 0;
}

static int t_exit_unknown_board(void)
{
	struct result r;

	setup(gpio_conf);
	CHECK(run(&r, "on", "zebra", NULL) == LP_UNKNOWN, "rc %d", r.rc);
	CHECK(lines_of(r.err) == 1 && strstr(r.err, "zebra: on: refused: unknown board"),
	      "stderr '%s'", r.err);
	return 0;
}

static int t_exit_config_error(void)
{
	struct result r;
	char path[512];

	setup("[board a]\ndriver = gpio\nchip = lab-relays\n");
	CHECK(run(&r, "on", "a", NULL) == LP_CONFIG, "rc %d", r.rc);
	CHECK(lines_of(r.err) == 1 && strstr(r.err, "conf:1: board a: driver gpio needs"),
	      "stderr '%s'", r.err);
	CHECK(run(&r, "--config", "/nonexistent.conf", "list", NULL) == LP_CONFIG &&
	      strstr(r.err, "/nonexistent.conf: cannot open"), "missing config: rc %d", r.rc);
	snprintf(path, sizeof(path), "%s/conf/run", tmp);	/* under a regular file */
	write_text(getenv("LABPOWER_CONFIG"), gpio_conf);
	CHECK(run(&r, "--run-dir", path, "on", "a", NULL) == LP_CONFIG &&
	      strstr(r.err, "cannot create"), "bad run dir: rc %d '%s'", r.rc, r.err);
	return 0;
}

static int t_on_off_status(void)
{
	struct result r;
	char who[64];
	int pid;

	setup(gpio_conf);
	CHECK(level(0, NULL, 0) == 0, "line starts undriven");
	CHECK(run(&r, "on", "a", NULL) == 0, "on: rc %d %s", r.rc, r.err);
	CHECK(lines_of(r.err) == 1 && strstr(r.err, "a: on: unknown -> on") && !r.out[0],
	      "on: one log line on stderr, nothing on stdout: '%s' '%s'", r.err, r.out);
	pid = holder_pid("a");
	CHECK(pid > 1 && !kill(pid, 0), "no live holder (%d)", pid);
	CHECK(level(0, who, sizeof(who)) == 0 && !strcmp(who, "labpower:a"),
	      "active-low on: physical %d consumer '%s'", level(0, NULL, 0), who);
	CHECK(run(&r, "status", "a", NULL) == 0 && strstr(r.out, "a: on (holder pid"),
	      "status: rc %d '%s'", r.rc, r.out);
	CHECK(run(&r, "off", "a", NULL) == 0 && strstr(r.err, "a: off: on -> off"), "off: rc %d %s",
	      r.rc, r.err);
	CHECK(gone(pid), "holder %d still running after off", pid);
	CHECK(level(0, who, sizeof(who)) == 0 && !who[0], "line still requested by '%s'", who);
	CHECK(run(&r, "status", "a", NULL) == LP_OFF && !strcmp(r.out, "a: off\n"),
	      "status after off: rc %d '%s'", r.rc, r.out);
	CHECK(run(&r, "off", "a", NULL) == 0, "second off: rc %d", r.rc);
	return 0;
}

static int t_active_high(void)
{
	struct result r;
	char who[64];

	setup(gpio_conf);
	CHECK(run(&r, "on", "b", NULL) == 0, "on: rc %d %s", r.rc, r.err);
	CHECK(level(1, who, sizeof(who)) == 1 && !strcmp(who, "labpower:b"),
	      "active-high on: physical %d consumer '%s'", level(1, NULL, 0), who);
	CHECK(run(&r, "off", "b", NULL) == 0 && level(1, NULL, 0) == 0, "off: rc %d", r.rc);
	return 0;
}

static int t_on_idempotent(void)
{
	struct result r;
	int pid;

	setup(gpio_conf);
	CHECK(run(&r, "on", "a", NULL) == 0, "on: rc %d", r.rc);
	pid = holder_pid("a");
	CHECK(run(&r, "on", "a", NULL) == 0 && strstr(r.err, "already on"), "second on: rc %d %s",
	      r.rc, r.err);
	CHECK(holder_pid("a") == pid, "holder changed %d -> %d", pid, holder_pid("a"));
	return 0;
}

static int fd_points_to(int pid, const char *target)
{
	char dir[64], link[600], path[4096];
	struct dirent *e;
	DIR *d;
	int found = 0;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	d = opendir(dir);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		ssize_t n;

		snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
		n = readlink(link, path, sizeof(path) - 1);
		if (n > 0) {
			path[n] = '\0';
			if (!strcmp(path, target))
				found = 1;
		}
	}
	closedir(d);
	return found;
}

/* The holder must not keep the operation lock (flock survives fork()). */
static int lock_free_after_on(int *pid, int *lock_free, int *has_fd)
{
	struct result r;
	char path[512];
	int fd;

	CHECK(run(&r, "on", "a", NULL) == 0, "on: rc %d %s", r.rc, r.err);
	*pid = holder_pid("a");
	snprintf(path, sizeof(path), "%s/run/a.lock", tmp);
	fd = open(path, O_RDWR);
	CHECK(fd >= 0, "no lock file");
	*lock_free = !flock(fd, LOCK_EX | LOCK_NB);
	close(fd);
	*has_fd = fd_points_to(*pid, path);
	return 0;
}

static int t_holder_lock_not_inherited(void)
{
	struct result r;
	int pid, free_, has;

	setup(gpio_conf);
	if (lock_free_after_on(&pid, &free_, &has))
		return -1;
	CHECK(free_, "the operation lock is still held after on returned");
	CHECK(has == 0, "holder %d has the lock file open (%d)", pid, has);
	CHECK(run(&r, "--lock-wait", "500", "off", "a", NULL) == 0 && r.ms < 2000,
	      "off after on: rc %d in %ld ms", r.rc, r.ms);
	return 0;
}

/* The same check catches the bug when it is reintroduced. */
static int t_holder_lock_leak_detected(void)
{
	struct result r;
	int pid, free_, has;

	setup(gpio_conf);
	setenv("LABPOWER_FAKE_LEAK_LOCK", "1", 1);
	if (lock_free_after_on(&pid, &free_, &has))
		return -1;
	unsetenv("LABPOWER_FAKE_LEAK_LOCK");
	CHECK(!free_ && has == 1, "leaked lock not detected: free %d fd %d", free_, has);
	CHECK(run(&r, "--lock-wait", "300", "off", "a", NULL) == LP_LOCKED,
	      "off with the leaked lock: rc %d", r.rc);
	CHECK(strstr(r.err, "board is busy") && r.ms >= 300, "'%s' after %ld ms", r.err, r.ms);
	return 0;
}

static int t_holder_detached(void)
{
	struct result r;
	char path[64], link[256];
	int pid, fd;
	ssize_t n;

	setup(gpio_conf);
	CHECK(run(&r, "on", "a", NULL) == 0, "on: rc %d (-2: stdio kept open)", r.rc);
	CHECK(r.ms < 3000, "on took %ld ms", r.ms);
	pid = holder_pid("a");
	/* setsid() in the first child, then a second fork: a new session of
	 * which the holder is not the leader, so it never gets a terminal. */
	CHECK(getsid(pid) != getsid(0), "holder in our session");
	CHECK(getsid(pid) != pid, "holder %d leads its session", pid);
	CHECK(getpgid(pid) == getsid(pid), "holder not in its session's group");
	for (fd = 0; fd < 3; fd++) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
		n = readlink(path, link, sizeof(link) - 1);
		CHECK(n > 0, "holder fd %d missing", fd);
		link[n] = '\0';
		CHECK(!strcmp(link, "/dev/null"), "holder fd %d -> %s", fd, link);
	}
	return 0;
}

static int t_holder_killed(void)
{
	struct result r;
	int pid, pfd, ws;

	setup(gpio_conf);
	CHECK(run(&r, "on", "a", NULL) == 0, "on: rc %d", r.rc);
	pid = holder_pid("a");
	pfd = lp_pidfd_open(pid);
	CHECK(pid > 1 && pfd >= 0 && !kill(pid, SIGKILL), "kill %d", pid);
	/* Not our child: its pidfd turns readable once it has exited. */
	ws = lp_pidfd_wait(pfd, 5000);
	close(pfd);
	CHECK(!ws, "holder still running 5 s after SIGKILL");
	CHECK(level(0, NULL, 0) == 0, "line not back to the pull");
	CHECK(run(&r, "status", "a", NULL) == LP_OFF && strstr(r.out, "holder gone"),
	      "status: rc %d '%s'", r.rc, r.out);
	CHECK(run(&r, "list", NULL) == 0 && strstr(r.out, "off (holder gone)"), "list: '%s'", r.out);
	CHECK(run(&r, "off", "a", NULL) == 0 && strstr(r.err, "holder was gone"), "off: rc %d %s",
	      r.rc, r.err);
	return 0;
}

static int t_min_off_on(void)
{
	struct result r;

	setup(gpio_conf);
	CHECK(run(&r, "on", "a", NULL) == 0 && r.ms < 300, "first on: rc %d %ld ms", r.rc, r.ms);
	CHECK(run(&r, "off", "a", NULL) == 0, "off: rc %d", r.rc);
	CHECK(run(&r, "on", "a", NULL) == 0, "on: rc %d", r.rc);
	CHECK(r.ms >= 350 && r.ms < 2000, "on after off took %ld ms, min_off_ms is 400", r.ms);
	CHECK(level(0, NULL, 0) == 0 && holder_pid("a") > 1, "not on");
	return 0;
}

static int t_reset(void)
{
	struct result r;
	int pid;

	setup(gpio_conf);
	CHECK(run(&r, "on", "a", NULL) == 0, "on: rc %d", r.rc);
	pid = holder_pid("a");
	CHECK(run(&r, "reset", "a", NULL) == 0, "reset: rc %d %s", r.rc, r.err);
	CHECK(r.ms >= 600 && r.ms < 3000, "reset took %ld ms, reset_off_ms is 600", r.ms);
	CHECK(holder_pid("a") > 1 && holder_pid("a") != pid, "holder %d -> %d", pid,
	      holder_pid("a"));
	CHECK(lines_of(r.err) == 1 && strstr(r.err, "a: reset: on -> on"), "log '%s'", r.err);
	return 0;
}

static int spawn(const char *action, const char *board, const char *errfile)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int null = open("/dev/null", O_WRONLY);

		dup2(fd, 2);
		dup2(null, 1);
		execl(tool, tool, action, board, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int t_concurrent_on(void)
{
	char e1[512], e2[512], t1[2048], t2[2048];
	struct result r;
	int ws1, ws2, starts;
	int64_t t0;
	long ms;
	pid_t p1, p2;

	setup(gpio_conf);
	CHECK(run(&r, "on", "a", NULL) == 0 && run(&r, "off", "a", NULL) == 0, "on/off");
	snprintf(e1, sizeof(e1), "%s/err1", tmp);
	snprintf(e2, sizeof(e2), "%s/err2", tmp);
	t0 = lp_now_ms();
	p1 = spawn("on", "a", e1);
	p2 = spawn("on", "a", e2);
	waitpid(p1, &ws1, 0);
	waitpid(p2, &ws2, 0);
	ms = (long)(lp_now_ms() - t0);
	read_text(e1, t1, sizeof(t1));
	read_text(e2, t2, sizeof(t2));
	CHECK(WIFEXITED(ws1) && !WEXITSTATUS(ws1) && WIFEXITED(ws2) && !WEXITSTATUS(ws2),
	      "rcs %d %d", WEXITSTATUS(ws1), WEXITSTATUS(ws2));
	starts = !!strstr(t1, "off -> on") + !!strstr(t2, "off -> on");
	CHECK(starts == 1, "%d callers started a holder: '%s' '%s'", starts, t1, t2);
	CHECK(strstr(t1, "already on") || strstr(t2, "already on"), "no 'already on': '%s' '%s'",
	      t1, t2);
	CHECK(ms >= 350, "both returned after %ld ms, min_off_ms 400 not waited", ms);
	return 0;
}

static int t_lock_timeout(void)
{
	struct result r;
	char path[512], err[LP_ERR_MAX];
	int fd;

	setup(gpio_conf);
	CHECK(!lp_rundir_prepare(getenv("LABPOWER_RUNDIR"), err, sizeof(err)), "%s", err);
	snprintf(path, sizeof(path), "%s/run/a.lock", tmp);
	fd = open(path, O_RDWR | O_CREAT, 0644);
	CHECK(fd >= 0 && !flock(fd, LOCK_EX), "lock");
	CHECK(run(&r, "--lock-wait", "200", "on", "a", NULL) == LP_LOCKED, "rc %d", r.rc);
	CHECK(r.ms >= 200 && r.ms < 2000 && strstr(r.err, "board is busy"), "%ld ms '%s'", r.ms,
	      r.err);
	CHECK(holder_pid("a") == 0, "a holder started without the lock");
	close(fd);
	return 0;
}

static int t_foreign_consumer(void)
{
	struct result r;
	char path[512];
	int fd;

	setup(gpio_conf);
	snprintf(path, sizeof(path), "%s/gpio/lab-relays/0.consumer", tmp);
	write_text(path, "gpioset-intruder");
	snprintf(path, sizeof(path), "%s/gpio/lab-relays/0.req", tmp);
	fd = open(path, O_RDWR | O_CREAT, 0644);
	CHECK(fd >= 0 && !flock(fd, LOCK_EX), "foreign request");
	CHECK(run(&r, "on", "a", NULL) == LP_DEVICE, "on: rc %d", r.rc);
	CHECK(lines_of(r.err) == 1 && strstr(r.err, "held by another consumer: 'gpioset-intruder'"),
	      "stderr '%s'", r.err);
	CHECK(holder_pid("a") == 0, "holder left running");
	CHECK(run(&r, "status", "a", NULL) == LP_OFF && strstr(r.out, "'gpioset-intruder'"),
	      "status: rc %d '%s'", r.rc, r.out);
	CHECK(run(&r, "off", "a", NULL) == LP_DEVICE && strstr(r.err, "gpioset-intruder"),
	      "off: rc %d", r.rc);
	close(fd);
	CHECK(run(&r, "on", "a", NULL) == 0, "on after the intruder left: rc %d %s", r.rc, r.err);
	return 0;
}

static int t_missing_chip_line(void)
{
	struct result r;

	setup(gpio_conf);
	CHECK(run(&r, "on", "nochip", NULL) == LP_DEVICE, "nochip: rc %d", r.rc);
	CHECK(lines_of(r.err) == 1 && strstr(r.err, "GPIO chip 'no-such-chip' not found"), "'%s'",
	      r.err);
	CHECK(run(&r, "on", "noline", NULL) == LP_DEVICE, "noline: rc %d", r.rc);
	CHECK(lines_of(r.err) == 1 && strstr(r.err, "GPIO line 'zz-pwr' not found on chip"), "'%s'",
	      r.err);
	CHECK(run(&r, "status", "nochip", NULL) == LP_DEVICE, "status nochip: rc %d", r.rc);
	return 0;
}

static int t_list_init(void)
{
	struct result r;

	setup("[board a]\ndriver = gpio\nchip = lab-relays\nline = a-pwr\n"
	      "[board b]\ndriver = gpio\nchip = lab-relays\nline = b-pwr\ninitial = on\n"
	      "[board v]\ndriver = command\non = /bin/true\noff = /bin/true\n");
	CHECK(run(&r, "init", NULL) == 0, "init: rc %d %s", r.rc, r.err);
	CHECK(holder_pid("a") == 0 && holder_pid("b") > 1, "a %d b %d", holder_pid("a"),
	      holder_pid("b"));
	CHECK(lines_of(r.err) == 2, "init logged %d lines: '%s'", lines_of(r.err), r.err);
	CHECK(run(&r, "list", NULL) == 0 && lines_of(r.out) == 3, "list: '%s'", r.out);
	CHECK(strstr(r.out, "a\tgpio chip lab-relays line a-pwr\toff") &&
	      strstr(r.out, "b\tgpio chip lab-relays line b-pwr\ton (holder pid") &&
	      strstr(r.out, "v\tcommand /bin/true\tunknown"), "list: '%s'", r.out);
	CHECK(run(&r, "check", NULL) == 0 && strstr(r.out, "3 board(s) ok"), "check: '%s'", r.out);
	return 0;
}

static void command_conf(const char *extra)
{
	char conf[2048];

	snprintf(conf, sizeof(conf), "[board v]\ndriver = command\n"
		 "on = /bin/sh -c echo%%20on%%20>>log;touch%%20up\n"
		 "off = /bin/sh -c echo%%20off%%20>>log;rm%%20-f%%20up\n"
		 "status = /bin/test -e up\n"
		 "min_off_ms = 300\n%s", extra);
	setup("");
	snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf), "cwd = %s\n", tmp);
	write_text(getenv("LABPOWER_CONFIG"), conf);
}

static int t_command_driver(void)
{
	struct result r;
	char path[512], log[256];

	command_conf("");
	snprintf(path, sizeof(path), "%s/log", tmp);
	CHECK(run(&r, "status", "v", NULL) == LP_OFF && strstr(r.out, "v: off"), "status: rc %d",
	      r.rc);
	CHECK(run(&r, "on", "v", NULL) == 0 && strstr(r.err, "v: on: unknown -> on"), "on: rc %d %s",
	      r.rc, r.err);
	CHECK(run(&r, "status", "v", NULL) == 0 && strstr(r.out, "v: on"), "status on: rc %d",
	      r.rc);
	CHECK(run(&r, "on", "v", NULL) == 0 && strstr(r.err, "already on"), "second on: %s", r.err);
	CHECK(run(&r, "off", "v", NULL) == 0 && run(&r, "status", "v", NULL) == LP_OFF,
	      "off/status: rc %d", r.rc);
	CHECK(run(&r, "on", "v", NULL) == 0 && r.ms >= 250, "on after off: %ld ms, min_off 300",
	      r.ms);
	read_text(path, log, sizeof(log));
	CHECK(!strcmp(log, "on\noff\non\n"), "commands ran: '%s'", log);
	return 0;
}

static int t_command_failures(void)
{
	struct result r;

	setup("[board f]\ndriver = command\non = /bin/false\noff = /bin/true\n"
	      "[board s]\ndriver = command\non = /bin/sleep 10\noff = /bin/true\ntimeout_ms = 300\n"
	      "[board n]\ndriver = command\non = /nonexistent/vboard start\noff = /bin/true\n"
	      "[board q]\ndriver = command\non = /bin/true\noff = /bin/true\nstatus = /bin/sh -c exit%203\n");
	CHECK(run(&r, "on", "f", NULL) == LP_DEVICE && strstr(r.err, "on command '/bin/false' exited 1"),
	      "false: rc %d %s", r.rc, r.err);
	CHECK(run(&r, "on", "s", NULL) == LP_DEVICE && strstr(r.err, "did not finish within 300 ms"),
	      "sleep: rc %d %s", r.rc, r.err);
	CHECK(r.ms >= 300 && r.ms < 3000, "timeout after %ld ms", r.ms);
	CHECK(run(&r, "on", "n", NULL) == LP_DEVICE && strstr(r.err, "could not be run"),
	      "missing: rc %d %s", r.rc, r.err);
	CHECK(run(&r, "status", "q", NULL) == LP_DEVICE && strstr(r.err, "exited 3"),
	      "status 3: rc %d %s", r.rc, r.err);
	return 0;
}

/* A command that leaves a process running (a virtual board's QEMU) must not
 * take the board's operation lock with it: the lock fd is close-on-exec. */
static int t_command_child_no_lock(void)
{
	struct result r;
	char path[512];
	int fd, free_;

	setup("[board v]\ndriver = command\n"
	      "on = /bin/sh -c sleep%203%20</dev/null%20>/dev/null%202>&1%20&\n"
	      "off = /bin/true\nmin_off_ms = 0\n");
	CHECK(run(&r, "on", "v", NULL) == 0 && r.ms < 3000, "on: rc %d in %ld ms %s", r.rc, r.ms,
	      r.err);
	snprintf(path, sizeof(path), "%s/run/v.lock", tmp);
	fd = open(path, O_RDWR);
	free_ = fd >= 0 && !flock(fd, LOCK_EX | LOCK_NB);
	if (fd >= 0)
		close(fd);
	CHECK(free_, "the background child of the on command holds the lock");
	CHECK(run(&r, "--lock-wait", "200", "off", "v", NULL) == 0, "off: rc %d %s", r.rc, r.err);
	return 0;
}

/* ---- runner ---------------------------------------------------------------- */

static const struct {
	const char *name;
	int (*fn)(void);
} tests[] = {
	{ "parse_defaults", t_parse_defaults },
	{ "parse_full", t_parse_full },
	{ "parse_command_argv", t_parse_command_argv },
	{ "parse_errors", t_parse_errors },
	{ "config_load_missing", t_config_load_missing },
	{ "state_roundtrip", t_state_roundtrip },
	{ "off_remaining", t_off_remaining },
	{ "flock_wait_timeout", t_flock_wait_timeout },
	{ "flock_wait_acquires", t_flock_wait_acquires },
	{ "exit_usage", t_exit_usage },
	{ "exit_unknown_board", t_exit_unknown_board },
	{ "exit_config_error", t_exit_config_error },
	{ "on_off_status", t_on_off_status },
	{ "active_high", t_active_high },
	{ "on_idempotent", t_on_idempotent },
	{ "holder_lock_not_inherited", t_holder_lock_not_inherited },
	{ "holder_lock_leak_detected", t_holder_lock_leak_detected },
	{ "holder_detached", t_holder_detached },
	{ "holder_killed", t_holder_killed },
	{ "min_off_on", t_min_off_on },
	{ "reset", t_reset },
	{ "concurrent_on", t_concurrent_on },
	{ "lock_timeout", t_lock_timeout },
	{ "foreign_consumer", t_foreign_consumer },
	{ "missing_chip_line", t_missing_chip_line },
	{ "list_init", t_list_init },
	{ "command_driver", t_command_driver },
	{ "command_failures", t_command_failures },
	{ "command_child_no_lock", t_command_child_no_lock },
};

int main(int argc, char **argv)
{
	int n = sizeof(tests) / sizeof(tests[0]), i, passed = 0, failed = 0;
	const char *only = argc > 2 ? argv[2] : NULL;

	if (argc < 2 || access(argv[1], X_OK)) {
		fprintf(stderr, "usage: test_labpower PATH/TO/labpower-fake [TEST]\n");
		return 2;
	}
	tool = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%d\n", only ? 1 : n);
	for (i = 0; i < n; i++) {
		int rc;

		if (only && strcmp(only, tests[i].name))
			continue;
		why[0] = '\0';
		tmp[0] = '\0';
		rc = tests[i].fn();
		if (tmp[0])
			teardown();
		if (rc) {
			failed++;
			printf("not ok %d %s # %s\n", i + 1, tests[i].name, why);
		} else {
			passed++;
			printf("ok %d %s\n", i + 1, tests[i].name);
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
