#!/bin/bash
# t_block.sh - the block response end to end (issue 6)
#
# DESCRIPTION: ten users each send five messages to hotmail.com and five
#	to another domain; mallory then sends 200 to hotmail.com in a burst;
#	the fake Outlook.com MX accepts at first, then answers the S3150
#	block for everything. The status filter (a spawn(8) service) keeps
#	the blocked mail queued, the watcher holds the provider scope and
#	the queued mail to it, ranks the senders and holds mallory for all
#	destinations, records the evidence and notifies once. Microsoft's
#	domains go through a transport of their own whose reply filter
#	ends each blocked session and refuses the held provider's
#	greetings, so the burst stops reaching the MX. The daemon is
#	killed in the middle of the block: nothing bounces. Then the MX
#	accepts again, the provider scope is released: the innocent users'
#	mail reaches the MX, mallory's stays held, the incident is confirmed.
#	TAP output.
# Exercises: policy/replyfilter.c (through the outlook transport), policy/watcher.c (incidents, holds, suspects, notification, confirmation), policy/privsep.c, policy/qr_hold.c (release), policy/qr_evidence.c and policy/qr_report.c over the store it fills.

set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
# shellcheck source=tests/postfix/sandbox.sh
. "$top_srcdir/tests/postfix/sandbox.sh"
# shellcheck source=tests/postfix/tap.sh
. "$top_srcdir/tests/postfix/tap.sh"
# shellcheck source=tests/postfix/outguard.sh
. "$top_srcdir/tests/postfix/outguard.sh"

if reason=$(sb_missing); then
	echo "1..0 # SKIP $reason"
	exit 0
fi

echo "1..26"
SB_NO_TRAP=1 sb_setup || exit 1
trap 'og_policyd_kill; sb_stop' EXIT
og_setup || exit 1
OG=$SB/og
printf '#!/bin/sh\ncat >>"%s/notifications"\necho >>"%s/notifications"\n' \
    "$OG" "$OG" >"$OG/notify.sh"
chmod 0755 "$OG/notify.sh"
printf 'egress_ips = 127.0.0.1\nnotify_command = %s/notify.sh\nqueue_scan_interval = 10s\n' \
    "$OG" >>"$OG/outguard.conf"
# the status filter, started by master(8) on demand
postconf -c "$SB/etc" -M "outguard-status/unix=outguard-status unix - n n - 0 spawn user=nobody argv=$OG_BIN/outguard-policyd -m -c $OG/outguard.conf" || exit 1
sb_postconf "smtp_delivery_status_filter = socketmap:unix:private/outguard-status:status" >/dev/null
# Microsoft's domains through a transport of their own, whose reply
# filter ends the sessions of a blocking provider and refuses its
# greetings while it is held, so that qmgr suspends the destination
postconf -c "$SB/etc" -M "outlook/unix=outlook unix - - n - - smtp" || exit 1
postconf -c "$SB/etc" -P "outlook/unix/smtp_reply_filter=socketmap:unix:private/outguard-status:reply-microsoft-consumer" || exit 1
sed -i "s/\tsmtp:\[127.0.0.1\]:$SB_MX_PORT\$/\toutlook:[127.0.0.1]:$SB_MX_PORT/" "$SB/etc/transport"
grep -q "^hotmail.com	outlook:" "$SB/etc/transport" || exit 1
for i in 1 2 3 4 5 6 7 8 9 10; do sb_add_user "user$i" "pw$i" || exit 1; done
sb_add_user mallory pw-m || exit 1
sb_set_mx_mode accept
sb_start || exit 1
og_policyd_start || { cat "$OG/policyd.log"; exit 1; }

# send TAG USER PASS TO COUNT - one SMTP session; queue ids in sent.TAG
send() {
	python3 "$top_srcdir/tests/postfix/send.py" --port "$SB_SUBMISSION_PORT" \
	    --user "$2@outguard.test" --password "$3" \
	    --from "$2@outguard.test" --to "$4" --count "$5" --token "$1" \
	    >"$OG/sent.$1" 2>&1
}
mx_n() { sb_mx_messages | wc -l; }

# 1: the innocent users' mail before the block
for i in 1 2 3 4 5 6 7 8 9 10; do
	send "u$i-ms" "user$i" "pw$i" "u$i-{n}@hotmail.com" 5 &
	p1=$!
	send "u$i-other" "user$i" "pw$i" "u$i-{n}@example.net" 5 &
	wait $p1 $!	# not a bare wait: the daemon runs in the background too
done
check "the MX accepted the ten users' 50 messages before the block" \
    "sb_wait_for '[ \$(mx_n) -ge 50 ]' 60"

# 2: mallory's burst; the MX starts blocking part-way through it
send mallory mallory pw-m "victim{n}@hotmail.com" 200 &
burst=$!
sb_wait_for '[ $(mx_n) -ge 70 ]' 60
sb_set_mx_mode "reply MAIL $SB_S3150_REPLY"
wait "$burst"
accepted=$(grep -c ' [0-9A-Za-z]\{6,\}$' "$OG/sent.mallory")
check "mallory's 200 messages were accepted by Postfix" "[ $accepted = 200 ]"

# 3-4: the watcher reacts
check "mallory is held for all destinations" \
    "sb_wait_for \"og_report holds | grep -q '^sasl:mallory@outguard.test '\" 30"
check "the provider scope is held" \
    "og_report holds | grep -q '^provider:microsoft-consumer '"

# 5: the daemon dies in the middle of the block; an innocent user writes
og_policyd_kill
send late user3 pw3 "late{n}@hotmail.com" 3
sb_flush
sb_wait_log 'late[0-9]@hotmail.com.*status=(deferred|bounced)' 30
# it starts again while the status filter's processes (spawn) have the
# shared spool open
og_policyd_start
restarted=$?
check "with the daemon dead, blocked mail was deferred, not bounced; it starts again" \
    "! grep -q 'status=bounced' '$SB/maillog' && [ $restarted = 0 ]"

# 6-7: everything to hotmail is in the hold queue, no DSN
all_ms_held() {
	sb_queue_json | python3 -c '
import json, sys
bad = [m["queue_id"] for m in map(json.loads, filter(str.strip, sys.stdin))
       if m["queue_name"] != "hold"
       and any(r["address"].endswith("@hotmail.com") for r in m["recipients"])]
sys.exit(1 if bad else 0)'
}
check "every queued hotmail.com message is in the hold queue" \
    "sb_wait_for all_ms_held 30"
check "no bounce and no DSN" \
    "! grep -q 'status=bounced' '$SB/maillog' && ! sb_sink_grep 'Undelivered Mail' >/dev/null"

# 8: nothing lost: every message Postfix accepted (its cleanup daemon
# logs each one once) is at the MX, at the sink or still queued; and the
# clients were told so for each one they sent
sent_n() { cat "$OG"/sent.* | grep -c ' [0-9A-Za-z]\{6,\}$'; }
accepted_n() {
	grep -oE 'postfix/cleanup\[[0-9]+\]: [0-9A-Za-z]+: message-id=' \
	    "$SB/maillog" | awk '{ print $2 }' | sort -u | wc -l
}
nothing_lost() {
	local queued
	queued=$(sb_queue_json | grep -c '"queue_id"')
	[ "$(accepted_n)" = $(($(mx_n) + $(sb_sink_messages | wc -l) + queued)) ] &&
	    [ "$(accepted_n)" -ge "$(sent_n)" ]
}
check "nothing lost: MX + sink + queue = accepted >= sent" \
    "sb_wait_for nothing_lost 30" ||
    echo "# sent $(sent_n), accepted $(accepted_n), MX $(mx_n), sink $(sb_sink_messages | wc -l), queue $(sb_queue_json | grep -c '"queue_id"')"

# 9: the innocent users' other mail reached the sink
check "the ten users' 50 other-domain messages reached the sink" \
    "[ \$(sb_sink_grep 'Subject: u[0-9]*-other-' | wc -l) -ge 50 ]"

# 10-11: mallory is the top suspect, the others are not held
check "only mallory and the provider scope are on hold" \
    "[ \$(og_report holds | grep -cv -e '^IDENTITY' -e '^sasl:mallory@' -e '^provider:microsoft-consumer ') = 0 ]"
top_is_mallory() {
	og_sql 'select suspects from incidents' | python3 -c '
import json, sys
s = json.loads(sys.stdin.readline())
sys.exit(0 if s[0]["identity"] == "sasl:mallory@outguard.test" and s[0]["held"] else 1)'
}
check "mallory is the incident's top suspect" top_is_mallory

# 12: one notification for the incident
check "exactly one notification for the incident" \
    "[ \$(grep -c '\"event\": \"open\"' '$OG/notifications') = 1 ]"

# the reply filter of the "outlook" transport: blocked sessions ended,
# the held provider's greetings refused before any MAIL command, so the
# burst did not reach the MX once more (without the filter, about 130
# more of mallory's messages did)
refused_after_first() {
	python3 -c '
import json, sys
n = sum(1 for l in open(sys.argv[1]) if l.strip()
        and json.loads(l).get("event") == "refused")
print(max(n - 1, 0))' "$SB/mx/records.jsonl"
}
check "the reply filter refused the held provider's greetings" \
    "grep -q 'reply-microsoft-consumer lookup error for 220 ' '$SB/maillog'"
n_after=$(refused_after_first)
check "fewer than 100 attempts reached the blocking MX after its first refusal" \
    "[ $n_after -lt 100 ]" || echo "# $n_after refusals after the first"
echo "# blast radius: $n_after attempts after the first refusal"

# 13-14: the evidence and the reaction time
check "the evidence holds the S3150 reply verbatim with the egress IP" \
    "og_sql \"select count(*) from blocks where reply like '%on our block list (S3150)%' and egress_ip='127.0.0.1'\" | grep -qv '^0$'"
check "the time from the first block to mallory's hold is logged" \
    "grep -q 'identity=sasl:mallory@outguard.test reason=suspect reaction_seconds=' '$OG/policyd.log'"

# the delisting pack after the scenario: the egress IP and the reply as
# Microsoft sent it; SPF (the sandbox zone authorises 127.0.0.1) is
# verified and may be stated, DKIM is not (no key is configured): the
# pack must not claim it, must say what to fix, and exit non-zero
og_report evidence --timeout 3 >"$OG/evidence.out" 2>&1
echo $? >"$OG/evidence.rc"
check "evidence names the egress IP and the S3150 reply verbatim" \
    "grep -q '127.0.0.1' '$OG/evidence.out' && grep -qF \"\$(printf '%s' \"\$SB_S3150_REPLY\" | cut -c1-60)\" '$OG/evidence.out'"
check "evidence states the verified SPF, claims no DKIM, exits non-zero" \
    "[ \$(cat '$OG/evidence.rc') != 0 ] && grep -q 'SPF record of outguard.test authorises 127.0.0.1' '$OG/evidence.out' && ! grep -q 'is DKIM-signed' '$OG/evidence.out' && grep -qi 'dkim' '$OG/evidence.out'"

# summary over the store the scenario filled through the real paths
# (policy service, status filter, watcher): the open incident, mallory
# its top suspect and held, the S3150 blocks, and held mail that matches
# Postfix's hold queue
summary_ok() {
	og_report summary --json >"$OG/summary.json" 2>"$OG/summary.err" ||
	    return 1
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
p = [x for x in d["providers"] if x["provider"] == "microsoft-consumer"][0]
inc = [i for i in p["incidents"] if i["state"] == "open"][0]
top = inc["suspects"][0]
ok = (top["identity"] == "sasl:mallory@outguard.test" and top["held"]
      and any(b["provider_code"] == "S3150" for b in p["blocks"])
      and d["held"]["messages"] == int(sys.argv[2])
      and p["held"]["by_identity"][0]["identity"]
      == "sasl:mallory@outguard.test")
sys.exit(0 if ok else 1)' "$OG/summary.json" "$(og_queue_count hold)"
}
check "summary: open incident, mallory top suspect, held mail matches the queue" \
    summary_ok

# 15-17: recovery
sb_set_mx_mode accept
before=$(mx_n)
og_report release provider:microsoft-consumer --reason "delisted, ticket 42" >"$OG/release.out" 2>&1
sb_flush
check "the innocent users' held hotmail.com mail reaches the MX" \
    "sb_wait_for '[ \$(mx_n) -ge $((before + 3)) ]' 60"
mallory_held() { # every one of mallory's queued messages is in hold
	sb_queue_json | python3 -c '
import json, sys
ms = [m for m in map(json.loads, filter(str.strip, sys.stdin))
      if m["sender"] == "mallory@outguard.test"]
sys.exit(0 if ms and all(m["queue_name"] == "hold" for m in ms) else 1)'
}
check "mallory's mail stays held, all of it" mallory_held
check "release kept mallory's messages and said why" \
    "grep -q 'still on hold for sasl:mallory@outguard.test' '$OG/release.out'"
check "the incident is confirmed" \
    "sb_wait_for \"og_sql 'select state from incidents' | grep -qx confirmed\" 60"
# the status filter counted Outlook.com's "250 2.6.0" after the release
check "the deliveries after the release were counted" \
    "[ \"\$(og_sql 'select deliveries_after_release from incidents where id = 1')\" -ge 3 ]"

# 19-20: the block comes back after the confirmation: a new incident
sb_set_mx_mode "reply MAIL $SB_S3150_REPLY"
og_report release sasl:mallory@outguard.test --reason "test over" --no-queue >/dev/null
send again user4 pw4 "again{n}@hotmail.com" 1
check "a block after the confirmation opens a new incident" \
    "sb_wait_for \"[ \\\$(og_sql \\\"select count(*) from incidents where id = 2 and state = 'open'\\\") = 1 ]\" 60"
check "and the new mail to hotmail.com is held again" \
    "sb_wait_for all_ms_held 30"
echo "# $(grep -o 'reaction_seconds=[0-9]*' "$OG/policyd.log" | head -n 1)"

[ "$FAILED" -gt 0 ] && { show_log 30; tail -n 40 "$OG/policyd.log" | sed 's/^/# policyd: /'; }
exit $((FAILED > 0))
