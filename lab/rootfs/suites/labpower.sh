#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# labpower end to end on a simulated GPIO chip (gpio-sim, set up through
# configfs): the tool as the lab runs it, the levels read back from
# gpio-sim's sysfs (sim_gpioN/value: what the line physically carries).
# Lines: 0 relay-a (active-low relay, pulled up: undriven = off),
# 1 relay-b (active-high), 2 relay-c, 3 (unnamed, used by offset).
# KTAP version 1 on stdout.

CFS=/sys/kernel/config
SIM=$CFS/gpio-sim/labpower
CONF=/tmp/labpower.conf
export LABPOWER_CONFIG=$CONF LABPOWER_RUNDIR=/tmp/labpower-run
n=0 failed=0

echo "KTAP version 1"
echo "1..20"

result() {	# result OK NAME [DETAIL]
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n $2${3:+ # $3}"
	else
		echo "not ok $n $2${3:+ # $3}"
		failed=1
	fi
}

# Milliseconds since boot (10 ms resolution). The hundredths lose a leading
# zero: "08" would be a bad octal number in $(( )).
now_ms() {
	read -r up _ < /proc/uptime
	frac=${up#*.}
	echo $(( ${up%.*} * 1000 + ${frac#0} * 10 ))
}

value() {	# physical level of line N
	cat "/sys/devices/platform/$dev/$chip/sim_gpio$1/value"
}

holder() {	# the holder pid `status` reports, or nothing
	labpower status "$1" 2>/dev/null | sed -n 's/.*holder pid \([0-9]*\).*/\1/p'
}

# Returns once PID has exited (gone, or a zombie: its files are released).
wait_gone() {
	end=$(( $(now_ms) + 5000 ))
	while [ "$(now_ms)" -lt "$end" ]; do
		[ -r "/proc/$1/stat" ] || return 0
		case "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null)" in Z*|X*|"") return 0 ;; esac
	done
	return 1
}

# --- the simulated chip -------------------------------------------------------
setup_sim() {
	grep -qw configfs /proc/filesystems || { echo "# no configfs in this kernel"; return 1; }
	mountpoint -q $CFS 2>/dev/null || mount -t configfs configfs $CFS || return 1
	[ -d $CFS/gpio-sim ] || { echo "# no gpio-sim in configfs (CONFIG_GPIO_SIM)"; return 1; }
	mkdir $SIM $SIM/bank0 || return 1
	echo 4 > $SIM/bank0/num_lines
	echo lab-relays > $SIM/bank0/label
	for l in 0:relay-a 1:relay-b 2:relay-c; do
		mkdir "$SIM/bank0/line${l%%:*}"
		echo "${l#*:}" > "$SIM/bank0/line${l%%:*}/name"
	done
	echo 1 > $SIM/live || return 1
	dev=$(cat $SIM/dev_name) chip=$(cat $SIM/bank0/chip_name)
	[ -n "$dev" ] && [ -n "$chip" ] || return 1
	echo pull-up > "/sys/devices/platform/$dev/$chip/sim_gpio0/pull"
}
if setup_sim; then
	result 0 gpio_sim_chip "$dev $chip label lab-relays"
else
	result 1 gpio_sim_chip "cannot set up gpio-sim"
	echo "# remaining tests need the chip"
	while [ "$n" -lt 20 ]; do result 1 needs_gpio_sim; done
	exit 1
fi

cat > $CONF <<CONF
# labpower guest test config
lock_wait_ms = 15000

[board a]
driver = gpio
chip = lab-relays
line = relay-a
active_low = true
min_off_ms = 1500
reset_off_ms = 2000

[board b]
driver = gpio
chip = lab-relays
line = relay-b
min_off_ms = 0

[board c]
driver = gpio
chip = lab-relays
line = relay-c
min_off_ms = 1000

[board d]
driver = gpio
chip = /dev/$chip
line = 3
min_off_ms = 0

[board ghost-chip]
driver = gpio
chip = no-such-chip
line = 0

[board ghost-line]
driver = gpio
chip = lab-relays
line = relay-z
CONF
cat > /tmp/intruder.conf <<CONF
[board intruder]
driver = gpio
chip = lab-relays
line = relay-c
CONF

out=$(labpower check 2>&1)
result $? config_valid "$out"

# --- on / off / status, active-low ---------------------------------------------
v0=$(value 0)
labpower on a 2>/tmp/err; rc=$? v1=$(value 0)
[ "$v0" = 1 ] && [ $rc = 0 ] && [ "$v1" = 0 ]
result $? on_active_low "undriven $v0, on rc $rc level $v1"

st=$(labpower status a 2>&1); rc=$?
case "$st" in *"a: on (holder pid"*) [ $rc = 0 ] ;; *) false ;; esac
result $? status_on "rc $rc: $st"

p1=$(holder a)
labpower on a 2>/tmp/err; rc=$? p2=$(holder a)
[ $rc = 0 ] && [ -n "$p1" ] && [ "$p1" = "$p2" ] && grep -q "already on" /tmp/err
result $? on_idempotent "rc $rc holder $p1 -> $p2"

labpower off a 2>/tmp/err; rc=$? v=$(value 0)
st=$(labpower status a 2>&1); src=$?
[ $rc = 0 ] && [ "$v" = 1 ] && [ $src = 1 ] && [ "$st" = "a: off" ]
result $? off_active_low "rc $rc level $v status rc $src: $st"

t0=$(now_ms)
labpower on a 2>/tmp/err; rc=$?
ms=$(( $(now_ms) - t0 )) v=$(value 0)
[ $rc = 0 ] && [ "$v" = 0 ] && [ $ms -ge 1400 ]
result $? min_off_time "on right after off took $ms ms (min_off_ms 1500), level $v"

p1=$(holder a) t0=$(now_ms)
labpower reset a 2>/tmp/err; rc=$?
ms=$(( $(now_ms) - t0 )) v=$(value 0) p2=$(holder a)
[ $rc = 0 ] && [ "$v" = 0 ] && [ $ms -ge 1900 ] && [ -n "$p2" ] && [ "$p1" != "$p2" ]
result $? reset "took $ms ms (reset_off_ms 2000), level $v, holder $p1 -> $p2"

# --- active-high; prompt return; one log line ---------------------------------
t0=$(now_ms)
log=$(labpower on b 2>&1); rc=$?
ms=$(( $(now_ms) - t0 )) v=$(value 1)
[ $rc = 0 ] && [ "$v" = 1 ] && [ $ms -lt 3000 ]
result $? on_active_high_captured "\$(labpower on b) returned in $ms ms, rc $rc, level $v"

lines=$(printf '%s\n' "$log" | wc -l)
case "$log" in "labpower: b: on: "*" -> on "*" ok in "*) [ "$lines" = 1 ] ;; *) false ;; esac
result $? one_log_line "$lines line(s): $log"

labpower off b 2>/dev/null; rc=$? v=$(value 1)
[ $rc = 0 ] && [ "$v" = 0 ]
result $? off_active_high "rc $rc level $v"

# --- two concurrent callers ---------------------------------------------------
labpower on c 2>/dev/null && labpower off c 2>/dev/null
t0=$(now_ms)
labpower on c 2>/tmp/c1 & j1=$!
labpower on c 2>/tmp/c2 & j2=$!
wait $j1; r1=$?
wait $j2; r2=$?
ms=$(( $(now_ms) - t0 ))
starts=$(cat /tmp/c1 /tmp/c2 | grep -c "off -> on")
already=$(cat /tmp/c1 /tmp/c2 | grep -c "already on")
[ $r1 = 0 ] && [ $r2 = 0 ] && [ "$starts" = 1 ] && [ "$already" = 1 ] && [ "$(value 2)" = 1 ] &&
	[ $ms -ge 900 ]
result $? concurrent_on_serialised "rc $r1/$r2, $starts start(s), $already already-on, $ms ms"

# --- the holder dies ----------------------------------------------------------
pid=$(holder c)
kill -9 "$pid" 2>/dev/null && wait_gone "$pid"; gone=$?
v=$(value 2)
st=$(labpower status c 2>&1); src=$?
case "$st" in *"holder gone"*) [ $gone = 0 ] && [ "$v" = 0 ] && [ $src = 1 ] ;; *) false ;; esac
result $? holder_killed_line_off "SIGKILL $pid, level $v, status rc $src: $st"

labpower off c 2>/tmp/err; rc=$?
[ $rc = 0 ] && grep -q "holder was gone" /tmp/err
result $? off_after_holder_death "rc $rc"

# --- refusals -------------------------------------------------------------------
LABPOWER_CONFIG=/tmp/intruder.conf LABPOWER_RUNDIR=/tmp/intruder-run labpower on intruder 2>/dev/null
labpower on c 2>/tmp/err; rc=$?
msg=$(cat /tmp/err)
case "$msg" in *"held by another consumer: 'labpower:intruder'"*)
	[ $rc = 6 ] && [ "$(wc -l < /tmp/err)" = 1 ] && [ -z "$(holder c)" ] ;; *) false ;; esac
result $? foreign_consumer_named "rc $rc: $msg"
LABPOWER_CONFIG=/tmp/intruder.conf LABPOWER_RUNDIR=/tmp/intruder-run labpower off intruder 2>/dev/null

labpower on zebra 2>/tmp/err; rc=$?
[ $rc = 3 ] && grep -q "zebra: on: refused: unknown board" /tmp/err
result $? unknown_board "rc $rc: $(cat /tmp/err)"

labpower on ghost-chip 2>/tmp/err; rc=$?
[ $rc = 6 ] && grep -q "GPIO chip 'no-such-chip' not found" /tmp/err
result $? missing_chip "rc $rc: $(cat /tmp/err)"

labpower on ghost-line 2>/tmp/err; rc=$?
[ $rc = 6 ] && grep -q "GPIO line 'relay-z' not found" /tmp/err
result $? missing_line "rc $rc: $(cat /tmp/err)"

# --- chip by path, line by offset; list -----------------------------------------
labpower on d 2>/tmp/err; rc=$? v1=$(value 3)
labpower off d 2>>/tmp/err; rc2=$? v2=$(value 3)
[ $rc = 0 ] && [ $rc2 = 0 ] && [ "$v1" = 1 ] && [ "$v2" = 0 ]
result $? chip_path_line_offset "/dev/$chip line 3: on rc $rc level $v1, off rc $rc2 level $v2"

out=$(labpower list 2>&1); rc=$?
[ $rc = 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 6 ] &&
	printf '%s\n' "$out" | grep -q "^a	gpio chip lab-relays line relay-a active-low	on (holder pid"
result $? list "rc $rc, $(printf '%s\n' "$out" | wc -l) boards"

labpower off a 2>/dev/null
exit $failed
