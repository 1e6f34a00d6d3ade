#!/bin/bash
# statusfilter.sh - the static pcre: table that "outguard-queue-report
# status-filter" writes decides like the daemon's status filter: for each
# key in tests/golden/statusfilter/keys.txt, outguard-policyd -m (the
# socketmap service as spawn(8) runs it) and Postfix's own pcre table
# lookup (postmap -q) must agree on keep (a 4.x.x answer) or not. TAP.
# Exercises: policy/qr_statusfilter.c (the static pcre: table) against policy/socketmap.c.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
bin="$top_builddir/policy"
keys="$top_srcdir/tests/golden/statusfilter/keys.txt"

if ! command -v postmap >/dev/null 2>&1 ||
    ! ls /usr/lib/postfix/*pcre* >/dev/null 2>&1; then
	echo "1..0 # SKIP postmap with pcre support (Debian postfix-pcre) missing"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 0777 "$tmp"	# outguard-policyd -m drops to nobody when run as root
: >"$tmp/main.cf"
cat >"$tmp/outguard.conf" <<CONF
store = sqlite:$tmp/outguard.db
reply_rules = $top_srcdir/contrib/replies.rules
run_user = nobody
keep_blocked_mail = microsoft-consumer microsoft-365
CONF

n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; shift; printf '# %s\n' "$@"; }

# postmap -q exits 1 for "not found": a table it cannot load says why
"$bin/outguard-queue-report" -c "$tmp/outguard.conf" status-filter \
    -o "$tmp/table.pcre"
postmap -c "$tmp" -q "x" "pcre:$tmp/table.pcre" >/dev/null 2>"$tmp/err"
if [ -s "$tmp/table.pcre" ] && [ ! -s "$tmp/err" ]; then
	ok "status-filter writes a table that Postfix loads"
else
	notok "status-filter writes a table that Postfix loads" "$(cat "$tmp/err")"
fi

while IFS= read -r key; do
	[ -n "$key" ] || continue
	# the daemon: one socketmap lookup "status KEY" as a netstring
	req="status $key"
	daemon=$(printf '%d:%s,' "${#req}" "$req" |
	    "$bin/outguard-policyd" -m -c "$tmp/outguard.conf" 2>/dev/null)
	case $daemon in
	*":OK 4."*) d=keep ;;
	*":NOTFOUND "*) d=pass ;;
	*) d="error ($daemon)" ;;
	esac
	table=$(postmap -c "$tmp" -q "$key" "pcre:$tmp/table.pcre" 2>&1)
	case $table in
	4.*) t=keep ;;
	"" | "$key") t=pass ;;
	*) t="changed ($table)" ;;
	esac
	if [ "$d" = "$t" ]; then
		ok "$d: ${key:0:70}"
	else
		notok "daemon $d, table $t: ${key:0:70}"
	fi
done <"$keys"
# and the table really keeps something: the first key is an S3150
if postmap -c "$tmp" -q "$(head -n 1 "$keys")" "pcre:$tmp/table.pcre" | grep -q '^4\.7\.1 host .*(S3150)'; then
	ok "an S3150 bounce becomes 4.7.1 with Microsoft's text kept"
else
	notok "an S3150 bounce becomes 4.7.1 with Microsoft's text kept"
fi
echo "1..$n"
exit $fail
