// SPDX-License-Identifier: GPL-2.0
/*
 * The command driver's runner: argv straight to execvp() (no shell), in the
 * board's cwd, stdin from /dev/null and stdout onto our stderr (so a caller
 * capturing labpower's stdout never waits for the command's children), in
 * its own process group, killed with it when timeout_ms runs out.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "labpower.h"

static void child(const struct lp_board *b, const struct lp_argv *a, const sigset_t *old)
{
	int null = open("/dev/null", O_RDONLY);

	setpgid(0, 0);
	sigprocmask(SIG_SETMASK, old, NULL);
	if (null < 0 || dup2(null, 0) < 0 || dup2(2, 1) < 0)
		_exit(126);
	if (null > 2)
		close(null);
	if (b->cwd && chdir(b->cwd)) {
		dprintf(2, "labpower: %s: cannot chdir to %s: %s\n", b->name, b->cwd,
			strerror(errno));
		_exit(126);
	}
	execvp(a->argv[0], a->argv);
	dprintf(2, "labpower: %s: cannot run %s: %s\n", b->name, a->argv[0], strerror(errno));
	_exit(127);
}

/* Runs a; *status = its exit code. -1 (err set) if it could not run,
 * was killed by a signal or timed out. */
int lp_cmd_run(const struct lp_board *b, const struct lp_argv *a, int *status,
	       char *err, size_t errlen)
{
	int64_t deadline = lp_now_ms() + b->cmd_timeout_ms;
	sigset_t chld, old;
	pid_t pid;
	int ws;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		sigprocmask(SIG_SETMASK, &old, NULL);
		return -1;
	}
	if (pid == 0)
		child(b, a, &old);
	setpgid(pid, pid);

	for (;;) {
		pid_t r = waitpid(pid, &ws, WNOHANG);
		int64_t left = deadline - lp_now_ms();
		struct timespec ts;

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			sigprocmask(SIG_SETMASK, &old, NULL);
			return -1;
		}
		if (left <= 0) {
			kill(-pid, SIGKILL);
			waitpid(pid, &ws, 0);
			snprintf(err, errlen, "'%s' did not finish within %ld ms: killed",
				 a->argv[0], b->cmd_timeout_ms);
			sigprocmask(SIG_SETMASK, &old, NULL);
			return -1;
		}
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (left % 1000) * 1000000;
		sigtimedwait(&chld, NULL, &ts);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (WIFSIGNALED(ws)) {
		snprintf(err, errlen, "'%s' killed by signal %d", a->argv[0], WTERMSIG(ws));
		return -1;
	}
	*status = WEXITSTATUS(ws);
	if (*status == 126 || *status == 127) {
		snprintf(err, errlen, "'%s' could not be run (exit %d)", a->argv[0], *status);
		return -1;
	}
	return 0;
}
