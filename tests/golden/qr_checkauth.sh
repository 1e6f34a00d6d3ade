#!/bin/bash
# qr_checkauth.sh - "outguard-queue-report check-auth" against a real NSD
#
# DESCRIPTION: only the sandbox's DNS server runs (tests/postfix/sandbox.sh,
#	no Postfix). The test makes RSA and Ed25519 keys with openssl and
#	publishes zones for a passing domain (SPF through mx, include: and
#	a:) and a subdomain of it (DMARC from the organisational domain),
#	and for domains whose SPF misses the egress IP or soft-fails, whose
#	DKIM records do not match (or revoke) the keys, that have no DMARC
#	record, that have two SPF and two DMARC records, and whose SPF needs
#	more than 10 DNS-querying terms (across include:) or more than 2 void
#	lookups. Each is checked with a config naming the sandbox's NSD
#	(dns_resolver = 127.0.0.1@PORT); the default domains come from a
#	store filled here; a port where nothing answers gives temperrors
#	within --timeout. Each assertion reads one value of the --json
#	output, or the exit status. TAP; SKIP only when sb_missing says so.
# Exercises: policy/qr_checkauth.c, lib/auth.c and lib/dns.c against a real NSD.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
report="$top_builddir/policy/outguard-queue-report"

# shellcheck source=tests/postfix/sandbox.sh
. "$top_srcdir/tests/postfix/sandbox.sh"
if reason=$(sb_missing); then
	echo "1..0 # SKIP $reason"
	exit 0
fi

# shellcheck source=tests/tapstatus.sh
. "$top_srcdir/tests/tapstatus.sh"
is() { # description, got, want
	local st=0
	[ "$2" = "$3" ] || st=1
	ok "$1" "$st"
	[ "$st" = 0 ] || echo "#   got '$2', want '$3'"
}
like() { # description, got, ERE
	local st=0
	printf '%s\n' "$2" | grep -Eq -- "$3" || st=1
	ok "$1" "$st"
	[ "$st" = 0 ] || echo "#   got '$2', want /$3/"
}
# field FILE PATH - a value of the first domain in a --json output:
# PATH is dot-separated keys and list indices ("spf.0.result"); booleans
# and null print as JSON, strings bare, a missing path prints nothing
field() {
	python3 - "$1" "$2" <<'EOF' 2>/dev/null
import json, sys
v = json.load(open(sys.argv[1]))["domains"][0]
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(json.dumps(v) if isinstance(v, (bool, type(None))) else v)
EOF
}

bail() {
	echo "Bail out! $*"
	exit 1
}

sb_setup || bail "sandbox set-up failed"
tmp=$SB/checkauth
mkdir -p "$tmp" || bail "mkdir $tmp"

# ---- keys: the configured pair, and two others for the mismatches
keygen() { # file, algorithm options...
	local f=$1
	shift
	openssl genpkey "$@" -out "$tmp/$f" 2>/dev/null ||
	    bail "openssl genpkey $f failed"
}
keygen rsa.pem -algorithm RSA -pkeyopt rsa_keygen_bits:2048
keygen ed.pem -algorithm ED25519
keygen rsa_other.pem -algorithm RSA -pkeyopt rsa_keygen_bits:2048
keygen ed_other.pem -algorithm ED25519
spki() { openssl pkey -in "$tmp/$1" -pubout -outform DER | base64 -w0; }
ed_raw() { openssl pkey -in "$tmp/$1" -pubout -outform DER | tail -c 32 |
    base64 -w0; }
# txt STRING - zone-file TXT data, split into strings of 200 octets
txt() {
	local s=$1 out=
	while [ -n "$s" ]; do
		out="$out \"${s:0:200}\""
		s=${s:200}
	done
	echo "$out"
}
rsa_txt=$(txt "v=DKIM1; k=rsa; p=$(spki rsa.pem)")
ed_txt=$(txt "v=DKIM1; k=ed25519; p=$(ed_raw ed.pem)")
rsa_other_txt=$(txt "v=DKIM1; k=rsa; p=$(spki rsa_other.pem)")
if [ ${#rsa_txt} -lt 300 ] || [ ${#ed_txt} -lt 40 ]; then
	bail "could not extract the public keys"
fi

spf_ok='@ IN TXT "v=spf1 ip4:127.0.0.1 -all"'
dkim_ok=("rsa1._domainkey IN TXT $rsa_txt" "ed1._domainkey IN TXT $ed_txt")
# pass.test's SPF takes mx, include: and a: to reach 127.0.0.1
sb_dns_zone pass.test '@ IN TXT "v=spf1 mx include:_spf.pass.test -all"' \
    '@ IN MX 10 mx.pass.test.' 'mx IN A 192.0.2.25' \
    '_spf IN TXT "v=spf1 a:mta.pass.test -all"' 'mta IN A 127.0.0.1' \
    "${dkim_ok[@]}" \
    '_dmarc IN TXT "v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@pass.test"' \
    'sub IN TXT "v=spf1 ip4:127.0.0.1 -all"' || bail "zone pass.test"
sb_dns_zone nospf.test '@ IN TXT "v=spf1 ip4:192.0.2.1 -all"' \
    "${dkim_ok[@]}" '_dmarc IN TXT "v=DMARC1; p=none"' || bail "zone nospf"
sb_dns_zone baddkim.test "$spf_ok" \
    "rsa1._domainkey IN TXT $rsa_other_txt" \
    'ed1._domainkey IN TXT "v=DKIM1; k=ed25519; p="' \
    '_dmarc IN TXT "v=DMARC1; p=quarantine"' || bail "zone baddkim"
sb_dns_zone nodmarc.test "$spf_ok" "${dkim_ok[@]}" || bail "zone nodmarc"
# 6 include: + 6 a: = 12 DNS-querying terms; the IP that would pass is
# last, so only the RFC 7208 limit stops a pass
perm=('@ IN TXT "v=spf1 include:i1.permerror.test include:i2.permerror.test include:i3.permerror.test include:i4.permerror.test include:i5.permerror.test include:i6.permerror.test ip4:127.0.0.1 -all"')
for i in 1 2 3 4 5 6; do
	perm+=("i$i IN TXT \"v=spf1 a:h$i.permerror.test -all\""
	    "h$i IN A 192.0.2.$i")
done
sb_dns_zone permerror.test "${perm[@]}" "${dkim_ok[@]}" \
    '_dmarc IN TXT "v=DMARC1; p=none"' || bail "zone permerror"
sb_dns_zone voids.test \
    '@ IN TXT "v=spf1 a:n1.voids.test a:n2.voids.test a:n3.voids.test ip4:127.0.0.1 -all"' \
    "${dkim_ok[@]}" '_dmarc IN TXT "v=DMARC1; p=none"' || bail "zone voids"
sb_dns_zone softfail.test '@ IN TXT "v=spf1 ip4:192.0.2.1 ~all"' \
    '_dmarc IN TXT "v=DMARC1; p=none"' || bail "zone softfail"
# two SPF and two DMARC records: permerror, and DMARC does not apply
sb_dns_zone multi.test '@ IN TXT "v=spf1 ip4:127.0.0.1 -all"' \
    '@ IN TXT "v=spf1 -all"' '@ IN TXT "google-site-verification=x"' \
    '_dmarc IN TXT "v=DMARC1; p=reject"' \
    '_dmarc IN TXT "v=DMARC1; p=none"' || bail "zone multi"
sb_dns_reload || bail "NSD did not start"

# conf NAME DOMAIN [RESOLVER] [SELECTORS] [KEYS] - a configuration file
conf() {
	cat >"$tmp/$1.conf" <<EOF
store = sqlite:$tmp/$1.db
dns_resolver = ${3:-127.0.0.1@$SB_DNS_PORT}
egress_ips = 127.0.0.1
dkim_domain = $2
dkim_selector = ${4:-rsa1, ed1}
dkim_key_file = ${5:-$tmp/rsa.pem, $tmp/ed.pem}
EOF
	echo "$tmp/$1.conf"
}
# run CONF ARGS... - check-auth --json into $out, status in $rc
run() {
	local c=$1
	shift
	out=$tmp/out.$n.json
	"$report" -c "$c" check-auth --json "$@" >"$out" 2>"$tmp/err.$n"
	rc=$?
}

# ---- a domain that passes everything
c=$(conf pass pass.test)
run "$c" pass.test
is "pass: exit 0" "$rc" 0
is "pass: ok" "$(field "$out" ok)" true
is "pass: spf 127.0.0.1" "$(field "$out" spf.0.result)" pass
is "pass: spf ip" "$(field "$out" spf.0.ip)" 127.0.0.1
is "pass: dkim rsa1" "$(field "$out" dkim.0.result)" pass
is "pass: dkim rsa1 selector" "$(field "$out" dkim.0.selector)" rsa1
is "pass: dkim ed1" "$(field "$out" dkim.1.result)" pass
is "pass: dkim_any" "$(field "$out" dkim_any.result)" pass
is "pass: dmarc" "$(field "$out" dmarc.result)" pass
is "pass: dmarc policy" "$(field "$out" dmarc.policy)" reject
is "pass: aligned" "$(field "$out" aligned.result)" pass
like "pass: aligned by both" "$(field "$out" aligned.reason)" \
    '^SPF .* and DKIM d=pass.test'

"$report" -c "$c" check-auth pass.test >"$tmp/text" 2>&1
rc=$?
is "pass, text: exit 0" "$rc" 0
like "pass, text: spf line" "$(cat "$tmp/text")" \
    '^  PASS  spf 127\.0\.0\.1 +the SPF record of pass\.test permits'
like "pass, text: verdict" "$(cat "$tmp/text")" '=> ok'
is "pass, text: 80 columns" "$(awk 'length > 80' "$tmp/text" | wc -l)" 0

# the default domains: none in the (empty) store, so dkim_domain's
run "$c"
is "default: exit 0" "$rc" 0
is "default: the dkim_domain" "$(field "$out" domain)" pass.test

# the default domains: the store's sender domains of the last 7 days
# (the first run made the store), and dkim_domain's
python3 - "$tmp/pass.db" <<'EOF' || bail "cannot fill the store"
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
now = int(time.time())
for qid, t, sender in (("A1", now - 60, "alice@NoDMARC.test"),
                       ("A2", now - 30 * 86400, "bob@old.test"),
                       ("A3", now - 120, "")):
    db.execute("INSERT INTO messages (host, queue_id, time, sender, "
               "recipient_count, size) VALUES ('mta', ?, ?, ?, 1, 100)",
               (qid, t, sender))
db.commit()
EOF
run "$c"
is "default: the store's and dkim_domain, sorted" "$(python3 -c '
import json, sys
print(" ".join(d["domain"] for d in json.load(open(sys.argv[1]))["domains"]))
' "$out")" "nodmarc.test pass.test"
is "default: exit 1 (nodmarc.test fails)" "$rc" 1

# a subdomain: DMARC from the organisational domain, its sp=
run "$c" sub.pass.test
is "sub: org domain" "$(field "$out" org_domain)" pass.test
is "sub: dmarc" "$(field "$out" dmarc.result)" pass
is "sub: dmarc policy is sp=" "$(field "$out" dmarc.policy)" quarantine
is "sub: dkim (relaxed)" "$(field "$out" dkim_any.result)" pass
is "sub: exit 0" "$rc" 0

# one selector without a record: reported, the other key still passes
run "$(conf gone pass.test '' 'rsa1, gone')" pass.test
is "gone: dkim gone" "$(field "$out" dkim.1.result)" permerror
like "gone: reason" "$(field "$out" dkim.1.reason)" \
    '^no TXT record at gone\._domainkey\.pass\.test$'
is "gone: dkim_any" "$(field "$out" dkim_any.result)" pass

# ---- SPF does not cover the egress IP
run "$(conf nospf nospf.test)" nospf.test
is "nospf: exit 1" "$rc" 1
is "nospf: spf" "$(field "$out" spf.0.result)" fail
is "nospf: spf not ok" "$(field "$out" spf.0.ok)" false
is "nospf: dkim_any" "$(field "$out" dkim_any.result)" pass
like "nospf: aligned by DKIM" "$(field "$out" aligned.reason)" \
    '^DKIM d=nospf\.test aligned'
is "nospf: not ok" "$(field "$out" ok)" false

# ---- DKIM records that do not match the keys
run "$(conf baddkim baddkim.test)" baddkim.test
is "baddkim: exit 1" "$rc" 1
is "baddkim: rsa1" "$(field "$out" dkim.0.result)" fail
like "baddkim: rsa1 reason" "$(field "$out" dkim.0.reason)" \
    "^p= does not match $tmp/rsa\.pem$"
is "baddkim: ed1 revoked" "$(field "$out" dkim.1.result)" fail
like "baddkim: ed1 reason" "$(field "$out" dkim.1.reason)" 'key revoked'
is "baddkim: dkim_any" "$(field "$out" dkim_any.result)" fail
is "baddkim: spf" "$(field "$out" spf.0.result)" pass
is "baddkim: aligned by SPF" "$(field "$out" aligned.result)" pass

# a key file that cannot be read
run "$(conf nokey pass.test '' 'rsa1, ed1' "$tmp/nonexistent.pem, $tmp/ed.pem")" \
    pass.test
like "nokey: reason" "$(field "$out" dkim.0.reason)" \
    "^key file unreadable: $tmp/nonexistent\.pem: No such file"
is "nokey: ed1 still passes" "$(field "$out" dkim.1.result)" pass

# ---- no DMARC record
run "$(conf nodmarc nodmarc.test)" nodmarc.test
is "nodmarc: exit 1" "$rc" 1
is "nodmarc: dmarc" "$(field "$out" dmarc.result)" none
like "nodmarc: reason" "$(field "$out" dmarc.reason)" \
    '^no DMARC record at _dmarc\.nodmarc\.test$'
is "nodmarc: policy" "$(field "$out" dmarc.policy)" null
is "nodmarc: spf" "$(field "$out" spf.0.result)" pass
is "nodmarc: dkim" "$(field "$out" dkim_any.result)" pass

# ---- SPF permerrors (RFC 7208 4.6.4)
run "$(conf permerror permerror.test)" permerror.test
is "permerror: exit 1" "$rc" 1
is "permerror: spf" "$(field "$out" spf.0.result)" permerror
like "permerror: reason" "$(field "$out" spf.0.reason)" \
    'more than 10 DNS-querying terms'
run "$(conf voids voids.test)" voids.test
is "voids: spf" "$(field "$out" spf.0.result)" permerror
like "voids: reason" "$(field "$out" spf.0.reason)" 'more than 2 void lookups'

# ---- softfail, several records
# (the keys are pass.test's: none for softfail.test)
run "$(conf softfail pass.test)" softfail.test
is "softfail: spf" "$(field "$out" spf.0.result)" softfail
is "softfail: no key of its own" "$(field "$out" dkim.0.result)" ""
is "softfail: dkim_any" "$(field "$out" dkim_any.result)" fail
is "softfail: dkim_any reason" "$(field "$out" dkim_any.reason)" \
    "no DKIM key configured for softfail.test"
run "$(conf multi multi.test)" multi.test
is "multi: spf" "$(field "$out" spf.0.result)" permerror
like "multi: spf reason" "$(field "$out" spf.0.reason)" \
    '^several v=spf1 records at multi\.test$'
is "multi: dmarc" "$(field "$out" dmarc.result)" none
like "multi: dmarc reason" "$(field "$out" dmarc.reason)" \
    '^2 DMARC records at _dmarc\.multi\.test'

# ---- temperror: a resolver port where nothing answers
dead=$(sb_free_port 1) || bail "no free port"
start=$SECONDS
run "$(conf dead pass.test "127.0.0.1@$dead")" --timeout 1 pass.test
is "dead: exit 1" "$rc" 1
is "dead: spf" "$(field "$out" spf.0.result)" temperror
is "dead: dkim" "$(field "$out" dkim.0.result)" temperror
is "dead: dkim_any" "$(field "$out" dkim_any.result)" temperror
is "dead: dmarc" "$(field "$out" dmarc.result)" temperror
is "dead: not ok" "$(field "$out" ok)" false
ok "dead: bounded by the timeout ($((SECONDS - start))s)" \
    "$([ $((SECONDS - start)) -le 20 ]; echo $?)"

# ---- usage and configuration errors
"$report" -c "$c" check-auth 'not a domain!' >/dev/null 2>&1
is "bad domain: exit 64" "$?" 64
"$report" -c "$c" check-auth --timeout 0 pass.test >/dev/null 2>&1
is "bad timeout: exit 64" "$?" 64
"$report" -c "$(conf pairs pass.test '' 'rsa1, ed1' "$tmp/rsa.pem")" \
    check-auth pass.test >/dev/null 2>&1
is "unpaired dkim settings: exit 78" "$?" 78

# every run's diagnostics: nothing from the sanitizers (when built with them)
is "no sanitizer reports" "$(cat "$tmp"/err.* | grep -cE \
    'Sanitizer|runtime error')" 0

echo "1..$n"
exit $fail
