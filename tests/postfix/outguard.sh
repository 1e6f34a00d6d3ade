#!/bin/bash
# outguard.sh - run outguard's programs against the sandbox (sourced after
# sandbox.sh)
#
# og_setup: writes $SB/og/outguard.conf (store in $SB/og, policy socket
#	$SB/og/policy.sock, run_user nobody, the shipped providers and
#	rules) and wires Postfix's smtpd restrictions to the policy
#	service with default_action=DUNNO. Call after sb_setup.
# og_policyd_start / og_policyd_stop: the daemon in the foreground (-d)
#	in the background, its log in $SB/og/policyd.log; start waits until
#	the socket answers.
# og_report ARGS...: outguard-queue-report -c $SB/og/outguard.conf.
# og_sql SQL: one query against the store, rows on stdout.

OG_BIN=${top_builddir:-$top_srcdir}/policy

og_setup() {
	mkdir -p "$SB/og" || return 1
	cat >"$SB/og/outguard.conf" <<CONF
# written by tests/postfix/outguard.sh
store = sqlite:$SB/og/outguard.db
policyd_listen = unix:$SB/og/policy.sock
policyd_pid_file = $SB/og/policyd.pid
status_filter_listen = unix:$SB/og/status.sock
run_user = nobody
myhostname = $SB_HOSTNAME
postfix_config_dir = $SB/etc
provider_domains = file:$top_srcdir/contrib/providers
reply_rules = $top_srcdir/contrib/replies.rules
dns_resolver = 127.0.0.1@$SB_DNS_PORT
CONF
	# the daemon runs as nobody: its store directory must be its own
	chown nobody "$SB/og" || return 1
	# the policy check first, so authenticated and internal mail is seen
	sb_postconf \
	    "smtpd_recipient_restrictions = check_policy_service { unix:$SB/og/policy.sock, default_action=DUNNO }, permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination" \
	    "smtpd_end_of_data_restrictions = check_policy_service { unix:$SB/og/policy.sock, default_action=DUNNO }" \
	    >/dev/null
}

og_report() {
	"$OG_BIN/outguard-queue-report" -c "$SB/og/outguard.conf" "$@"
}

og_policyd_start() {
	"$OG_BIN/outguard-policyd" -d -c "$SB/og/outguard.conf" "$@" \
	    >>"$SB/og/policyd.log" 2>&1 &
	echo $! >"$SB/og/policyd.bgpid"
	sb_wait_for "[ -S '$SB/og/policy.sock' ] && grep -q 'starting:' '$SB/og/policyd.log'" 10
}

og_policyd_pid() {
	cat "$SB/og/policyd.bgpid" 2>/dev/null
}

og_policyd_stop() {
	local pid
	pid=$(og_policyd_pid) || return 0
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	sb_wait_for "! kill -0 $pid 2>/dev/null" 10
	wait "$pid" 2>/dev/null
	rm -f "$SB/og/policyd.bgpid"
}

og_policyd_kill() {
	local pid
	pid=$(og_policyd_pid)
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$SB/og/policyd.bgpid" "$SB/og/policy.sock"
}

og_sql() {
	python3 - "$SB/og/outguard.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
for row in db.execute(sys.argv[2]):
    print("|".join("" if v is None else str(v) for v in row))
PY
}

# og_queue_count QUEUE - messages in that Postfix queue (hold, deferred..)
og_queue_count() {
	sb_queue_json | python3 -c '
import json, sys
n = 0
for line in sys.stdin:
    if line.strip() and json.loads(line).get("queue_name") == sys.argv[1]:
        n += 1
print(n)' "$1"
}
