#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Install the local LAVA lab's Debian packages, idempotently (lab/local/up.sh
# calls it; nothing but Debian's archive is used). lava-server's postinst
# needs PostgreSQL running (it creates the role and database and migrates),
# and no daemon may be auto-started by the install (no systemd here, and the
# lab starts its own processes bound to 127.0.0.1): a policy-rc.d that
# refuses service starts is put in place for the install if none exists.
set -eu

PKGS="postgresql lava-server lava-dispatcher lavacli tftpd-hpa u-boot-qemu
u-boot-tools telnet qemu-system-arm python3-yaml python3-jinja2
python3-requests"

missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" != 0 ]; then
	echo "lab-install: missing packages:$missing; run as root:" >&2
	echo "  apt-get update && apt-get install -y --no-install-recommends$missing" >&2
	exit 1
fi

echo "lab-install: installing:$missing"
policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy"
	chmod 755 "$policy"
	made_policy=1
fi
cleanup() { [ -z "$made_policy" ] || rm -f "$policy"; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt="apt-get -q -o DPkg::Lock::Timeout=120"
case "$missing" in
*postgresql*)
	$apt install -y --no-install-recommends postgresql ;;
esac
# the lava-server postinst talks to the database
pg_ctlcluster 15 main status >/dev/null 2>&1 || pg_ctlcluster 15 main start
if ! $apt install -y --no-install-recommends $missing; then
	$apt update
	$apt install -y --no-install-recommends $missing
fi
echo "lab-install: ok"
