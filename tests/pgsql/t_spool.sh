#!/bin/bash
# t_spool.sh - a PostgreSQL store outage under a running outguard-policyd
#
# DESCRIPTION: starts a throwaway PostgreSQL server (pg.sh) and runs
#	"outguard-queue-report store check" and "store migrate" on the
#	empty database and on the migrated one. Then starts the real
#	daemon (unix socket, run_user nobody, its spool in the temp dir),
#	holds sasl:held through the CLI and sends it real policy requests
#	(RCPT, then END-OF-MESSAGE with a queue id, one connection per
#	message, as Postfix's smtpd would) from a small Python client.
#	The server is stopped (pg_ctl stop -m fast): every request still
#	gets its answer (HOLD for the held login, DUNNO for the others),
#	the spool grows, the daemon logs the outage once, not per request,
#	and "store check" fails with a clear message. Started again, the
#	spooled rows arrive and every message is in the store, and the
#	daemon logs the return. Then with a tiny store_spool_max: the rows
#	in the store plus the drop count the daemon reports (in its log and
#	as an audit row) equal the messages sent. Then store_failure =
#	tempfail: during the outage the connection is closed without an
#	answer; after it, answers again. Then the daemon started while the
#	server is down: it starts, answers from no holds, spools; once the
#	server is back it loads the holds and writes the rows by itself.
#	TAP; SKIP without PostgreSQL,
#	python3 or the built programs. Every wait has a time limit.
# Exercises: lib/spool.c, policy/worker.c, policy/policyd.c
#	(og_policyd_answer), policy/qr_store.c, lib/store_pgsql.c.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
policyd="$top_builddir/policy/outguard-policyd"
report="$top_builddir/policy/outguard-queue-report"
py=/usr/bin/python3

for b in "$policyd" "$report"; do
	if [ ! -x "$b" ]; then
		echo "1..0 # SKIP $b is not built"
		exit 0
	fi
done
if [ ! -x "$py" ]; then
	echo "1..0 # SKIP $py missing"
	exit 0
fi
# shellcheck source=tests/pgsql/pg.sh
. "$top_srcdir/tests/pgsql/pg.sh"

tmp=$(mktemp -d)
chmod 0777 "$tmp" # the daemon drops to nobody when run as root
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	pg_stop
	rm -rf "$tmp"
}
trap cleanup EXIT

pg_start_tap "$tmp"

# shellcheck source=tests/tapstatus.sh
. "$top_srcdir/tests/tapstatus.sh"
show() { # file: into the TAP output as comments
	sed 's/^/# /' "$1" | tail -n 30
}

# pg_down / pg_up - the outage: a clean stop (no commit lost), a start
pg_down() {
	pg_as_user "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -s -m fast -w -t 30 \
	    stop >/dev/null 2>&1
}
pg_up() {
	pg_ctl_start
}

# wait_for - poll a command until it succeeds, 60 s at most
wait_for() {
	local i
	for i in $(seq 1 600); do
		"$@" && return 0
		[ "$i" -lt 600 ] && sleep 0.1
	done
	return 1
}
rows() { # LIKE pattern: message rows whose queue id matches
	pg_psql -c "SELECT count(*) FROM messages WHERE queue_id LIKE '$1'"
}
rows_are() { # pattern, count
	[ "$(rows "$1" 2>/dev/null)" = "$2" ]
}
log_has() { # count, pattern: at least count log lines match
	[ "$(grep -c -- "$2" "$tmp/log")" -ge "$1" ]
}

conf() { # extra settings on stdin
	cat >"$tmp/outguard.conf" <<CONF
store = $PG_SPEC
policyd_listen = unix:$tmp/policy.sock
policyd_pid_file = $tmp/policyd.pid
status_filter_listen =
provider_domains = file:$top_srcdir/contrib/providers
reply_rules = $top_srcdir/contrib/replies.rules
myhostname = mta1.example.net
run_user = nobody
store_spool = $tmp/spool
CONF
	cat >>"$tmp/outguard.conf"
}
conf </dev/null

# ---- store check and store migrate, on the empty database
"$report" -c "$tmp/outguard.conf" store check >"$tmp/c1.out" 2>&1
rc=$?
[ "$rc" = 65 ] && grep -q '^schema version: 0 ' "$tmp/c1.out" &&
    grep -q '^migrations pending: 4 ' "$tmp/c1.out" &&
    grep -q '^back end: pgsql$' "$tmp/c1.out"
ok "store check on an empty database: version 0, 4 pending, exit 65" $?
[ "$rc" = 65 ] || show "$tmp/c1.out"
"$report" -c "$tmp/outguard.conf" store migrate >"$tmp/m1.out" 2>&1
rc=$?
[ "$rc" = 0 ] && grep -q '^schema version before: 0$' "$tmp/m1.out" &&
    grep -q '^schema version after: 4$' "$tmp/m1.out"
ok "store migrate: from 0 to 4, exit 0" $?
[ "$rc" = 0 ] || show "$tmp/m1.out"
"$report" -c "$tmp/outguard.conf" store migrate >"$tmp/m2.out" 2>&1
rc=$?
[ "$rc" = 0 ] && grep -q '^schema version after: 4 (up to date)$' \
    "$tmp/m2.out"
ok "store migrate again: up to date, exit 0" $?
"$report" -c "$tmp/outguard.conf" store check >"$tmp/c2.out" 2>&1
rc=$?
[ "$rc" = 0 ] && grep -q '^migrations pending: none$' "$tmp/c2.out" &&
    grep -q '^rows: messages 0, holds 0, audit 0, blocks 0, incidents 0$' \
        "$tmp/c2.out" &&
    grep -q "^spool: $tmp/spool: no file" "$tmp/c2.out"
ok "store check on the migrated database: none pending, row counts, exit 0" $?
[ "$rc" = 0 ] || show "$tmp/c2.out"

"$report" -c "$tmp/outguard.conf" hold sasl:held --reason "outage test" \
    --no-queue >"$tmp/hold.out" 2>&1
ok "a hold on sasl:held" $?

# ---- the client: one connection per message, RCPT then END-OF-MESSAGE
cat >"$tmp/client.py" <<'PY'
import socket, sys
path, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])

def ask(s, attrs):
    req = "request=smtpd_access_policy\n" + "".join(
        "%s=%s\n" % kv for kv in attrs) + "\n"
    s.sendall(req.encode())
    buf = b""
    while not buf.endswith(b"\n\n"):
        chunk = s.recv(4096)
        if not chunk:
            return "CLOSED"
        buf += chunk
    return buf.decode().split("\n")[0].split(" ")[0].replace("action=", "")

for i in range(count):
    login = "held" if i % 5 == 0 else "user%d" % i
    common = [("protocol_name", "ESMTP"), ("client_address", "192.0.2.7"),
              ("client_name", "client.example"),
              ("sender", "%s@example.net" % login),
              ("instance", "%s.%d" % (prefix, i)),
              ("sasl_method", "PLAIN"), ("sasl_username", login)]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(path)
    try:
        a = ask(s, [("protocol_state", "RCPT"),
                    ("recipient", "r%d@example.com" % i),
                    ("queue_id", "")] + common)
        b = "CLOSED" if a == "CLOSED" else ask(
            s, [("protocol_state", "END-OF-MESSAGE"), ("recipient", ""),
                ("queue_id", "%s%05d" % (prefix, i)),
                ("recipient_count", "1"), ("size", "1234")] + common)
    except (socket.timeout, ConnectionError):
        a = b = "CLOSED"
    s.close()
    print("%s%05d %s %s %s" % (prefix, i, login, a, b))
PY
send() { # prefix count: answers into $tmp/PREFIX.ans
	"$py" "$tmp/client.py" "$tmp/policy.sock" "$1" "$2" >"$tmp/$1.ans" \
	    2>&1
}
answers_ok() { # prefix count: HOLD for held, DUNNO for the rest
	[ "$(grep -c ' held HOLD HOLD$' "$tmp/$1.ans")" = $(($2 / 5)) ] &&
	    [ "$(grep -c ' user[0-9]* DUNNO DUNNO$' "$tmp/$1.ans")" = \
	        $(($2 - $2 / 5)) ]
}

start_daemon() {
	rm -f "$tmp/policy.sock"
	: >"$tmp/log"
	"$policyd" -d -c "$tmp/outguard.conf" 2>"$tmp/log" &
	pid=$!
	wait_for log_has 1 'starting:' && [ -S "$tmp/policy.sock" ]
}
stop_daemon() {
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
}

# ---- the outage, with the daemon running
start_daemon
ok "outguard-policyd starts on PostgreSQL with a spool" $?
send A 10
answers_ok A 10
ok "store up: 2 HOLD and 8 DUNNO answers" $?
wait_for rows_are 'A%' 10
ok "store up: the 10 message rows are in the store" $?

pg_down
ok "PostgreSQL stopped" $?
send B 30
answers_ok B 30
ok "store down: every request answered, 6 HOLD and 24 DUNNO" $?
[ "$(grep -c 'CLOSED' "$tmp/B.ans")" = 0 ]
ok "store down: no connection closed without an answer (dunno)" $?
wait_for log_has 1 'store: unavailable since .*spooling to '"$tmp/spool"
rc=$?
ok "the outage is logged when it starts" $rc
[ "$rc" = 0 ] || show "$tmp/log"
spool_size() { stat -c %s "$tmp/spool" 2>/dev/null || echo 0; }
wait_for test "$(spool_size)" -gt 128
ok "the spool file grows ($(spool_size) bytes)" $?
send B2 20
answers_ok B2 20
ok "store down: 20 more requests answered" $?
sleep 1 # the store thread's next ticks, for the log check below
# 50 requests during the outage: one outage line, no warning per request
# (the HOLD decisions are logged by design), and store warnings from the
# daemon's other store user (the watcher) once a minute, not per second
warnings=$(grep 'warning:' "$tmp/log" | grep -c "connection lost")
[ "$(grep -c 'store: unavailable since' "$tmp/log")" = 1 ] &&
    ! grep 'warning:' "$tmp/log" | grep -q 'B2\?[0-9]\{5\}' &&
    [ "$warnings" -lt 50 ]
rc=$?
ok "the outage is logged once, not per request ($warnings store warnings)" $rc
[ "$rc" = 0 ] || show "$tmp/log"
"$report" -c "$tmp/outguard.conf" store check >"$tmp/c3.out" 2>&1
rc=$?
[ "$rc" = 69 ] && grep -q 'store unreachable' "$tmp/c3.out"
ok "store check with PostgreSQL down: exit 69, a clear message" $?
[ "$rc" = 69 ] || show "$tmp/c3.out"

pg_up
ok "PostgreSQL started again" $?
wait_for log_has 1 'store: back after [0-9]*m[0-9]*s; replayed [0-9]* rows'
ok "the daemon logs the return" $?
wait_for rows_are 'B%' 50
ok "the spooled rows arrived: 50 of 50 (got $(rows 'B%'))" $?
[ "$(rows '%')" = 60 ]
ok "every message once: 60 rows in the store (got $(rows '%'))" $?
grep -q 'store: back after .*dropped 0' "$tmp/log"
ok "nothing dropped" $?
"$report" -c "$tmp/outguard.conf" store check >"$tmp/c4.out" 2>&1
grep -q "^spool: $tmp/spool: 0 rows waiting, 0 dropped, 128 bytes$" \
    "$tmp/c4.out" && grep -q '^rows: messages 60, ' "$tmp/c4.out"
rc=$?
ok "store check: the spool is empty again, 60 message rows" $rc
[ "$rc" = 0 ] || show "$tmp/c4.out"
send A2 5
answers_ok A2 5 && wait_for rows_are 'A2%' 5
ok "after the outage, rows go straight to the store again" $?
stop_daemon

# ---- a tiny spool: what does not fit is counted and reported
conf <<CONF
store_spool_max = 4096
CONF
rm -f "$tmp/spool"
start_daemon
ok "outguard-policyd starts with store_spool_max = 4096" $?
pg_down
send C 60
answers_ok C 60
ok "store down, tiny spool: every request answered" $?
wait_for log_has 1 'store: unavailable since'
pg_up
wait_for log_has 1 'store: back after'
ok "the store is back" $?
dropped=$(sed -n 's/.*store: back after .*, dropped \([0-9]*\).*/\1/p' \
    "$tmp/log" | tail -n 1)
stored=$(rows 'C%')
[ -n "$dropped" ] && [ "$dropped" -gt 0 ] &&
    [ $((stored + dropped)) = 60 ]
ok "rows stored ($stored) + rows reported dropped (${dropped:-?}) = 60" $?
detail=$(pg_psql -c "SELECT detail FROM audit WHERE action = 'spool-drop'")
[ "$detail" = "spool: $dropped rows dropped during the outage from mta1.example.net" ]
ok "the drop count is an audit row in the store: $detail" $?
"$report" -c "$tmp/outguard.conf" store check >"$tmp/c5.out" 2>&1
grep -q "^spool drop recorded .*: spool: $dropped rows dropped" "$tmp/c5.out"
ok "store check shows the recorded drop" $?
stop_daemon

# ---- store_failure = tempfail: no answer while the store is down
conf <<CONF
store_failure = tempfail
CONF
start_daemon
ok "outguard-policyd starts with store_failure = tempfail" $?
send D 5
answers_ok D 5
ok "tempfail, store up: answers" $?
pg_down
wait_for log_has 1 'store: unavailable since'
ok "tempfail: the outage is noticed without traffic" $?
send E 10
[ "$(grep -c ' CLOSED CLOSED$' "$tmp/E.ans")" = 10 ]
rc=$?
ok "tempfail, store down: every connection closed without an answer" $rc
[ "$rc" = 0 ] || show "$tmp/E.ans"
pg_up
wait_for log_has 1 'store: back after'
send F 5
answers_ok F 5
ok "tempfail, store back: answers again" $?
stop_daemon

# ---- started during an outage: no hold known until the store answers
conf </dev/null
pg_down
start_daemon
ok "outguard-policyd starts while PostgreSQL is down" $?
log_has 1 "store: $PG_SPEC: connect: .*Connection refused.*: starting without it: no hold is known"
rc=$?
ok "it says it starts without the store, and why" $rc
[ "$rc" = 0 ] || show "$tmp/log"
send G 10
[ "$(grep -c ' DUNNO DUNNO$' "$tmp/G.ans")" = 10 ]
ok "store down since start: every request answered DUNNO (no hold known)" $?
wait_for log_has 1 'store: unavailable since'
ok "the outage is logged" $?
pg_up
wait_for log_has 1 'store: back after'
rc=$?
ok "the store answers: the daemon notices by itself" $rc
wait_for log_has 1 'holds: generation [0-9]*, [1-9][0-9]* holds in force'
ok "the holds are loaded once it answers" $?
wait_for rows_are 'G%' 10
ok "the rows made while it was down arrived: 10 of 10" $?
send H 5
answers_ok H 5
ok "then the held login gets HOLD again" $?
[ "$rc" = 0 ] || show "$tmp/log"
stop_daemon

# ---- spawn(8) processes (-s) share the spool with the daemon
# the client of a spawn process: requests on its standard input, as
# Postfix's spawn(8) connects them; with a flag file, it keeps the
# process (and its spool) open until the file exists
cat >"$tmp/spawn.py" <<'PY'
import os, subprocess, sys, time
policyd, conf, prefix, count, flag = sys.argv[1:6]
log = open(os.path.join(os.path.dirname(conf), "spawn.log"), "ab")
p = subprocess.Popen([policyd, "-s", "-c", conf], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=log)

def ask(attrs):
    req = "request=smtpd_access_policy\n" + "".join(
        "%s=%s\n" % kv for kv in attrs) + "\n"
    p.stdin.write(req.encode())
    p.stdin.flush()
    lines = []
    while True:
        l = p.stdout.readline()
        if not l or l == b"\n":
            break
        lines.append(l.decode())
    return lines[0].split()[0].replace("action=", "") if lines else "CLOSED"

for i in range(int(count)):
    login = "held" if i % 5 == 0 else "user%d" % i
    common = [("protocol_name", "ESMTP"), ("client_address", "192.0.2.8"),
              ("client_name", "spawn.example"),
              ("sender", "%s@example.net" % login),
              ("instance", "%s.%d" % (prefix, i)),
              ("sasl_method", "PLAIN"), ("sasl_username", login)]
    a = ask([("protocol_state", "RCPT"), ("recipient", "s%d@example.com" % i),
             ("queue_id", "")] + common)
    b = ask([("protocol_state", "END-OF-MESSAGE"), ("recipient", ""),
             ("queue_id", "%s%05d" % (prefix, i)), ("recipient_count", "1"),
             ("size", "999")] + common)
    print("%s%05d %s %s %s" % (prefix, i, login, a, b), flush=True)
if flag != "-":
    print("lingering", flush=True)
    for _ in range(600):
        if os.path.exists(flag):
            break
        time.sleep(0.1)
p.stdin.close()
sys.exit(p.wait())
PY
spawn() { # prefix count flag: answers into $tmp/PREFIX.ans
	"$py" "$tmp/spawn.py" "$policyd" "$tmp/outguard.conf" "$1" "$2" "$3" \
	    >"$tmp/$1.ans" 2>&1
}
dunno_all() { # prefix count: no hold is known during the outage
	[ "$(grep -c ' DUNNO DUNNO$' "$tmp/$1.ans")" = "$2" ]
}
start_daemon
ok "outguard-policyd starts for the spawn(8) case" $?
pg_down
wait_for log_has 1 'store: unavailable since'
ok "the daemon notices the outage" $?
: >"$tmp/spawn.log"
# three spawn processes started during the outage, and the daemon's own
# requests, all at once; the third stays open
spawn S1 20 - &
s1=$!
spawn S2 20 - &
s2=$!
spawn S3 20 "$tmp/linger" &
s3=$!
send T 10
wait "$s1" && wait "$s2"
ok "two spawn processes started during the outage answered and exited" $?
dunno_all S1 20 && dunno_all S2 20 && answers_ok T 10
ok "spawn processes answer DUNNO (no hold known), the daemon from its holds" $?
wait_for grep -q lingering "$tmp/S3.ans"
ok "the third spawn process is still open, with the spool" $?
# the daemon restarted while a spawn process has the spool open: it
# starts (a spool locked for a process's life kept it out)
stop_daemon
start_daemon && sleep 1 && kill -0 "$pid" 2>/dev/null &&
    ! grep -q 'in use' "$tmp/log"
rc=$?
ok "the daemon restarts while a spawn process has the spool open" $rc
[ "$rc" = 0 ] || show "$tmp/log"
touch "$tmp/linger"
wait "$s3"
ok "the third spawn process exits at the end of its input" $?
# the spawn processes log to syslog: the spool file tells
spooled=$(grep -ao '[0-9]*:S[123][0-9]\{5\} ' "$tmp/spool" | sort -u | wc -l)
[ "$spooled" = 60 ]
ok "the spawn processes spooled their 60 rows to the shared spool (got $spooled)" $?
pg_up
wait_for rows_are 'S%' 60
ok "the spawn processes' rows arrived through the daemon's replay: 60 of 60 (got $(rows 'S%'))" $?
wait_for rows_are 'T%' 10
ok "and the daemon's own: 10 of 10" $?
! grep -q 'dropped [1-9]' "$tmp/log" &&
    ! grep -q 'dropped [1-9]' "$tmp/spawn.log"
ok "none dropped" $?
stop_daemon

echo "1..$n"
exit $fail
