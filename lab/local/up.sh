#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make lab-up: a single-machine LAVA lab on 127.0.0.1 for the virtual boards
# of configs/boards.yaml (kind qemu-uboot). Idempotent: what runs is kept,
# what is missing is started; a second run only checks.
#
#   PostgreSQL 15, lava-server (gunicorn on 127.0.0.1:$LAB_LAVA_PORT), the
#   scheduler, one lava-worker (job_limit 1, ping every 2 s), in.tftpd on
#   127.0.0.1, the artifact server (127.0.0.1:$LAB_ART_PORT, serving
#   build/lab/artifacts), one console bridge per virtual board, the device
#   type bbml2-qemu-uboot and every virtual board with its generated
#   dictionary. No systemd: the services' own commands, started by hand
#   (shared/docs/lava.md section 7); pids under build/lab/run/pids for
#   lab/local/down.sh.
#
# Secrets (admin password, API tokens, worker token) are generated into
# $BBML2LAB_CONF_DIR (default ~/.config/bbml2-lab, mode 0700, files 0600)
# and never printed. build/lab/env holds the non-secret facts.
set -eu

REPO=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
LAB=$REPO/build/lab
RUN=$LAB/run
PIDS=$RUN/pids
LOGS=$RUN/logs
CONF_DIR=${BBML2LAB_CONF_DIR:-$HOME/.config/bbml2-lab}
LAVA_PORT=${LAB_LAVA_PORT:-8000}
ART_PORT=${LAB_ART_PORT:-8090}
PUB_PORT=${LAB_PUB_PORT:-8001}
EVENT_PORT=${LAB_EVENT_PORT:-5500}
WORKER=bbml2-worker
URL=http://127.0.0.1:$LAVA_PORT
ETC=/etc/lava-server
LABPOWER=$REPO/build/labpower/labpower
POWER_CONF=$LAB/labpower.conf
DEADLINE=${LAB_UP_TIMEOUT:-120}

say() { echo "lab-up: $*"; }
die() { echo "lab-up: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (lava-server's manage commands, lava-worker, tftpd)"

# alive NAME: the pid in PIDS/NAME.pid runs
alive() {
	[ -f "$PIDS/$1.pid" ] || return 1
	kill -0 "$(cat "$PIDS/$1.pid")" 2>/dev/null
}

# spawn NAME CMD...: run CMD detached in its own session, record its pid
spawn() {
	name=$1
	shift
	if alive "$name"; then
		return 0
	fi
	setsid "$@" </dev/null >>"$LOGS/$name.out" 2>&1 &
	echo $! >"$PIDS/$name.pid"
	say "started $name (pid $!)"
}

# wait_http URL: bounded wait until URL answers (curl's own retry loop)
wait_http() {
	curl -fs -o /dev/null --retry "$DEADLINE" --retry-connrefused --retry-delay 1 \
		--max-time 10 "$1" || die "$1 did not answer within ${DEADLINE}s"
}

manage() { lava-server manage "$@"; }

start_worker() {
	spawn worker lava-worker --level INFO --url "$URL/" --name "$WORKER" \
		--token-file "$CONF_DIR/worker-token" --ping-interval 2 --log-file "$LOGS/worker.log"
}

# `up.sh worker`: start lava-worker alone if it is not running (lab-e2e
# restarts it after killing it), leaving every device's health as it is
if [ "${1:-}" = worker ]; then
	[ -f "$LAB/env" ] || die "the lab was never up: run it without arguments first"
	start_worker
	exit 0
fi

mkdir -p "$PIDS" "$LOGS" "$LAB/artifacts" "$RUN/faults" "$RUN/vboard"
# PostgreSQL is ours to stop if it was down before (install.sh may start it)
pg_was_up=
pg_ctlcluster 15 main status >/dev/null 2>&1 && pg_was_up=1
"$REPO/lab/local/install.sh"

# --- PostgreSQL ---------------------------------------------------------------
pg_ctlcluster 15 main status >/dev/null 2>&1 || pg_ctlcluster 15 main start
if [ -z "$pg_was_up" ]; then
	touch "$RUN/postgres.started"
	say "PostgreSQL 15 running (started by the lab)"
fi

# --- lava-server configuration --------------------------------------------------
# loopback only. Events on: the scheduler then assigns a submitted job at
# once instead of at its next 20 s round; the publisher that relays them
# binds 127.0.0.1 (its defaults are *:8001 and *:5500).
settings=$ETC/settings.d/50-bbml2-lab.yaml
cat >"$settings.tmp" <<EOF
# written by bbml2-lab lab/local/up.sh
ALLOWED_HOSTS: ["127.0.0.1", "localhost"]
EVENT_NOTIFICATION: true
EVENT_SOCKET: "tcp://127.0.0.1:$EVENT_PORT"
EOF
if ! cmp -s "$settings.tmp" "$settings"; then
	mv "$settings.tmp" "$settings"
	# running services read their settings when they start
	for name in worker scheduler publisher; do
		! alive "$name" || { kill "$(cat "$PIDS/$name.pid")"; rm -f "$PIDS/$name.pid"; }
	done
	! alive gunicorn || kill -HUP "$(cat "$PIDS/gunicorn.pid")"
	say "settings changed: services restarted"
else
	rm -f "$settings.tmp"
fi
manage migrate --noinput >"$LOGS/migrate.log" 2>&1 || die "migrations failed: see $LOGS/migrate.log"

# --- web/API, scheduler ---------------------------------------------------------
if ! alive gunicorn; then
	touch "$LOGS/gunicorn.log"
	chown lavaserver "$LOGS/gunicorn.log"
	gunicorn3 lava_server.wsgi -u lavaserver -g lavaserver --worker-class eventlet \
		--workers 2 --bind "127.0.0.1:$LAVA_PORT" --daemon --pid "$PIDS/gunicorn.pid" \
		--log-level info --log-file "$LOGS/gunicorn.log"
	say "started gunicorn on 127.0.0.1:$LAVA_PORT"
fi
wait_http "$URL/api/v0.2/system/version/"
spawn publisher lava-server manage lava-publisher --host 127.0.0.1 --port "$PUB_PORT" \
	--level INFO --log-file "$LOGS/publisher.log"
spawn scheduler lava-server manage lava-scheduler --level INFO --log-file "$LOGS/scheduler.log" \
	--event-url "tcp://127.0.0.1:$EVENT_PORT"

# --- admin, API token, worker (secrets into CONF_DIR, 0600) --------------------
BBML2LAB_CONF_DIR=$CONF_DIR BBML2LAB_LAVA_URI=$URL/RPC2 BBML2LAB_WORKER=$WORKER \
	manage shell <"$REPO/lab/local/provision.py"
mkdir -p "$ETC/dispatcher.d/$WORKER"
cat >"$ETC/dispatcher.d/$WORKER/dispatcher.yaml" <<EOF
# written by bbml2-lab lab/local/up.sh: QEMU user-mode networking sees the
# worker (its TFTP server) as 10.0.2.2
dispatcher_ip: 10.0.2.2
EOF

# --- labpower and its config ----------------------------------------------------
[ -x "$LABPOWER" ] || make -s -C "$REPO" labpower >"$LOGS/labpower-build.log" 2>&1 ||
	die "labpower build failed: see $LOGS/labpower-build.log"
"$PY" "$REPO/lab/run.py" power-config -o "$POWER_CONF" >/dev/null
"$LABPOWER" --config "$POWER_CONF" check >/dev/null || die "$POWER_CONF: labpower check failed"

# --- device type, device dictionaries, devices ---------------------------------
install -m 0644 "$REPO/lab/templates/device-types/bbml2-qemu-uboot.jinja2" \
	"$ETC/dispatcher-config/device-types/"
"$PY" "$REPO/lab/run.py" lab-config --out "$LAB/devices" --labpower "$LABPOWER" \
	--power-config "$POWER_CONF" >/dev/null
# every board on this lab's worker: the virtual u-boot boards (console
# port) and the qemu-kind ones (device type qemu, no console: port -)
vboards=$("$PY" -c "
import sys; sys.path.insert(0, '$REPO/lab')
from bbml2lab import config, devices
b = config.load_boards('$REPO/configs/boards.yaml')
for n, x in sorted(b.items()):
    if x['lava']['worker'] != '$WORKER' or x['kind'] not in ('qemu', 'qemu-uboot'):
        continue
    tags = sorted(set(x['lava'].get('tags', [])) | {'bbml2-' + x['bbml2']})
    port = devices.console_port(n, x) if x['kind'] == 'qemu-uboot' else '-'
    print(n, x['lava']['hostname'], x['lava']['device_type'], port, ','.join(tags))
")
for dt in $(echo "$vboards" | awk '{print $3}' | sort -u); do
	manage device-types list | awk '$1 == "*" { print $2 }' | grep -qx "$dt" ||
		manage device-types add "$dt"
done
devlist=$(manage devices list --all 2>/dev/null | awk '$1 == "*" { print $2 }' || true)
echo "$vboards" | while read -r name host dtype port tags; do
	install -m 0644 "$LAB/devices/$host.jinja2" "$ETC/dispatcher-config/devices/$host.jinja2"
	if ! echo "$devlist" | grep -qx "$host"; then
		# shellcheck disable=SC2046
		manage devices add "$host" --device-type "$dtype" --worker "$WORKER" \
			--description "bbml2-lab $name" --tags $(echo "$tags" | tr , ' ')
		say "registered $host"
	else
		# `devices update` has no --tags in 2023.01: keep an existing
		# device's tags equal to the inventory's through the ORM
		manage shell -c "
from lava_scheduler_app.models import Device, Tag
d = Device.objects.get(hostname='$host')
d.tags.set([Tag.objects.get_or_create(name=t)[0] for t in '$tags'.split(',') if t])
" >/dev/null
	fi
	manage devices update --health GOOD "$host" >/dev/null
	[ "$port" != - ] || continue
	# the console listens before the board can be powered
	if ! alive "console-$name"; then
		"$PY" "$REPO/lab/local/labd.py" console --listen "127.0.0.1:$port" \
			--socket "$RUN/vboard/$name.console" --pidfile "$PIDS/console-$name.pid" \
			--log "$LOGS/console-$name.log" --console-log "$RUN/vboard/$name.console.log"
		say "console bridge for $name on 127.0.0.1:$port"
	fi
done

# --- TFTP, artifacts --------------------------------------------------------------
tftp_dir=$(sed -n 's/^TFTP_DIRECTORY="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/default/tftpd-hpa)
mkdir -p "${tftp_dir:=/srv/tftp}"
if ! alive tftpd; then
	in.tftpd --listen --address 127.0.0.1:69 --secure --user tftp \
		--pidfile "$PIDS/tftpd.pid" "$tftp_dir"
	say "started in.tftpd on 127.0.0.1:69 ($tftp_dir)"
fi
if ! alive artifacts; then
	"$PY" "$REPO/lab/local/labd.py" http --listen "127.0.0.1:$ART_PORT" --root "$LAB/artifacts" \
		--pidfile "$PIDS/artifacts.pid" --log "$LOGS/artifacts.log"
	say "artifact server on 127.0.0.1:$ART_PORT ($LAB/artifacts)"
fi

# --- worker -----------------------------------------------------------------------
start_worker

cat >"$LAB/env.tmp" <<EOF
# bbml2-lab local lab (lab/local/up.sh); no secrets here: the API token is in
# $CONF_DIR/lava.yaml (0600)
LAVA_URI=$URL/RPC2
LAVA_URL=$URL
LAB_ARTIFACT_URL=http://127.0.0.1:$ART_PORT
LAB_ARTIFACT_DIR=$LAB/artifacts
LAB_WORKER=$WORKER
LAB_LAVA_PORT=$LAVA_PORT
LAB_ART_PORT=$ART_PORT
LAB_PUB_PORT=$PUB_PORT
LAB_EVENT_PORT=$EVENT_PORT
LAB_RUN_DIR=$RUN
LAB_PID_DIR=$PIDS
LAB_LOG_DIR=$LOGS
LAB_FAULT_DIR=$RUN/faults
LAB_CONF_DIR=$CONF_DIR
LAB_TFTP_DIR=$tftp_dir
LAB_LABPOWER=$LABPOWER
LAB_LABPOWER_CONFIG=$POWER_CONF
# credentials (0600) of the user that installs the health checks (lab/run.py
# health-checks, the nightly): not the runner's, not a superuser
LAB_HEALTH_CHECKS=$CONF_DIR/health-checks.yaml
EOF
mv "$LAB/env.tmp" "$LAB/env"
say "ready: $URL (env: $LAB/env)"
