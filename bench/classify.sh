#!/bin/bash
# classify.sh - lines per second of the reply classifier, single thread
# Usage: bench/classify.sh [BUILDDIR] [LINES]
# Generates LINES (default 1,000,000) reply lines the way a real mail log
# mixes them: mostly successes, greylisting, recipient errors and other
# providers' replies, a few percent Microsoft, Google and Yahoo
# refusals, each in one of many wrappings (Postfix log, postqueue -j
# delay_reason, Exim, Sendmail, qmail, OpenSMTPD, ESP JSON, bare). The
# generator is deterministic (a fixed seed), so runs compare. Builds
# nothing: BUILDDIR (default ./_build) must hold bench/bench_classify,
# best an optimised build (see bench/RESULTS.md). Prints the machine,
# the command and the result.
set -eu
srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-./_build}
lines=${2:-1000000}
bench="$builddir/bench/bench_classify"
rules="$srcdir/contrib/replies.rules"
if [ ! -x "$bench" ]; then
	echo "classify.sh: $bench not built (make bench/bench_classify)" >&2
	exit 1
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "classify.sh: python3 is needed to generate the input" >&2
	exit 77
fi
data=$(mktemp "${TMPDIR:-/tmp}/og-bench-classify.XXXXXX")
trap 'rm -f "$data"' EXIT

python3 - "$lines" >"$data" <<'EOF'
import random
import sys

n = int(sys.argv[1])
rnd = random.Random(20251125)

def ip():
    return "%d.%d.%d.%d" % (rnd.choice([192, 198, 203, 185, 91, 45]),
                            rnd.randint(0, 255), rnd.randint(0, 255),
                            rnd.randint(1, 254))

def hexid(k):
    return "".join(rnd.choice("0123456789ABCDEF") for _ in range(k))

def qid():
    return hexid(10)

def mstag():
    return "[%s.%s.prod.outlook.com 2025-11-%02dT%02d:%02d:%02d.%03dZ 08DE%s]" % (
        rnd.choice(["AM0PR01MB1234", "DB3PEPF0000885E", "BN8NAM12FT045",
                    "CO1PEPF000044F6", "VI1EUR04FT003"]),
        rnd.choice(["eurprd01", "namprd05", "eurprd04", "eop-nam12"]),
        rnd.randint(1, 28), rnd.randint(0, 23), rnd.randint(0, 59),
        rnd.randint(0, 59), rnd.randint(0, 999), hexid(12))

def pfa():
    return "[Name=Protocol Filter Agent][AGT=PFA][MxId=11BB%s]" % hexid(12)

# (weight, provider MX, reply function)
def r_ok_google():
    return "250 2.0.0 OK  17%08d %s.%d - gsmtp" % (rnd.randint(0, 10**8), hexid(8).lower(), rnd.randint(1, 999))
def r_ok_postfix():
    return "250 2.0.0 Ok: queued as %s" % qid()
def r_ok_exchange():
    return "250 2.6.0 <%s@mail.example.org> [InternalId=%d, Hostname=%s.eurprd04.prod.outlook.com] 12345 bytes in 0.123, 98.1 KB/sec Queued mail for delivery" % (hexid(16).lower(), rnd.randint(10**9, 10**10), hexid(14))
def r_ok_exim():
    return "250 OK id=1t%s-000%s-%02d" % (hexid(4), hexid(3), rnd.randint(0, 99))
def r_ok_plain():
    return rnd.choice(["250 Ok", "250 2.0.0 Message accepted for delivery",
                       "250 ok dirdel", "250 Requested mail action okay, completed: id=%s" % hexid(18)])
def r_grey():
    return rnd.choice([
        "450 4.2.0 <user%d@example.net>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.net.html" % rnd.randint(1, 9999),
        "451 4.7.1 Please try again later",
        "451 4.7.1 Greylisting in action, please come back later",
        "421 4.7.0 Try again later, closing connection. (EHLO) %s.%d - gsmtp" % (hexid(8).lower(), rnd.randint(1, 99)),
        "450 4.7.1 Client host rejected: cannot find your reverse hostname, [%s]" % ip()])
def r_user():
    return rnd.choice([
        "550 5.1.1 <user%d@example.net>: Recipient address rejected: User unknown in virtual mailbox table" % rnd.randint(1, 9999),
        "550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550-5.1.1 unnecessary spaces. For more information, go to 550 5.1.1  https://support.google.com/mail/?p=NoSuchUser %s.%d - gsmtp" % (hexid(8).lower(), rnd.randint(1, 99)),
        "552 5.2.2 Mailbox full",
        "452-4.2.2 The recipient's inbox is out of storage space. Please direct the 452 4.2.2 recipient to https://support.google.com/mail/?p=OverQuotaTemp - gsmtp",
        "550 5.1.10 RecipientNotFound; Recipient not found by SMTP address lookup",
        "554 delivery error: dd This user doesn't have a yahoo.com account (user%d@yahoo.com) [0] - mta%d.mail.gq1.yahoo.com" % (rnd.randint(1, 9999), rnd.randint(1000, 9999))])
def r_other():
    return rnd.choice([
        "554 5.7.1 Service unavailable; Client host [%s] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/%s" % (ip(), ip()),
        "550 5.7.1 Message rejected as spam by Content Filtering.",
        "451 4.3.0 Temporary lookup failure",
        "554 5.7.1 <unknown[%s]>: Client host rejected: Access denied" % ip(),
        "421 4.4.2 mx.example.org Error: timeout exceeded",
        "550 5.7.1 [%s] Connection refused - IP listed on bl.spamcop.net" % ip(),
        "452 4.5.3 Error: too many recipients",
        "550 High probability of spam"])
def r_ms():
    i = ip()
    return rnd.choice([
        "550 5.7.1 Unfortunately, messages from [%s] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150). You can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors. %s" % (i, mstag()),
        "451 4.7.650 The mail server [%s] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://postmaster.live.com (S775) %s %s" % (i, pfa(), mstag()),
        "550 5.7.606 Access denied, banned sending IP [%s]. To request removal from this list please visit https://sender.office.com/ and follow the directions. For more information please go to  http://go.microsoft.com/fwlink/?LinkID=526655 AS(1430) %s" % (i, mstag()),
        "421 RP-001 (BAY004-MC1F43) Unfortunately, some messages from %s weren't sent. Please try again. We have limits for how many messages can be sent per hour and per day. You can also refer to http://mail.live.com/mail/troubleshooting.aspx#errors." % i,
        "550 5.7.515 Access denied, sending domain example.com does not meet the required authentication level. The sender's domain in the 5322.From address doesn't meet the authentication requirements defined for the sender. Spf=Fail, Dkim=None, DMARC=Fail. To learn more, see https://aka.ms/AuthRequirements %s" % mstag(),
        "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). %s" % mstag(),
        "451 4.7.500 Server busy. Please try again later from [%s]. (S77719) %s" % (i, mstag())])
def r_gy():
    i = ip()
    return rnd.choice([
        "421-4.7.28 [%s      15] Our system has detected an unusual rate of 421-4.7.28 unsolicited mail originating from your IP address. To protect our 421-4.7.28 users from spam, mail sent from your IP address has been temporarily 421-4.7.28 rate limited. Please visit 421-4.7.28  https://support.google.com/mail/?p=UnsolicitedRateLimitError to 421 4.7.28 review our Bulk Email Senders Guidelines. %s.%d - gsmtp" % (i, hexid(8).lower(), rnd.randint(1, 99)),
        "550-5.7.26 This mail has been blocked because the sender is unauthenticated. 550-5.7.26 Gmail requires all senders to authenticate with either SPF or DKIM. 550 5.7.26  https://support.google.com/mail/answer/81126#authentication %s.%d - gsmtp" % (hexid(8).lower(), rnd.randint(1, 99)),
        "421 4.7.0 [TSS04] Messages from %s temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes" % i,
        "554 5.7.9 Message not accepted for policy reasons.  See https://postmaster.yahooinc.com/error-codes"])

def w_bare(h, hip, rep, rcpt):
    return rep
def w_postfix(h, hip, rep, rcpt):
    st = "sent" if rep.startswith("2") else ("deferred" if rep.startswith("4") else "bounced")
    cmd = rnd.choice(["MAIL FROM", "RCPT TO", "end of DATA"])
    return "Nov 25 08:%02d:%02d mx1 postfix/smtp[%d]: %s: to=<%s>, relay=%s[%s]:25, delay=%.1f, delays=0.1/0/0.3/0.5, dsn=%s, status=%s (host %s[%s] said: %s (in reply to %s command))" % (
        rnd.randint(0, 59), rnd.randint(0, 59), rnd.randint(1000, 99999), qid(), rcpt, h, hip,
        rnd.random() * 5, rep[0] + ".0.0", st, h, hip, rep, cmd)
def w_postfix_sent(h, hip, rep, rcpt):
    return "Nov 25 08:%02d:%02d mx1 postfix/smtp[%d]: %s: to=<%s>, relay=%s[%s]:25, delay=0.9, delays=0.1/0/0.3/0.5, dsn=2.0.0, status=sent (%s)" % (
        rnd.randint(0, 59), rnd.randint(0, 59), rnd.randint(1000, 99999), qid(), rcpt, h, hip, rep)
def w_delay(h, hip, rep, rcpt):
    return "host %s[%s] said: %s (in reply to RCPT TO command)" % (h, hip, rep)
def w_exim(h, hip, rep, rcpt):
    return "2025-11-25 08:06:41 1t%s-000%s-%02d ** %s R=dnslookup T=remote_smtp H=%s [%s]: SMTP error from remote mail server after MAIL FROM:<news@example.org> SIZE=%d: %s" % (
        hexid(4), hexid(3), rnd.randint(0, 99), rcpt, h, hip, rnd.randint(1000, 99999), rep)
def w_sendmail(h, hip, rep, rcpt):
    return "... while talking to %s.: >>> MAIL From:<news@example.org> SIZE=%d <<< %s" % (h, rnd.randint(1000, 99999), rep)
def w_qmail(h, hip, rep, rcpt):
    return "@4000000067443a1d2b3c4d5e delivery %d: failure: %s_does_not_like_recipient./Remote_host_said:_%s/Giving_up_on_%s./" % (
        rnd.randint(1, 99999), hip, rep.replace(" ", "_"), hip)
def w_opensmtpd(h, hip, rep, rcpt):
    return "Nov 25 08:06:41 mx1 smtpd[%d]: %s mta delivery evpid=%s from=<news@example.org> to=<%s> rcpt=<-> source=\"%s\" relay=\"%s (%s)\" delay=2s result=\"%s\" stat=\"%s\"" % (
        rnd.randint(1000, 99999), hexid(16).lower(), hexid(16).lower(), rcpt, ip(), hip, h,
        "Ok" if rep.startswith("2") else ("TempFail" if rep.startswith("4") else "PermFail"), rep)
def w_ses(h, hip, rep, rcpt):
    return "{\"eventType\":\"Bounce\",\"bounce\":{\"bounceType\":\"Permanent\",\"bouncedRecipients\":[{\"emailAddress\":\"%s\",\"action\":\"failed\",\"status\":\"5.0.0\",\"diagnosticCode\":\"smtp; %s\"}],\"remoteMtaIp\":\"%s\"}}" % (
        rcpt, rep.replace('"', '\\"'), hip)
def w_sendgrid(h, hip, rep, rcpt):
    return "{\"email\":\"%s\",\"event\":\"bounce\",\"reason\":\"%s\",\"status\":\"%s\",\"timestamp\":%d}" % (
        rcpt, rep.replace('"', '\\"'), rep[0] + ".0.0", 1764057600 + rnd.randint(0, 86400))

mx = {
    "google": ("gmail-smtp-in.l.google.com", "142.250.27.26", "someone@gmail.com"),
    "ms": ("hotmail-com.olc.protection.outlook.com", "52.101.42.8", "someone@hotmail.com"),
    "ms365": ("contoso-com.mail.protection.outlook.com", "52.101.68.3", "someone@contoso.com"),
    "yahoo": ("mta7.am0.yahoodns.net", "67.195.204.72", "someone@yahoo.com"),
    "other": ("mx.example.net", "198.51.100.25", "someone@example.net"),
}
kinds = [  # weight, reply, mx choices
    (30, r_ok_postfix, ["other"]), (14, r_ok_google, ["google"]),
    (6, r_ok_exchange, ["ms", "ms365"]), (6, r_ok_exim, ["other"]),
    (6, r_ok_plain, ["other"]), (10, r_grey, ["other", "google"]),
    (8, r_user, ["other", "google", "ms365"]), (12, r_other, ["other"]),
    (4, r_ms, ["ms", "ms365"]), (4, r_gy, ["google", "yahoo"]),
]
wraps = [(30, w_postfix), (10, w_delay), (12, w_bare), (10, w_exim),
         (6, w_sendmail), (6, w_qmail), (8, w_opensmtpd), (9, w_ses),
         (9, w_sendgrid)]
kw = [k[0] for k in kinds]
ww = [w[0] for w in wraps]
out = sys.stdout
for _ in range(n):
    k = rnd.choices(kinds, kw)[0]
    h, hip, rcpt = mx[rnd.choice(k[2])]
    rep = k[1]()
    w = rnd.choices(wraps, ww)[0][1]
    if rep.startswith("2") and w in (w_postfix, w_delay):
        w = w_postfix_sent
    out.write(w(h, hip, rep, rcpt) + "\n")
EOF

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(uname -sr)"
echo "input: $lines lines, $(wc -c <"$data") bytes, $(grep -c -i -E 'outlook|hotmail|microsoft|live\.com' "$data") naming Microsoft"
echo "command: $bench $rules INPUT"
"$bench" "$rules" "$data"
