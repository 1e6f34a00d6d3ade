#!/bin/bash
# t_dkim.sh - outguard-milter's DKIM signing and SPF/DMARC preflight
#	against a real Postfix and the sandbox's DNS server (issue 9)
#
# DESCRIPTION: the sandbox Postfix runs outguard-milter with an OpenDKIM
#	KeyTable and SigningTable naming an RSA and an Ed25519 key of
#	signed.test, whose selectors' TXT records, SPF and DMARC records the
#	sandbox's NSD serves; egress_ips is 127.0.0.1. -n checks each key
#	against its TXT record (and reports a mismatch). A message alice
#	sends reaches the sink with two DKIM-Signature headers, which an
#	independent verifier (python3-dkim, Debian's, asking the sandbox's
#	DNS) accepts, RSA and Ed25519 alike; the same message altered after
#	signing fails that verification (the negative control). A bulk
#	message's signature covers List-Unsubscribe and
#	List-Unsubscribe-Post and oversigns From. The preflight tags
#	signed.test's mail pass, and mail from nospf.test (SPF without the
#	egress IP, DMARC p=reject, no key) fail with the reason and the IP
#	in the tag and the log line. Unsigned, each logged with its reason:
#	mail relayed inbound (XCLIENT ADDR=192.0.2.7 on the plain port, to
#	a relay domain) and a From domain without a key. An unreadable key:
#	keys are loaded when the configuration is (start and SIGHUP), as
#	root at start, as run_user on SIGHUP. With the keys owned by
#	run_user a SIGHUP reloads them; with rsa.pem made unreadable, the
#	reload warns with the file and the error, and the next message is
#	signed with the Ed25519 key alone, the RSA key's reason in its log
#	line; with ed.pem unreadable too, mail goes out unsigned, logged
#	"key unreadable: FILE: Permission denied". -n names a key file that
#	is not there and exits 78. TAP output.
# Exercises: milter/milter.c, milter/dkimsign.c, milter/dkimkeys.c,
#	milter/preflight.c, lib/auth.c (og_auth_spf, og_auth_dmarc).

set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
# shellcheck source=tests/postfix/sandbox.sh
. "$top_srcdir/tests/postfix/sandbox.sh"
# shellcheck source=tests/postfix/tap.sh
. "$top_srcdir/tests/postfix/tap.sh"

milter="$top_builddir/milter/outguard-milter"
py=/usr/bin/python3 # Debian's, with python3-dkim
if reason=$(sb_missing); then
	echo "1..0 # SKIP $reason"
	exit 0
fi
if ! "$py" -c 'import dkim, dns.resolver, nacl' 2>/dev/null; then
	echo "1..0 # SKIP python3-dkim (with python3-nacl) is not installed"
	exit 0
fi
if ! command -v openssl >/dev/null 2>&1 || ! id nobody >/dev/null 2>&1; then
	echo "1..0 # SKIP openssl or the user nobody missing"
	exit 0
fi

mpid=
stop_milter() {
	if [ -n "$mpid" ] && kill -0 "$mpid" 2>/dev/null; then
		kill "$mpid"
		wait "$mpid" 2>/dev/null
	fi
	mpid=
}

echo "1..23"
SB_NO_TRAP=1 sb_setup || exit 1
trap 'stop_milter; sb_stop' EXIT
M="$SB/milter"
mkdir -p "$M/keys" && chmod 0755 "$M" && chmod 0700 "$M/keys"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$M/keys/rsa.pem" 2>/dev/null &&
    openssl genpkey -algorithm ED25519 -out "$M/keys/ed.pem" 2>/dev/null &&
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 \
        -out "$M/keys/other.pem" 2>/dev/null || exit 1
chmod 0600 "$M"/keys/*.pem
# the public halves as TXT records: RSA's SubjectPublicKeyInfo, Ed25519's
# raw 32 bytes (RFC 8463)
rsa_p=$(openssl pkey -in "$M/keys/rsa.pem" -pubout -outform DER | base64 -w0)
ed_p=$(openssl pkey -in "$M/keys/ed.pem" -pubout -outform DER |
    tail -c 32 | base64 -w0)
txt() { # a TXT value in 250-byte strings
	printf '%s' "$1" | fold -w 250 | sed 's/.*/"&"/' | tr '\n' ' '
}
sb_dns_zone signed.test \
    '@ IN TXT "v=spf1 ip4:127.0.0.1 -all"' \
    '_dmarc IN TXT "v=DMARC1; p=reject; adkim=r; aspf=r"' \
    "rsa1._domainkey IN TXT $(txt "v=DKIM1; k=rsa; p=$rsa_p")" \
    "ed1._domainkey IN TXT $(txt "v=DKIM1; k=ed25519; p=$ed_p")" \
    "bad1._domainkey IN TXT $(txt "v=DKIM1; k=rsa; p=$rsa_p")" || exit 1
sb_dns_zone nospf.test \
    '@ IN TXT "v=spf1 ip4:192.0.2.1 -all"' \
    '_dmarc IN TXT "v=DMARC1; p=reject"' || exit 1
printf '%s\n' "rsa signed.test:rsa1:$M/keys/rsa.pem" \
    "ed signed.test:ed1:$M/keys/ed.pem" >"$M/KeyTable"
printf '%s\n' "*@signed.test rsa ed" >"$M/SigningTable"
printf '%s\n' "alice@signed.test alice, alice@outguard.test" \
    "alice@nospf.test alice, alice@outguard.test" >"$M/logins"
conf() { # extra lines
	cat <<CONF
milter_socket = unix:$M/milter.sock
milter_pid_file = $M/milter.pid
run_user = nobody
myhostname = $SB_HOSTNAME
unsub_keywords = $top_srcdir/contrib/unsub-keywords
sender_login_maps = file:$M/logins
local_domains = $SB_DOMAIN
identity_action = reject
unsubscribe_action = tag
preflight_action = tag
egress_ips = 127.0.0.1
dns_resolver = 127.0.0.1@$SB_DNS_PORT
dkim_key_table = $M/KeyTable
dkim_signing_table = $M/SigningTable
$1
CONF
}
conf "" >"$M/outguard.conf"

sb_postconf "smtpd_milters = unix:$M/milter.sock" \
    "non_smtpd_milters = unix:$M/milter.sock" \
    "milter_default_action = tempfail" "relay_domains = inbound.test" ||
    exit 1
# run_user reads the keys on SIGHUP (tests 18-23)
chown -R nobody "$M/keys" || exit 1
sb_add_user alice secret-a || exit 1
"$milter" -d -v -c "$M/outguard.conf" 2>"$M/milter.log" &
mpid=$!
sb_wait_for "test -S $(printf %q "$M/milter.sock")" 10 ||
    { cat "$M/milter.log"; exit 1; }
sb_start || exit 1

# 1-2: -n checks the keys against DNS
"$milter" -n -c "$M/outguard.conf" >"$M/n.out" 2>&1
rc=$?
sed 's/^/# /' "$M/n.out" | grep _domainkey
check "-n: both keys match their TXT records (exit 0)" \
    '[ $rc = 0 ] && [ "$(grep -c "_domainkey.signed.test.*: ok" "$M/n.out")" = 2 ]'
printf '%s\n' "rsa signed.test:bad1:$M/keys/other.pem" >"$M/KeyTable.bad"
printf '%s\n' "*@signed.test rsa" >"$M/SigningTable.bad"
conf "" | sed "s|$M/KeyTable|$M/KeyTable.bad|; s|$M/SigningTable|$M/SigningTable.bad|" \
    >"$M/bad.conf"
"$milter" -n -c "$M/bad.conf" >"$M/nbad.out" 2>&1
rc=$?
check "-n: a key that does not match its record: exit 78, named" \
    '[ $rc = 78 ] && grep -qi "bad1.*mismatch\|mismatch.*bad1" "$M/nbad.out"'
printf '%s\n' "rsa signed.test:rsa1:$M/keys/gone.pem" >"$M/KeyTable.bad"
"$milter" -n -c "$M/bad.conf" >"$M/ngone.out" 2>&1
rc=$?
check "-n: a key file that is not there: exit 78, file and error named" \
    '[ $rc = 78 ] && grep -q "rsa1._domainkey.signed.test.*key unreadable: $M/keys/gone.pem: No such file or directory" "$M/ngone.out"'

mlog() { # ERE: the milter's log has a line matching it (5 s)
	sb_wait_for "grep -qE -- $(printf %q "$1") $(printf %q "$M/milter.log")" 5
}
# verify FILE [IDX...] - python3-dkim verifies the signatures IDX (default
# all) of FILE with the sandbox's DNS; prints one "IDX a=ALG ok|FAIL" each
verify() {
	"$py" - "$SB_DNS_PORT" "$@" <<'PY'
import sys, dkim, dns.resolver
port, path = int(sys.argv[1]), sys.argv[2]
res = dns.resolver.Resolver(configure=False)
res.nameservers, res.port = ["127.0.0.1"], port
def txt(name, timeout=5):
    try:
        a = res.resolve(name.decode().rstrip("."), "TXT", lifetime=timeout)
    except Exception:
        return None
    return b"".join(b"".join(r.strings) for r in a)
msg = open(path, "rb").read()
d = dkim.DKIM(msg)
sigs = [l for l in msg.split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n").split(b"\n")
        if l.lower().startswith(b"dkim-signature:")]
bad = 0
for i in range(len(sigs)):
    try:
        ok = d.verify(idx=i, dnsfunc=txt)
    except dkim.ValidationError as e:
        print("# %s" % e)
        ok = False
    alg = d.signature_fields.get(b"a", b"?").decode()
    print("%d a=%s %s" % (i, alg, "ok" if ok else "FAIL"))
    bad += not ok
sys.exit(1 if bad or not sigs else 0)
PY
}

# 3-8: a signed message, verified independently
token="dkim-$$-$RANDOM"
qid=$(sb_submit alice@signed.test bob@example.net alice secret-a \
    --header "From: Alice <alice@signed.test>" \
    --header "Subject: signed $token" --body "Hello Bob, $token.")
check "signed.test: accepted" '[ -n "$qid" ]'
sb_wait_log "$qid: to=<bob@example.net>.*status=sent" >/dev/null 2>&1
f=$(sb_sink_grep "^Subject: signed $token" | head -n 1)
check "two DKIM-Signature headers at the sink" \
    '[ -n "$f" ] && [ "$(grep -ic "^DKIM-Signature:" "$f")" = 2 ]'
verify "$f" >"$M/verify.out" 2>&1
rc=$?
sed 's/^/# /' "$M/verify.out"
check "python3-dkim verifies the RSA and the Ed25519 signature" \
    '[ $rc = 0 ] && grep -q "a=rsa-sha256 ok" "$M/verify.out" &&
     grep -q "a=ed25519-sha256 ok" "$M/verify.out"'
sed "s/Hello Bob/Hello Eve/" "$f" >"$M/altered.eml"
verify "$M/altered.eml" >"$M/altered.out" 2>&1
check "altered after signing: both signatures fail (negative control)" \
    '[ "$(grep -c " FAIL$" "$M/altered.out")" = 2 ]'
check "the log says signed, with d= and s=" \
    'mlog "$qid: check=dkim result=signed signatures=.*d=signed.test.*s=rsa1"'
check "the preflight passes for signed.test, in the tag" \
    'grep -Eq "^X-Outguard-Result: .*preflight=pass \((spf-and-dkim|spf|dkim)-aligned\)" "$f"'

# 9-10: bulk mail: the RFC 8058 headers and From are covered
qid=$(sb_submit alice@signed.test bob@example.net alice secret-a \
    --header "From: alice@signed.test" --header "Subject: bulk $token" \
    --header "Precedence: bulk" \
    --header "List-Unsubscribe: <https://signed.test/u/1>" \
    --header "List-Unsubscribe-Post: List-Unsubscribe=One-Click" \
    --body "News. Unsubscribe: https://signed.test/u/1")
sb_wait_log "$qid: to=<bob@example.net>.*status=sent" >/dev/null 2>&1
f=$(sb_sink_grep "^Subject: bulk $token" | head -n 1)
hlist=$(tr -d '\r' <"$f" | awk '/^$/ { exit } { print }' |
    "$py" -c '
import sys, email
m = email.message_from_string(sys.stdin.read())
for s in m.get_all("DKIM-Signature") or []:
    t = dict(x.strip().split("=", 1) for x in "".join(s.split()).split(";") if "=" in x)
    print(t.get("h", "").lower())' | head -n 1)
echo "# h=$hlist"
check "h= covers list-unsubscribe and list-unsubscribe-post" \
    'printf %s "$hlist" | tr : "\n" | grep -qx list-unsubscribe &&
     printf %s "$hlist" | tr : "\n" | grep -qx list-unsubscribe-post'
check "h= oversigns From (from named twice)" \
    '[ "$(printf %s "$hlist" | tr : "\n" | grep -cx from)" -ge 2 ]'

# 11-14: nospf.test: SPF without our IP, no key: the preflight fails
qid=$(sb_submit alice@nospf.test bob@example.net alice secret-a \
    --header "From: alice@nospf.test" --header "Subject: nospf $token")
check "nospf.test: accepted (preflight_action = tag)" '[ -n "$qid" ]'
sb_wait_log "$qid: to=<bob@example.net>.*status=sent" >/dev/null 2>&1
f=$(sb_sink_grep "^Subject: nospf $token" | head -n 1)
check "nospf.test (no key): not signed, logged \"no key for the From domain\"" \
    '[ -n "$f" ] && ! grep -qi "^DKIM-Signature:" "$f" &&
     mlog "$qid: check=dkim result=unsigned reason=\"no key for the From domain\""'
check "nospf.test: tagged preflight=fail (spf-fail-for-egress-ip)" \
    'grep -q "^X-Outguard-Result: .*preflight=fail (spf-fail-for-egress-ip)" "$f"'
check "nospf.test: the log line names the IP and the domain" \
    'mlog "$qid: check=preflight result=fail reason=spf-fail-for-egress-ip ip=127.0.0.1 domain=nospf.test .*action=tag"'

# 15-16: relayed inbound: a client outside internal_hosts, no login,
# From a domain we hold a key for
qid=$(sb_relay alice@signed.test carol@inbound.test \
    --xclient ADDR=192.0.2.7 --header "From: alice@signed.test" \
    --header "Subject: inbound $token")
sb_wait_log "$qid: to=<carol@inbound.test>.*status=sent" >/dev/null 2>&1
f=$(sb_sink_grep "^Subject: inbound $token" | head -n 1)
check "inbound from 192.0.2.7: delivered without DKIM-Signature" \
    '[ -n "$qid" ] && [ -n "$f" ] && ! grep -qi "^DKIM-Signature:" "$f"'
check "inbound: logged unsigned, not from a login or internal host" \
    'mlog "$qid: check=dkim result=unsigned reason=\"not from a login, an internal host or a local process\""'

# 18-23: the key files made unreadable to run_user after start
reloads() { grep -c "reload: configuration .* read" "$M/milter.log"; }
hup() { # SIGHUP, and wait for the reload to be logged
	local n
	n=$(reloads)
	kill -HUP "$mpid"
	sb_wait_for "[ \$(reloads) -gt $n ]" 10
}
send_alice() { # WORD: alice's message "Subject: WORD $token"; sets qid, f
	qid=$(sb_submit alice@signed.test bob@example.net alice secret-a \
	    --header "From: alice@signed.test" --header "Subject: $1 $token")
	sb_wait_log "$qid: to=<bob@example.net>.*status=sent" >/dev/null 2>&1
	f=$(sb_sink_grep "^Subject: $1 $token" | head -n 1)
}
check "SIGHUP with the keys readable by run_user: reloaded" hup
chmod 0000 "$M/keys/rsa.pem"
check "rsa.pem unreadable, SIGHUP: reloaded, the key's file and error logged" \
    'hup && mlog "dkim: s=rsa1 d=signed.test: key unreadable: .*rsa\\.pem: Permission denied"'
send_alice after
check "then: signed with the Ed25519 key alone, verified" \
    '[ -n "$f" ] && [ "$(grep -ic "^DKIM-Signature:" "$f")" = 1 ] &&
     verify "$f" | grep -q "^0 a=ed25519-sha256 ok$"'
check "then: the log line names the RSA key left out, and why" \
    'mlog "$qid: check=dkim result=signed signatures=\"d=signed.test s=ed1 a=ed25519-sha256\" skipped=\"key unreadable: .*rsa\\.pem: Permission denied\""'
chmod 0000 "$M/keys/ed.pem"
hup
send_alice none
check "both keys unreadable: delivered unsigned" \
    '[ -n "$f" ] && ! grep -qi "^DKIM-Signature:" "$f"'
check "both keys unreadable: logged unsigned, key unreadable, file and error" \
    'mlog "$qid: check=dkim result=unsigned reason=\"key unreadable: .*rsa\\.pem: Permission denied\""'

[ "$FAILED" = 0 ] || { show_log 20; sed 's/^/# /' "$M/milter.log" | tail -n 30; }
exit $((FAILED > 0))
