#!/bin/bash
# policy.sh - requests/s and latency of outguard-policyd under load
# Usage: bench/policy.sh [BUILDDIR] [SECONDS]
# Builds nothing: BUILDDIR (default ./_build) must hold
# policy/outguard-policyd and bench/bench_policy. For real figures use an
# optimised build without sanitizers, e.g.
#   mkdir /tmp/rel && cd /tmp/rel && /path/to/outguard/configure -q CFLAGS=-O2
#   make -j2 policy/outguard-policyd bench/bench_policy
#   /path/to/outguard/bench/policy.sh /tmp/rel
# In a temporary directory it writes a configuration, creates the store
# (the daemon's own migrations, run once with -t), fills it in one
# transaction with 10,000 holds (sasl:held0000 .. sasl:held9999, scope
# all) and 1,000,000 messages rows of the last six days, starts the
# daemon in the foreground on a unix socket, and runs bench_policy for
# SECONDS (default 10) for each entry of BENCH_CONCURRENCY (default
# "1 8 32 32@30000"), with 3% of the messages from held logins. An entry
# C runs C connections as fast as the daemon answers (its peak rate);
# C@RATE runs C connections that start RATE requests per second in all
# (bench_policy -r): the latency at the issue's target rate. It prints
# the machine and how busy it was before (other processes skew the
# figures on a small machine), each command, each result and where the
# CPU went (daemon threads, generator, other processes). After each run
# it waits (at most 300 s) until the daemon's store thread has written
# its queue, so that a backlog does not spill into the next run, and
# reports how many of the run's END-OF-MESSAGE requests have no row.
# Last it stops the daemon (SIGTERM: it flushes its store queue) and
# checks that the messages table grew by exactly the number of
# END-OF-MESSAGE requests answered. As root the daemon runs as nobody.
# BENCH_STORE=pgsql runs the same against the PostgreSQL back end: a
# throwaway server of tests/pgsql/pg.sh (its own data directory, a free
# loopback port, run as postgres), filled with as many rows by SQL.
# Exit: 0 when every answer was right and no row is missing; 1 when not;
# 77 (skip) when python3, PostgreSQL (with BENCH_STORE=pgsql) or disk
# space is missing; 2 on set-up errors.
set -eu
srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-./_build}
secs=${2:-10}
concs=${BENCH_CONCURRENCY:-1 8 32 32@30000}
store_kind=${BENCH_STORE:-sqlite}
holds=10000
msgs=1000000
policyd="$builddir/policy/outguard-policyd"
bench="$builddir/bench/bench_policy"

die() {
	echo "policy.sh: $*" >&2
	exit 2
}
for prog in "$policyd" "$bench"; do
	[ -x "$prog" ] || die "$prog not built (make policy/outguard-policyd bench/bench_policy)"
done
case $secs in
'' | *[!0-9]*) die "SECONDS must be a number" ;;
esac
case $store_kind in
sqlite | pgsql) ;;
*) die "BENCH_STORE must be sqlite or pgsql" ;;
esac
if [ "$secs" -lt 1 ] || [ "$secs" -gt 3600 ]; then
	die "SECONDS must be 1..3600"
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "policy.sh: python3 is needed to fill the store" >&2
	exit 77
fi
tmpbase=${TMPDIR:-/tmp}
if [ "$(df -Pk "$tmpbase" | awk 'NR == 2 { print $4 }')" -lt 1048576 ]; then
	echo "policy.sh: less than 1 GB free in $tmpbase" >&2
	exit 77
fi

tmp=$(mktemp -d "$tmpbase/og-bench-policy.XXXXXX")
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		sleep 2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
	[ "$store_kind" = pgsql ] && pg_stop
	return 0
}
trap cleanup EXIT
trap 'exit 2' INT TERM HUP

if [ "$(id -u)" -eq 0 ]; then
	run_user=nobody
	chown nobody "$tmp"
else
	run_user=$(id -un)
fi
conf="$tmp/outguard.conf"
db="$tmp/outguard.db"
sock="$tmp/policy.sock"
store="sqlite:$db"
if [ "$store_kind" = pgsql ]; then
	# shellcheck source=tests/pgsql/pg.sh
	. "$srcdir/tests/pgsql/pg.sh"
	pg_start || {
		echo "policy.sh: no PostgreSQL server here" >&2
		exit 77
	}
	store=$PG_SPEC
fi
cat >"$conf" <<EOF
# written by bench/policy.sh
store = $store
policyd_listen = unix:$sock
policyd_pid_file = $tmp/policyd.pid
provider_domains = file:$srcdir/contrib/providers
reply_rules = $srcdir/contrib/replies.rules
status_filter_listen =
run_user = $run_user
myhostname = bench.example
store_spool = $tmp/outguard.spool
EOF

# count - rows in the messages table
count() {
	if [ "$store_kind" = pgsql ]; then
		timeout 120 "$PG_BIN/psql" -X -q -A -t -h 127.0.0.1 \
		    -p "$PG_PORT" -U postgres -d outguard \
		    -c "SELECT count(*) FROM messages"
		return
	fi
	timeout 120 python3 -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute(
    "SELECT count(*) FROM messages").fetchone()[0])' "$db"
}

# settle - wait until the store thread has written its queue: the row
# count stands still for a second (it flushes every 100 ms); at most
# 300 s. Prints the seconds waited.
settle() {
	local prev cur waited=0
	prev=$(count)
	while [ "$waited" -lt 300 ]; do
		sleep 1
		waited=$((waited + 1))
		cur=$(count)
		[ "$cur" = "$prev" ] && break
		prev=$cur
	done
	echo "$waited"
}

# cpu_ticks - "utime+stime" of the daemon, or of one of its threads
cpu_ticks() {
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "$1" 2>/dev/null || echo 0
}

# machine_ticks - "busy total" clock ticks of all CPUs since boot
machine_ticks() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9,
	    $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
}

# threads - "tid ticks" for each of the daemon's threads
threads() {
	local t
	for t in /proc/"$pid"/task/*; do
		[ -r "$t/stat" ] && echo "${t##*/} $(cpu_ticks "$t/stat")"
	done
}

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(uname -sr), $(awk '/^MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo)"
if sed -n 's/^OG_CFLAGS = //p' "$builddir/Makefile" 2>/dev/null |
	grep -q -- '-fsanitize'; then
	echo "warning: $builddir is a sanitizer build: the figures are not representative"
fi
echo "build: $builddir ($(sed -n 's/^CFLAGS = //p' "$builddir/Makefile" 2>/dev/null | head -n 1))"

echo "store: creating the schema ($policyd -t)"
timeout 60 "$policyd" -t -c "$conf" </dev/null >"$tmp/schema.log" 2>&1 ||
	{ cat "$tmp/schema.log" >&2; die "cannot create the store"; }
echo "store: $holds holds, $msgs messages rows (one transaction)"
t0=$(date +%s)
if [ "$store_kind" = pgsql ]; then
	# as many rows as the SQLite fill below, of the same shapes, made
	# by the server itself
	timeout 900 "$PG_BIN/psql" -X -q -A -t -h 127.0.0.1 -p "$PG_PORT" \
	    -U postgres -d outguard -v ON_ERROR_STOP=1 \
	    -v holds="$holds" -v msgs="$msgs" \
	    -f "$srcdir/bench/policy-fill.sql" || die "cannot fill the store"
else
timeout 900 python3 - "$db" "$holds" "$msgs" <<'EOF'
import random
import sqlite3
import sys
import time

db, nholds, nmsgs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(20251123)
now = int(time.time())
con = sqlite3.connect(db, isolation_level=None)
con.execute("PRAGMA synchronous = OFF")
con.execute("BEGIN IMMEDIATE")
con.executemany(
    "INSERT INTO holds (identity, scope, reason, since, until, created_by,"
    " incident) VALUES (?, 'all', ?, ?, NULL, 'bench', ?)",
    (("sasl:held%04d" % i, "bench hold %d" % i,
      now - rnd.randint(60, 30 * 86400), (i % 50) + 1 if i % 3 == 0 else None)
     for i in range(nholds)))
con.execute("INSERT INTO audit (time, actor, action, subject, reason) "
            "SELECT since, 'bench', 'hold', identity, reason FROM holds")
doms = ["gmail.com", "hotmail.com", "outlook.com", "live.com", "yahoo.com",
        "icloud.com", "gmx.de", "web.de"] + [
            "corp%03d.example" % i for i in range(1000)]
span = 6 * 86400


def rows():
    for i in range(nmsgs):
        u = rnd.randrange(5000)
        login = "u%05d@cust%02d.example" % (u, u % 97)
        n = rnd.choice((1, 1, 1, 1, 1, 1, 1, 2, 2, 3))
        summary = " ".join("%s=1" % d for d in rnd.sample(doms, n))
        yield ("bench.example", "%010X" % (0x1000000000 + i),
               now - span + i * (span - 600) // nmsgs, login, "PLAIN",
               "198.51.%d.%d" % (u // 250, u % 250 + 1),
               "dyn-%d.isp.example.net" % u, login, n,
               rnd.randint(1500, 200000), summary)


con.executemany(
    "INSERT INTO messages (host, queue_id, time, sasl_username, sasl_method,"
    " client_address, client_name, sender, recipient_count, size,"
    " rcpt_summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows())
con.execute("UPDATE meta SET value = value + 1 "
            "WHERE key = 'holds_generation'")
con.execute("COMMIT")
con.close()
EOF
fi
[ "$(id -u)" -eq 0 ] && chown -R nobody "$tmp"
held="$tmp/held.txt"
awk -v n="$holds" 'BEGIN { for (i = 0; i < n; i++) printf "held%04d\n", i }' >"$held"
before=$(count)
echo "store: $store_kind, filled in $(($(date +%s) - t0)) s, $before messages rows"

echo "command: $policyd -d -c $conf"
"$policyd" -d -c "$conf" 2>"$tmp/policyd.log" &
pid=$!
i=0
while [ ! -S "$sock" ] || ! grep -q 'holds in force' "$tmp/policyd.log"; do
	i=$((i + 1))
	if [ "$i" -gt 300 ] || ! kill -0 "$pid" 2>/dev/null; then
		cat "$tmp/policyd.log" >&2
		die "the daemon did not start"
	fi
	sleep 0.1
done
sed -n '1,3p' "$tmp/policyd.log"

# field - the value of key $1 in the RESULT line $res
field() {
	echo "$res" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

hz=$(getconf CLK_TCK)
ncpu=$(nproc)
m0=$(machine_ticks)
sleep 2
m1=$(machine_ticks)
other=$(echo "$m0 $m1" | awk -v n="$ncpu" '{ printf "%.0f", 100 * n * ($3 - $1) / ($4 - $2) }')
echo "machine load before the runs: ${other}% of one core busy with other processes"
if [ "$other" -gt 20 ]; then
	echo "warning: the machine is not idle: the figures will be low and noisy"
fi
eom=0
eom_sent=0
errors=0
table=""
for run in $concs; do
	case $run in
	*@*) c=${run%@*} rate=${run#*@} ;;
	*) c=$run rate= ;;
	esac
	case $c$rate in
	'' | *[!0-9]*) die "BENCH_CONCURRENCY: expected C or C@RATE, got $run" ;;
	esac
	cmd=("$bench" -s "$sock" -c "$c" -d "$secs" -H "$held" -S "$c")
	[ -n "$rate" ] && cmd+=(-r "$rate")
	echo
	echo "command: ${cmd[*]}"
	rows0=$(count)
	threads >"$tmp/cpu.before"
	m0=$(machine_ticks)
	out=$(timeout $((secs + 120)) "${cmd[@]}") || true
	m1=$(machine_ticks)
	threads >"$tmp/cpu.after"
	echo "$out" | grep -v '^RESULT '
	res=$(echo "$out" | sed -n 's/^RESULT //p')
	if [ -z "$res" ]; then
		echo "no result: the generator failed"
		errors=$((errors + 1))
		continue
	fi
	cpu=$(awk -v hz="$hz" -v s="$(field seconds)" -v main="$pid" \
	    -v gen="$(field cpu_s)" -v m="$m0 $m1" -v n="$ncpu" '
	    NR == FNR { b[$1] = $2; next }
	    { d = ($2 - b[$1]) / hz / s; all += d
	      printf "daemon cpu    thread %s (%s): %.2f cores\n", $1,
	          $1 == main ? "event loop" : "store", d }
	    END { split(m, t, " "); busy = n * (t[3] - t[1]) / (t[4] - t[2])
	      printf "machine cpu   %.2f of %d cores busy: daemon %.2f, " \
	          "generator %.2f, other processes %.2f\n", busy, n, all,
	          gen / s, busy - all - gen / s
	      printf "OTHER %.2f\n", busy - all - gen / s }' \
	    "$tmp/cpu.before" "$tmp/cpu.after")
	echo "$cpu" | grep -v '^OTHER '
	other=$(echo "$cpu" | sed -n 's/^OTHER //p')
	waited=$(settle)
	grew=$(($(count) - rows0))
	echo "store         +$grew rows for $(field eom) END-OF-MESSAGE answered" \
		"($(($(field eom) - grew)) missing); queue drained within" \
		"${waited} s after the run"
	eom=$((eom + $(field eom)))
	eom_sent=$((eom_sent + $(field eom_sent)))
	errors=$((errors + $(field errors)))
	table="$table$(printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' \
		"$c" "${rate:--}" "$(field rps)" "$(field p50_us)" \
		"$(field p90_us)" "$(field p99_us)" "$(field max_us)" \
		"$(field hold)/$(field dunno)" "$(field late)" \
		"$(($(field eom) - grew))" "$other" "$(field errors)")
"
done

echo
echo "stopping the daemon (SIGTERM)"
kill -TERM "$pid"
i=0
while kill -0 "$pid" 2>/dev/null; do
	i=$((i + 1))
	if [ "$i" -gt 1200 ]; then
		echo "the daemon did not stop within 120 s: killed"
		kill -KILL "$pid" 2>/dev/null || true
		errors=$((errors + 1))
		break
	fi
	sleep 0.1
done
wait "$pid" 2>/dev/null || true
pid=
grep -E 'stopping|not recorded|not written|warning' "$tmp/policyd.log" |
	grep -v 'on hold since' | tail -n 5 || true
after=$(count)
grew=$((after - before))
echo "messages rows: $before before, $after after: grew by $grew;" \
	"END-OF-MESSAGE answered $eom (sent $eom_sent): difference $((eom - grew))"
[ "$grew" -eq "$eom" ] || errors=$((errors + 1))

echo
echo "| concurrency | rate asked | requests/s | p50 us | p90 us | p99 us | max us | HOLD/DUNNO | late | rows missing | other cpu | errors |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s' "$table"
if [ "$errors" -gt 0 ]; then
	echo "FAILED: $errors errors or missing rows"
	exit 1
fi
echo "OK"
