#!/bin/bash
# milter-lib.sh - what bench/milter.sh and bench/dkim.sh share (sourced)
#
# bench_tmp NAME: a temporary directory in $tmp (mode 0755, for
#	run_user), removed at exit with every process start() started;
#	run_user (nobody as root, else the caller).
# start LOG SOCKET CMD...: CMD in the background, stderr to LOG, until
#	SOCKET (a unix socket path or inet:PORT) accepts; its pid last in
#	$pids. The caller's die() reports a start that failed.
# machine_report BUILDDIR: the machine, its load and the build.
# machine_busy_before: how busy the machine was over 2 s.
# field KEY, count NAME: a value and a count of bench_milter's result
#	line in $res. cpu_ticks PID, machine_ticks: /proc/stat clock ticks.

bench_tmp() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/og-bench-$1.XXXXXX")
	pids=
	trap bench_cleanup EXIT
	trap 'exit 2' INT TERM HUP
	chmod 0755 "$tmp" # run_user reads the configurations and tables
	# shellcheck disable=SC2034 # the sourcing scripts use it
	if [ "$(id -u)" -eq 0 ]; then
		run_user=nobody
	else
		run_user=$(id -un)
	fi
}

bench_cleanup() {
	local p
	for p in $pids; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in $pids; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}

start() {
	local log=$1 sock=$2 i=0
	shift 2
	echo "command: $*"
	"$@" 2>"$log" &
	pids="$pids $!"
	until case $sock in
	inet:*) /usr/bin/python3 -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
		"${sock#inet:}" 2>/dev/null ;;
	*) [ -S "$sock" ] ;;
	esac; do
		i=$((i + 1))
		if [ "$i" -gt 100 ] || ! kill -0 "$!" 2>/dev/null; then
			cat "$log" >&2
			die "$1 did not start"
		fi
		sleep 0.1
	done
}

machine_report() {
	echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(uname -sr)"
	echo "load average before: $(cut -d ' ' -f 1-3 /proc/loadavg)"
	if sed -n 's/^OG_CFLAGS = //p' "$1/Makefile" 2>/dev/null |
		grep -q -- '-fsanitize'; then
		echo "warning: $1 is a sanitizer build: the figures are not representative"
	fi
	echo "build: $1 ($(sed -n 's/^CFLAGS = //p' "$1/Makefile" 2>/dev/null | head -n 1))"
}

machine_busy_before() {
	local m0 m1
	m0=$(machine_ticks)
	sleep 2
	m1=$(machine_ticks)
	echo "machine busy before the runs: $(echo "$m0 $m1" | awk -v n="$(nproc)" '{ printf "%.2f", n * ($3 - $1) / ($4 - $2) }') of $(nproc) cores"
}

# shellcheck disable=SC2154 # res: the sourcing script's result line
# field - the value of key $1 in the result line $res
field() {
	echo "$res" | tr ' ' '\n' | sed -n "s/^$1=//p"
}
# count - the count of result or change $1 in the result line $res (0)
# shellcheck disable=SC2154
count() {
	echo "$res" | tr ' ,=' '\n\n\n' | sed -n "s/^$1://p" | head -n 1 |
		grep . || echo 0
}
# cpu_ticks - utime+stime of process $1
cpu_ticks() {
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
# machine_ticks - "busy total" clock ticks of all CPUs since boot
machine_ticks() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9,
	    $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
}
