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
#	the socket is there and the daemon has logged "starting:" (after
#	opening its store and spool), and fails if it died.
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
	local before pid
	# the log is appended to across restarts: wait for a new line
	before=$(grep -c 'starting:' "$SB/og/policyd.log" 2>/dev/null)
	"$OG_BIN/outguard-policyd" -d -c "$SB/og/outguard.conf" "$@" \
	    >>"$SB/og/policyd.log" 2>&1 &
	pid=$!
	echo "$pid" >"$SB/og/policyd.bgpid"
	sb_wait_for "[ -S '$SB/og/policy.sock' ] && [ \$(grep -c 'starting:' '$SB/og/policyd.log') -gt ${before:-0} ]" 10 &&
	    kill -0 "$pid" 2>/dev/null
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

# og_conf_set NAME VALUE: set one setting in $SB/og/outguard.conf (the
#	line is replaced, or added).
og_conf_set() {
	local f=$SB/og/outguard.conf
	grep -v "^$1 *=" "$f" >"$f.tmp"
	printf '%s = %s\n' "$1" "$2" >>"$f.tmp" && mv "$f.tmp" "$f"
}

# og_block_setup: the block response's Postfix side, as t_block.sh sets
#	it up (call before sb_start): the status filter as a spawn(8)
#	service (outguard-policyd -m as nobody) and Microsoft's domains
#	through a transport "outlook" of their own whose reply filter is
#	the same service; egress_ips = 127.0.0.1, a fast queue scan.
og_block_setup() {
	local og=$SB/og
	og_conf_set egress_ips 127.0.0.1
	og_conf_set queue_scan_interval 10s
	postconf -c "$SB/etc" -M "outguard-status/unix=outguard-status unix - n n - 0 spawn user=nobody argv=$OG_BIN/outguard-policyd -m -c $og/outguard.conf" ||
	    return 1
	sb_postconf "smtp_delivery_status_filter = socketmap:unix:private/outguard-status:status" >/dev/null ||
	    return 1
	postconf -c "$SB/etc" -M "outlook/unix=outlook unix - - n - - smtp" ||
	    return 1
	postconf -c "$SB/etc" -P "outlook/unix/smtp_reply_filter=socketmap:unix:private/outguard-status:reply-microsoft-consumer" ||
	    return 1
	sed -i "s/\tsmtp:\[127.0.0.1\]:$SB_MX_PORT\$/\toutlook:[127.0.0.1]:$SB_MX_PORT/" \
	    "$SB/etc/transport"
	sb__cool_down
	grep -q "^hotmail.com	outlook:" "$SB/etc/transport"
}
