#!/bin/bash
# t_fleet.sh - two MTAs, one PostgreSQL store (issue 10, fleet mode)
#
# DESCRIPTION: starts a throwaway PostgreSQL server (tests/pgsql/pg.sh)
#	and two sandbox Postfix instances (sb_use A, sb_use B), each with
#	its own myhostname (mta-a, mta-b.outguard.test), its own
#	outguard-policyd (daemon with watcher, the status filter as a
#	spawn(8) service, the "outlook" transport with the reply filter,
#	as t_block.sh sets them up) and its own spool file, both on the
#	one store. On A, the block scenario, smaller: three users send to
#	hotmail.com and example.net, mallory sends 40 to hotmail.com and
#	the fake Outlook.com MX starts answering S3150 part-way: A's
#	watcher holds mallory. A probe times how long after the hold row is
#	committed B's daemon answers HOLD for mallory (printed, not
#	asserted); 2 s after the hold was made, mallory's next message on
#	B, to a domain of no provider, lands in B's hold queue. The reports
#	on B show the fleet: the incident and the blocks name host A, the
#	summary is B's, mallory's mail is recorded under both hosts. Then
#	PostgreSQL is stopped (pg_ctl stop -m fast, the data kept) while
#	mail flows on both: the innocent users' mail reaches both sinks,
#	mallory's new message on B is held, both spool files grow, each
#	daemon logs the outage once; started again, the spooled rows arrive
#	(every queue id of the outage is in the store under its host) and
#	on each host the messages accepted = rows in the store + rows the
#	daemon reports dropped. TAP; SKIP without the sandbox or PostgreSQL.
# Exercises: lib/store_pgsql.c (shared store, hold generation, host
#	column), policy/worker.c and lib/spool.c (outage, spool, replay),
#	policy/watcher.c, policy/policyd.c, policy/qr_report.c.

set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
# shellcheck source=tests/postfix/sandbox.sh
. "$top_srcdir/tests/postfix/sandbox.sh"
# shellcheck source=tests/postfix/tap.sh
. "$top_srcdir/tests/postfix/tap.sh"
# shellcheck source=tests/postfix/outguard.sh
. "$top_srcdir/tests/postfix/outguard.sh"
# shellcheck source=tests/pgsql/pg.sh
. "$top_srcdir/tests/pgsql/pg.sh"

if reason=$(sb_missing); then
	echo "1..0 # SKIP $reason"
	exit 0
fi
export SB_NO_TRAP=1
cleanup() {
	sb_each 'og_policyd_kill; sb_stop'
	pg_stop
	rm -f "${pgerr:-}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
pgerr=$(mktemp)
pg_start 2>"$pgerr"
rc=$?
if [ "$rc" = 77 ]; then
	echo "1..0 # SKIP $(head -n 1 "$pgerr")"
	exit 0
elif [ "$rc" != 0 ]; then
	echo "1..1"
	echo "not ok 1 - PostgreSQL server starts"
	sed 's/^/# /' "$pgerr"
	exit 1
fi

echo "1..24"
MALLORY=sasl:mallory@outguard.test
HOST_A=mta-a.outguard.test
HOST_B=mta-b.outguard.test

# pg_halt - stop the server, keeping its data (pg_ctl_start starts it
# again): -m fast cuts the connections but loses no commit
pg_halt() {
	pg_as_user "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -s -m fast -w -t 30 \
	    stop >/dev/null 2>&1
}

# instance NAME HOSTNAME - a sandbox with its own daemon on the shared
# store; users user1..3 and mallory
instance() {
	local i
	sb_use "$1" || return 1
	SB_HOSTNAME=$2
	sb_setup && og_setup || return 1
	og_conf_set store "$PG_SPEC"
	og_conf_set store_spool "$SB/og/outguard.spool"
	og_block_setup || return 1
	for i in 1 2 3; do sb_add_user "user$i" "pw$i" || return 1; done
	sb_add_user mallory pw-m || return 1
	sb_set_mx_mode accept
	sb_start || return 1
	og_policyd_start || { cat "$SB/og/policyd.log" >&2; return 1; }
}
instance A "$HOST_A" || exit 1
instance B "$HOST_B" || exit 1

# send TAG USER TO COUNT - one SMTP session on the current instance's
# submission port; "n queue-id" lines in $SB/og/sent.TAG
send() {
	python3 "$top_srcdir/tests/postfix/send.py" --port "$SB_SUBMISSION_PORT" \
	    --user "$2@outguard.test" --password "$(pw "$2")" \
	    --from "$2@outguard.test" --to "$3" --count "$4" --token "$1" \
	    >"$SB/og/sent.$1" 2>&1
}
pw() { [ "$1" = mallory ] && echo pw-m || echo "pw${1#user}"; }
qids() { grep -h -o ' [0-9A-Za-z]\{6,\}$' "$@" | tr -d ' '; }
mx_n() { sb_mx_messages | wc -l; }
sink_n() { sb_sink_grep "Subject: $1-" | wc -l; }
# in_queue QUEUE QID... - every one of the queue ids is in that queue
in_queue() {
	local q=$1
	shift
	sb_queue_json | python3 -c '
import json, sys
q = {m["queue_id"]: m["queue_name"]
     for m in map(json.loads, filter(str.strip, sys.stdin))}
sys.exit(0 if all(q.get(i) == sys.argv[1] for i in sys.argv[2:]) else 1)' \
	    "$q" "$@"
}

# 1-2: both daemons run on the one store, each under its own host name
started() { grep -q 'starting:' "$SB/og/policyd.log"; }
own_name() {
	[ "$(postconf -c "$SB/etc" -h myhostname)" = "$SB_HOSTNAME" ] &&
	    grep -qx "myhostname = $SB_HOSTNAME" "$SB/og/outguard.conf"
}
check "both daemons started on the PostgreSQL store" "sb_each started"
check "both instances have their own myhostname" "sb_each own_name"

# 3: on A, the innocent users' mail before the block
sb_use A
for i in 1 2 3; do
	send "a$i-ms" "user$i" "u$i-{n}@hotmail.com" 3 &
	p1=$!
	send "a$i-other" "user$i" "u$i-{n}@example.net" 3 &
	wait $p1 $! # not a bare wait: the daemons run in the background
done
check "A: the MX accepted the three users' 9 messages before the block" \
    "sb_wait_for '[ \$(mx_n) -ge 9 ]' 60"

# the probe: polls the store for mallory's hold; once the row is there,
# asks B's daemon (its policy socket, an RCPT request as smtpd sends)
# every 10 ms until it answers HOLD; prints the hold's id, the seconds
# from seeing the row to B's HOLD, and the time the row was seen
probe() {
	PG_BIN=$PG_BIN PG_PORT=$PG_PORT /usr/bin/python3 - "$1" <<'PY'
import os, socket, subprocess, sys, time
sock = sys.argv[1]
psql = [os.environ["PG_BIN"] + "/psql", "-X", "-q", "-A", "-t",
        "-h", "127.0.0.1", "-p", os.environ["PG_PORT"], "-U", "outguard",
        "-d", "outguard", "-c",
        "SELECT id FROM holds WHERE identity = 'sasl:mallory@outguard.test'"
        " AND released IS NULL"]
req = ("request=smtpd_access_policy\nprotocol_state=RCPT\n"
       "protocol_name=ESMTP\nclient_address=127.0.0.1\n"
       "client_name=localhost\nsasl_method=PLAIN\n"
       "sasl_username=mallory@outguard.test\n"
       "sender=mallory@outguard.test\nrecipient=probe@example.net\n"
       "instance=probe.%d\nqueue_id=\n\n")


def answer(n):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(sock)
    s.sendall((req % n).encode())
    data = b""
    while not data.endswith(b"\n\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    return data.decode(errors="replace")


deadline = time.time() + 120
hold = ""
while not hold and time.time() < deadline:
    r = subprocess.run(psql, capture_output=True, text=True)
    hold = r.stdout.strip()
    if not hold:
        time.sleep(0.05)
if not hold:
    sys.exit("probe: no hold for mallory in the store")
seen = time.time()
n = 0
while time.time() < deadline:
    n += 1
    if answer(n).startswith("action=HOLD"):
        print(hold, "%.3f" % (time.time() - seen), "%.3f" % seen)
        sys.exit(0)
    time.sleep(0.01)
sys.exit("probe: B never answered HOLD")
PY
}
sb_use B
probe "$SB/og/policy.sock" >"$SB/og/probe.out" 2>&1 &
probe_pid=$!

# 4-5: mallory's burst on A; the MX starts blocking part-way through it
sb_use A
send mallory mallory "victim{n}@hotmail.com" 40 &
burst=$!
sb_wait_for '[ $(mx_n) -ge 14 ]' 60
sb_set_mx_mode "reply MAIL $SB_S3150_REPLY"
wait "$burst"
check "A: mallory's 40 messages were accepted by Postfix" \
    "[ \$(qids '$SB/og/sent.mallory' | wc -l) = 40 ]"
check "A: the watcher holds mallory for all destinations, in the store" \
    "sb_wait_for \"pg_psql -c \\\"SELECT host FROM incidents\\\" | grep -qx $HOST_A && og_report holds | grep -q '^$MALLORY '\" 60"

# 6-7: B holds the culprit: its daemon answers HOLD (timed), and
# mallory's next message on B, submitted 2 s after the hold was made,
# lands in B's hold queue
wait "$probe_pid"
sb_use B
read -r hold_id prop seen <"$SB/og/probe.out"
check "B answers HOLD for mallory once the hold is in the store" \
    "[ -n '${prop:-}' ]" || sed 's/^/# probe: /' "$SB/og/probe.out"
echo "# hold $hold_id made on A: B answered HOLD ${prop}s after the row was seen in the store"
python3 -c 'import sys, time; time.sleep(max(0, float(sys.argv[1]) + 2 - time.time()))' "$seen"
send b-mallory mallory "friend{n}@example.net" 1
b_mallory=$(qids "$SB/og/sent.b-mallory")
check "B: mallory's message sent 2 s after the hold is in B's hold queue" \
    "[ -n '$b_mallory' ] && sb_wait_for 'in_queue hold $b_mallory' 10"
check "B: its daemon logged the HOLD of that message by A's hold" \
    "grep -q '$b_mallory: action=HOLD .*identity=$MALLORY .*hold_id=$hold_id' '$SB/og/policyd.log'"

# 8-11: the reports on B show the fleet
og_report summary --json >"$SB/og/summary.json" 2>&1
check "B: summary is B's, and its Outlook.com incident names host A" \
    "python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
p = [x for x in d[\"providers\"] if x[\"provider\"] == \"microsoft-consumer\"][0]
inc = p[\"incidents\"][0]
sys.exit(0 if d[\"host\"] == sys.argv[2] and inc[\"host\"] == sys.argv[3]
         and inc[\"suspects\"][0][\"identity\"] == sys.argv[4]
         and any(b[\"provider_code\"] == \"S3150\" for b in p[\"blocks\"])
         else 1)' '$SB/og/summary.json' $HOST_B $HOST_A $MALLORY" ||
    sed 's/^/# /' "$SB/og/summary.json"
check "B: summary counts mallory's message in B's held mail" \
    "python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d[\"held\"][\"messages\"] >= 1 else 1)' '$SB/og/summary.json'"
og_report blocks --json >"$SB/og/blocks.json" 2>&1
check "B: blocks lists A's S3150 blocks, each naming host A" \
    "python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
rows = d if isinstance(d, list) else d[\"blocks\"]
sys.exit(0 if rows and all(r[\"host\"] == sys.argv[2] for r in rows)
         and any(r[\"provider_code\"] == \"S3150\" for r in rows) else 1)' \
    '$SB/og/blocks.json' $HOST_A" || head -c 2000 "$SB/og/blocks.json" | sed 's/^/# /'
og_report senders --json >"$SB/og/senders.json" 2>&1
check "B: senders counts mallory's mail of both hosts; the store names each host" \
    "python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
rows = d if isinstance(d, list) else d[\"senders\"]
m = [s for s in rows if s[\"identity\"] == sys.argv[2]]
sys.exit(0 if m and m[0][\"messages\"] == 41 else 1)' '$SB/og/senders.json' $MALLORY &&
    [ \"\$(pg_psql -c \"SELECT host, count(*) FROM messages WHERE sender = 'mallory@outguard.test' GROUP BY host ORDER BY host\" | tr '\n' ' ')\" = '$HOST_A|40 $HOST_B|1 ' ]"
flat() { "$@" | tr -s ' \n' '  '; }
check "B: the text reports say which host saw what" \
    "flat og_report senders | grep -q 'via $HOST_A 40, $HOST_B 1' &&
     flat og_report blocks | grep -q ' $HOST_A watcher: ' &&
     flat og_report summary | grep -q '#[0-9]*@$HOST_A '"

# 12-17: the store goes away while mail flows on both
declare -A spool_base=()
spool_size() { stat -c %s "$SB/og/outguard.spool" 2>/dev/null || echo 0; }
spool_mark() { spool_base[$SB_INSTANCE]=$(spool_size); }
spool_grew() {
	sb_wait_for "[ \$(spool_size) -gt ${spool_base[$SB_INSTANCE]} ]" 15
}
# round_done N - the sink has the 5 messages of outage round N
round_done() {
	local t
	t=out-$(echo "$SB_INSTANCE" | tr AB ab)$1
	sb_wait_for "[ \$(sink_n $t) = 5 ]" 30
}
logged_once() {
	[ "$(grep -c 'store: unavailable since' "$SB/og/policyd.log")" = 1 ]
}
sb_each spool_mark
pg_halt || echo "# pg_halt failed"
sb_use A
send out-a1 user1 "r1-{n}@example.net" 5 &
pa=$!
sb_use B
send out-b1 user2 "r1-{n}@example.net" 5
wait "$pa"
send out-b-mallory mallory "friend{n}@example.net" 1
b_mallory2=$(qids "$SB/og/sent.out-b-mallory")
check "outage: the users' mail reaches the sink on A and on B" \
    "sb_each 'round_done 1'"
check "outage: mallory's new message on B is held" \
    "[ -n '$b_mallory2' ] && sb_wait_for 'in_queue hold $b_mallory2' 10"
check "outage: both spool files grow" "sb_each spool_grew"
sizes=
sb_each 'sizes="$sizes$SB_INSTANCE: ${spool_base[$SB_INSTANCE]} -> $(spool_size) bytes; "'
echo "# spool files during the outage: $sizes"
# a second round: still flowing, the spools still growing
sb_each spool_mark
sb_use A
send out-a2 user3 "r2-{n}@example.net" 5 &
pa=$!
sb_use B
send out-b2 user3 "r2-{n}@example.net" 5
wait "$pa"
check "outage: a second round reaches the sinks and grows the spools" \
    "sb_each 'round_done 2 && spool_grew'"
check "outage: each daemon logged it once, not per request" \
    "sb_each logged_once"
# the status filter is a spawn(8) service: a process started during
# the outage must serve, or Postfix skips the filter (and bounces)
spawn_served() {
	! grep -q 'outguard-policyd exit status' "$SB/maillog" &&
	    ! grep -q 'outguard-status:status lookup error' "$SB/maillog"
}
check "outage: the status filter's spawned processes serve without the store" \
    "sb_each spawn_served"

# 18-22: the store comes back
pg_ctl_start || echo "# pg_ctl_start failed"
back() {
	sb_wait_for "grep -q 'store: back after .*replayed [1-9][0-9]* rows' '$SB/og/policyd.log'" 90
}
check "back: each daemon logs the return and the replay" "sb_each back"
# every queue id sent during the outage, with its host
outage_missing() {
	local q n=0
	for q in $(qids "$SB"/og/sent.out-*); do
		if [ "$(pg_psql -c "SELECT count(*) FROM messages WHERE host = '$SB_HOSTNAME' AND queue_id = '$q'")" != 1 ]; then
			echo "$SB_HOSTNAME $q"
			n=$((n + 1))
		fi
	done
	return $n
}
check "back: every message of the outage is in the store under its host" \
    "sb_each outage_missing"
# accepted = rows in the store + rows the daemon reports dropped
counts_add_up() {
	local sent rows dropped
	sent=$(qids "$SB"/og/sent.* | sort -u | wc -l)
	rows=$(pg_psql -c "SELECT count(DISTINCT queue_id) FROM messages WHERE host = '$SB_HOSTNAME'")
	dropped=$(sed -n 's/.*store: back after .*dropped \([0-9]*\).*/\1/p' \
	    "$SB/og/policyd.log" | paste -sd+ | bc)
	echo "# $SB_HOSTNAME: accepted $sent, rows $rows, dropped ${dropped:-?}"
	[ "$sent" = $((rows + ${dropped:-0})) ]
}
check "back: on each host, messages accepted = rows + dropped" \
    "sb_each counts_add_up"
check "back: one row per message (nothing replayed twice)" \
    "[ \"\$(pg_psql -c 'SELECT count(*) - count(DISTINCT (host, queue_id)) FROM messages')\" = 0 ]"
sb_use B
send after mallory "after{n}@example.net" 1
check "back: holds still apply on B after the outage" \
    "q=\$(qids '$SB/og/sent.after') && [ -n \"\$q\" ] && sb_wait_for \"in_queue hold \$q\" 10"

if [ "$FAILED" -gt 0 ]; then
	sb_each 'show_log 20; tail -n 30 "$SB/og/policyd.log" | sed "s/^/# policyd $SB_INSTANCE: /"'
fi
exit $((FAILED > 0))
