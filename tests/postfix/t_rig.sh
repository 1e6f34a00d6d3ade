#!/bin/bash
# t_rig.sh - prove the Postfix test rig (tests/postfix/sandbox.sh) works
#
# DESCRIPTION: starts the throwaway Postfix with its fake Outlook.com MX,
#	sink and DNS server, and checks each path later tests rely on:
#	authenticated submission to an ordinary domain reaches the sink;
#	to hotmail.com it is refused with Microsoft's S3150 block reply;
#	unauthenticated relay on the submission port is refused; sendmail(1)
#	and XCLIENT LOGIN work; a temporary block leaves mail deferred in
#	`postqueue -j` until the MX accepts again; DNS answers the test zones;
#	sb_stop leaves no process behind.  Output is TAP.
# DIAGNOSTICS: "1..0 # SKIP" without root or a needed program.  SB_KEEP=1
#	keeps the sandbox directory for inspection; SB_VERBOSE=1 shows swaks
#	transcripts of failed sessions.

set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/postfix/sandbox.sh
. "$top_srcdir/tests/postfix/sandbox.sh"

if reason=$(sb_missing); then
	echo "1..0 # SKIP $reason"
	exit 0
fi

# shellcheck source=tests/postfix/tap.sh
. "$top_srcdir/tests/postfix/tap.sh"
PLAN=18

echo "1..$PLAN"

if ! sb_start; then
	not_ok "the rig starts (Postfix, fake MX, sink, NSD)"
	echo "Bail out! rig did not start"
	exit 1
fi
ok "the rig starts (Postfix, fake MX, sink, NSD)"

TOKEN="og-rig-$$-$RANDOM$RANDOM"
to_sink="relay=127\.0\.0\.1\[127\.0\.0\.1\]:$SB_SINK_PORT,"
to_mx="relay=127\.0\.0\.1\[127\.0\.0\.1\]:$SB_MX_PORT,"
sb_add_user alice 'correct horse'

# 2-3: authenticated submission to a non-Microsoft domain reaches the sink.
if qid=$(sb_submit alice@outguard.test bob@example.net alice 'correct horse' \
    --header "Subject: rig test $TOKEN" --body "body token $TOKEN") &&
    [ -n "$qid" ]; then
	ok "authenticated submission to bob@example.net is queued"
else
	not_ok "authenticated submission to bob@example.net is queued" \
	    "$(cat "$SB/swaks/last")"
fi
if sb_wait_for '[ -n "$(sb_sink_grep "body token $TOKEN")" ]' 20; then
	eml=$(sb_sink_grep "body token $TOKEN" | head -n 1)
	if grep -q "^Subject: rig test $TOKEN" "$eml" &&
	    sb_wait_log "${qid:-none}: to=<bob@example.net>, $to_sink.* status=sent" 10
	then
		ok "the sink stored it with its Subject and body"
	else
		not_ok "the sink stored it with its Subject and body" \
		    "$(head -n 20 "$eml")"
		show_log
	fi
else
	not_ok "the sink stored it with its Subject and body"
	show_log
fi

# 4-5: mail to hotmail.com meets the S3150 block at MAIL FROM.
if qid2=$(sb_submit alice@outguard.test someone@hotmail.com \
    alice@outguard.test 'correct horse' --body "to Microsoft $TOKEN") &&
    [ -n "$qid2" ] &&
    sb_wait_log "$qid2: to=<someone@hotmail.com>, $to_mx.* status=bounced" 20 &&
    line=$(grep -E "$qid2: to=<someone@hotmail.com>,.* status=bounced" \
    "$SB/maillog") &&
    case $line in
    *"said: 550 5.7.1 Unfortunately"*"(S3150)"*) true ;;
    *) false ;;
    esac &&
    case $line in
    *"(in reply to MAIL FROM command))") true ;;
    *) false ;;
    esac; then
	ok "mail to someone@hotmail.com bounces: S3150 in reply to MAIL FROM"
else
	not_ok "mail to someone@hotmail.com bounces: S3150 in reply to MAIL FROM" \
	    "log line: ${line:-none}"
	show_log
fi
if json_has "$SB/mx/records.jsonl" \
    'r["event"] == "refused" and r["stage"] == "MAIL" and
     r["mail_from"] == "alice@outguard.test" and
     r["reply"].startswith("550 5.7.1 ") and "(S3150)" in r["reply"]'; then
	ok "the fake MX recorded a MAIL command refused with 550 (S3150)"
else
	not_ok "the fake MX recorded a MAIL command refused with 550 (S3150)" \
	    "$(sb_mx_records)"
fi

# 6: the bounce for alice went to the sink, and nothing reached the MX store.
check "the bounce went to the sender via the sink; the MX stored nothing" \
    'sb_wait_for "[ -n \"\$(sb_sink_grep \"to Microsoft $TOKEN\")\" ]" 20 &&
     [ -z "$(sb_mx_messages)" ]'

# 7-8: the submission port refuses unauthenticated relay and bad passwords.
if ! sb_swaks "$SB_SUBMISSION_PORT" --from alice@outguard.test \
    --to bob@example.net >/dev/null &&
    grep -q '^<\*\* 554 5\.7\.1 .*Access denied' "$SB/swaks/last"; then
	ok "the submission port refuses an unauthenticated client (554 5.7.1)"
else
	not_ok "the submission port refuses an unauthenticated client" \
	    "$(cat "$SB/swaks/last")"
fi
if ! sb_submit alice@outguard.test bob@example.net alice wrong >/dev/null &&
    grep -q '^<\*\* 535 5\.7\.8' "$SB/swaks/last"; then
	ok "a wrong password is refused (535 5.7.8)"
else
	not_ok "a wrong password is refused (535 5.7.8)" \
	    "$(cat "$SB/swaks/last")"
fi

# 9: sendmail(1) -> postdrop -> pickup -> sink.
printf 'From: root@%s\nTo: carol@example.net\nSubject: local %s\n\nlocal %s\n' \
    "$SB_HOSTNAME" "$TOKEN" "$TOKEN" |
    sb_sendmail "root@$SB_HOSTNAME" carol@example.net
if sb_wait_for '[ -n "$(sb_sink_grep "^local $TOKEN")" ]' 20 &&
    sb_wait_log "pickup\[[0-9]+\]: [0-9A-Za-z]+: uid=0 from=<root@" 5
then
	ok "a local sendmail submission reaches the sink through pickup"
else
	not_ok "a local sendmail submission reaches the sink through pickup"
	show_log
fi

# 10: XCLIENT LOGIN on the plain port gives a SASL identity.
if qid3=$(sb_relay dave@outguard.test erin@example.net dave \
    --body "xclient $TOKEN") && [ -n "$qid3" ] &&
    sb_wait_log "$qid3: client=.*, sasl_method=XCLIENT, sasl_username=dave$" 5 &&
    sb_wait_for '[ -n "$(sb_sink_grep "^xclient $TOKEN")" ]' 20; then
	ok "XCLIENT LOGIN=dave on the plain port is logged as sasl_username=dave"
else
	not_ok "XCLIENT LOGIN=dave on the plain port is logged as sasl_username=dave"\
	    "$(cat "$SB/swaks/last")"
	show_log
fi

# 11-12: a temporary block defers; accepted again after a mode switch + flush.
sb_set_mx_mode reply MAIL 451 4.7.650 The mail server [127.0.0.1] has been \
    temporarily rate limited due to IP reputation. '(S775)'
if qid4=$(sb_submit alice@outguard.test frank@outlook.com alice \
    'correct horse' --body "deferred $TOKEN") &&
    sb_wait_log "${qid4:-none}: to=<frank@outlook.com>,.* status=deferred" 20 &&
    # qmgr moves it from active to deferred just after smtp logs that.
    sb_wait_for 'sb_queue_json >"$SB/queue.json" && json_has "$SB/queue.json" \
    "r[\"queue_id\"] == \"$qid4\" and r[\"queue_name\"] == \"deferred\" and
     \"451 4.7.650\" in r[\"recipients\"][0][\"delay_reason\"]"' 10; then
	ok "a 451 4.7.650 at MAIL leaves the mail deferred in postqueue -j"
else
	not_ok "a 451 4.7.650 at MAIL leaves the mail deferred in postqueue -j" \
	    "$(cat "$SB/queue.json" 2>/dev/null)"
	show_log
fi
sb_set_mx_mode accept
sb_flush
if sb_wait_log "${qid4:-none}: to=<frank@outlook.com>, $to_mx.* status=sent" 20 &&
    sb_wait_for '[ -n "$(sb_mx_messages)" ]' 5 &&
    grep -q "^deferred $TOKEN" "$(sb_mx_messages | head -n 1)"; then
	ok "after sb_set_mx_mode accept and sb_flush the MX accepts it"
else
	not_ok "after sb_set_mx_mode accept and sb_flush the MX accepts it"
	show_log
fi

# 13: configuration changes reach the running Postfix.
sb_postconf "smtpd_banner=\$myhostname ESMTP rig-$TOKEN"
sb_swaks "$SB_SMTP_PORT" --quit-after CONNECT >/dev/null
check "sb_postconf reconfigures the running Postfix (new banner)" \
    'grep -q "^<-  220 $SB_HOSTNAME ESMTP rig-$TOKEN" "$SB/swaks/last"' ||
	sed 's/^/#   /' "$SB/swaks/last"

# 14-15: DNS.
spf=$(sb_dig +short TXT outguard.test)
dmarc=$(sb_dig +short TXT _dmarc.outguard.test)
a=$(sb_dig +short A mta.outguard.test)
check "DNS answers outguard.test's SPF, DMARC and A records" \
    '[ "$spf" = "\"v=spf1 ip4:127.0.0.1 -all\"" ] &&
     [ "$dmarc" = "\"v=DMARC1; p=none\"" ] && [ "$a" = 127.0.0.1 ]' ||
	echo "# spf=$spf dmarc=$dmarc a=$a"
sb_dns_zone example.org '@ IN TXT "v=spf1 ip4:192.0.2.1 -all"'
check "sb_dns_zone serves a new zone and keeps the old ones" \
    '[ "$(sb_dig +short TXT example.org)" = "\"v=spf1 ip4:192.0.2.1 -all\"" ] &&
     [ "$(sb_dig +short TXT outguard.test)" = "$spf" ]'

# 16: nothing left in the queue.
check "the queue is empty at the end" \
    'sb_wait_for "[ -z \"\$(sb_queue_json)\" ]" 20'

# 17: no trouble in the log beyond the wrong-password test's warnings.
bad=$(grep -E 'fatal:|panic:|error:|warning:' "$SB/maillog" | grep -v \
    -e 'warning: SASL authentication failure: Password verification failed' \
    -e 'warning: localhost\[127.0.0.1\]: SASL PLAIN authentication failed')
check "the Postfix log has no unexpected warning, error or fatal" \
    '[ -z "$bad" ]' || printf '%s\n' "$bad" | sed 's/^/#   /'

# 18: sb_stop ends every process of the rig and removes the directory.
sb_dir=$SB
pids=$(
	cat "$SB/run/master.pid" "$SB/run/mx.pid" "$SB/run/sink.pid" \
	    "$SB/run/nsd.pid" "$SB/run/nsd.children" 2>/dev/null
	sb__pids_with pgrp "$(cat "$SB/run/master.pid")"
)
sb_stop
left=
for pid in $pids; do
	sb__running "$pid" && left="$left $pid"
done
if [ -z "$left" ] && { [ ! -e "$sb_dir" ] || [ "${SB_KEEP:-0}" = 1 ]; }; then
	ok "sb_stop ends all rig processes and cleans up"
else
	not_ok "sb_stop ends all rig processes and cleans up" \
	    "still running:$left" "$(ls -d "$sb_dir" 2>/dev/null)"
fi

if [ "$N" != "$PLAN" ]; then
	echo "# ran $N tests, planned $PLAN"
	exit 1
fi
[ "$FAILED" = 0 ]
