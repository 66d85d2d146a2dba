#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make lab-down: stop what lab/local/up.sh started, by the pids it recorded
# (build/lab/run/pids), newest first: worker, virtual boards, bridges,
# artifact server, tftpd, scheduler, publisher, gunicorn; PostgreSQL only if up.sh
# started it. Registered devices, the database and the secrets stay, so
# the next lab-up is warm. Idempotent.
set -eu

REPO=$(cd "$(dirname "$0")/../.." && pwd)
RUN=$REPO/build/lab/run
PIDS=$RUN/pids

say() { echo "lab-down: $*"; }

# stop NAME: SIGTERM the recorded pid, bounded wait for it to go (pidfd poll)
stop() {
	f=$PIDS/$1.pid
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		if ! /usr/bin/python3 - "$pid" <<'PYEOF'
import os, select, sys
try:
    fd = os.pidfd_open(int(sys.argv[1]))
except ProcessLookupError:
    sys.exit(0)
sys.exit(0 if select.select([fd], [], [], 20)[0] else 1)
PYEOF
		then
			say "$1 (pid $pid) ignored SIGTERM for 20 s: SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
		fi
		say "stopped $1 (pid $pid)"
	fi
	rm -f "$f"
}

[ -d "$PIDS" ] || { say "nothing to stop"; exit 0; }
stop worker
for f in "$RUN"/vboard/*.pid; do
	[ -e "$f" ] || continue
	"$REPO/lab/vboard/vboard" stop "$(basename "$f" .pid)" || true
done
for f in "$PIDS"/console-*.pid; do
	[ -e "$f" ] || continue
	stop "$(basename "$f" .pid)"
done
stop artifacts
stop tftpd
stop scheduler
stop publisher
stop gunicorn
if [ -f "$RUN/postgres.started" ]; then
	pg_ctlcluster 15 main stop && say "stopped PostgreSQL 15"
	rm -f "$RUN/postgres.started"
fi
say "done"
