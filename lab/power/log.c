// SPDX-License-Identifier: GPL-2.0
/* One line per action, to stderr and to syslog: who, board, what, result. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "labpower.h"

static char who[128];

void lp_set_who(int argc, char **argv)
{
	char path[64], comm[64] = "?";
	FILE *f;

	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)getppid());
	f = fopen(path, "re");
	if (f) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	snprintf(who, sizeof(who), "uid %d, parent %d %s", (int)getuid(), (int)getppid(), comm);
	openlog("labpower", LOG_PID, LOG_USER);
}

void lp_log(const char *board, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (board) {
		fprintf(stderr, "labpower: %s: %s [%s]\n", board, msg, who);
		syslog(LOG_NOTICE, "%s: %s [%s]", board, msg, who);
	} else {
		fprintf(stderr, "labpower: %s\n", msg);
		syslog(LOG_NOTICE, "%s [%s]", msg, who);
	}
}
