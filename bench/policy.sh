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
# SECONDS (default 10) at each concurrency of BENCH_CONCURRENCY (default
# "1 8 32"), with 3% of the messages from held logins. It prints the
# machine, each command, each result and the daemon's CPU time per
# thread, stops the daemon (SIGTERM: it flushes its store queue), and
# checks that the messages table grew by exactly the number of
# END-OF-MESSAGE requests answered. As root the daemon runs as nobody.
# Exit: 0 when every answer was right and no row is missing; 1 when not;
# 77 (skip) when python3 or disk space is missing; 2 on set-up errors.
set -eu
srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-./_build}
secs=${2:-10}
concs=${BENCH_CONCURRENCY:-1 8 32}
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
cat >"$conf" <<EOF
# written by bench/policy.sh
store = sqlite:$db
policyd_listen = unix:$sock
policyd_pid_file = $tmp/policyd.pid
provider_domains = file:$srcdir/contrib/providers
run_user = $run_user
myhostname = bench.example
EOF

# count - rows in the messages table
count() {
	timeout 120 python3 -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute(
    "SELECT count(*) FROM messages").fetchone()[0])' "$db"
}

# cpu_ticks - "utime+stime" of the daemon, or of one of its threads
cpu_ticks() {
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "$1" 2>/dev/null || echo 0
}

# threads - "tid ticks" for each of the daemon's threads
threads() {
	local t
	for t in /proc/"$pid"/task/*; do
		[ -r "$t/stat" ] && echo "${t##*/} $(cpu_ticks "$t/stat")"
	done
}

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(uname -sr), $(awk '/^MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo)"
if grep -q -- '-fsanitize' "$builddir/Makefile" 2>/dev/null; then
	echo "warning: $builddir is a sanitizer build: the figures are not representative"
fi
echo "build: $builddir ($(sed -n 's/^CFLAGS = //p' "$builddir/Makefile" 2>/dev/null | head -n 1))"

echo "store: creating the schema ($policyd -t)"
timeout 60 "$policyd" -t -c "$conf" </dev/null >"$tmp/schema.log" 2>&1 ||
	{ cat "$tmp/schema.log" >&2; die "cannot create the store"; }
echo "store: $holds holds, $msgs messages rows (one transaction)"
t0=$(date +%s)
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
[ "$(id -u)" -eq 0 ] && chown -R nobody "$tmp"
held="$tmp/held.txt"
awk -v n="$holds" 'BEGIN { for (i = 0; i < n; i++) printf "held%04d\n", i }' >"$held"
before=$(count)
echo "store: filled in $(($(date +%s) - t0)) s, $(du -m "$db" | cut -f1) MB, $before messages rows"

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
eom=0
eom_sent=0
errors=0
table=""
for c in $concs; do
	cmd=("$bench" -s "$sock" -c "$c" -d "$secs" -H "$held" -S "$c")
	echo
	echo "command: ${cmd[*]}"
	threads >"$tmp/cpu.before"
	out=$(timeout $((secs + 120)) "${cmd[@]}") || true
	threads >"$tmp/cpu.after"
	echo "$out" | grep -v '^RESULT '
	res=$(echo "$out" | sed -n 's/^RESULT //p')
	if [ -z "$res" ]; then
		echo "no result: the generator failed"
		errors=$((errors + 1))
		continue
	fi
	secs_run=$(field seconds)
	awk -v hz="$hz" -v s="$secs_run" 'NR == FNR { b[$1] = $2; next }
	    { printf "daemon cpu    thread %s: %.0f%% of one core\n", $1,
	      100 * ($2 - b[$1]) / hz / s }' "$tmp/cpu.before" "$tmp/cpu.after"
	eom=$((eom + $(field eom)))
	eom_sent=$((eom_sent + $(field eom_sent)))
	errors=$((errors + $(field errors)))
	table="$table$(printf '| %s | %s | %s | %s | %s | %s | %s | %s |' "$c" \
		"$(field rps)" "$(field p50_us)" "$(field p90_us)" \
		"$(field p99_us)" "$(field max_us)" "$(field hold)/$(field dunno)" \
		"$(field errors)")
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
echo "| concurrency | requests/s | p50 us | p90 us | p99 us | max us | HOLD/DUNNO | errors |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s' "$table"
if [ "$errors" -gt 0 ]; then
	echo "FAILED: $errors errors or missing rows"
	exit 1
fi
echo "OK"
