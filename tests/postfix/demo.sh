#!/bin/bash
# demo.sh - show, on a throwaway Postfix, what a Microsoft block looks like
#
# DESCRIPTION: what `contrib/quickstart demo` runs for now.  Starts the test
#	rig (tests/postfix/sandbox.sh: a private Postfix on 127.0.0.1, a fake
#	Outlook.com MX that answers the S3150 block, an accepting sink, a
#	local DNS server), sends one message to bob@example.net and one to
#	someone@hotmail.com, shows what happened to each, and removes
#	everything again.  Touches neither /etc/postfix nor the system queue.
# DIAGNOSTICS: exit 0 when the first message was delivered and the second
#	refused with S3150; 1 otherwise; 2 when the demo cannot run here
#	(needs root and postfix, nsd, swaks, python3, dig, saslpasswd2).

set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/postfix/sandbox.sh
. "$top_srcdir/tests/postfix/sandbox.sh"

if [ -t 1 ]; then
	B=$(printf '\033[1m') R=$(printf '\033[0m')
else
	B='' R=''
fi

heading() {
	printf '\n%s== %s ==%s\n' "$B" "$*" "$R"
}

# show TEXT... - print wrapped and indented
show() {
	printf '%s\n' "$@" | fold -s -w 74 | sed 's/^/    /'
}

if reason=$(sb_missing); then
	echo "demo: cannot run here: $reason" >&2
	exit 2
fi

heading "outguard demo: one Postfix, one fake Outlook.com"
echo "Starting a private Postfix (mta.outguard.test) on 127.0.0.1,"
echo "a fake Outlook.com MX, a receiving server and a DNS server..."
if ! sb_start; then
	echo "demo: the test rig did not start (see above)" >&2
	exit 1
fi
sb_add_user alice demo-password
echo "Ready in $SB"
echo "(Postfix: port $SB_SUBMISSION_PORT with SMTP AUTH, log $SB/maillog)"

good=0
token="demo-$$-$RANDOM"

heading "1. alice@outguard.test writes to bob@example.net"
if qid=$(sb_submit alice@outguard.test bob@example.net alice demo-password \
    --header "Subject: Lunch on Friday?" \
    --body "Hi Bob, are we still on for Friday? ($token)") && [ -n "$qid" ] &&
    sb_wait_log "$qid: to=<bob@example.net>,.* status=sent" 20 &&
    sb_wait_for '[ -n "$(sb_sink_grep "$token")" ]' 10; then
	echo "Postfix accepted it (queue id $qid) and delivered it:"
	show "$(grep -E "$qid: to=<bob@example.net>" "$SB/maillog")"
	echo
	echo "The headers as the receiving server got them:"
	eml=$(sb_sink_grep "$token" | head -n 1)
	awk '{ sub(/\r$/, "") } /^$/ { exit } { print }' "$eml" | expand -t 4 |
	    fold -w 74 | sed 's/^/    /'
	good=$((good + 1))
else
	echo "This message was NOT delivered.  What the log says:"
	show "$(tail -n 10 "$SB/maillog")"
fi

heading "2. alice@outguard.test writes to someone@hotmail.com"
if qid2=$(sb_submit alice@outguard.test someone@hotmail.com alice \
    demo-password --header "Subject: Invoice 1042" \
    --body "Please find the invoice attached.") && [ -n "$qid2" ] &&
    sb_wait_log "$qid2: to=<someone@hotmail.com>,.* status=" 20
then
	line=$(grep -E "$qid2: to=<someone@hotmail.com>,.* status=" \
	    "$SB/maillog" | tail -n 1)
	echo "Postfix accepted it (queue id $qid2) and tried the Outlook.com"
	echo "MX.  The Postfix log:"
	show "$line"
	case $line in
	*"status=bounced"*"(S3150)"*"(in reply to MAIL FROM command)"*)
		reply=$(sb_mx_records | python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    if r.get("event") == "refused":
        print(r["reply"])
' | tail -n 1)
		echo
		echo "The MX refused it at MAIL FROM.  Microsoft's reply, verbatim:"
		show "$reply"
		echo
		echo "S3150 means the sending IP is on Microsoft's block list."
		echo "From now on every message from this server to hotmail.com,"
		echo "outlook.com, live.com and msn.com bounces like this one,"
		echo "whoever sent it.  This is the situation outguard is built"
		echo "for: keep such mail queued instead of bounced, find the"
		echo "sender behind the block, and document it for delisting."
		good=$((good + 1))
		;;
	*)
		echo "(expected a bounce with Microsoft's S3150 reply here)"
		;;
	esac
else
	echo "Expected Microsoft's S3150 refusal; what the log says:"
	show "$(tail -n 10 "$SB/maillog")"
fi

heading "Result"
if [ "$good" = 2 ]; then
	echo "Both happened: bob@example.net got his mail; hotmail.com"
	echo "refused ours with S3150.  Cleaning up."
	status=0
else
	echo "Something did not happen as expected ($good of 2).  Cleaning up;"
	echo "run with SB_KEEP=1 to keep $SB for a look."
	status=1
fi
sb_stop
exit "$status"
