#!/bin/bash
# demo.sh - show, on a throwaway Postfix, what a Microsoft block looks like
#
# DESCRIPTION: what `contrib/quickstart demo` runs. Starts the test rig
#	(tests/postfix/sandbox.sh: a private Postfix on 127.0.0.1, a fake
#	Outlook.com MX that answers the S3150 block, an accepting sink, a
#	local DNS server) and shows, in seven steps: a delivered message;
#	the S3150 bounce without outguard; with outguard-policyd a spam run
#	from a leaked password kept queued, the culprit held within
#	seconds, the evidence recorded; the release and its confirmation;
#	outguard-milter refusing a forged From and tagging bulk mail
#	without one-click unsubscribe; outguard-milter DKIM-signing a
#	message that an independent verifier (python3-dkim) accepts, and
#	its preflight warning about a domain whose SPF does not list the
#	server's IP; last the admin's summary and the delisting evidence
#	pack. Removes everything again; touches neither /etc/postfix nor
#	the system queue.
# DIAGNOSTICS: exit 0 when all seven steps did what they show; 1
#	otherwise; 2 when the demo cannot run here (needs root and postfix,
#	nsd, swaks, python3, dig, saslpasswd2, openssl; python3-dkim for
#	step 6).

set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
# shellcheck source=tests/postfix/sandbox.sh
. "$top_srcdir/tests/postfix/sandbox.sh"
# shellcheck source=tests/postfix/outguard.sh
. "$top_srcdir/tests/postfix/outguard.sh"

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

heading "3. The same server with outguard"
OG=$SB/og
bounces_before=$(grep -c 'status=bounced' "$SB/maillog")
og_setup
printf '#!/bin/sh\ncat >"%s/notification.json"\n' "$OG" >"$OG/notify.sh"
chmod 0755 "$OG/notify.sh"
printf 'egress_ips = 127.0.0.1\nnotify_command = %s/notify.sh\n' "$OG" \
    >>"$OG/outguard.conf"
postconf -c "$SB/etc" -M "outguard-status/unix=outguard-status unix - n n - 0 spawn user=nobody argv=$OG_BIN/outguard-policyd -m -c $OG/outguard.conf"
# Microsoft's domains through the "outlook" transport, whose reply filter
# stops the retries of a blocked destination (contrib/postfix-master.cf)
postconf -c "$SB/etc" -M "outlook/unix=outlook unix - - n - - smtp"
sed -i "s/\tsmtp:\[127.0.0.1\]:$SB_MX_PORT\$/\toutlook:[127.0.0.1]:$SB_MX_PORT/" "$SB/etc/transport"
sb_postconf -P "outlook/unix/smtp_reply_filter=socketmap:unix:private/outguard-status:reply-microsoft-consumer" >/dev/null
sb_postconf "smtp_delivery_status_filter = socketmap:unix:private/outguard-status:status" >/dev/null
og_policyd_start || { echo "demo: outguard-policyd did not start" >&2; sb_stop; exit 1; }
echo "outguard-policyd answers Postfix's policy questions, its status filter"
echo "sees every delivery reply, its reply filter ends the sessions of a"
echo "provider that blocks us, and its watcher reads the queue."
for u in carol dave erin; do sb_add_user "$u" demo-password; done
sb_add_user mallory stolen-password
sb_set_mx_mode accept
send() { # USER TO COUNT TAG
	python3 "$top_srcdir/tests/postfix/send.py" --port "$SB_SUBMISSION_PORT" \
	    --user "$1@outguard.test" --password "$5" --from "$1@outguard.test" \
	    --to "$2" --count "$3" --token "$4" >/dev/null 2>&1
}
for u in carol dave erin; do
	send "$u" "friend-$u{n}@hotmail.com" 3 "$u-ms" demo-password
	send "$u" "colleague-$u{n}@example.net" 3 "$u-other" demo-password
done
echo "carol, dave and erin each sent 3 messages to hotmail.com and 3"
echo "elsewhere.  Then mallory's password leaks: 80 spam messages to"
echo "hotmail.com in a burst, and Microsoft starts answering S3150."
send mallory "victim{n}@hotmail.com" 80 spam stolen-password &
burst=$!
sb_wait_for '[ $(sb_mx_messages | wc -l) -ge 15 ]' 30
sb_set_mx_mode "reply MAIL $SB_S3150_REPLY"
wait "$burst"
for u in carol dave erin; do
	send "$u" "later-$u{n}@hotmail.com" 2 "$u-later" demo-password
done
echo "Meanwhile carol, dave and erin write 2 more to hotmail.com each."
if sb_wait_for "og_report holds | grep -q '^sasl:mallory@outguard.test '" 30; then
	echo
	echo "Within seconds outguard held the provider and the culprit:"
	og_report holds | sed 's/^/    /'
	good=$((good + 1))
else
	echo "(mallory was not held: see $OG/policyd.log)"
fi
sb_flush
sleep 2
echo
kept=$(og_queue_count hold)
echo "Nothing bounced ($(($(grep -c 'status=bounced' "$SB/maillog") - bounces_before)) bounces since outguard runs); $kept messages wait in"
echo "Postfix's hold queue"
echo "instead of hammering Microsoft.  The suspects, by what they sent"
echo "to Microsoft in the hour before the block:"
python3 - "$OG/notification.json" <<'PY' 2>/dev/null | sed 's/^/    /'
import json, sys
inc = json.load(open(sys.argv[1]))
print("%-28s %8s %7s  %s" % ("IDENTITY", "TO MS", "SHARE", "DECISION"))
for s in inc["suspects"]:
    print("%-28s %8d %6.1f%%  %s" % (s["identity"], s["to_provider"],
          s["share_percent"], "held" if s["held"] else "-"))
print()
print("incident %d: %s blocks %s, notified once (event %s)"
      % (inc["incident"], inc["provider"], inc["egress_ip"], inc["event"]))
PY
echo
echo "The evidence kept for Microsoft's delisting form:"
og_sql "select provider_code, egress_ip, server_tag, count, reply from blocks where source='watcher' order by id limit 1" |
    python3 -c '
import sys
code, ip, tag, n, reply = sys.stdin.readline().rstrip("\n").split("|", 4)
print("code %s, egress IP %s, Microsoft server %s" % (code, ip, tag))
print("reply: " + reply)' | fold -s -w 74 | sed 's/^/    /'
echo "    ($(grep -o 'reaction_seconds=[0-9]*' "$OG/policyd.log" | head -n 1) from the first block to mallory's hold)"
mx_refused=$(python3 -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) if l.strip()
          and json.loads(l).get("event") == "refused"))' "$SB/mx/records.jsonl")
echo "Microsoft saw $mx_refused refused attempts in all: after the first, the reply"
echo "filter ended each blocked session and refused $(grep -c 'reply-microsoft-consumer lookup error for 220 ' "$SB/maillog")"
echo "new connections before they sent anything, so Postfix suspended"
echo "hotmail.com instead of trying every queued message once more."

heading "4. Delisted: release"
sb_set_mx_mode accept
before=$(sb_mx_messages | wc -l)
og_report release provider:microsoft-consumer --reason "delisted, ticket 42" |
    grep -v '^released [0-9A-Za-z]' | sed 's/^/    /'
sb_flush
if sb_wait_for "[ \$(sb_mx_messages | wc -l) -ge $((before + 6)) ]" 30 &&
    sb_wait_for "og_sql 'select state from incidents' | grep -qx confirmed" 30; then
	echo "carol's, dave's and erin's 6 held messages reached Microsoft; mallory's"
	echo "$(og_queue_count hold) messages stay held until mallory is released."
	echo "The incident is confirmed: Microsoft takes mail again."
	good=$((good + 1))
else
	echo "(the release did not complete: see $OG/policyd.log)"
fi

heading "5. Prevention: outguard-milter checks mail before it is queued"
M=$SB/og/milter
mkdir -p "$M" && chmod 0755 "$M"
printf 'alice@outguard.test alice, alice@outguard.test\n' >"$M/logins"
cat >"$M/outguard.conf" <<CONF
milter_socket = unix:$M/milter.sock
milter_pid_file = $M/milter.pid
run_user = nobody
myhostname = $SB_HOSTNAME
unsub_keywords = $top_srcdir/contrib/unsub-keywords
sender_login_maps = file:$M/logins
local_domains = $SB_DOMAIN
identity_action = reject
unsubscribe_action = tag
CONF
"$top_builddir/milter/outguard-milter" -d -c "$M/outguard.conf" \
    2>"$M/milter.log" &
mpid=$!
if sb_wait_for "test -S $(printf %q "$M/milter.sock")" 10 &&
    sb_postconf "smtpd_milters = unix:$M/milter.sock" \
        "non_smtpd_milters = unix:$M/milter.sock" \
        "milter_default_action = accept" >/dev/null; then
	echo "outguard-milter now runs as Postfix's smtpd_milters and"
	echo "non_smtpd_milters. alice, logged in as alice, claims to be the CEO"
	echo "of a bank in the From header:"
	sb_submit alice@outguard.test bob@example.net alice demo-password \
	    --header "From: CEO <ceo@bank.example>" \
	    --header "Subject: Urgent wire transfer" >/dev/null 2>&1
	if grep -q "^<\*\* *550 5.7.1" "$SB/swaks/last"; then
		echo "Postfix answered her:"
		show "$(grep "^<\*\* *550" "$SB/swaks/last" | sed 's/^<\*\* *//')"
		echo "and the milter logged why:"
		show "$(sed -n 's/^.*\(check=identity result=fail\)/\1/p' \
		    "$M/milter.log" | head -n 1)"
		good=$((good + 1))
	else
		echo "(the spoof was NOT refused: see $M/milter.log)"
	fi
	echo
	echo "Then she sends a newsletter (Precedence: bulk, a List-Unsubscribe"
	echo "link) without the RFC 8058 one-click List-Unsubscribe-Post header"
	echo "that Outlook.com and Gmail expect of bulk mail:"
	if qid5=$(sb_submit alice@outguard.test bob@example.net alice \
	    demo-password --header "Subject: November newsletter" \
	    --header "Precedence: bulk" \
	    --header "List-Unsubscribe: <https://outguard.test/u/42>" \
	    --body "Our news. Unsubscribe: https://outguard.test/u/42") &&
	    [ -n "$qid5" ] &&
	    sb_wait_log "$qid5: to=<bob@example.net>,.* status=sent" 20 &&
	    eml=$(sb_sink_grep "^Subject: November newsletter") &&
	    grep -q "^X-Outguard-Result: .*unsubscribe=fail" "$eml"; then
		echo "It was delivered, tagged for the sender to see:"
		show "$(grep "^X-Outguard-Result:" "$eml" | tr -d '\r')"
		echo "(unsubscribe_action = reject would refuse it instead)"
		good=$((good + 1))
	else
		echo "(the newsletter was not tagged: see $M/milter.log)"
	fi
else
	echo "(outguard-milter did not start: see $M/milter.log)"
fi

heading "6. Authentication: DKIM signatures and the SPF/DMARC preflight"
echo "Outlook.com, Gmail and Yahoo refuse bulk mail whose From domain is"
echo "not authenticated: SPF (the domain's DNS lists the IPs that may send"
echo "for it) or DKIM (a signature made with the domain's key, whose public"
echo "half is in DNS) must pass for the From domain, as its DMARC record"
echo "says.  outguard-milter signs what leaves, and predicts what the"
echo "receiver will conclude before the mail is queued."
echo
mkdir -p "$M/keys" && chmod 0700 "$M/keys"
pub='' verdict=''
if openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$M/keys/bakery.pem" 2>/dev/null; then
	chmod 0600 "$M/keys/bakery.pem"
	pub=$(openssl pkey -in "$M/keys/bakery.pem" -pubout -outform DER |
	    base64 -w0 | fold -w 250 | sed 's/.*/"&"/' | tr '\n' ' ')
fi
sb_dns_zone bakery.test '@ IN TXT "v=spf1 ip4:127.0.0.1 -all"' \
    '_dmarc IN TXT "v=DMARC1; p=reject"' \
    "mail._domainkey IN TXT \"v=DKIM1; k=rsa; p=\" $pub" >/dev/null 2>&1
sb_dns_zone oldhost.test '@ IN TXT "v=spf1 ip4:192.0.2.10 -all"' \
    '_dmarc IN TXT "v=DMARC1; p=reject"' >/dev/null 2>&1
printf '%s\n' "alice@bakery.test alice, alice@outguard.test" \
    "alice@oldhost.test alice, alice@outguard.test" >>"$M/logins"
cat >>"$M/outguard.conf" <<CONF
preflight_action = tag
egress_ips = 127.0.0.1
dns_resolver = 127.0.0.1@$SB_DNS_PORT
dkim_domain = bakery.test
dkim_selector = mail
dkim_key_file = $M/keys/bakery.pem
CONF
echo "The DNS server now serves bakery.test (SPF lists 127.0.0.1, DMARC"
echo "p=reject, the DKIM key at mail._domainkey) and oldhost.test (SPF"
echo "lists only 192.0.2.10, a server it left long ago).  outguard-milter"
echo "restarts with the bakery.test key and egress_ips = 127.0.0.1:"
if [ -n "${mpid:-}" ]; then
	kill "$mpid" 2>/dev/null
	wait "$mpid" 2>/dev/null
fi
"$top_builddir/milter/outguard-milter" -d -c "$M/outguard.conf" \
    2>"$M/milter6.log" &
mpid=$!
if [ -n "$pub" ] &&
    sb_wait_for "grep -q 'starting:' $(printf %q "$M/milter6.log")" 10 &&
    qid6=$(sb_submit alice@bakery.test bob@example.net alice \
    demo-password --header "From: Alice <alice@bakery.test>" \
    --header "Subject: Your order 7731" \
    --body "Your bread is ready for pick-up. ($token)") && [ -n "$qid6" ] &&
    sb_wait_log "$qid6: to=<bob@example.net>,.* status=sent" 20 &&
    eml=$(sb_sink_grep "^Subject: Your order 7731") &&
    verdict=$(/usr/bin/python3 - "$SB_DNS_PORT" "$eml" <<'PY' 2>&1
import sys, dkim, dns.resolver
res = dns.resolver.Resolver(configure=False)
res.nameservers, res.port = ["127.0.0.1"], int(sys.argv[1])
def txt(name, timeout=5):
    a = res.resolve(name.decode().rstrip("."), "TXT", lifetime=timeout)
    return b"".join(b"".join(r.strings) for r in a)
d = dkim.DKIM(open(sys.argv[2], "rb").read())
ok = d.verify(dnsfunc=txt)
f = d.signature_fields
print("signature d=%s s=%s a=%s: %s" % (f.get(b"d", b"?").decode(),
      f.get(b"s", b"?").decode(), f.get(b"a", b"?").decode(),
      "pass" if ok else "FAIL"))
sys.exit(0 if ok else 1)
PY
    ); then
	echo "alice@bakery.test writes to bob@example.net.  The receiving server"
	echo "got a DKIM-Signature, and python3-dkim (an independent verifier,"
	echo "asking the DNS server for the key) says:"
	show "$verdict"
	echo "The milter's log line and its preflight tag on the message:"
	show "$(sed -n "s/^.*\($qid6: check=dkim .*\)/\1/p" "$M/milter6.log")"
	show "$(grep "^X-Outguard-Result:" "$eml" | tr -d '\r')"
	good=$((good + 1))
else
	echo "(the message was not signed and verified: $verdict; see"
	echo "$M/milter6.log)"
fi
echo
echo "Then alice writes as alice@oldhost.test, whose SPF record does not"
echo "list this server's IP, and which has no DKIM key here:"
if qid7=$(sb_submit alice@oldhost.test bob@example.net alice \
    demo-password --header "From: alice@oldhost.test" \
    --header "Subject: Opening hours" --body "We open at 7. ($token)") &&
    [ -n "$qid7" ] &&
    sb_wait_log "$qid7: to=<bob@example.net>,.* status=sent" 20 &&
    eml=$(sb_sink_grep "^Subject: Opening hours") &&
    grep -q "^X-Outguard-Result: .*preflight=fail (spf-fail-for-egress-ip)" \
        "$eml"; then
	echo "It was delivered (preflight_action = tag), tagged:"
	show "$(grep "^X-Outguard-Result:" "$eml" | tr -d '\r')"
	echo "and the milter logged what the receiver will see, and why:"
	show "$(sed -n "s/^.*\($qid7: check=preflight .*\)/\1/p" \
	    "$M/milter6.log")"
	echo "Outlook.com would refuse it (550 5.7.515).  preflight_action ="
	echo "reject refuses it here instead, before it leaves."
	good=$((good + 1))
else
	echo "(no preflight warning: see $M/milter6.log)"
fi

heading "7. The admin's view: summary and the delisting pack"
echo "\$ outguard-queue-report summary"
og_report summary | sed 's/^/    /'
echo
echo "\$ outguard-queue-report evidence      (the Outlook.com sender support form)"
og_report evidence --timeout 3 | sed 's/^/    /'
echo "    (the pack states SPF, DKIM and DMARC only as far as check-auth"
echo "    verified them just now; here it says what to fix first)"

heading "Result"
if [ "$good" = 8 ]; then
	echo "Without outguard, hotmail.com refused everyone's mail with S3150."
	echo "With it, nothing bounced, the culprit was held within seconds,"
	echo "the evidence was recorded, and the rest flowed again.  The milter"
	echo "refused a forged From, tagged bulk mail without one-click"
	echo "unsubscribe, signed mail an independent verifier accepts, and"
	echo "warned about a domain whose SPF does not cover this server."
	echo "Cleaning up."
	status=0
else
	echo "Something did not happen as expected ($good of 8).  Cleaning up;"
	echo "run with SB_KEEP=1 to keep $SB for a look."
	status=1
fi
if [ -n "${mpid:-}" ]; then
	kill "$mpid" 2>/dev/null
	wait "$mpid" 2>/dev/null
fi
og_policyd_kill
sb_stop
exit "$status"
