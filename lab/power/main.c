// SPDX-License-Identifier: GPL-2.0
/* labpower's command line. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "labpower.h"

static const char usage[] =
"usage: labpower [OPTIONS] on|off|reset|status BOARD\n"
"       labpower [OPTIONS] list|init|check\n"
"\n"
"Switch lab boards through GPIO relays (libgpiod) or power commands.\n"
"  on      power on; returns once the relay is driven (gpio) or the on command\n"
"          succeeded; waits out the rest of min_off_ms first; idempotent\n"
"  off     power off (stops the line's holder, leaves the line inactive)\n"
"  reset   off, reset_off_ms (at least min_off_ms) off, on: under one lock\n"
"  status  print the state; exit 0 if on, 1 if off\n"
"  list    every board with its target and state\n"
"  init    put every gpio board to its 'initial' state (controller boot)\n"
"  check   validate the config and exit\n"
"\n"
"options:\n"
"  -c, --config FILE   config (else $LABPOWER_CONFIG, else /etc/labpower.conf)\n"
"  -r, --run-dir DIR   locks and state (else $LABPOWER_RUNDIR, else /run/labpower)\n"
"  -w, --lock-wait MS  bounded wait for the board's lock (config lock_wait_ms,\n"
"                      default 30000)\n"
"  -V, --version       print the version and the GPIO backend\n"
"  -h, --help          this text\n"
"\n"
"exit codes:\n"
"  0 ok (status: on)     1 status: off          2 usage error\n"
"  3 unknown board       4 config or run-dir error\n"
"  5 lock wait timed out (another caller operates the board)\n"
"  6 device error: chip or line missing, line held by another consumer (named),\n"
"    power command failed\n"
"  7 the line's holder failed to start or to stop\n";

static int usage_error(const char *msg)
{
	fprintf(stderr, "labpower: %s (see labpower --help)\n", msg);
	return LP_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "lock-wait", required_argument, NULL, 'w' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = getenv("LABPOWER_CONFIG"), *rundir = getenv("LABPOWER_RUNDIR");
	const char *action, *board = NULL;
	char err[LP_ERR_MAX * 2], absdir[PATH_MAX], cwd[PATH_MAX];
	struct lp_config cfg;
	struct lp_ctx ctx = { 0 };
	long lock_wait = -1;
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+c:r:w:Vh", opts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'r':
			rundir = optarg;
			break;
		case 'w':
			lock_wait = strtol(optarg, &end, 10);
			if (!*optarg || *end || lock_wait < 0 || lock_wait > 86400000)
				return usage_error("--lock-wait: expected milliseconds");
			break;
		case 'V':
			printf("labpower 1.0, %s\n", lp_gpio_backend());
			return LP_OK;
		case 'h':
			fputs(usage, stdout);
			return LP_OK;
		default:
			snprintf(err, sizeof(err), "unknown option or missing value: %s",
				 argv[optind - 1]);
			return usage_error(err);
		}
	}
	if (optind >= argc)
		return usage_error("no command given");
	action = argv[optind++];
	if (!strcmp(action, "on") || !strcmp(action, "off") || !strcmp(action, "reset") ||
	    !strcmp(action, "status")) {
		if (optind != argc - 1)
			return usage_error("give exactly one BOARD");
		board = argv[optind];
	} else if (!strcmp(action, "list") || !strcmp(action, "init") || !strcmp(action, "check")) {
		if (optind != argc)
			return usage_error("this command takes no BOARD");
	} else {
		snprintf(err, sizeof(err), "unknown command '%s'", action);
		return usage_error(err);
	}

	lp_set_who(argc, argv);
	if (!config || !*config)
		config = "/etc/labpower.conf";
	if (!rundir || !*rundir)
		rundir = "/run/labpower";
	if (lp_config_load(config, &cfg, err, sizeof(err))) {
		lp_log(board, "%s: config error: %s", action, err);
		return LP_CONFIG;
	}
	if (!strcmp(action, "check")) {
		printf("%s: %d board(s) ok\n", config, cfg.nboards);
		lp_config_free(&cfg);
		return LP_OK;
	}
	if (rundir[0] != '/') {
		if (!getcwd(cwd, sizeof(cwd)) ||
		    snprintf(absdir, sizeof(absdir), "%s/%s", cwd, rundir) >= (int)sizeof(absdir)) {
			lp_log(board, "%s: run dir %s: cannot make it absolute", action, rundir);
			lp_config_free(&cfg);
			return LP_CONFIG;
		}
		rundir = absdir;
	}
	if (lp_rundir_prepare(rundir, err, sizeof(err))) {
		lp_log(board, "%s: %s", action, err);
		lp_config_free(&cfg);
		return LP_CONFIG;
	}
	ctx.cfg = &cfg;
	ctx.rundir = rundir;
	ctx.lock_wait_ms = lock_wait >= 0 ? lock_wait : cfg.lock_wait_ms;
	rc = lp_do(&ctx, action, board);
	lp_config_free(&cfg);
	return rc;
}
