// SPDX-License-Identifier: GPL-2.0
/*
 * The run directory (default /run/labpower): per board
 *   BOARD.lock   operation lock: flock()ed by every command that changes the
 *                board, with a bounded wait; released by the kernel when the
 *                process dies, so it never goes stale
 *   BOARD.hold   flock()ed by the detached holder for as long as it drives
 *                the line: "locked" means "on"; holds the holder's pid
 *   BOARD.state  last commanded state: "on|off SINCE_MS BOOT_ID WALL_S"
 *                (SINCE_MS on CLOCK_BOOTTIME, which counts suspend too)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "labpower.h"

int64_t lp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits out a policy delay (minimum off time), not a synchronisation. */
void lp_sleep_ms(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int lp_path(char *buf, size_t len, const char *dir, const char *board, const char *ext)
{
	int n = snprintf(buf, len, "%s/%s%s", dir, board, ext);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int lp_rundir_prepare(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(dir, 0775) && errno != EEXIST) {
		snprintf(err, errlen, "run dir %s: cannot create: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "run dir %s: not a directory", dir);
		return -1;
	}
	if (access(dir, W_OK | X_OK)) {
		snprintf(err, errlen, "run dir %s: not writable: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/*
 * flock() with a bounded wait. A repeating interval timer interrupts the
 * blocking call (no SA_RESTART), so a tick that lands just before flock()
 * is entered only delays the next check by one tick. Returns 0, or -1 with
 * errno ETIMEDOUT or flock's error.
 */
int lp_flock_wait(int fd, int op, long wait_ms)
{
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	struct itimerval it = { { 0, 20000 }, { 0, 20000 } }, off = { { 0, 0 }, { 0, 0 } };
	int64_t deadline = lp_now_ms() + wait_ms;
	int rc, saved;

	if (!flock(fd, op | LOCK_NB))
		return 0;
	if (errno != EWOULDBLOCK || wait_ms <= 0) {
		if (errno == EWOULDBLOCK)
			errno = ETIMEDOUT;
		return -1;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old);
	setitimer(ITIMER_REAL, &it, NULL);
	for (;;) {
		rc = flock(fd, op);
		if (!rc || errno != EINTR)
			break;
		if (lp_now_ms() >= deadline) {
			errno = ETIMEDOUT;
			break;
		}
	}
	saved = errno;
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	errno = saved;
	return rc;
}

int lp_lock_board(const char *dir, const char *board, long wait_ms, char *err, size_t errlen)
{
	char path[4096];
	int fd;

	if (lp_path(path, sizeof(path), dir, board, ".lock")) {
		snprintf(err, errlen, "run dir path too long");
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0664);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (lp_flock_wait(fd, LOCK_EX, wait_ms)) {
		int e = errno;

		close(fd);
		if (e == ETIMEDOUT)
			snprintf(err, errlen, "board is busy: lock %s still held after %ld ms",
				 path, wait_ms);
		else
			snprintf(err, errlen, "%s: flock: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	return fd;
}

static void boot_id(char *buf, size_t len)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	snprintf(buf, len, "unknown");
	if (f) {
		if (fgets(buf, (int)len, f))
			buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
}

int lp_state_read(const char *dir, const char *board, struct lp_state *st)
{
	char path[4096], word[8], id[64], now_id[64];
	long long since, wall;
	FILE *f;
	int n;

	memset(st, 0, sizeof(*st));
	if (lp_path(path, sizeof(path), dir, board, ".state"))
		return -1;
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -1;
	n = fscanf(f, "%7s %lld %63s %lld", word, &since, id, &wall);
	fclose(f);
	if (n != 4 || (strcmp(word, "on") && strcmp(word, "off")))
		return 0;	/* unreadable: treated as unknown */
	st->power = strcmp(word, "on") ? LP_STATE_OFF : LP_STATE_ON;
	st->since_ms = since;
	st->wall_s = wall;
	boot_id(now_id, sizeof(now_id));
	st->this_boot = !strcmp(id, now_id) && strcmp(id, "unknown");
	return 0;
}

int lp_state_write(const char *dir, const char *board, enum lp_power power, int64_t since_ms,
		   char *err, size_t errlen)
{
	char path[4096], tmp[4200], id[64];
	FILE *f;

	boot_id(id, sizeof(id));
	if (lp_path(path, sizeof(path), dir, board, ".state"))
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f) {
		snprintf(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
		return -1;
	}
	fprintf(f, "%s %lld %s %lld\n", power == LP_STATE_ON ? "on" : "off",
		(long long)since_ms, id, (long long)time(NULL));
	if (fclose(f) || rename(tmp, path)) {
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* How long the board must still stay off before it may be switched on. */
int64_t lp_off_remaining_ms(const struct lp_state *st, long min_off_ms, int64_t now)
{
	int64_t left;

	if (st->power != LP_STATE_OFF || !st->this_boot)
		return 0;
	left = st->since_ms + min_off_ms - now;
	if (left > min_off_ms)	/* clock went backwards: never wait longer than the minimum */
		left = min_off_ms;
	return left > 0 ? left : 0;
}

/* The holder's pid if it is alive (its hold lock is taken), else 0. */
int lp_holder_pid(const char *dir, const char *board)
{
	char path[4096], buf[32];
	int fd, pid = 0;
	ssize_t n;

	if (lp_path(path, sizeof(path), dir, board, ".hold"))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (!flock(fd, LOCK_SH | LOCK_NB)) {
		close(fd);
		return 0;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		pid = atoi(buf);
	}
	close(fd);
	return pid > 0 ? pid : 1;
}

/* A pidfd for pid (Linux 5.3+), or -1 with errno (ESRCH: already gone). */
int lp_pidfd_open(int pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Waits until the pidfd's process has exited (all its files released):
 * 0, or -1 after ms. */
int lp_pidfd_wait(int pidfd, long ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	int64_t deadline = lp_now_ms() + ms;

	for (;;) {
		int64_t left = deadline - lp_now_ms();
		int r = poll(&p, 1, left > 0 ? (int)left : 0);

		if (r > 0)
			return 0;
		if (r == 0 || errno != EINTR)
			return -1;
	}
}
