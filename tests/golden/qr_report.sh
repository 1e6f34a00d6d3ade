#!/bin/bash
# qr_report.sh - golden tests of outguard-queue-report's reports: summary,
# blocks, holds, senders and the evidence pack, in text and --json
#
# DESCRIPTION: one store is filled by the real code paths, each at a
#	fixed clock (OG_FAKE_NOW): message rows by outguard-policyd -s
#	(policy requests on stdin, as spawn(8) runs it), block sightings
#	and delivery counts by outguard-policyd -m (status-filter socketmap
#	lookups), incidents, watcher block rows, provider and suspect holds
#	by outguard-policyd -w (the watcher's scan) over generated
#	"postqueue -j" output (OG_POSTFIX_BIN: postqueue prints a file,
#	postsuper logs what it was asked), the admin's holds and releases
#	by the CLI: an earlier incident opened, released, delivered to and
#	confirmed, then the S3150 block with its suspects.
#	Every command's output is compared with
#	tests/golden/report/NAME.out; OG_GOLDEN_UPDATE=1 rewrites them.
#	The evidence pack's SPF, DKIM and DMARC come from lib/auth.c: with
#	the sandbox's NSD (tests/postfix/sandbox.sh, no Postfix started) a
#	domain that passes (exit 0, the follow-up states each check) and
#	one whose SPF misses the egress IP (exit 65, no SPF claim); without
#	it those cases SKIP. A resolver port where nothing answers gives
#	exit 75 and no claim at all. lib/auth.c's reasons are masked in the
#	golden files, so that they follow that module, not this test. TAP.
# Exercises: policy/watcher.c (outguard-policyd -w), policy/qr_report.c (summary, blocks, senders), policy/qr_evidence.c, policy/qr_hold.c (holds --json), policy/qr_fmt.c.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
policyd="$top_builddir/policy/outguard-policyd"
report="$top_builddir/policy/outguard-queue-report"
dir="$top_srcdir/tests/golden/report"

T0=1795000000 # the first block: 2026-11-18T11:06:40Z
NOW=$((T0 + 3 * 3600)) # when the reports run
export TZ=UTC LC_ALL=C SUDO_USER=admin # SUDO_USER: the CLI's actor

tmp=$(mktemp -d)
export SB_NO_TRAP=1 # sandbox.sh: the EXIT trap is ours
cleanup() {
	if [ -n "${SB:-}" ]; then
		sb_stop
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
chmod 0777 "$tmp" # outguard-policyd -s and -m drop to nobody as root

# shellcheck source=tests/tapstatus.sh
. "$top_srcdir/tests/tapstatus.sh"
# check NAME FILE - FILE against the golden NAME.out
check() {
	n=$((n + 1))
	if [ "${OG_GOLDEN_UPDATE:-0}" = 1 ]; then
		cp "$2" "$dir/$1.out"
	fi
	if diff -u "$dir/$1.out" "$2" >"$tmp/diff" 2>&1; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		sed 's/^/# /' "$tmp/diff" | head -n 40
		fail=1
	fi
}

# ---- the configuration
conf() { # NAME EXTRA-LINES: a configuration file named NAME
	{
		cat <<CONF
store = sqlite:$tmp/outguard.db
provider_domains = file:$top_srcdir/contrib/providers
reply_rules = $top_srcdir/contrib/replies.rules
myhostname = mta.example.net
run_user = nobody
egress_ips = 203.0.113.5, 198.51.100.0/28
CONF
		printf '%s\n' "$2"
	} >"$tmp/$1.conf"
}
settings='contact_name = Dana Admin
contact_email = dana.admin@outlook.com
company_description = Web hosting for small businesses
server_type = shared
website_url = https://www.example.net/'
conf base "$settings"
cfg=$tmp/base.conf

# ---- the Postfix queue: a canned postqueue -j, postcat with no answer
mkdir -p "$tmp/bin"
cat >"$tmp/bin/postqueue" <<EOF
#!/bin/sh
cat "$tmp/queue.jsonl"
EOF
printf '#!/bin/sh\nexit 0\n' >"$tmp/bin/postcat"
chmod 0755 "$tmp/bin/postqueue" "$tmp/bin/postcat"
export OG_POSTFIX_BIN=$tmp/bin

# ---- message rows: policy requests through outguard-policyd -s
# req STATE INSTANCE QUEUE-ID SASL CLIENT SENDER RECIPIENT COUNT
req() {
	printf 'request=smtpd_access_policy\nprotocol_state=%s\n' "$1"
	printf 'protocol_name=ESMTP\ninstance=%s\nqueue_id=%s\n' "$2" "$3"
	printf 'sasl_username=%s\nsasl_method=%s\n' "$4" "${4:+PLAIN}"
	printf 'client_address=%s\nclient_name=unknown\n' "$5"
	printf 'sender=%s\nrecipient=%s\n' "$6" "$7"
	printf 'recipient_count=%s\nsize=%s\n\n' "$8" "$((${8} * 1000))"
}
# message QUEUE-ID SASL CLIENT SENDER RECIPIENT...: RCPTs, then the EOM
message() {
	local qid=$1 sasl=$2 client=$3 sender=$4 r
	shift 4
	for r in "$@"; do
		req RCPT "i.$qid" "" "$sasl" "$client" "$sender" "$r" 0
	done
	req END-OF-MESSAGE "i.$qid" "$qid" "$sasl" "$client" "$sender" "" $#
}
record() { # TIME: the requests on stdin, recorded at TIME
	# (through a pipe: -s serves a socket or a pipe, never a file)
	cat | OG_FAKE_NOW=$1 "$policyd" -c "$cfg" -s >/dev/null 2>"$tmp/policyd.err" ||
	    { echo "Bail out! outguard-policyd -s failed"; cat "$tmp/policyd.err"; exit 1; }
}
# mallory's spam run: 12 messages, 6 recipients at Outlook.com each
{
	for i in 01 02 03 04 05 06 07 08 09 10 11 12; do
		message "4MAL00$i" mallory@example.net 192.0.2.66 \
		    mallory@example.net "a$i@hotmail.com" "b$i@hotmail.com" \
		    "c$i@hotmail.com" "d$i@hotmail.com" "e$i@hotmail.com" \
		    "f$i@outlook.com"
	done
} | record $((T0 - 1800))
# alice's ordinary mail, bob's from a web server without a login
{
	message 4ALI0001 alice@example.net 192.0.2.10 alice@example.net \
	    friend@hotmail.com friend@gmail.com
	message 4ALI0002 alice@example.net 192.0.2.10 alice@example.net \
	    aunt@hotmail.com uncle@gmail.com
} | record $((T0 - 1200))
message 4BOB0001 "" 192.0.2.20 Bob@Shop.Example orders@example.com \
    stock@example.com | record $((T0 - 600))
# three days before: outside the senders' 24 hours, inside the pack's 7 days
message 4CAR0001 carol@example.net 192.0.2.11 carol@example.net \
    old@hotmail.com | record $((T0 - 3 * 86400))

# ---- the Postfix queue as the watcher sees it, and its actions
# qline QUEUE QID ARRIVAL SENDER REASON RCPT...: one postqueue -j line
qline() {
	local q=$1 id=$2 t=$3 s=$4 why=$5 r sep=
	shift 5
	why=${why//\"/\\\"}
	printf '{"queue_name": "%s", "queue_id": "%s", "arrival_time": %s, ' \
	    "$q" "$id" "$t"
	printf '"message_size": 1000, "forced_expire": false, "sender": "%s", ' "$s"
	printf '"recipients": ['
	for r in "$@"; do
		printf '%s{"address": "%s", "delay_reason": "%s"}' "$sep" "$r" "$why"
		sep=', '
	done
	printf ']}\n'
}
# scan TIME: outguard-policyd -w, the watcher's scan, over queue.jsonl
scan() {
	OG_FAKE_NOW=$1 "$policyd" -c "$cfg" -w 2>>"$tmp/watcher.log" ||
	    { echo "Bail out! outguard-policyd -w failed"; cat "$tmp/watcher.log"; exit 1; }
}
# the blocked replies, as Postfix keeps them (the status filter's key
# less its DSN)
keys=$top_srcdir/tests/golden/statusfilter/keys.txt
s3150=$(sed -n 1p "$keys")
s3140=$(sed -n 2p "$keys")
ms606=$(sed -n 4p "$keys")
ms511=$(sed -n 5p "$keys")
old3140=${s3140//203.0.113.5/198.51.100.7}
lookup() { # TIME KEY: one status-filter lookup through outguard-policyd -m
	local q="status $2"
	printf '%d:%s,' "${#q}" "$q" |
	    OG_FAKE_NOW=$1 "$policyd" -c "$cfg" -m >/dev/null 2>&1
}
cli() { # TIME ARGS...: the CLI, no Postfix (--no-queue)
	local t=$1
	shift
	OG_FAKE_NOW=$t "$report" -c "$cfg" "$@" --no-queue >/dev/null 2>&1 ||
	    { echo "Bail out! outguard-queue-report $* failed"; exit 1; }
}
printf '#!/bin/sh\n{ echo "$*"; cat; } >>"%s/postsuper.log"\n' "$tmp" \
    >"$tmp/bin/postsuper"
chmod 0755 "$tmp/bin/postsuper"

# Two days before: Outlook.com blocks the other egress IP for carol's
# message; the watcher opens incident 1; the admin releases it a day
# later, Outlook.com takes mail again (two deliveries the status filter
# counts), and the next scan confirms it.
qline deferred 4CAR0001 $((T0 - 3 * 86400)) carol@example.net \
    "${old3140#5.7.1 }" old@hotmail.com >"$tmp/queue.jsonl"
lookup $((T0 - 2 * 86400)) "$old3140"
scan $((T0 - 2 * 86400 + 60))
: >"$tmp/queue.jsonl"
cli $((T0 - 86400)) release provider:microsoft-consumer --reason "delisted"
delivered='2.6.0 250 2.6.0 <m1@example.net> [InternalId=1, Hostname=DM6PR10MB4121.namprd10.prod.outlook.com] Queued mail for delivery'
lookup $((T0 - 86400 + 600)) "$delivered"
lookup $((T0 - 86400 + 700)) "$delivered"
scan $((T0 - 86400 + 3600))

# The block: the status filter keeps mallory's first blocked messages
# (and one of alice's) queued, the watcher's scan finds them deferred.
lookup "$T0" "$s3150"
lookup $((T0 + 30)) "$s3150"
{
	qline deferred 4MAL0001 $((T0 - 1800)) mallory@example.net \
	    "${s3150#5.7.1 }" a01@hotmail.com b01@hotmail.com f01@outlook.com
	qline deferred 4MAL0002 $((T0 - 1790)) mallory@example.net \
	    "${s3150#5.7.1 }" a02@hotmail.com
	qline deferred 4ALI0002 $((T0 - 1200)) alice@example.net \
	    "${s3150#5.7.1 }" aunt@hotmail.com
	qline active 4MAL0003 $((T0 - 1780)) mallory@example.net "" x@gmail.com
} >"$tmp/queue.jsonl"
scan $((T0 + 60))
grep -q '^4MAL0001$' "$tmp/postsuper.log" &&
    grep -q '^4ALI0002$' "$tmp/postsuper.log"
ok "the watcher's scan moved the blocked mail to the hold queue" $?
grep -q 'action=hold identity=sasl:mallory@example.net reason=suspect' \
    "$tmp/watcher.log"
ok "the watcher's scan held the top suspect" $?
# a PHP script's mail submitted locally (no policy request) after the
# hold: tried, refused (S3140), found by the next scan
lookup $((T0 + 120)) "$s3140"
qline deferred 9UNKNOWN01 $((T0 + 100)) web@shop.example "${s3140#5.7.1 }" \
    buyer@outlook.com >"$tmp/queue.jsonl"
scan $((T0 + 150))
# Microsoft 365 tenants, a sender ban and Yahoo: status filter only
lookup $((T0 + 600)) "$ms606"
lookup $((T0 + 900)) "$ms606"
lookup $((T0 + 1200)) "$ms511"
lookup $((T0 + 1500)) '5.7.1 host mta5.am0.yahoodns.net[67.195.204.72] said: 553 5.7.2 [TSS09] All messages from 203.0.113.5 will be permanently deferred; Retrying will NOT succeed. See https://senders.yahooinc.com/tss-messages (in reply to MAIL FROM command)'

# ---- holds and a release by the admin, through the CLI
cli $((T0 + 120)) hold sasl:alice@example.net --reason "leaked password, ticket 17"
cli $((T0 + 3600)) release sasl:alice@example.net --reason "password changed"
cli $((T0 + 4000)) hold client:192.0.2.0/24 --scope provider:microsoft-consumer \
    --reason "web servers: nothing to Outlook.com until checked"

# ---- the queue when the reports run: the hold queue, bob's deferred
{
	qline hold 4MAL0001 $((T0 - 1800)) mallory@example.net held a01@hotmail.com f01@outlook.com
	qline hold 4MAL0002 $((T0 - 1790)) mallory@example.net held a02@hotmail.com
	qline hold 4MAL0003 $((T0 - 1780)) mallory@example.net held x@gmail.com
	qline hold 4ALI0002 $((T0 - 1200)) alice@example.net held aunt@hotmail.com uncle@gmail.com
	qline hold 9UNKNOWN01 $((T0 + 100)) web@shop.example held buyer@outlook.com
	qline deferred 4BOB0001 $((T0 - 600)) bob@shop.example held orders@example.com
} >"$tmp/queue.jsonl"

# ---- the reports, text and JSON
# run NAME ARGS...: outputs and exit status into $tmp/NAME.out
run() {
	local name=$1
	shift
	{
		OG_FAKE_NOW=$NOW "$report" "$@" 2>"$tmp/$name.err"
		echo "exit $?"
	} >"$tmp/$name.out"
}
# wide FILE - lines over 80 columns, the exit line aside
wide() { grep -v '^exit ' "$1" | awk 'length > 80' | wc -l; }
# json_ok FILE - the output less its exit line parses as JSON
json_ok() { grep -v '^exit ' "$1" | python3 -m json.tool >/dev/null 2>&1; }

for args in "summary" "summary --provider microsoft-365" \
    "summary --since 2026-11-18" "blocks" "blocks --code S3150" \
    "blocks --identity sasl:mallory@example.net" \
    "blocks --ip 203.0.113.5 --provider microsoft-365" "holds" \
    "senders" "senders --provider microsoft-consumer" \
    "senders --since 7d"; do
	name=$(printf '%s' "$args" | tr -c 'a-zA-Z0-9.\n' '-' | sed 's/--*/-/g')
	# shellcheck disable=SC2086
	run "$name" -c "$cfg" $args
	check "$name" "$tmp/$name.out"
	ok "$name: 80 columns" "$(wide "$tmp/$name.out")"
	# shellcheck disable=SC2086
	run "$name.json" -c "$cfg" $args --json
	check "$name.json" "$tmp/$name.json.out"
	json_ok "$tmp/$name.json.out"
	ok "$name --json parses" $?
done
# the default command is summary
{
	OG_FAKE_NOW=$NOW "$report" -c "$cfg" 2>/dev/null
	echo "exit $?"
} >"$tmp/default.out"
cmp -s "$tmp/default.out" "$tmp/summary.out"
ok "no command: the summary" $?

# ---- the evidence pack
# mask - lib/auth.c's reasons (theirs to word) out of text and JSON
mask() {
	python3 -c '
import json, re, sys
text = sys.stdin.read()
body, _, last = text.rstrip("\n").rpartition("\n")
try:
    o = json.loads(body)
except ValueError:
    o = None
if o is None:
    text = re.sub(r"(?m)^(  (?:FIX|CHECK) .*?) \(.*\)$", r"\1 (...)", text)
    sys.stdout.write(text)
    sys.exit(0)
for k in ("fix", "unverified"):
    o[k] = [re.sub(r" \(.*\)$", " (...)", s) for s in o[k]]
def walk(v):
    if isinstance(v, dict):
        for k in v:
            if k == "reason":
                v[k] = "..."
            else:
                walk(v[k])
    elif isinstance(v, list):
        for e in v:
            walk(e)
walk(o["auth"])
print(json.dumps(o, indent=2))
print(last)
'
}
evidence() { # NAME CONF ARGS...: the pack, masked, into $tmp/NAME.out
	local name=$1 c=$2
	shift 2
	run "$name.raw" -c "$c" evidence "$@"
	mask <"$tmp/$name.raw.out" >"$tmp/$name.out"
	check "$name" "$tmp/$name.out"
}
status() { tail -n 1 "$tmp/$1.out"; }

evidence qr_evidence-portal "$cfg" --for delist-portal
ok "delist-portal: exit 0, complete" "$([ "$(status qr_evidence-portal)" = "exit 0" ]; echo $?)"
evidence qr_evidence-portal.json "$cfg" --for delist-portal --json
evidence qr_evidence-mail "$cfg" --for delist-mail
evidence qr_evidence-mail.json "$cfg" --for delist-mail --json
ok "delist-mail: exit 0" "$([ "$(status qr_evidence-mail)" = "exit 0" ]; echo $?)"

# settings missing: each named as a gap, exit 78
conf bare ""
evidence qr_evidence-portal-gaps "$tmp/bare.conf" --for delist-portal
ok "gaps: exit 78" "$([ "$(status qr_evidence-portal-gaps)" = "exit 78" ]; echo $?)"
evidence qr_evidence-mail-gaps "$tmp/bare.conf" --for delist-mail
for s in contact_name contact_email; do
	grep -q "^  GAP   .*$s is not set" "$tmp/qr_evidence-mail-gaps.out"
	ok "delist-mail names the gap $s" $?
done
# no block of that kind: exit 66
run qr_evidence-none -c "$cfg" evidence --for delist-mail --provider microsoft-consumer
ok "no such block: exit 66" "$([ "$(status qr_evidence-none)" = "exit 66" ]; echo $?)"
run qr_evidence-usage -c "$cfg" evidence --for fax
ok "bad --for: exit 64" "$([ "$(status qr_evidence-usage)" = "exit 64" ]; echo $?)"
run since-usage -c "$cfg" summary --since yesterday
ok "bad --since: exit 64" "$([ "$(status since-usage)" = "exit 64" ]; echo $?)"

# The form: SPF, DKIM and DMARC of example.net are checked live. Keys
# for dkim_key_file first (openssl), then three resolvers.
if ! command -v openssl >/dev/null 2>&1; then
	for t in "form: nothing claimed when DNS does not answer" \
	    "form: verified" "form: SPF fails"; do
		skip "$t" "openssl not installed"
	done
	echo "1..$n"
	exit $fail
fi
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$tmp/rsa.pem" 2>/dev/null
openssl genpkey -algorithm ED25519 -out "$tmp/ed.pem" 2>/dev/null
keys="dkim_domain = example.net
dkim_selector = rsa1, ed1
dkim_key_file = $tmp/rsa.pem, $tmp/ed.pem"
# a port where nothing answers: the checks cannot be made
dead=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
conf dead "$settings
$keys
dns_resolver = 127.0.0.1@$dead"
evidence qr_evidence-form-dead "$tmp/dead.conf" --timeout 1
ok "form: nothing claimed when DNS does not answer (exit 75)" \
    "$([ "$(status qr_evidence-form-dead)" = "exit 75" ]; echo $?)"
grep -Eq 'SPF record of|DKIM-signed|DMARC policy|passes DMARC' \
    "$tmp/qr_evidence-form-dead.out"
ok "form, DNS dead: the follow-up states no check" "$([ $? = 1 ]; echo $?)"
conf deadbare "$keys
dns_resolver = 127.0.0.1@$dead"
evidence qr_evidence-form-gaps "$tmp/deadbare.conf" --timeout 1
for s in contact_name contact_email company_description server_type \
    website_url; do
	grep -q "^  GAP   .*$s is not set" "$tmp/qr_evidence-form-gaps.out"
	ok "form names the gap $s" $?
done

# shellcheck source=tests/postfix/sandbox.sh
. "$top_srcdir/tests/postfix/sandbox.sh"
if reason=$(sb_missing); then
	skip "form: verified" "$reason"
	skip "form: SPF fails" "$reason"
	echo "1..$n"
	exit $fail
fi
sb_setup || { echo "Bail out! sandbox set-up failed"; exit 1; }
spki() { openssl pkey -in "$tmp/$1" -pubout -outform DER | base64 -w0; }
ed_raw() { openssl pkey -in "$tmp/$1" -pubout -outform DER | tail -c 32 | base64 -w0; }
rsa=$(spki rsa.pem)
dkim=("rsa1._domainkey IN TXT \"v=DKIM1; k=rsa; p=${rsa:0:200}\" \"${rsa:200}\""
    "ed1._domainkey IN TXT \"v=DKIM1; k=ed25519; p=$(ed_raw ed.pem)\"")
zone() { # SPF-RECORD
	sb_dns_zone example.net "@ IN TXT \"$1\"" "${dkim[@]}" \
	    '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.net"'
}
zone "v=spf1 ip4:203.0.113.5 ip4:198.51.100.0/28 -all" &&
    sb_dns_reload || { echo "Bail out! NSD did not start"; exit 1; }
conf nsd "$settings
$keys
dns_resolver = 127.0.0.1@$SB_DNS_PORT"
evidence qr_evidence-form "$tmp/nsd.conf"
ok "form: verified, complete: exit 0" \
    "$([ "$(status qr_evidence-form)" = "exit 0" ]; echo $?)"
evidence qr_evidence-form.json "$tmp/nsd.conf" --json
# SPF no longer covers the egress IPs: fix first, claim no SPF
zone "v=spf1 ip4:192.0.2.1 -all" || { echo "Bail out! zone"; exit 1; }
evidence qr_evidence-form-nospf "$tmp/nsd.conf"
ok "form: SPF fails: exit 65" \
    "$([ "$(status qr_evidence-form-nospf)" = "exit 65" ]; echo $?)"
grep -q '^  FIX   example.net: SPF for 203.0.113.5: fail' \
    "$tmp/qr_evidence-form-nospf.out"
ok "form: SPF fails: says what to fix" $?
! grep -q 'SPF record of' "$tmp/qr_evidence-form-nospf.out" &&
    grep -q 'is DKIM-signed' "$tmp/qr_evidence-form-nospf.out"
ok "form: SPF fails: no SPF claim, the DKIM one kept" $?
echo "1..$n"
exit $fail
